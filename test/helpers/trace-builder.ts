/**
 * Hand-built ExportTraceServiceRequests for trace-level tests (tail sampling, trace routing): resources
 * with attributes, spans with chosen trace IDs, times, attributes, status, tracestate and events. Written
 * with the protobuf wire writer, so it depends on nothing the gateway implements; `spansByTrace` reads a
 * request back with the gateway's decoder.
 */
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { decodeRequest } from '../../src/pdata/codec.js';

export type AttrValue = string | boolean | number | { int: number | bigint } | { double: number };

export interface SpanSpec {
  /** The trace ID: a number n gives 16 bytes of n (big-endian in the last 4), or the bytes themselves. */
  trace: number | Uint8Array;
  name?: string;
  /** Start and end, in ms after a fixed epoch (1.7e18 ns). */
  startMs?: number;
  endMs?: number;
  attrs?: Record<string, AttrValue>;
  /** 0 UNSET, 1 OK, 2 ERROR. */
  status?: number;
  traceState?: string;
  /** The parent span ID (8 bytes of n, or the bytes); absent: a root span. */
  parent?: number | Uint8Array;
  /** The span's flags (fixed32; the W3C trace flags in the low byte, 1 = sampled). */
  flags?: number;
  events?: { name: string; attrs?: Record<string, AttrValue> }[];
}

export interface ResourceSpec {
  attrs?: Record<string, AttrValue>;
  /** Spans in one scope each list (several scopes when nested). */
  scopes: SpanSpec[][];
}

const EPOCH_NS = 1_700_000_000_000_000_000n;

export function traceId(n: number): Uint8Array {
  const id = new Uint8Array(16);
  id[0] = 0xab;
  new DataView(id.buffer).setUint32(12, n);
  return id;
}

export const traceKeyHex = (id: Uint8Array): string => Buffer.from(id).toString('hex');

function writeValue(w: BinaryWriter, v: AttrValue): void {
  w.tag(2, WireType.LengthDelimited).fork();
  if (typeof v === 'string') w.tag(1, WireType.LengthDelimited).string(v);
  else if (typeof v === 'boolean') w.tag(2, WireType.Varint).bool(v);
  else if (typeof v === 'number') w.tag(3, WireType.Varint).int64(v);
  else if ('int' in v) w.tag(3, WireType.Varint).int64(v.int);
  else w.tag(4, WireType.Bit64).double(v.double);
  w.join();
}

function writeAttrs(w: BinaryWriter, field: number, attrs: Record<string, AttrValue> | undefined): void {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    w.tag(field, WireType.LengthDelimited).fork();
    w.tag(1, WireType.LengthDelimited).string(k);
    writeValue(w, v);
    w.join();
  }
}

let spanSerial = 0;

/** An ExportTraceServiceRequest of the given resources. */
export function traceRequest(resources: ResourceSpec[]): Uint8Array {
  const w = new BinaryWriter();
  for (const r of resources) {
    w.tag(1, WireType.LengthDelimited).fork(); // ResourceSpans
    w.tag(1, WireType.LengthDelimited).fork(); // Resource
    writeAttrs(w, 1, r.attrs);
    w.join();
    r.scopes.forEach((spans, k) => {
      w.tag(2, WireType.LengthDelimited).fork(); // ScopeSpans
      w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(`scope-${k}`).join();
      for (const s of spans) {
        w.tag(2, WireType.LengthDelimited).fork(); // Span
        w.tag(1, WireType.LengthDelimited).bytes(typeof s.trace === 'number' ? traceId(s.trace) : s.trace);
        const spanId = new Uint8Array(8);
        new DataView(spanId.buffer).setUint32(4, ++spanSerial);
        w.tag(2, WireType.LengthDelimited).bytes(spanId);
        if (s.traceState !== undefined) w.tag(3, WireType.LengthDelimited).string(s.traceState);
        if (s.parent !== undefined) {
          const parent = typeof s.parent === 'number' ? new Uint8Array(8) : s.parent;
          if (typeof s.parent === 'number') new DataView(parent.buffer).setUint32(4, s.parent);
          w.tag(4, WireType.LengthDelimited).bytes(parent);
        }
        w.tag(5, WireType.LengthDelimited).string(s.name ?? 'op');
        w.tag(6, WireType.Varint).int32(2);
        w.tag(7, WireType.Bit64).fixed64(EPOCH_NS + BigInt(Math.round((s.startMs ?? 0) * 1e6)));
        w.tag(8, WireType.Bit64).fixed64(EPOCH_NS + BigInt(Math.round((s.endMs ?? 1) * 1e6)));
        writeAttrs(w, 9, s.attrs);
        for (const ev of s.events ?? []) {
          w.tag(11, WireType.LengthDelimited).fork();
          w.tag(1, WireType.Bit64).fixed64(EPOCH_NS);
          w.tag(2, WireType.LengthDelimited).string(ev.name);
          writeAttrs(w, 3, ev.attrs);
          w.join();
        }
        if (s.status !== undefined) w.tag(15, WireType.LengthDelimited).fork().tag(3, WireType.Varint).int32(s.status).join();
        if (s.flags !== undefined) w.tag(16, WireType.Bit32).fixed32(s.flags);
        w.join();
      }
      w.join();
    });
    w.join();
  }
  return w.finish();
}

/** One resource, one scope: the spans given. */
export const spansRequest = (spans: SpanSpec[], resourceAttrs?: Record<string, AttrValue>): Uint8Array =>
  traceRequest([{ attrs: resourceAttrs, scopes: [spans] }]);

export interface ReadSpan {
  trace: string;
  name: string;
  resource: Record<string, unknown>;
  scope: string;
}

/** The spans of a request, with their trace ID (hex), resource attributes (string values) and scope name. */
export function readSpans(bytes: Uint8Array): ReadSpan[] {
  const msg = decodeRequest('traces', bytes);
  const out: ReadSpan[] = [];
  for (const rs of msg.resourceSpans) {
    const resource: Record<string, unknown> = {};
    for (const kv of rs.resource?.attributes ?? []) resource[kv.key] = kv.value?.value.value;
    for (const ss of rs.scopeSpans)
      for (const sp of ss.spans) out.push({ trace: traceKeyHex(sp.traceId), name: sp.name, resource, scope: ss.scope?.name ?? '' });
  }
  return out;
}
