/**
 * The routers of the loadbalancing exporter, one per routing key and signal (split.ts asks them for the
 * backend of each resource, leaf or data point); they read the ring at call time, so a membership change
 * applies from the next request on.
 */
import { AttrList, FIELD, ValueType, anyValueAsString, findLenField, findVarintField, utf8, type Range } from '../../src/processorhelper/wire-edit.js';
import { NEXT, copyBytes, readVarint, skipField } from '../../src/pdata/wire-primitives.js';
import type { Signal } from '../../src/core/signal.js';
import { HashRing, MAX_POSITIONS, crc32, crc32Int } from './ring.js';
import { PointSplit } from './point-split.js';
import type { Router } from './split.js';

const SERVICE_NAME = utf8('service.name');
export const SPAN_TRACE_ID = 1;
export const LOG_TRACE_ID = 9;

/** The routers, one per routing key and signal; they read the ring at call time. */
export class Routers {
  private current = new HashRing([]);
  private readonly r: Range = { start: 0, end: 0 };
  // The last span's trace ID and backend: spans of one trace usually sit together, and comparing 16 bytes
  // costs less than hashing them.
  private readonly lastTraceId = Buffer.alloc(16);
  private lastBackend = -1;

  get ring(): HashRing {
    return this.current;
  }
  set ring(ring: HashRing) {
    this.current = ring;
    this.lastBackend = -1;
  }

  private spanBackend(buf: Uint8Array, s: number): number {
    const last = this.lastTraceId;
    if (this.lastBackend >= 0) {
      let i = 0;
      while (i < 16 && buf[s + i] === last[i]) i++;
      if (i === 16) return this.lastBackend;
    }
    for (let i = 0; i < 16; i++) last[i] = buf[s + i]!;
    return (this.lastBackend = this.current.backendFor(buf, s, s + 16));
  }
  private readonly attrs = new AttrList();
  private roundRobin = 0;

  /** Spans or log records by trace ID. */
  traceId(field: number): Router {
    return {
      resource: () => -1,
      leaf: (buf, s, e) => {
        // Encoders write trace_id first in a span: read it in place without scanning the span.
        if (field === SPAN_TRACE_ID && e - s > 18 && buf[s] === 0x0a && buf[s + 1] === 16) return this.spanBackend(buf, s + 2);
        if (findLenField(buf, s, e, field, this.r) && this.r.end - this.r.start === 16) return this.ring.backendFor(buf, this.r.start, this.r.end);
        // No trace ID (logs): spread, as the collector picks a random backend.
        return this.roundRobin++ % this.ring.size;
      },
    };
  }

  /** Whole resources by their service.name (absent: the empty name). */
  service(): Router {
    return {
      resource: (buf, s, e) => {
        if (!findLenField(buf, s, e, FIELD.resource, this.r)) return this.ring.backendFor(buf, 0, 0);
        const a = this.attrs.load(buf, this.r.start, this.r.end, FIELD.resourceAttributes);
        const i = a.indexOf(SERVICE_NAME);
        if (i < 0) return this.ring.backendFor(buf, 0, 0);
        const v = a.rawBytes(i);
        return this.ring.backendFor(v, 0, v.length);
      },
      leaf: () => 0,
    };
  }

  /** Whole resources by all their attributes (the Resource message's bytes). */
  resource(): Router {
    return {
      resource: (buf, s, e) =>
        findLenField(buf, s, e, FIELD.resource, this.r) ? this.ring.backendFor(buf, this.r.start, this.r.end) : this.ring.backendFor(buf, 0, 0),
      leaf: () => 0,
    };
  }

  /** Each metric by its resource and name. */
  metric(): Router {
    return {
      resource: () => -1,
      leaf: (buf, s, e, rs, re) => {
        let h = findLenField(buf, rs, re, FIELD.resource, this.r) ? crc32(buf, this.r.start, this.r.end) : 0;
        if (findLenField(buf, s, e, FIELD.metricName, this.r)) h = crc32(buf, this.r.start, this.r.end, h);
        return this.ring.backendForPosition(h % MAX_POSITIONS);
      },
    };
  }

