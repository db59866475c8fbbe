/**
 * Wire-level editing of encoded OTLP Export requests: processors change attributes, drop records or mask
 * values without decoding the request. Only the bytes that change are rebuilt (a record, a Resource) plus
 * the length prefixes of their ancestors; everything else is copied as received, and a request nothing
 * changed comes back as the very same Uint8Array, so an exporter forwards it byte for byte.
 *
 * ## API (stable; other processors build on it)
 *
 * ### RequestWalker — visit resources, scopes, metrics and records; keep, drop or replace each
 * ```ts
 * const walker = new RequestWalker({
 *   resource(r) { return KEEP },   // r: ResourceView; KEEP | DROP | SKIP | Uint8Array (new Resource content)
 *   scope(s) { return KEEP },      // s: ScopeView;    KEEP | DROP | SKIP | Uint8Array (new InstrumentationScope content)
 *   metric(m) { return KEEP },     // metrics only; m: MetricView; KEEP | DROP | SKIP
 *   record(rec) { return KEEP },   // rec: RecordView (log record / span / data point); KEEP | DROP | Uint8Array (new record content)
 * }, { pruneEmpty: false });
 * const out = walker.walk('logs', bytes);   // { bytes, changed, items }
 * if (out.changed) payload.replaceBytes(out.bytes, out.items >= 0 ? out.items : undefined);
 * ```
 * - Hooks are optional; the walker descends only as deep as the deepest hook (a resource-only visitor
 *   never reads a scope), and SKIP keeps a container without visiting what is inside it.
 * - Replacement bytes are the new *content* of the message (no tag, no length): the walker frames them.
 *   They are copied before the next callback, so a visitor may return a view of a reused scratch buffer
 *   (AttrList.build() returns one). A record hook that edited an AttrList can instead
 *   `return walker.replaceRecord(attrs)`: the record is built straight into the walker (one copy fewer).
 * - Runs of consecutive replaced records become one edit, so the output is assembled in large copies.
 * - A resource or scope absent from the wire is visited with `present = false` and an empty range at the
 *   start of its parent; returning bytes inserts it.
 * - `pruneEmpty` (filter semantics, as the collector's filter processor): after the visit, a metric with
 *   no data points, a scope with no records and a resource with no scopes are removed.
 * - `items` is the number of records kept (log records, spans, data points; the collector's count), or
 *   -1 when the walk did not descend to records.
 * - Views are reused objects, valid only during the callback. `view.buf` is the request (a Buffer over
 *   the caller's bytes); `start`/`end` delimit the message content. Views of records point up to their
 *   scope and resource views, so a record hook can match on resource attributes.
 * - Malformed framing throws WireFormatError (from src/pdata/wire.ts).
 *
 * ### AttrList — read and edit one message's repeated KeyValue field lazily
 * ```ts
 * const attrs = new AttrList();           // reuse per processor: no per-record allocation while reading
 * attrs.load(rec.buf, rec.start, rec.end, rec.attrField);
 * const i = attrs.indexOf(keyBytes);      // keys as UTF-8 bytes (utf8('http.method')), first occurrence
 * attrs.type(i); attrs.str(i); attrs.int(i); attrs.double(i); attrs.bool(i); attrs.asString(i);
 * attrs.set(i, anyValueContent); attrs.setString(i, 'x'); attrs.remove(i); attrs.append(keyBytes, content);
 * const content = attrs.build();          // undefined when nothing changed; else the message's new content
 * ```
 * Edits are seen by later reads (an action list runs in order). Removal keeps the order of the other
 * attributes; appended attributes go last, as pcommon's Map.PutEmpty does.
 * `encodeAnyValue(jsValue)` pre-encodes a config value; `anyValueAsString` is pcommon's Value.AsString.
 *
 * Field helpers: `findVarintField`, `findLenField` read one field of a message (e.g. severity_number,
 * body, span name, metric name) without decoding it; `copyBytes` copies without allocating a view.
 */
import * as nodeCrypto from 'node:crypto';
import type { Signal } from '../core/signal.js';
import { WireFormatError } from '../pdata/wire.js';

export { WireFormatError };

// ---------------------------------------------------------------------------------------------------
// Field numbers (opentelemetry-proto v1)

/** ResourceX in the request, Resource in ResourceX, ScopeX in ResourceX: 1, 1, 2. Scope in ScopeX: 1; records in ScopeX: 2. */
export const FIELD = {
  requestResources: 1,
  resource: 1,
  scopes: 2,
  scope: 1,
  records: 2,
  resourceAttributes: 1,
  scopeAttributes: 3,
  scopeName: 1,
  scopeVersion: 2,
  logSeverityNumber: 2,
  logSeverityText: 3,
  logBody: 5,
  logAttributes: 6,
  spanName: 5,
  spanKind: 6,
  spanAttributes: 9,
  metricName: 1,
  dataPoints: 1,
} as const;

/** What a record is; metrics records are data points of one of the Metric.data kinds. */
export const enum RecordKind {
  Log = 0,
  Span = 1,
  NumberPoint = 2,
  HistogramPoint = 3,
  ExponentialHistogramPoint = 4,
  SummaryPoint = 5,
}

/** Metric.data oneof field number -> [data point kind, attributes field of that point]. */
const METRIC_DATA: Record<number, [RecordKind, number]> = {
  5: [RecordKind.NumberPoint, 7], // gauge
  7: [RecordKind.NumberPoint, 7], // sum
  9: [RecordKind.HistogramPoint, 9], // histogram
  10: [RecordKind.ExponentialHistogramPoint, 1], // exponential_histogram
  11: [RecordKind.SummaryPoint, 7], // summary
};

/** AnyValue oneof field numbers; 0 = no value set (pcommon's Empty). */
export const enum ValueType {
  Empty = 0,
  String = 1,
  Bool = 2,
  Int = 3,
  Double = 4,
  Array = 5,
  KvList = 6,
  Bytes = 7,
}

// ---------------------------------------------------------------------------------------------------
// Low-level varint helpers. `NEXT` carries the position after the last read (single-threaded, sync).

let NEXT = 0;
let LO = 0;
let HI = 0;

/** Reads a varint that must fit 31 bits (tags, lengths); sets NEXT. */
function readU32(buf: Uint8Array, pos: number, end: number): number {
  if (pos >= end) throw new WireFormatError('truncated varint');
  let b = buf[pos++]!;
  if (b < 0x80) {
    NEXT = pos;
    return b;
  }
  let result = b & 0x7f;
  let shift = 7;
  for (;;) {
    if (pos >= end) throw new WireFormatError('truncated varint');
    b = buf[pos++]!;
    if (shift === 28 && b > 0x07) {
      // Longer than 31 bits: a tag or length that large cannot occur in a request under the size limit.
      throw new WireFormatError('varint tag or length out of range');
    }
    result |= (b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7;
  }
  NEXT = pos;
  return result;
}

/** Reads a full 64-bit varint into LO/HI (unsigned 32-bit halves); sets NEXT. */
function readU64(buf: Uint8Array, pos: number, end: number): void {
  let lo = 0;
  let hi = 0;
  let shift = 0;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new WireFormatError('truncated varint');
    const b = buf[pos++]!;
    if (shift < 28) lo |= (b & 0x7f) << shift;
    else if (shift === 28) {
      lo |= (b & 0x0f) << 28;
      hi |= (b & 0x7f) >>> 4;
    } else hi |= (b & 0x7f) << (shift - 32);
    if (b < 0x80) {
      LO = lo >>> 0;
      HI = hi >>> 0;
      NEXT = pos;
      return;
    }
    shift += 7;
  }
  throw new WireFormatError('varint longer than 10 bytes');
}

