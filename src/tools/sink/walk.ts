/**
 * Finds every record of an Export request and its `gophership.seq` attribute by walking the protobuf wire
 * (no decode, no object per record), and reads the `gophership.run` resource attribute per resource.
 * OTLP/JSON requests are parsed with JSON.parse and walked the same way (the JSON path is for tests and
 * functional checks; the protobuf path is the fast one).
 */
import { NEXT, lenEnd as fieldEnd, readVarint, skipField } from '../../pdata/wire-primitives.js';
import type { Signal } from '../../core/signal.js';
import { RUN_KEY, SEQ_KEY } from '../loadgen/common.js';

/** Receives the records of one request in order. seq is -1 when the record carries no sequence attribute. */
export interface RecordVisitor {
  resource(runId: string): void;
  record(seq: number): void;
}

const SEQ_BYTES = Buffer.from(SEQ_KEY, 'latin1');
const RUN_BYTES = Buffer.from(RUN_KEY, 'latin1');

// The read position is module state so the walk passes no cursor object (single-threaded, no await).
let P = 0;

/** The varint at P; P moves past it. */
function rv(buf: Uint8Array, end: number): number {
  const v = readVarint(buf, P, end);
  P = NEXT;
  return v;
}

/** Skips a value of wire type wt at P. */
function skip(buf: Uint8Array, wt: number, end: number): void {
  P = skipField(buf, P, end, wt);
}

/** Reads a length prefix at P; returns the end of the field's bytes and leaves P at their start. */
function lenEnd(buf: Uint8Array, end: number): number {
  const e = fieldEnd(buf, P, end);
  P = NEXT;
  return e;
}

function bytesEqual(buf: Uint8Array, s: number, e: number, key: Buffer): boolean {
  if (e - s !== key.length) return false;
  for (let i = 0; i < key.length; i++) if (buf[s + i] !== key[i]) return false;
  return true;
}

/**
 * In KeyValue buf[s:e], when the key equals `key`, returns the AnyValue's bounds packed as [start, end] in
 * OUT; false otherwise.
 */
const OUT = [0, 0];
function keyValueMatch(buf: Uint8Array, s: number, e: number, key: Buffer): boolean {
  P = s;
  let matched = false;
  let vs = -1;
  let ve = -1;
  while (P < e) {
    const tag = rv(buf, e);
    if (tag === 0x0a) {
      const fe = lenEnd(buf, e);
      matched = bytesEqual(buf, P, fe, key);
      if (!matched) return false;
      P = fe;
    } else if (tag === 0x12) {
      ve = lenEnd(buf, e);
      vs = P;
      P = ve;
    } else skip(buf, tag & 7, e);
  }
  if (!matched || vs < 0) return false;
  OUT[0] = vs;
  OUT[1] = ve;
  return true;
}

/** AnyValue int_value (field 3) in buf[s:e], or -1. */
function anyInt(buf: Uint8Array, s: number, e: number): number {
  P = s;
  while (P < e) {
    const tag = rv(buf, e);
    if (tag === 0x18) return rv(buf, e);
    skip(buf, tag & 7, e);
  }
  return -1;
}

/** AnyValue string_value (field 1) in buf[s:e], or ''. */
function anyString(buf: Uint8Array, s: number, e: number): string {
  P = s;
  while (P < e) {
    const tag = rv(buf, e);
    if (tag === 0x0a) {
      const fe = lenEnd(buf, e);
      return Buffer.from(buf.buffer, buf.byteOffset + P, fe - P).toString('utf8');
    }
    skip(buf, tag & 7, e);
  }
  return '';
}

/** Scans a record message buf[s:e] for the sequence attribute in attribute field `attrField`. */
function recordSeq(buf: Uint8Array, s: number, e: number, attrField: number): number {
  const attrTag = (attrField << 3) | 2;
  P = s;
  while (P < e) {
    const tag = rv(buf, e);
    if (tag === attrTag) {
      const fe = lenEnd(buf, e);
      const fs = P;
      if (keyValueMatch(buf, fs, fe, SEQ_BYTES)) return anyInt(buf, OUT[0]!, OUT[1]!);
      P = fe;
    } else skip(buf, tag & 7, e);
  }
  return -1;
}

/** Resource message buf[s:e]: the run id attribute, or ''. */
function resourceRun(buf: Uint8Array, s: number, e: number): string {
  P = s;
  while (P < e) {
    const tag = rv(buf, e);
    if (tag === 0x0a) {
      const fe = lenEnd(buf, e);
      const fs = P;
      if (keyValueMatch(buf, fs, fe, RUN_BYTES)) return anyString(buf, OUT[0]!, OUT[1]!);
      P = fe;
    } else skip(buf, tag & 7, e);
  }
  return '';
}