  /**
   * Each metric data point by its stream: the identity of its resource (attributes), scope (name, version,
   * attributes), metric (name, unit, data kind, temporality, monotonicity) and its own attributes, as the
   * collector's streamID. Attribute sets are hashed regardless of order; a metric whose points belong to
   * several backends is split between them (point-split.ts).
   */
  streamId(): Router {
    const points = new PointSplit();
    let resourceHash = 0;
    let scopeStart = -1;
    let scopeHash = 0;
    // The crc32 of resource, scope and metric identities, once per metric (PointSplit.serial tells which).
    let prefixOf = -1;
    let prefix = 0;
    const pointOf = (buf: Uint8Array, s: number, e: number, attrsField: number): number => {
      if (prefixOf !== points.serial) {
        prefixOf = points.serial;
        prefix = crc32Int(points.metricHash, crc32Int(scopeHash, crc32Int(resourceHash)));
      }
      const h = crc32Int(s < e ? attributeSetHash(buf, s, e, attrsField) : 0, prefix);
      return this.ring.backendForPosition(h % MAX_POSITIONS);
    };
    return {
      points,
      resource: (buf, s, e) => {
        resourceHash = findLenField(buf, s, e, FIELD.resource, this.r) ? attributeSetHash(buf, this.r.start, this.r.end, FIELD.resourceAttributes) : 0;
        scopeStart = -1;
        return -1;
      },
      leaf: (buf, s, e, _rs, _re, ss, se) => {
        if (ss !== scopeStart) {
          scopeStart = ss;
          scopeHash = findLenField(buf, ss, se, FIELD.scope, this.r) ? attributeSetHash(buf, this.r.start, this.r.end, FIELD.scopeAttributes, true) : 0;
        }
        return points.add(buf, s, e, pointOf);
      },
    };
  }

  /**
   * By the values of `names` (routing_attributes), each looked up in the resource, then the scope, then
   * the record (span, log record, data point) with the collector's pseudo attributes; the key is
   * `name=value|` for each, resource-level ones first, a missing one as `name=|`. A resource (or scope)
   * that holds them all goes whole to one backend without looking at its records.
   */
  attributes(names: readonly string[], signal: Signal): Router {
    const nameBytes = names.map((n) => utf8(n));
    const key = new KeyBuffer();
    const attrs = this.attrs;
    const resPending: number[] = [];
    const scopePending: number[] = [];
    let resLen = 0;
    let resBackend = -1;
    let scopeStart = -1;
    let scopeLen = 0;
    let scopeBackend = -1;
    const points = signal === 'metrics' ? new PointSplit() : undefined;
    const r = this.r;
    const all = names.map((_, i) => i);
    /** Appends `name=value|` for each name of `pending` found in attrs; the others go to `into`. */
    const resolve = (pending: readonly number[], into: number[]): void => {
      for (const i of pending) {
        const at = attrs.indexOf(nameBytes[i]!);
        if (at >= 0) key.pair(nameBytes[i]!, attrs, at);
        else into.push(i);
      }
    };
    /** The key of one record: the scope's prefix, then each name still pending from the record. */
    const recordBackend = (buf: Uint8Array, s: number, e: number, attrsField: number): number => {
      key.n = scopeLen;
      let loaded = false;
      for (const i of scopePending) {
        if (pseudoAttribute(signal, names[i]!, nameBytes[i]!, buf, s, e, r, key)) continue;
        if (!loaded && e > s) {
          attrs.load(buf, s, e, attrsField);
          loaded = true;
        }
        const at = loaded ? attrs.indexOf(nameBytes[i]!) : -1;
        if (at >= 0) key.pair(nameBytes[i]!, attrs, at);
        else key.missing(nameBytes[i]!);
      }
      return this.ring.backendFor(key.buf, 0, key.n);
    };
    const recordAttrs = signal === 'traces' ? FIELD.spanAttributes : FIELD.logAttributes;
    return {
      points,
      resource: (buf, s, e) => {
        key.n = 0;
        resPending.length = 0;
        if (findLenField(buf, s, e, FIELD.resource, r)) attrs.load(buf, r.start, r.end, FIELD.resourceAttributes);
        else attrs.load(buf, 0, 0, FIELD.resourceAttributes);
        resolve(all, resPending);
        resLen = key.n;
        scopeStart = -1;
        resBackend = resPending.length === 0 ? this.ring.backendFor(key.buf, 0, key.n) : -1;
        return resBackend;
      },
      leaf: (buf, s, e, _rs, _re, ss, se) => {
        if (ss !== scopeStart) {
          scopeStart = ss;
          key.n = resLen;
          scopePending.length = 0;
          if (findLenField(buf, ss, se, FIELD.scope, r)) attrs.load(buf, r.start, r.end, FIELD.scopeAttributes);
          else attrs.load(buf, 0, 0, FIELD.scopeAttributes);
          resolve(resPending, scopePending);
          scopeLen = key.n;
          scopeBackend = scopePending.length === 0 ? this.ring.backendFor(key.buf, 0, key.n) : -1;
        }
        if (scopeBackend >= 0) return scopeBackend;
        return points ? points.add(buf, s, e, recordBackend) : recordBackend(buf, s, e, recordAttrs);
      },
    };
  }
}