function skipVarint(buf: Uint8Array, pos: number, end: number): number {
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new WireFormatError('truncated varint');
    if (buf[pos++]! < 0x80) return pos;
  }
  throw new WireFormatError('varint longer than 10 bytes');
}

/** Skips the value of a field with the given tag at pos; returns the position after it. */
function skipField(buf: Uint8Array, pos: number, end: number, tag: number): number {
  switch (tag & 7) {
    case 0:
      return skipVarint(buf, pos, end);
    case 1:
      if (pos + 8 > end) throw new WireFormatError('truncated fixed64');
      return pos + 8;
    case 2: {
      const len = readU32(buf, pos, end);
      const next = NEXT + len;
      if (next > end) throw new WireFormatError('length-delimited field overruns its message');
      return next;
    }
    case 5:
      if (pos + 4 > end) throw new WireFormatError('truncated fixed32');
      return pos + 4;
    default:
      throw new WireFormatError(`unsupported wire type ${tag & 7}`);
  }
}

export function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  return 5;
}

/** Writes a non-negative varint (< 2^32) at pos; returns the position after it. */
export function writeVarint(out: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[pos++] = n;
  return pos;
}

/**
 * Copies src[s:e] into dst at d; returns the position after. Runs shorter than 48 bytes use a byte loop
 * (~1.2 ns/byte here), longer ones TypedArray#set of a plain Uint8Array view (~60 ns whatever the size;
 * Buffer#subarray and Buffer#copy cost more, through the FastBuffer species constructor).
 */
export function copyBytes(src: Uint8Array, s: number, e: number, dst: Uint8Array, d: number): number {
  const n = e - s;
  if (n < 48) {
    for (let i = 0; i < n; i++) dst[d + i] = src[s + i]!;
  } else dst.set(new Uint8Array(src.buffer, src.byteOffset + s, n), d);
  return d + n;
}

/** The wire tag of a length-delimited field. */
const lenTag = (field: number) => (field << 3) | 2;

/** Result of findLenField: content range. */
export interface Range {
  start: number;
  end: number;
}

/**
 * Finds the last length-delimited field `field` in buf[start:end] (last wins, as for a decoded scalar);
 * writes its content range into `out` and returns true, or returns false when absent.
 */
export function findLenField(buf: Uint8Array, start: number, end: number, field: number, out: Range): boolean {
  const want = lenTag(field);
  let found = false;
  let pos = start;
  while (pos < end) {
    const tag = readU32(buf, pos, end);
    pos = NEXT;
    if (tag === want) {
      const len = readU32(buf, pos, end);
      const s = NEXT;
      if (s + len > end) throw new WireFormatError('length-delimited field overruns its message');
      out.start = s;
      out.end = s + len;
      found = true;
      pos = s + len;
    } else pos = skipField(buf, pos, end, tag);
  }
  return found;
}