// Metric.data oneof field -> the data point's attributes field.
// gauge=5/sum=7 (NumberDataPoint.attributes=7), histogram=9 (attributes=9),
// exponential_histogram=10 (attributes=1), summary=11 (attributes=7).
const POINT_ATTR: Record<number, number> = { 5: 7, 7: 7, 9: 9, 10: 1, 11: 7 };

/** Walks every record of a protobuf Export request; returns the number of records. Throws WireFormatError. */
export function scanProto(signal: Signal, buf: Uint8Array, v: RecordVisitor): number {
  let n = 0;
  const end = buf.length;
  P = 0;
  while (P < end) {
    const tag = rv(buf, end);
    if (tag !== 0x0a) {
      skip(buf, tag & 7, end);
      continue;
    }
    const re = lenEnd(buf, end);
    const rs = P;
    // Pass 1: the resource (usually first, but field order is not guaranteed).
    let runId = '';
    while (P < re) {
      const t = rv(buf, re);
      if (t === 0x0a) {
        const fe = lenEnd(buf, re);
        const fs = P;
        runId = resourceRun(buf, fs, fe);
        P = fe;
      } else skip(buf, t & 7, re);
    }
    v.resource(runId);
    // Pass 2: scopes (field 2) and their records (field 2).
    P = rs;
    while (P < re) {
      const t = rv(buf, re);
      if (t !== 0x12) {
        skip(buf, t & 7, re);
        continue;
      }
      const se = lenEnd(buf, re);
      while (P < se) {
        const t2 = rv(buf, se);
        if (t2 !== 0x12) {
          skip(buf, t2 & 7, se);
          continue;
        }
        const me = lenEnd(buf, se);
        const ms = P;
        if (signal === 'metrics') {
          n += scanMetric(buf, ms, me, v);
        } else {
          v.record(recordSeq(buf, ms, me, signal === 'logs' ? 6 : 9));
          n++;
        }
        P = me;
      }
      P = se;
    }
    P = re;
  }
  return n;
}

function scanMetric(buf: Uint8Array, s: number, e: number, v: RecordVisitor): number {
  let n = 0;
  P = s;
  while (P < e) {
    const tag = rv(buf, e);
    const field = Math.floor(tag / 8);
    const attrField = POINT_ATTR[field];
    if ((tag & 7) !== 2 || attrField === undefined) {
      skip(buf, tag & 7, e);
      continue;
    }
    const de = lenEnd(buf, e);
    while (P < de) {
      const t = rv(buf, de);
      if (t !== 0x0a) {
        skip(buf, t & 7, de);
        continue;
      }
      const pe = lenEnd(buf, de);
      const ps = P;
      v.record(recordSeq(buf, ps, pe, attrField));
      n++;
      P = pe;
    }
    P = de;
  }
  return n;
}

// ---- OTLP/JSON

const JSON_KEYS: Record<Signal, [string, string, string]> = {
  logs: ['resourceLogs', 'scopeLogs', 'logRecords'],
  traces: ['resourceSpans', 'scopeSpans', 'spans'],
  metrics: ['resourceMetrics', 'scopeMetrics', 'metrics'],
};
const METRIC_DATA = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'];

type Obj = Record<string, unknown>;
const arr = (x: unknown): Obj[] => (Array.isArray(x) ? (x as Obj[]) : []);

export class JsonRequestError extends Error {
  override readonly name = 'JsonRequestError';
}

function attrValue(attrs: unknown, key: string): Obj | undefined {
  for (const kv of arr(attrs)) if (kv && kv.key === key) return (kv.value as Obj | undefined) ?? undefined;
  return undefined;
}

function seqOf(attrs: unknown): number {
  const v = attrValue(attrs, SEQ_KEY);
  if (!v || v.intValue === undefined) return -1;
  const n = Number(v.intValue);
  return Number.isSafeInteger(n) && n >= 0 ? n : -1;
}

/** Walks every record of an OTLP/JSON Export request; returns the number of records. */
export function scanJson(signal: Signal, text: string, v: RecordVisitor): number {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw new JsonRequestError(`request body is not valid JSON: ${(e as Error).message}`);
  }
  if (!root || typeof root !== 'object' || Array.isArray(root)) throw new JsonRequestError('request body must be a JSON object');
  const [rk, sk, ik] = JSON_KEYS[signal];
  let n = 0;
  for (const rx of arr((root as Obj)[rk])) {
    const runV = attrValue((rx?.resource as Obj | undefined)?.attributes, RUN_KEY);
    v.resource(typeof runV?.stringValue === 'string' ? runV.stringValue : '');
    for (const sx of arr(rx?.[sk])) {
      for (const item of arr(sx?.[ik])) {
        if (signal !== 'metrics') {
          v.record(seqOf(item?.attributes));
          n++;
          continue;
        }
        for (const d of METRIC_DATA) {
          const data = item?.[d] as Obj | undefined;
          if (!data) continue;
          for (const dp of arr(data.dataPoints)) {
            v.record(seqOf(dp?.attributes));
            n++;
          }
        }
      }
    }
  }
  return n;
}
