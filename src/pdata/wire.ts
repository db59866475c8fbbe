/**
 * Cheap protobuf wire walks over encoded OTLP Export requests: no decode, no allocation per record.
 * Each walk descends only the levels it needs and skips every other field whole, so it also checks the
 * framing of the request (lengths that overrun their parent fail) at a fraction of a decode's cost.
 */
import type { Signal } from '../core/signal.js';

export class WireFormatError extends Error {
  override readonly name = 'WireFormatError';
}

const WT_VARINT = 0;
const WT_I64 = 1;
const WT_LEN = 2;
const WT_I32 = 5;

/** Reads a varint at `pos`; returns the value (up to 2^53) and writes the next position into cursor[0]. */
export function readVarint(buf: Uint8Array, pos: number, end: number, cursor: Int32Array | number[]): number {
  let result = 0;
  let shift = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new WireFormatError('truncated varint');
    const b = buf[pos++]!;
    result += (b & 0x7f) * shift;
    if (b < 0x80) {
      cursor[0] = pos;
      return result;
    }
    shift *= 128;
  }
  throw new WireFormatError('varint longer than 10 bytes');
}

/**
 * Skips one field's value of the given wire type starting at pos; returns the position after it. For a
 * length-delimited value, cursor[0] is left at the start of its content.
 */
export function skipValue(buf: Uint8Array, pos: number, end: number, wireType: number, cursor: number[]): number {
  switch (wireType) {
    case WT_VARINT:
      readVarint(buf, pos, end, cursor);
      return cursor[0]!;
    case WT_I64:
      if (pos + 8 > end) throw new WireFormatError('truncated fixed64');
      return pos + 8;
    case WT_LEN: {
      const len = readVarint(buf, pos, end, cursor);
      const next = cursor[0]! + len;
      if (next > end) throw new WireFormatError('length-delimited field overruns its message');
      return next;
    }
    case WT_I32:
      if (pos + 4 > end) throw new WireFormatError('truncated fixed32');
      return pos + 4;
    default:
      throw new WireFormatError(`unsupported wire type ${wireType}`);
  }
}

/**
 * Calls `visit(start, end)` for each occurrence of length-delimited field `fieldNo` in the message
 * buf[start:end], skipping all other fields.
 */
export function forEachField(
  buf: Uint8Array,
  start: number,
  end: number,
  fieldNo: number,
  visit: (start: number, end: number) => void,
): void {
  const cursor = [0];
  let pos = start;
  while (pos < end) {
    const tag = readVarint(buf, pos, end, cursor);
    pos = cursor[0]!;
    const wireType = tag & 7;
    const field = Math.floor(tag / 8);
    if (field === 0) throw new WireFormatError('field number 0');
    if (field === fieldNo && wireType === WT_LEN) {
      const len = readVarint(buf, pos, end, cursor);
      const s = cursor[0]!;
      const e = s + len;
      if (e > end) throw new WireFormatError('length-delimited field overruns its message');
      visit(s, e);
      pos = e;
    } else {
      pos = skipValue(buf, pos, end, wireType, cursor);
    }
  }
}

/** Counts occurrences of length-delimited field `fieldNo` in buf[start:end]. */
export function countField(buf: Uint8Array, start: number, end: number, fieldNo: number): number {
  let n = 0;
  forEachField(buf, start, end, fieldNo, () => {
    n++;
  });
  return n;
}

// Metric.data oneof: gauge=5, sum=7, histogram=9, exponential_histogram=10, summary=11; each holds data_points=1.
const METRIC_DATA_FIELDS = [5, 7, 9, 10, 11];

function countMetricPoints(buf: Uint8Array, start: number, end: number): number {
  let n = 0;
  const cursor = [0];
  let pos = start;
  while (pos < end) {
    const tag = readVarint(buf, pos, end, cursor);
    pos = cursor[0]!;
    const wireType = tag & 7;
    const field = Math.floor(tag / 8);
    if (wireType === WT_LEN && METRIC_DATA_FIELDS.includes(field)) {
      const len = readVarint(buf, pos, end, cursor);
      const s = cursor[0]!;
      const e = s + len;
      if (e > end) throw new WireFormatError('metric data overruns its message');
      n += countField(buf, s, e, 1);
      pos = e;
    } else {
      pos = skipValue(buf, pos, end, wireType, cursor);
    }
  }
  return n;
}

/**
 * Counts the items of an encoded Export request the way the collector counts them: log records, spans, or
 * metric data points. Throws WireFormatError when the framing is broken.
 */
export function countItems(signal: Signal, buf: Uint8Array): number {
  let n = 0;
  // ResourceX=1 in the request, ScopeX=2 in ResourceX, LogRecord/Span/Metric=2 in ScopeX.
  forEachField(buf, 0, buf.length, 1, (rs, re) => {
    forEachField(buf, rs, re, 2, (ss, se) => {
      if (signal === 'metrics') {
        forEachField(buf, ss, se, 2, (ms, me) => {
          n += countMetricPoints(buf, ms, me);
        });
      } else {
        n += countField(buf, ss, se, 2);
      }
    });
  });
  return n;
}

/** Joins encoded Export requests of one signal into one: repeated fields concatenate, so bytes join. */
export function concatRequests(parts: readonly Uint8Array[], totalBytes?: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const total = totalBytes ?? parts.reduce((a, p) => a + p.length, 0);
  const out = Buffer.allocUnsafe(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