/** Reads the last varint field `field` of buf[start:end] as a number (low 32 bits signed), or `absent`. */
export function findVarintField(buf: Uint8Array, start: number, end: number, field: number, absent: number): number {
  const want = field << 3;
  let value = absent;
  let pos = start;
  while (pos < end) {
    const tag = readU32(buf, pos, end);
    pos = NEXT;
    if (tag === want) {
      readU64(buf, pos, end);
      value = LO | 0;
      pos = NEXT;
    } else pos = skipField(buf, pos, end, tag);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------
// Walker

export const KEEP = 0;
export const DROP = 1;
/** Keep the container as is and do not visit what it holds. */
export const SKIP = 2;
/** Returned by a record hook that replaced its record with RequestWalker.replaceRecord. */
export const REPLACED = 3;
export type VisitResult = typeof KEEP | typeof DROP | typeof SKIP | typeof REPLACED | Uint8Array;

export interface ResourceView {
  /** The whole request. */
  buf: Buffer;
  signal: Signal;
  /** Index of the ResourceX in the request. */
  index: number;
  /** Whether the Resource field is on the wire (else start === end, an empty resource). */
  present: boolean;
  /** Content range of the Resource message. */
  start: number;
  end: number;
  /** Content range of the enclosing ResourceLogs/ResourceSpans/ResourceMetrics. */
  parentStart: number;
  parentEnd: number;
}

export interface ScopeView {
  buf: Buffer;
  signal: Signal;
  index: number;
  present: boolean;
  /** Content range of the InstrumentationScope message. */
  start: number;
  end: number;
  /** Content range of the enclosing ScopeLogs/ScopeSpans/ScopeMetrics. */
  parentStart: number;
  parentEnd: number;
  resource: ResourceView;
}

export interface MetricView {
  buf: Buffer;
  index: number;
  /** Content range of the Metric message. */
  start: number;
  end: number;
  scope: ScopeView;
  resource: ResourceView;
}

export interface RecordView {
  buf: Buffer;
  signal: Signal;
  kind: RecordKind;
  /** Field number of this record's attributes (6 log, 9 span, 7/9/1/7 data points). */
  attrField: number;
  /** Index of the record within its scope (data points: within their metric). */
  index: number;
  /** Content range of the record message. */
  start: number;
  end: number;
  scope: ScopeView;
  resource: ResourceView;
  /** The enclosing metric (metrics only; else undefined). */
  metric: MetricView | undefined;
}

export interface RequestVisitor {
  resource?(r: ResourceView): VisitResult;
  scope?(s: ScopeView): VisitResult;
  metric?(m: MetricView): VisitResult;
  record?(r: RecordView): VisitResult;
}

export interface WalkOptions {
  /** Remove metrics without data points, scopes without records, resources without scopes (filter semantics). */
  pruneEmpty?: boolean;
}

export interface WalkResult {
  /** The edited request, or the input array itself when nothing changed. */
  bytes: Uint8Array;
  changed: boolean;
  /** Records kept (log records, spans, data points), or -1 when the walk did not descend to records. */
  items: number;
}

const E_REPLACE = 0; // [start,end) -> arena[off, off+len) (framed: tag + varint(len) + content, one or more fields)
const E_LENGTH = 1; // [start,end) -> varint(len)
const E_DROP = 2; // [start,end) -> nothing
const E_NOP = 3; // a container's length slot whose length did not change (start === end)

const AS_BUFFER = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/**
 * Visits an encoded request and rebuilds only what the visitor changed. One walker per processor
 * instance: it reuses its views and buffers across requests (not reentrant; walk() is synchronous).
 */
export class RequestWalker {
  private buf: Buffer = Buffer.alloc(0);
  private signal: Signal = 'logs';
  private readonly depth: number; // 1 resource, 2 scope, 3 metric, 4 record
  private readonly prune: boolean;
  private items = 0;
  // Edits, in parallel arrays (no object per edit).
  private eKind: number[] = [];
  private eStart: number[] = [];
  private eEnd: number[] = [];
  private eOff: number[] = [];
  private eLen: number[] = [];
  private arena: Buffer = Buffer.allocUnsafe(64 * 1024);
  private arenaLen = 0;
  private dropped = false;
  private kept = 0;
  /** Replacements and drops pushed by this walk (length slots are not edits by themselves). */
  private edits = 0;
  // The record being visited, for replaceRecord.
  private recFieldStart = 0;
  private recEnd = 0;
  private recTag = 0;
  private recDelta = 0;

  private readonly rv: ResourceView;
  private readonly sv: ScopeView;
  private readonly mv: MetricView;
  private readonly recv: RecordView;

  constructor(private readonly visitor: RequestVisitor, opts: WalkOptions = {}) {
    this.prune = opts.pruneEmpty ?? false;
    this.depth = visitor.record ? 4 : visitor.metric ? 3 : visitor.scope ? 2 : 1;
    // pruneEmpty needs record counts, so it walks down to records.
    if (this.prune) this.depth = 4;
    const buf = this.buf;
    this.rv = { buf, signal: 'logs', index: 0, present: false, start: 0, end: 0, parentStart: 0, parentEnd: 0 };
    this.sv = { buf, signal: 'logs', index: 0, present: false, start: 0, end: 0, parentStart: 0, parentEnd: 0, resource: this.rv };
    this.mv = { buf, index: 0, start: 0, end: 0, scope: this.sv, resource: this.rv };
    this.recv = { buf, signal: 'logs', kind: RecordKind.Log, attrField: 6, index: 0, start: 0, end: 0, scope: this.sv, resource: this.rv, metric: undefined };
  }

  walk(signal: Signal, bytes: Uint8Array): WalkResult {
    const buf = AS_BUFFER(bytes);
    this.buf = buf;
    this.signal = signal;
    this.rv.buf = this.sv.buf = this.mv.buf = this.recv.buf = buf;
    this.rv.signal = this.sv.signal = this.recv.signal = signal;
    this.recv.metric = signal === 'metrics' ? this.mv : undefined;
    this.eKind.length = this.eStart.length = this.eEnd.length = this.eOff.length = this.eLen.length = 0;
    this.arenaLen = 0;
    this.edits = 0;
    this.items = 0;
    let delta = 0;
    let pos = 0;
    const end = buf.length;
    let index = 0;
    const want = lenTag(FIELD.requestResources);
    while (pos < end) {
      const fieldStart = pos;
      const tag = readU32(buf, pos, end);
      pos = NEXT;
      if (tag === want) {
        const len = readU32(buf, pos, end);
        const cs = NEXT;
        const ce = cs + len;
        if (ce > end) throw new WireFormatError('ResourceX overruns the request');
        delta += this.visitResourceX(index++, fieldStart, pos, cs, ce);
        pos = ce;
      } else pos = skipField(buf, pos, end, tag);
    }
    const items = this.depth >= 4 ? this.items : -1;
    if (this.edits === 0) return { bytes, changed: false, items };
    return { bytes: this.assemble(end + delta), changed: true, items };
  }

  // --- edits

  /** Makes room for n more bytes at arenaLen (keeping what earlier edits wrote); returns the arena. */
  private reserveArena(n: number): Buffer {
    if (this.arenaLen + n > this.arena.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.arenaLen + n));
      this.arena.copy(bigger, 0, 0, this.arenaLen);
      this.arena = bigger;
    }
    return this.arena;
  }

  /** Writes a field's tag and length at the arena's end, with room for `len` content bytes; returns where the content goes. */
  private frameField(tag: number, len: number): number {
    const arena = this.reserveArena(varintSize(tag) + varintSize(len) + len);
    return writeVarint(arena, writeVarint(arena, this.arenaLen, tag), len);
  }

  private pushReplace(start: number, end: number, tag: number, content: Uint8Array): number {
    const off = this.arenaLen;
    const p = this.frameField(tag, content.length);
    this.arena.set(content, p);
    return this.pushFramed(start, end, off, p + content.length - off);
  }

  /**
   * Records that [start,end) becomes the framed bytes just written at arena[off, off+framed). Consecutive
   * replaced siblings (a run of edited records) merge into one entry, so assembling copies the run at once.
   * A merge never crosses a container: siblings in different containers have the containers' tags and
   * lengths between them, so they are never adjacent.
   */
  private pushFramed(start: number, end: number, off: number, framed: number): number {
    this.arenaLen = off + framed;
    this.edits++;
    const k = this.eKind.length - 1;
    if (k >= 0 && this.eKind[k] === E_REPLACE && this.eEnd[k] === start && this.eOff[k]! + this.eLen[k]! === off) {
      this.eEnd[k] = end;
      this.eLen[k] += framed;
    } else this.pushEntry(E_REPLACE, start, end, off, framed);
    return framed - (end - start);
  }

  /**
   * For a record hook: replaces the record being visited by `attrs`' edited content, built straight into
   * the walker's arena (no intermediate copy). Returns REPLACED for the hook to return, or KEEP when the
   * edits left the record as it was.
   */
  replaceRecord(attrs: AttrList): VisitResult {
    const size = attrs.builtSize();
    if (size < 0) return KEEP;
    const off = this.arenaLen;
    const p = this.frameField(this.recTag, size);
    attrs.writeBuilt(this.arena, p, size);
    this.recDelta = this.pushFramed(this.recFieldStart, this.recEnd, off, p + size - off);
    return REPLACED;
  }

  /**
   * Reserves, before a container's children are visited, the entry that may rewrite its length prefix
   * (at lenStart), so edits stay in wire order; close() fills it in. Returns its index.
   */
  private lengthSlot(lenStart: number): number {
    this.pushEntry(E_NOP, lenStart, lenStart, 0, 0);
    return this.eKind.length - 1;
  }

  private pushEntry(kind: number, start: number, end: number, off: number, len: number): void {
    this.eKind.push(kind);
    this.eStart.push(start);
    this.eEnd.push(end);
    this.eOff.push(off);
    this.eLen.push(len);
  }

  private pushDrop(start: number, end: number): number {
    this.edits++;
    this.pushEntry(E_DROP, start, end, 0, 0);
    return start - end;
  }

  private truncate(mark: number): void {
    this.eKind.length = this.eStart.length = this.eEnd.length = this.eOff.length = this.eLen.length = mark;
  }

  /** Drops a whole field (discarding edits inside it), marks it dropped and returns its delta. */
  private dropField(mark: number, fieldStart: number, ce: number): number {
    this.truncate(mark);
    this.dropped = true;
    return this.pushDrop(fieldStart, ce);
  }

  /** Closes a container: when its content changed size, its length slot rewrites the length prefix. */
  private close(delta: number, slot: number, cs: number, ce: number): number {
    if (delta === 0) return 0;
    const newLen = ce - cs + delta;
    this.eKind[slot] = E_LENGTH;
    this.eEnd[slot] = cs;
    this.eLen[slot] = newLen;
    return delta + varintSize(newLen) - (cs - this.eStart[slot]!);
  }

  // --- levels

  /** Finds the first length-delimited `field` in [cs, ce); sets FS/FC/FE (field start, content start, end). */
  private locate(cs: number, ce: number, field: number): boolean {
    const buf = this.buf;
    const want = lenTag(field);
    let pos = cs;
    while (pos < ce) {
      const fieldStart = pos;
      const tag = readU32(buf, pos, ce);
      pos = NEXT;
      if (tag === want) {
        const len = readU32(buf, pos, ce);
        const s = NEXT;
        if (s + len > ce) throw new WireFormatError('length-delimited field overruns its message');
        this.fs = fieldStart;
        this.fc = s;
        this.fe = s + len;
        return true;
      }
      pos = skipField(buf, pos, ce, tag);
    }
    this.fs = this.fc = this.fe = cs;
    return false;
  }
  private fs = 0;
  private fc = 0;
  private fe = 0;

  private visitResourceX(index: number, fieldStart: number, lenStart: number, cs: number, ce: number): number {
    const rv = this.rv;
    const mark = this.eKind.length;
    const slot = this.lengthSlot(lenStart);
    rv.index = index;
    rv.parentStart = cs;
    rv.parentEnd = ce;
    rv.present = this.locate(cs, ce, FIELD.resource);
    rv.start = this.fc;
    rv.end = this.fe;
    const rFieldStart = this.fs;
    let delta = 0;
    const res = this.visitor.resource ? this.visitor.resource(rv) : KEEP;
    this.dropped = false;
    if (res === DROP) return this.dropField(mark, fieldStart, ce);
    if (res instanceof Uint8Array) delta += this.pushReplace(rFieldStart, rv.present ? rv.end : rFieldStart, lenTag(FIELD.resource), res);
    if (res !== SKIP && this.depth >= 2) {
      const buf = this.buf;
      const want = lenTag(FIELD.scopes);
      let pos = cs;
      let si = 0;
      let keptScopes = 0;
      while (pos < ce) {
        const fStart = pos;
        const tag = readU32(buf, pos, ce);
        pos = NEXT;
        if (tag === want) {
          const len = readU32(buf, pos, ce);
          const s = NEXT;
          const e = s + len;
          if (e > ce) throw new WireFormatError('ScopeX overruns its ResourceX');
          this.dropped = false;
          delta += this.visitScopeX(si++, fStart, pos, s, e);
          if (!this.dropped) keptScopes++;
          pos = e;
        } else pos = skipField(buf, pos, ce, tag);
      }
      if (this.prune && keptScopes === 0) return this.dropField(mark, fieldStart, ce);
    } else if (res === SKIP && this.depth >= 4) {
      this.items += this.countRecords(cs, ce, 1);
    }
    this.dropped = false;
    return this.close(delta, slot, cs, ce);
  }

  private visitScopeX(index: number, fieldStart: number, lenStart: number, cs: number, ce: number): number {
    const sv = this.sv;
    const mark = this.eKind.length;
    const slot = this.lengthSlot(lenStart);
    sv.index = index;
    sv.parentStart = cs;
    sv.parentEnd = ce;
    sv.present = this.locate(cs, ce, FIELD.scope);
    sv.start = this.fc;
    sv.end = this.fe;
    const sFieldStart = this.fs;
    let delta = 0;
    const res = this.visitor.scope ? this.visitor.scope(sv) : KEEP;
    if (res === DROP) return this.dropField(mark, fieldStart, ce);
    if (res instanceof Uint8Array) delta += this.pushReplace(sFieldStart, sv.present ? sv.end : sFieldStart, lenTag(FIELD.scope), res);
    if (res === SKIP || this.depth < 3) {
      if (this.depth >= 4) this.items += this.countRecords(cs, ce, 2);
      this.dropped = false;
      return this.close(delta, slot, cs, ce);
    }
    const buf = this.buf;
    const want = lenTag(FIELD.records);
    const metrics = this.signal === 'metrics';
    let pos = cs;
    let ri = 0;
    let keptChildren = 0;
    while (pos < ce) {
      const fStart = pos;
      const tag = readU32(buf, pos, ce);
      pos = NEXT;
      if (tag === want) {
        const len = readU32(buf, pos, ce);
        const s = NEXT;
        const e = s + len;
        if (e > ce) throw new WireFormatError('record overruns its scope');
        this.dropped = false;
        if (metrics) delta += this.visitMetric(ri++, fStart, pos, s, e);
        else if (this.depth >= 4) delta += this.visitRecord(ri++, fStart, s, e, this.signal === 'logs' ? RecordKind.Log : RecordKind.Span, this.signal === 'logs' ? FIELD.logAttributes : FIELD.spanAttributes, FIELD.records);
        if (!this.dropped) keptChildren++;
        pos = e;
      } else pos = skipField(buf, pos, ce, tag);
    }
    if (this.prune && keptChildren === 0) return this.dropField(mark, fieldStart, ce);
    this.dropped = false;
    return this.close(delta, slot, cs, ce);
  }

  private visitMetric(index: number, fieldStart: number, lenStart: number, cs: number, ce: number): number {
    const mv = this.mv;
    const mark = this.eKind.length;
    mv.index = index;
    mv.start = cs;
    mv.end = ce;
    const res = this.visitor.metric ? this.visitor.metric(mv) : KEEP;
    if (res === DROP) return this.dropField(mark, fieldStart, ce);
    if (res instanceof Uint8Array) throw new Error('RequestVisitor.metric may return KEEP, DROP or SKIP only');
    if (res === SKIP || this.depth < 4) {
      this.items += countMetricPoints(this.buf, cs, ce);
      this.dropped = false;
      return 0;
    }
    const slot = this.lengthSlot(lenStart);
    const buf = this.buf;
    let delta = 0;
    let pos = cs;
    let kept = 0;
    while (pos < ce) {
      const tag = readU32(buf, pos, ce);
      pos = NEXT;
      const data = (tag & 7) === 2 ? METRIC_DATA[tag >>> 3] : undefined;
      if (data !== undefined) {
        const lenStart = pos;
        const len = readU32(buf, pos, ce);
        const s = NEXT;
        const e = s + len;
        if (e > ce) throw new WireFormatError('metric data overruns its metric');
        const dataSlot = this.lengthSlot(lenStart);
        // Gauge/Sum/...: data_points=1 inside; other fields (temporality, monotonic) are copied.
        let dDelta = 0;
        let p = s;
        let pi = 0;
        const want = lenTag(FIELD.dataPoints);
        while (p < e) {
          const fStart = p;
          const t = readU32(buf, p, e);
          p = NEXT;
          if (t === want) {
            const l = readU32(buf, p, e);
            const ps = NEXT;
            const pe = ps + l;
            if (pe > e) throw new WireFormatError('data point overruns its metric');
            this.dropped = false;
            dDelta += this.visitRecord(pi++, fStart, ps, pe, data[0], data[1], FIELD.dataPoints);
            if (!this.dropped) kept++;
            p = pe;
          } else p = skipField(buf, p, e, t);
        }
        delta += this.close(dDelta, dataSlot, s, e);
        pos = e;
      } else pos = skipField(buf, pos, ce, tag);
    }
    if (this.prune && kept === 0) return this.dropField(mark, fieldStart, ce);
    this.dropped = false;
    return this.close(delta, slot, cs, ce);
  }

  private visitRecord(index: number, fieldStart: number, cs: number, ce: number, kind: RecordKind, attrField: number, field: number): number {
    const rec = this.recv;
    rec.index = index;
    rec.kind = kind;
    rec.attrField = attrField;
    rec.start = cs;
    rec.end = ce;
    this.recFieldStart = fieldStart;
    this.recEnd = ce;
    this.recTag = lenTag(field);
    const res = this.visitor.record ? this.visitor.record(rec) : KEEP;
    if (res === DROP) {
      this.dropped = true;
      return this.pushDrop(fieldStart, ce);
    }
    this.items++;
    if (res === REPLACED) return this.recDelta;
    if (res instanceof Uint8Array) return this.pushReplace(fieldStart, ce, this.recTag, res);
    return 0;
  }

  /** Counts records below a container without visiting them (level 1: ResourceX content, 2: ScopeX content). */
  private countRecords(cs: number, ce: number, level: number): number {
    let n = 0;
    const buf = this.buf;
    const metrics = this.signal === 'metrics';
    let pos = cs;
    while (pos < ce) {
      const tag = readU32(buf, pos, ce);
      pos = NEXT;
      if (tag === lenTag(2)) {
        const len = readU32(buf, pos, ce);
        const s = NEXT;
        const e = s + len;
        if (e > ce) throw new WireFormatError('length-delimited field overruns its message');
        if (level === 1) n += this.countRecords(s, e, 2);
        else n += metrics ? countMetricPoints(buf, s, e) : 1;
        pos = e;
      } else pos = skipField(buf, pos, ce, tag);
    }
    return n;
  }

  private assemble(total: number): Buffer {
    const n = this.eKind.length;
    let order: number[] | undefined;
    for (let i = 1; i < n; i++) {
      if (this.eStart[i]! < this.eStart[i - 1]! || (this.eStart[i] === this.eStart[i - 1] && this.eEnd[i]! < this.eEnd[i - 1]!)) {
        // A Resource or scope field after its siblings on the wire: edits were pushed out of order.
        order = Array.from({ length: n }, (_, k) => k).sort((a, b) => this.eStart[a]! - this.eStart[b]! || this.eEnd[a]! - this.eEnd[b]!);
        break;
      }
    }
    const src = this.buf;
    const out = Buffer.allocUnsafe(total);
    let s = 0;
    let d = 0;
    for (let k = 0; k < n; k++) {
      const i = order ? order[k]! : k;
      const start = this.eStart[i]!;
      if (start > s) d = copyBytes(src, s, start, out, d);
      switch (this.eKind[i]) {
        case E_REPLACE: {
          const off = this.eOff[i]!;
          d = copyBytes(this.arena, off, off + this.eLen[i]!, out, d);
          break;
        }
        case E_LENGTH:
          d = writeVarint(out, d, this.eLen[i]!);
          break;
        default:
          break;
      }
      s = this.eEnd[i]!;
    }
    if (s < src.length) d = copyBytes(src, s, src.length, out, d);
    if (d !== total) throw new Error(`wire-edit: assembled ${d} bytes, expected ${total}`);
    return out;
  }
}

