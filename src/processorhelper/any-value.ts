/**
 * AnyValue on the wire: reading its type and value in place, pcommon's AsString, and encoding config values
 * (once per config value, not per record).
 */
import {
  NEXT,
  asBuffer,
  copyBytes,
  encodeLenField,
  findLenField,
  int64FromHalves,
  int64VarintSize,
  lenTag,
  readVarint,
  readVarint64,
  skipField,
  varintSize,
  writeInt64Varint,
  writeVarint,
  type Range,
} from '../pdata/wire-primitives.js';
import { ValueType } from './otlp-fields.js';

const utf8Encoder = new TextEncoder();
/** UTF-8 bytes of a string (for keys given to AttrList). */
export const utf8 = (s: string): Buffer => Buffer.from(utf8Encoder.encode(s));

/** An AnyValue given as a JS value: config values, or typed values for tests. */
export type JsAnyValue = string | boolean | number | bigint | Uint8Array | null | { double: number } | JsAnyValue[] | { [key: string]: JsAnyValue };

/**
 * Encodes a JS value as AnyValue content: string, boolean, integer number or bigint (int), other
 * number (double), `{double: n}` (a double even when integral), Uint8Array (bytes), array, plain object
 * (kvlist), null (empty AnyValue). Used once per config value, not per record.
 */
export function encodeAnyValue(v: JsAnyValue): Buffer {
  if (v === null) return Buffer.alloc(0);
  if (typeof v === 'string') return encodeLenField(1, utf8(v));
  if (typeof v === 'boolean') return Buffer.from([2 << 3, v ? 1 : 0]);
  if (typeof v === 'bigint') return encodeInt(v);
  if (typeof v === 'number') {
    if (Number.isInteger(v) && Number.isSafeInteger(v)) return encodeInt(BigInt(v));
    return encodeDouble(v);
  }
  if (v instanceof Uint8Array) return encodeLenField(7, v);
  if (Array.isArray(v)) return encodeLenField(5, Buffer.concat(v.map((x) => encodeLenField(1, encodeAnyValue(x)))));
  if (typeof (v as { double?: unknown }).double === 'number' && Object.keys(v).length === 1) return encodeDouble((v as { double: number }).double);
  const parts: Buffer[] = [];
  for (const [k, x] of Object.entries(v as Record<string, JsAnyValue>)) parts.push(encodeLenField(1, encodeKeyValue(utf8(k), encodeAnyValue(x))));
  return encodeLenField(6, Buffer.concat(parts));
}

function encodeInt(v: bigint): Buffer {
  const b = Buffer.allocUnsafe(1 + int64VarintSize(v));
  b[0] = 3 << 3;
  writeInt64Varint(b, 1, v);
  return b;
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

export function kvSize(keyLen: number, valLen: number): number {
  return 1 + varintSize(keyLen) + keyLen + 1 + varintSize(valLen) + valLen;
}

export function writeKv(out: Uint8Array, p: number, kb: Uint8Array, ks: number, ke: number, vb: Uint8Array, vs: number, ve: number): number {
  out[p++] = 0x0a;
  p = writeVarint(out, p, ke - ks);
  p = copyBytes(kb, ks, ke, out, p);
  out[p++] = 0x12;
  p = writeVarint(out, p, ve - vs);
  return copyBytes(vb, vs, ve, out, p);
}

/** Parses AnyValue content buf[s:e]: returns the value type and sets VS/VE to the oneof value's range. */
// `var` for the reason given at NEXT in wire-primitives.ts: AttrList reads these per parsed value.
/* eslint-disable no-var */
export var VS = 0;
export var VE = 0;
/* eslint-enable no-var */
export function parseAnyValue(buf: Uint8Array, s: number, e: number): ValueType {
  let type = ValueType.Empty;
  let pos = s;
  VS = VE = s;
  while (pos < e) {
    const tag = readVarint(buf, pos, e);
    pos = NEXT;
    const f = Math.floor(tag / 8);
    const wt = tag & 7;
    const next = skipField(buf, pos, e, tag);
    // The last oneof member on the wire wins, as in a decode.
    if (f >= 1 && f <= 7 && wt === (f === 2 || f === 3 ? 0 : f === 4 ? 1 : 2)) {
      type = f as ValueType;
      if (wt === 2) {
        readVarint(buf, pos, e);
        VS = NEXT;
      } else VS = pos;
      VE = next;
    }
    pos = next;
  }
  return type;
}

/** The int64 varint at buf[s:e]. */
export function int64At(buf: Uint8Array, s: number, e: number): bigint {
  readVarint64(buf, s, e);
  return int64FromHalves();
}

const B64 = (b: Uint8Array) => asBuffer(b).toString('base64');

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
      return asBuffer(buf).toString('utf8', vs, ve);
    case ValueType.Bool:
      return buf[vs] !== 0 ? 'true' : 'false';
    case ValueType.Int:
      return int64At(buf, vs, ve).toString();
    case ValueType.Double:
      return formatDouble(asBuffer(buf).readDoubleLE(vs));
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
      return asBuffer(buf).toString('utf8', vs, ve);
    case ValueType.Bool:
      return buf[vs] !== 0;
    case ValueType.Int: {
      const v = int64At(buf, vs, ve);
      // JSON has no int64: keep exact digits via a raw marker replaced below would be overkill; numbers beyond 2^53 lose precision as in JSON.
      return Number(v);
    }
    case ValueType.Double:
      return asBuffer(buf).readDoubleLE(vs);
    case ValueType.Bytes:
      return B64(buf.subarray(vs, ve));
    case ValueType.Array: {
      const out: unknown[] = [];
      let pos = vs;
      while (pos < ve) {
        const tag = readVarint(buf, pos, ve);
        pos = NEXT;
        const next = skipField(buf, pos, ve, tag);
        if (tag === lenTag(1)) {
          readVarint(buf, pos, ve);
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
        const tag = readVarint(buf, pos, ve);
        pos = NEXT;
        const next = skipField(buf, pos, ve, tag);
        if (tag === lenTag(1)) {
          readVarint(buf, pos, ve);
          const ks = NEXT;
          const key = findLenField(buf, ks, next, 1, r) ? asBuffer(buf).toString('utf8', r.start, r.end) : '';
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
