/**
 * Parts for one backend routed in the same turn of the event loop go out as one request: a gateway under
 * load splits several received requests per turn, and one call per backend per turn costs far less than
 * one call per part (each call is an HTTP/2 stream and a pass through the exporter helper). Parts of one
 * signal concatenate into a valid request, and their pieces are not copied (Payload.fromParts).
 *
 * Each part's caller is answered with the batch's result, so a request is still acknowledged only when
 * every part of it was accepted. A batch the backend refuses for good is narrowed by the exporter helper
 * (narrowing-sender.ts: resent in halves of resource entries, each part's entries among them, until only
 * the refused entries are left), so one client's bad bytes do not cost the others' data; every request of
 * the batch is then told of the refusal, delivered or not (the helper gives one verdict per call). The
 * wait is one turn (setImmediate), never a timer.
 */
import { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

class Batch {
  readonly parts: Payload[] = [];
  readonly waiters: Waiter[] = [];
  bytes = 0;

  add(part: Payload): Promise<void> {
    this.parts.push(part);
    this.bytes += part.byteLength;
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The parts as one payload: their pieces in order. */
  merged(): Payload {
    const first = this.parts[0]!;
    if (this.parts.length === 1) return first;
    const chunks: Uint8Array[] = [];
    let items = 0;
    let requests = 0;
    let meta = first.meta;
    for (const p of this.parts) {
      for (const c of p.chunks()) chunks.push(c);
      items += p.itemCount;
      requests += p.requests;
      if (p.meta !== meta) meta = undefined;
    }
    return Payload.fromParts(first.signal, chunks, { itemCount: items, requests, meta });
  }
}

export class PartCoalescer<B> {
  private pending = new Map<B, Partial<Record<Signal, Batch>>>();
  private scheduled = false;

  /**
   * `send` hands one payload to a backend (its exporter helper); `maxBytes` bounds a batch (a part past it
   * starts a new one).
   */
  constructor(
    private readonly send: (backend: B, payload: Payload) => Promise<void>,
    private readonly maxBytes: number,
  ) {}

  /** Adds a part for `backend`; resolves when the batch holding it was accepted. */
  add(backend: B, part: Payload): Promise<void> {
    let bySignal = this.pending.get(backend);
    if (bySignal === undefined) this.pending.set(backend, (bySignal = {}));
    let batch = bySignal[part.signal];
    if (batch !== undefined && batch.bytes + part.byteLength > this.maxBytes) {
      this.dispatch(backend, batch);
      batch = undefined;
    }
    if (batch === undefined) bySignal[part.signal] = batch = new Batch();
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
    return batch.add(part);
  }

  /** Sends every batch gathered so far. */
  readonly flush = (): void => {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const [backend, bySignal] of pending) for (const batch of Object.values(bySignal)) this.dispatch(backend, batch);
  };

  private dispatch(backend: B, batch: Batch): void {
    const waiters = batch.waiters;
    this.send(backend, batch.merged()).then(
      () => {
        for (const w of waiters) w.resolve();
      },
      (err: unknown) => {
        for (const w of waiters) w.reject(err);
      },
    );
  }
}
