/**
 * The unit that flows through a pipeline: one Export request of one signal, held as protobuf bytes.
 * The structure is decoded only when a stage asks for it, and re-encoded only when a stage changed it;
 * a request nobody changed leaves the gateway byte for byte as it arrived.
 */
import { decodeRequest, encodeRequest, type RequestMessage } from './codec.js';
import type { Signal } from '../core/signal.js';
import { concatRequests, countItems } from './wire.js';

export interface PayloadOptions {
  /** The item count, when the caller already knows it (else a wire scan counts on first use). */
  itemCount?: number;
  /** The client info of the request (see client-info.ts). */
  meta?: Readonly<Record<string, string>> | undefined;
  /** Received requests the bytes hold (a batch's count); default 1. */
  requests?: number;
}

export class Payload {
  readonly signal: Signal;
  /**
   * Client info a receiver kept (see client-info.ts: client.address, auth.*, metadata.<header> with
   * include_metadata); read by attributes from_context and headers_setter. Never required downstream.
   */
  readonly meta: Readonly<Record<string, string>> | undefined;
  private encoded: Uint8Array | undefined;
  /** Consecutive encoded requests not yet joined (a batch); joined on the first `bytes` read. */
  private parts: readonly Uint8Array[] | undefined;
  private partsLength = 0;
  private message: RequestMessage | undefined;
  private items: number;
  /** Received requests this payload holds: more than one once a batch joined them. */
  readonly requests: number;

  constructor(signal: Signal, bytes: Uint8Array, opts: PayloadOptions = {}) {
    this.signal = signal;
    this.encoded = bytes;
    this.items = opts.itemCount ?? -1;
    this.meta = opts.meta;
    this.requests = opts.requests ?? 1;
  }

  /** Builds a payload from a decoded message (e.g. one a processor assembled). */
  static fromMessage(signal: Signal, message: RequestMessage): Payload {
    const p = new Payload(signal, new Uint8Array(0));
    p.encoded = undefined;
    p.message = message;
    return p;
  }

  /**
   * A payload held as consecutive pieces, kept as they are: one request's body as it arrived, or several
   * encoded requests of one signal (a batch; repeated fields concatenate, so their concatenation is one
   * valid request). A writer that can send pieces in turn (the OTLP exporters) never copies them into one
   * buffer.
   */
  static fromParts(signal: Signal, parts: readonly Uint8Array[], opts: PayloadOptions = {}): Payload {
    if (parts.length === 1) return new Payload(signal, parts[0]!, opts);
    const p = new Payload(signal, new Uint8Array(0), opts);
    p.encoded = undefined;
    p.parts = parts;
    for (const part of parts) p.partsLength += part.length;
    return p;
  }

  /** The encoded request (parts joined, or re-encoded once if a stage changed the decoded structure). */
  get bytes(): Uint8Array {
    if (this.encoded === undefined) {
      if (this.parts !== undefined) {
        this.encoded = concatRequests(this.parts, this.partsLength);
        this.parts = undefined;
      } else {
        this.encoded = encodeRequest(this.signal, this.message!);
      }
    }
    return this.encoded;
  }

  /** The encoded request as consecutive pieces, joined or not: write them in order to send `bytes`. */
  chunks(): readonly Uint8Array[] {
    return this.parts ?? [this.bytes];
  }

  get byteLength(): number {
    return this.parts !== undefined ? this.partsLength : this.bytes.length;
  }

  /** Log records, spans or metric data points, counted by a wire scan (cached). */
  get itemCount(): number {
    if (this.items < 0) this.items = countItems(this.signal, this.bytes);
    return this.items;
  }

  /** True when the structure has been decoded (some stage needed it). */
  get isDecoded(): boolean {
    return this.message !== undefined;
  }

  /** The decoded request (decoded on first call, cached). Call `changed()` after editing it. */
  decode<T extends RequestMessage = RequestMessage>(): T {
    if (this.message === undefined) this.message = decodeRequest(this.signal, this.bytes);
    return this.message as T;
  }

  /** Marks the decoded structure as edited: the bytes are re-encoded on next use and the count redone. */
  changed(): void {
    if (this.message === undefined) throw new Error('Payload.changed() called before decode()');
    this.encoded = undefined;
    this.items = -1;
  }

  /**
   * A new payload over the same bytes (not copied) for another pipeline, so one pipeline's edits never
   * reach another's. A decoded-and-changed structure is encoded first.
   */
  clone(): Payload {
    const opts = { itemCount: this.items < 0 ? undefined : this.items, meta: this.meta, requests: this.requests };
    if (this.parts !== undefined) return Payload.fromParts(this.signal, this.parts, opts);
    return new Payload(this.signal, this.bytes, opts);
  }

  /** Replaces the bytes wholesale (a wire-level edit); drops any decoded structure. */
  replaceBytes(bytes: Uint8Array, itemCount?: number): void {
    this.encoded = bytes;
    this.parts = undefined;
    this.message = undefined;
    this.items = itemCount ?? -1;
  }
}