/**
 * Order-independent hash of the attributes (field `field`) of message buf[s:e]: the sum of each entry's
 * hash. `nameAndVersion` (an InstrumentationScope): its name and version fields count too.
 */
function attributeSetHash(buf: Uint8Array, s: number, e: number, field: number, nameAndVersion = false): number {
  const want = (field << 3) | 2;
  let sum = 0;
  let named = 0;
  let pos = s;
  while (pos < e) {
    const fs = pos;
    const tag = readVarint(buf, pos, e);
    const next = skipField(buf, NEXT, e, tag);
    if (tag === want) sum = (sum + hashBytes(buf, fs, next)) | 0;
    else if (nameAndVersion && (tag === 0x0a || tag === 0x12)) named = crc32(buf, fs, next, named);
    pos = next;
  }
  return (sum + named) >>> 0;
}

/**
 * A 32-bit hash of buf[s:e], four bytes a step (murmur3's mixing): a stream's attributes are hashed for
 * every data point, and a crc32 table walk costs a step per byte. Only GopherShip reads these hashes.
 */
function hashBytes(buf: Uint8Array, s: number, e: number): number {
  let h = e - s;
  let i = s;
  for (; i + 4 <= e; i += 4) {
    let k = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    h ^= k;
    h = (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  for (let shift = 0; i < e; i++, shift += 8) k |= buf[i]! << shift;
  k = Math.imul(k, 0xcc9e2d51);
  h ^= Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** The collector's SpanKind names (ptrace SpanKind.String()). */
const SPAN_KINDS = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'];

/**
 * Writes `name=value|` of a pseudo attribute of record buf[s:e] into key (span.kind, span.name;
 * log.severity, the severity text; log.body, the body as a string) and returns true, or returns false
 * when `name` is none for this signal.
 */
function pseudoAttribute(signal: Signal, name: string, nameBytes: Uint8Array, buf: Uint8Array, s: number, e: number, r: Range, key: KeyBuffer): boolean {
  if (signal === 'traces') {
    if (name === 'span.kind') key.pseudo(nameBytes, SPAN_KINDS[findVarintField(buf, s, e, FIELD.spanKind, 0)] ?? '');
    else if (name === 'span.name') key.field(nameBytes, buf, FIELD.spanName, s, e, r);
    else return false;
    return true;
  }
  if (signal === 'logs') {
    if (name === 'log.severity') key.field(nameBytes, buf, FIELD.logSeverityText, s, e, r);
    else if (name === 'log.body') key.pseudo(nameBytes, findLenField(buf, s, e, FIELD.logBody, r) ? anyValueAsString(buf, r.start, r.end) : '');
    else return false;
    return true;
  }
  return false;
}

/** A routing key being written: `name=value|` pairs in a reused buffer. */
class KeyBuffer {
  buf = Buffer.allocUnsafe(256);
  n = 0;

  private room(more: number): void {
    if (this.n + more <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + more));
    this.buf.copy(b, 0, 0, this.n);
    this.buf = b;
  }
  private bytes(v: Uint8Array): void {
    this.room(v.length);
    this.buf.set(v, this.n);
    this.n += v.length;
  }
  private text(v: string): void {
    this.room(Buffer.byteLength(v));
    this.n += this.buf.write(v, this.n);
  }
  private head(name: Uint8Array): void {
    this.bytes(name);
    this.room(1);
    this.buf[this.n++] = 0x3d; // =
  }
  private end(): void {
    this.room(1);
    this.buf[this.n++] = 0x7c; // |
  }

  /** name=value| of entry `at` of attrs (a string as its bytes, another value as pcommon's AsString). */
  pair(name: Uint8Array, attrs: AttrList, at: number): void {
    this.head(name);
    if (attrs.type(at) === ValueType.String) this.bytes(attrs.rawBytes(at));
    else this.text(attrs.asString(at));
    this.end();
  }
  pseudo(name: Uint8Array, value: string): void {
    this.head(name);
    this.text(value);
    this.end();
  }
  /** name=value| with the value a string field of message buf[s:e] (empty when absent). */
  field(name: Uint8Array, buf: Uint8Array, field: number, s: number, e: number, r: Range): void {
    this.head(name);
    if (findLenField(buf, s, e, field, r)) {
      this.room(r.end - r.start);
      this.n = copyBytes(buf, r.start, r.end, this.buf, this.n);
    }
    this.end();
  }
  missing(name: Uint8Array): void {
    this.head(name);
    this.end();
  }
}