function countMetricPoints(buf: Uint8Array, cs: number, ce: number): number {
  let n = 0;
  let pos = cs;
  while (pos < ce) {
    const tag = readU32(buf, pos, ce);
    pos = NEXT;
    if ((tag & 7) === 2 && METRIC_DATA[tag >>> 3] !== undefined) {
      const len = readU32(buf, pos, ce);
      const s = NEXT;
      const e = s + len;
      if (e > ce) throw new WireFormatError('metric data overruns its metric');
      let p = s;
      while (p < e) {
        const t = readU32(buf, p, e);
        p = NEXT;
        if (t === lenTag(1)) n++;
        p = skipField(buf, p, e, t);
      }
      pos = e;
    } else pos = skipField(buf, pos, ce, tag);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------
// Values

const utf8Encoder = new TextEncoder();
/** UTF-8 bytes of a string (for keys given to AttrList). */
export const utf8 = (s: string): Buffer => Buffer.from(utf8Encoder.encode(s));

function int64Varint(v: bigint): Buffer {
  let u = BigInt.asUintN(64, v);
  const bytes: number[] = [];
  while (u >= 0x80n) {
    bytes.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  bytes.push(Number(u));
  return Buffer.from(bytes);
}

function frame(tag: number, content: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(varintSize(tag) + varintSize(content.length) + content.length);
  let p = writeVarint(out, 0, tag);
  p = writeVarint(out, p, content.length);
  out.set(content, p);
  return out;
}

/** An AnyValue given as a JS value: config values, or typed values for tests. */
export type JsAnyValue =
  | string
  | boolean
  | number
  | bigint
  | Uint8Array
  | null
  | { double: number }
  | JsAnyValue[]
  | { [key: string]: JsAnyValue };

/**
 * Encodes a JS value as AnyValue content: string, boolean, integer number or bigint (int), other
 * number (double), `{double: n}` (a double even when integral), Uint8Array (bytes), array, plain object
 * (kvlist), null (empty AnyValue). Used once per config value, not per record.
 */
export function encodeAnyValue(v: JsAnyValue): Buffer {
  if (v === null) return Buffer.alloc(0);
  if (typeof v === 'string') return frame(lenTag(1), utf8(v));
  if (typeof v === 'boolean') return Buffer.from([2 << 3, v ? 1 : 0]);
  if (typeof v === 'bigint') return Buffer.concat([Buffer.from([3 << 3]), int64Varint(v)]);
  if (typeof v === 'number') {
    if (Number.isInteger(v) && Number.isSafeInteger(v)) return Buffer.concat([Buffer.from([3 << 3]), int64Varint(BigInt(v))]);
    return encodeDouble(v);
  }
  if (v instanceof Uint8Array) return frame(lenTag(7), v);
  if (Array.isArray(v)) return frame(lenTag(5), Buffer.concat(v.map((x) => frame(lenTag(1), encodeAnyValue(x)))));
  if (typeof (v as { double?: unknown }).double === 'number' && Object.keys(v).length === 1) return encodeDouble((v as { double: number }).double);
  const parts: Buffer[] = [];
  for (const [k, x] of Object.entries(v as Record<string, JsAnyValue>)) parts.push(frame(lenTag(1), encodeKeyValue(utf8(k), encodeAnyValue(x))));
  return frame(lenTag(6), Buffer.concat(parts));
}

function encodeDouble(d: number): Buffer {
  const b = Buffer.allocUnsafe(9);
  b[0] = (4 << 3) | 1;
  b.writeDoubleLE(d, 1);
  return b;
}

/** KeyValue content: key=1, value=2. */
export function encodeKeyValue(key: Uint8Array, value: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(kvSize(key.length, value.length));
  writeKv(out, 0, key, 0, key.length, value, 0, value.length);
  return out;
}

function kvSize(keyLen: number, valLen: number): number {
  return 1 + varintSize(keyLen) + keyLen + 1 + varintSize(valLen) + valLen;
}

function writeKv(out: Uint8Array, p: number, kb: Uint8Array, ks: number, ke: number, vb: Uint8Array, vs: number, ve: number): number {
  out[p++] = 0x0a;
  p = writeVarint(out, p, ke - ks);
  p = copyBytes(kb, ks, ke, out, p);
  out[p++] = 0x12;
  p = writeVarint(out, p, ve - vs);
  return copyBytes(vb, vs, ve, out, p);
}

/** Parses AnyValue content buf[s:e]: returns the value type and sets VS/VE to the oneof value's range. */
let VS = 0;
let VE = 0;
function parseAnyValue(buf: Uint8Array, s: number, e: number): ValueType {
  let type = ValueType.Empty;
  let pos = s;
  VS = VE = s;
  while (pos < e) {
    const tag = readU32(buf, pos, e);
    pos = NEXT;
    const f = tag >>> 3;
    const wt = tag & 7;
    const next = skipField(buf, pos, e, tag);
    // The last oneof member on the wire wins, as in a decode.
    if (f >= 1 && f <= 7 && wt === (f === 2 || f === 3 ? 0 : f === 4 ? 1 : 2)) {
      type = f as ValueType;
      if (wt === 2) {
        readU32(buf, pos, e);
        VS = NEXT;
      } else VS = pos;
      VE = next;
    }
    pos = next;
  }
  return type;
}

function int64At(buf: Uint8Array, s: number, e: number): bigint {
  readU64(buf, s, e);
  return BigInt.asIntN(64, (BigInt(HI) << 32n) | BigInt(LO));
}

const B64 = (b: Uint8Array) => AS_BUFFER(b).toString('base64');

/** Go's strconv.FormatFloat(f, 'g'-like ES6 form) as pcommon's AsString writes doubles. */
export function formatDouble(d: number): string {
  if (Number.isNaN(d)) return 'NaN';
  if (d === Infinity) return '+Inf';
  if (d === -Infinity) return '-Inf';
  if (Object.is(d, -0)) return '-0';
  return String(d);
}

/** pcommon Value.AsString of AnyValue content buf[s:e] (maps and slices as JSON, map keys sorted). */
export function anyValueAsString(buf: Uint8Array, s: number, e: number): string {
  const type = parseAnyValue(buf, s, e);
  const vs = VS;
  const ve = VE;
  switch (type) {
    case ValueType.String:
      return AS_BUFFER(buf).toString('utf8', vs, ve);
    case ValueType.Bool:
      return buf[vs] !== 0 ? 'true' : 'false';
    case ValueType.Int:
      return int64At(buf, vs, ve).toString();
    case ValueType.Double:
      return formatDouble(AS_BUFFER(buf).readDoubleLE(vs));
    case ValueType.Bytes:
      return B64(buf.subarray(vs, ve));
    case ValueType.Array:
    case ValueType.KvList:
      return JSON.stringify(anyValueToRaw(buf, s, e));
    default:
      return '';
  }
}

/** AnyValue content as a plain JS value (pcommon AsRaw; maps with sorted keys, bytes as base64, for JSON). */
function anyValueToRaw(buf: Uint8Array, s: number, e: number): unknown {
  const type = parseAnyValue(buf, s, e);
  const vs = VS;
  const ve = VE;
  switch (type) {
    case ValueType.String:
      return AS_BUFFER(buf).toString('utf8', vs, ve);
    case ValueType.Bool:
      return buf[vs] !== 0;
    case ValueType.Int: {
      const v = int64At(buf, vs, ve);
      // JSON has no int64: keep exact digits via a raw marker replaced below would be overkill; numbers beyond 2^53 lose precision as in JSON.
      return Number(v);
    }
    case ValueType.Double:
      return AS_BUFFER(buf).readDoubleLE(vs);
    case ValueType.Bytes:
      return B64(buf.subarray(vs, ve));
    case ValueType.Array: {
      const out: unknown[] = [];
      let pos = vs;
      while (pos < ve) {
        const tag = readU32(buf, pos, ve);
        pos = NEXT;
        const next = skipField(buf, pos, ve, tag);
        if (tag === lenTag(1)) {
          readU32(buf, pos, ve);
          out.push(anyValueToRaw(buf, NEXT, next));
        }
        pos = next;
      }
      return out;
    }
    case ValueType.KvList: {
      const entries: [string, unknown][] = [];
      let pos = vs;
      const r: Range = { start: 0, end: 0 };
      while (pos < ve) {
        const tag = readU32(buf, pos, ve);
        pos = NEXT;
        const next = skipField(buf, pos, ve, tag);
        if (tag === lenTag(1)) {
          readU32(buf, pos, ve);
          const ks = NEXT;
          const key = findLenField(buf, ks, next, 1, r) ? AS_BUFFER(buf).toString('utf8', r.start, r.end) : '';
          const val = findLenField(buf, ks, next, 2, r) ? anyValueToRaw(buf, r.start, r.end) : null;
          entries.push([key, val]);
        }
        pos = next;
      }
      entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const obj: Record<string, unknown> = {};
      for (const [k, v] of entries) obj[k] = v;
      return obj;
    }
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------------------
// Attribute lists

const ST_ORIGINAL = 0; // bytes as received
const ST_REPLACED = 1; // value replaced, key kept
const ST_REMOVED = 2;
const ST_APPENDED = 3;

/**
 * A message's repeated KeyValue field, read lazily and edited in place. Reuse one per processor: the
 * entry tables and scratch buffers are kept across records.
 */
export class AttrList {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;
  private field = 0;
  /** Number of entries, removed ones included (iterate 0..length and skip `removed(i)`). */
  length = 0;
  /** True once an edit was made since load(). */
  changed = false;
  // Per entry.
  // Typed tables, grown on demand: no per-record allocation while reading.
  private cap = 32;
  private st = new Int32Array(this.cap);
  private kvStart = new Int32Array(this.cap); // field start (tag) of the original KeyValue
  private kvEnd = new Int32Array(this.cap);
  private keyBuf: Uint8Array[] = [];
  private keyS = new Int32Array(this.cap);
  private keyE = new Int32Array(this.cap);
  private valBuf: Uint8Array[] = []; // AnyValue content lives here
  private valS = new Int32Array(this.cap);
  private valE = new Int32Array(this.cap);
  private vType = new Int32Array(this.cap); // -1 = not parsed yet
  private vDataS = new Int32Array(this.cap);
  private vDataE = new Int32Array(this.cap);

  private grow(): void {
    const cap = this.cap * 2;
    const g = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.st = g(this.st);
    this.kvStart = g(this.kvStart);
    this.kvEnd = g(this.kvEnd);
    this.keyS = g(this.keyS);
    this.keyE = g(this.keyE);
    this.valS = g(this.valS);
    this.valE = g(this.valE);
    this.vType = g(this.vType);
    this.vDataS = g(this.vDataS);
    this.vDataE = g(this.vDataE);
    this.cap = cap;
  }
  private arena: Buffer = Buffer.allocUnsafe(4096);
  private arenaLen = 0;
  private out: Buffer = Buffer.allocUnsafe(4096);
  private readonly tmp: Range = { start: 0, end: 0 };

  /** Reads the KeyValue entries of field `field` in message buf[start:end]. */
  load(buf: Uint8Array, start: number, end: number, field: number): this {
    const b = AS_BUFFER(buf);
    this.buf = b;
    this.start = start;
    this.end = end;
    this.field = field;
    this.changed = false;
    this.arenaLen = 0;
    let n = 0;
    const want = lenTag(field);
    let pos = start;
    while (pos < end) {
      const fieldStart = pos;
      const tag = readU32(b, pos, end);
      pos = NEXT;
      if (tag === want) {
        const len = readU32(b, pos, end);
        const s = NEXT;
        const e = s + len;
        if (e > end) throw new WireFormatError('KeyValue overruns its message');
        // KeyValue: key=1, value=2 (last occurrence wins).
        let ks = s;
        let ke = s;
        let vs = s;
        let ve = s;
        let p = s;
        while (p < e) {
          const t = readU32(b, p, e);
          p = NEXT;
          if (t === 0x0a || t === 0x12) {
            const l = readU32(b, p, e);
            const cs = NEXT;
            if (cs + l > e) throw new WireFormatError('KeyValue field overruns its KeyValue');
            if (t === 0x0a) {
              ks = cs;
              ke = cs + l;
            } else {
              vs = cs;
              ve = cs + l;
            }
            p = cs + l;
          } else p = skipField(b, p, e, t);
        }
        if (n === this.cap) this.grow();
        this.st[n] = ST_ORIGINAL;
        this.kvStart[n] = fieldStart;
        this.kvEnd[n] = e;
        this.keyBuf[n] = b;
        this.keyS[n] = ks;
        this.keyE[n] = ke;
        this.valBuf[n] = b;
        this.valS[n] = vs;
        this.valE[n] = ve;
        this.vType[n] = -1;
        n++;
        pos = e;
      } else pos = skipField(b, pos, end, tag);
    }
    this.length = n;
    return this;
  }

  /** Index of the first live entry whose key equals `key` (UTF-8 bytes), or -1. */
  indexOf(key: Uint8Array): number {
    const kl = key.length;
    for (let i = 0; i < this.length; i++) {
      if (this.st[i] === ST_REMOVED) continue;
      const s = this.keyS[i]!;
      if (this.keyE[i]! - s !== kl) continue;
      const kb = this.keyBuf[i]!;
      let j = 0;
      while (j < kl && kb[s + j] === key[j]) j++;
      if (j === kl) return i;
    }
    return -1;
  }

  removed(i: number): boolean {
    return this.st[i] === ST_REMOVED;
  }

  key(i: number): string {
    return AS_BUFFER(this.keyBuf[i]!).toString('utf8', this.keyS[i], this.keyE[i]);
  }

  /** Whether entry i's key matches `re` (decodes the key; used by pattern-based actions). */
  keyMatches(i: number, re: RegExp): boolean {
    re.lastIndex = 0;
    return re.test(this.key(i));
  }

  private parse(i: number): number {
    let t = this.vType[i]!;
    if (t < 0) {
      t = parseAnyValue(this.valBuf[i]!, this.valS[i]!, this.valE[i]!);
      this.vType[i] = t;
      this.vDataS[i] = VS;
      this.vDataE[i] = VE;
    }
    return t;
  }

  type(i: number): ValueType {
    return this.parse(i) as ValueType;
  }

  str(i: number): string {
    this.parse(i);
    return AS_BUFFER(this.valBuf[i]!).toString('utf8', this.vDataS[i], this.vDataE[i]);
  }

  /** The raw bytes of a string or bytes value (a view, no copy). */
  rawBytes(i: number): Uint8Array {
    this.parse(i);
    const b = this.valBuf[i]!;
    const s = this.vDataS[i]!;
    // A plain Uint8Array view: cheaper than Buffer#subarray, which builds a FastBuffer.
    return new Uint8Array(b.buffer, b.byteOffset + s, this.vDataE[i]! - s);
  }

  bool(i: number): boolean {
    this.parse(i);
    return this.valBuf[i]![this.vDataS[i]!] !== 0;
  }

  int(i: number): bigint {
    this.parse(i);
    return int64At(this.valBuf[i]!, this.vDataS[i]!, this.vDataE[i]!);
  }

  double(i: number): number {
    this.parse(i);
    return AS_BUFFER(this.valBuf[i]!).readDoubleLE(this.vDataS[i]!);
  }

  /** pcommon Value.AsString of entry i. */
  asString(i: number): string {
    return anyValueAsString(this.valBuf[i]!, this.valS[i]!, this.valE[i]!);
  }

  /** The AnyValue content of entry i (a view; valid until the next load()). */
  value(i: number): Uint8Array {
    return this.valBuf[i]!.subarray(this.valS[i], this.valE[i]);
  }

  /** Writes the bytes that pcommon's hasher feeds SHA-256 for entry i into `into`; returns their count. */
  hashInput(i: number, into: Buffer): number {
    const t = this.parse(i);
    const b = this.valBuf[i]!;
    switch (t) {
      case ValueType.String:
        return -1; // caller hashes rawBytes(i)
      case ValueType.Bool:
        into[0] = b[this.vDataS[i]!] !== 0 ? 1 : 0;
        return 1;
      case ValueType.Int:
        readU64(b, this.vDataS[i]!, this.vDataE[i]!);
        into.writeUInt32LE(LO, 0);
        into.writeUInt32LE(HI, 4);
        return 8;
      case ValueType.Double:
        // The wire holds the IEEE bits little-endian, which is what pcommon hashes.
        into.set(b.subarray(this.vDataS[i], this.vDataS[i]! + 8), 0);
        return 8;
      default:
        return 0;
    }
  }

  // --- edits

  /** Replaces entry i's value with AnyValue content `content` (kept by reference: do not mutate it). */
  set(i: number, content: Uint8Array): void {
    if (this.st[i] === ST_ORIGINAL) this.st[i] = ST_REPLACED;
    this.valBuf[i] = content;
    this.valS[i] = 0;
    this.valE[i] = content.length;
    this.vType[i] = -1;
    this.changed = true;
  }

  /** Copies entry j's value into entry i (from_attribute). */
  copyValue(i: number, j: number): void {
    const b = this.valBuf[j]!;
    const s = this.valS[j]!;
    const e = this.valE[j]!;
    if (this.st[i] === ST_ORIGINAL) this.st[i] = ST_REPLACED;
    this.valBuf[i] = b;
    this.valS[i] = s;
    this.valE[i] = e;
    this.vType[i] = -1;
    this.changed = true;
  }

  /** Reserves n bytes of scratch that lives until the next load(); returns [buffer, offset]. */
  private reserve(n: number): Buffer {
    if (this.arenaLen + n > this.arena.length) {
      // Entries keep references into the old arena, so a fresh one is started rather than resized.
      this.arena = Buffer.allocUnsafe(Math.max(4096, n * 2, this.arena.length));
      this.arenaLen = 0;
    }
    return this.arena;
  }

  private setScratch(i: number, arena: Buffer, s: number, e: number): void {
    if (this.st[i] === ST_ORIGINAL) this.st[i] = ST_REPLACED;
    this.valBuf[i] = arena;
    this.valS[i] = s;
    this.valE[i] = e;
    this.vType[i] = -1;
    this.changed = true;
  }

  /** Sets entry i to a string value. */
  setString(i: number, s: string): void {
    const max = Buffer.byteLength(s, 'utf8');
    const a = this.reserve(max + 6);
    const start = this.arenaLen;
    a[start] = 0x0a;
    let p = writeVarint(a, start + 1, max);
    p += a.write(s, p, 'utf8');
    this.arenaLen = p;
    this.setScratch(i, a, start, p);
  }

  /** Sets entry i to a string value given as latin1/ASCII text (e.g. hex digests): no UTF-8 scan. */
  setAscii(i: number, s: string): void {
    const a = this.reserve(s.length + 6);
    const start = this.arenaLen;
    a[start] = 0x0a;
    let p = writeVarint(a, start + 1, s.length);
    p += a.write(s, p, 'latin1');
    this.arenaLen = p;
    this.setScratch(i, a, start, p);
  }

  setInt(i: number, v: bigint): void {
    const a = this.reserve(11);
    const start = this.arenaLen;
    a[start] = 3 << 3;
    let u = BigInt.asUintN(64, v);
    let p = start + 1;
    while (u >= 0x80n) {
      a[p++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    a[p++] = Number(u);
    this.arenaLen = p;
    this.setScratch(i, a, start, p);
  }

  setDouble(i: number, d: number): void {
    const a = this.reserve(9);
    const start = this.arenaLen;
    a[start] = (4 << 3) | 1;
    a.writeDoubleLE(d, start + 1);
    this.arenaLen = start + 9;
    this.setScratch(i, a, start, start + 9);
  }

  remove(i: number): void {
    this.st[i] = ST_REMOVED;
    this.changed = true;
  }

  /** Appends a new entry; returns its index. `content` is AnyValue content, kept by reference. */
  append(key: Uint8Array, content: Uint8Array): number {
    if (this.length === this.cap) this.grow();
    const n = this.length++;
    this.st[n] = ST_APPENDED;
    this.kvStart[n] = this.kvEnd[n] = -1;
    this.keyBuf[n] = key;
    this.keyS[n] = 0;
    this.keyE[n] = key.length;
    this.valBuf[n] = content;
    this.valS[n] = 0;
    this.valE[n] = content.length;
    this.vType[n] = -1;
    this.changed = true;
    return n;
  }

  /** Appends an entry with a string value. */
  appendString(key: Uint8Array, s: string): number {
    const i = this.append(key, EMPTY);
    this.setString(i, s);
    return i;
  }

  /**
   * The message's new content with the edits applied, or undefined when nothing changed. The result is a
   * view of a scratch buffer reused by the next build(): hand it to the walker (which copies) or copy it.
   */
  build(): Uint8Array | undefined {
    const size = this.builtSize();
    if (size < 0) return undefined;
    if (this.out.length < size) this.out = Buffer.allocUnsafe(Math.max(size, this.out.length * 2));
    this.writeBuilt(this.out, 0, size);
    return this.out.subarray(0, size);
  }

  /** Size of the edited content, or -1 when nothing changed (no edit, or edits that cancel out). */
  builtSize(): number {
    if (!this.changed) return -1;
    // Edits that cancel out (an insert then a delete of the same key) leave the message as it was.
    let net = false;
    for (let i = 0; i < this.length && !net; i++) {
      const st = this.st[i];
      net = st === ST_REPLACED || st === ST_APPENDED || (st === ST_REMOVED && this.kvStart[i]! >= 0);
    }
    if (!net) return -1;
    let size = this.end - this.start;
    const n = this.length;
    for (let i = 0; i < n; i++) {
      const st = this.st[i];
      if (st === ST_ORIGINAL) continue;
      const inner = kvSize(this.keyE[i]! - this.keyS[i]!, this.valE[i]! - this.valS[i]!);
      const framed = 1 + varintSize(inner) + inner;
      if (st === ST_REMOVED) {
        if (this.kvStart[i]! >= 0) size -= this.kvEnd[i]! - this.kvStart[i]!;
      } else if (st === ST_REPLACED) size += framed - (this.kvEnd[i]! - this.kvStart[i]!);
      else size += framed;
    }
    return size;
  }

  /** Writes the edited content (builtSize() bytes, passed as `size`) into out at p; returns the end. */
  writeBuilt(out: Buffer, p: number, size: number): number {
    const start = p;
    const n = this.length;
    const src = this.buf;
    const tag = lenTag(this.field);
    let s = this.start;
    for (let i = 0; i < n; i++) {
      const st = this.st[i];
      if (st === ST_ORIGINAL) continue;
      if (st === ST_APPENDED) continue;
      const ks = this.kvStart[i]!;
      if (ks < 0) continue; // appended then removed
      p = copyBytes(src, s, ks, out, p);
      s = this.kvEnd[i]!;
      if (st === ST_REPLACED) p = this.writeEntry(out, p, tag, i);
    }
    p = copyBytes(src, s, this.end, out, p);
    for (let i = 0; i < n; i++) if (this.st[i] === ST_APPENDED) p = this.writeEntry(out, p, tag, i);
    if (p - start !== size) throw new Error(`AttrList.build wrote ${p - start} bytes, expected ${size}`);
    return p;
  }

  private writeEntry(out: Buffer, p: number, tag: number, i: number): number {
    const ks = this.keyS[i]!;
    const ke = this.keyE[i]!;
    const vs = this.valS[i]!;
    const ve = this.valE[i]!;
    p = writeVarint(out, p, tag);
    p = writeVarint(out, p, kvSize(ke - ks, ve - vs));
    return writeKv(out, p, this.keyBuf[i]!, ks, ke, this.valBuf[i]!, vs, ve);
  }
}

const EMPTY = new Uint8Array(0);

// ---------------------------------------------------------------------------------------------------
// Hashing (the collector's attributes `hash` action)

const HASH_SCRATCH = Buffer.allocUnsafe(8);
// crypto.hash (Node >= 20.12) is a one-shot digest, several times cheaper than createHash per value.
const hashFn = (nodeCrypto as unknown as { hash?: (alg: string, data: Uint8Array, enc: 'hex') => string }).hash;

/** SHA-256 hex of data (one-shot crypto.hash where Node has it). */
export function sha256Hex(data: Uint8Array): string {
  if (hashFn) return hashFn('sha256', data, 'hex');
  return nodeCrypto.createHash('sha256').update(data).digest('hex');
}

/**
 * Replaces entry i's value by the SHA-256 hex of its value, as the collector's sha2Hasher: strings hash
 * their UTF-8 bytes, bools one byte, ints and doubles their 8 little-endian bytes; any other kind and
 * the empty string become "".
 */
export function hashEntry(attrs: AttrList, i: number): void {
  const n = attrs.hashInput(i, HASH_SCRATCH);
  if (n < 0) {
    const raw = attrs.rawBytes(i);
    attrs.setAscii(i, raw.length > 0 ? sha256Hex(raw) : '');
  } else attrs.setAscii(i, n > 0 ? sha256Hex(HASH_SCRATCH.subarray(0, n)) : '');
}
