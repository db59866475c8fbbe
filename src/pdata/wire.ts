/**
 * Cheap protobuf wire walks over encoded OTLP Export requests: no decode, no allocation per record.
 * Each walk descends only the levels it needs and skips every other field whole, so it also checks the
 * framing of the request (lengths that overrun their parent fail) at a fraction of a decode's cost.
 */
import type { Signal } from '../core/signal.js';
import { NEXT, WT_LEN, WireFormatError, lenEnd, readVarint, skipField } from './wire-primitives.js';

export { WireFormatError };

/**
 * Calls `visit(start, end)` for each occurrence of length-delimited field `fieldNo` in the message
 * buf[start:end], skipping all other fields. A visit that returns `true` stops the walk: the result says
 * whether one did (any other return value goes on).
 */
export function forEachField(buf: Uint8Array, start: number, end: number, fieldNo: number, visit: (start: number, end: number) => unknown): boolean {
  let pos = start;
  while (pos < end) {
    const tag = readVarint(buf, pos, end);
    pos = NEXT;
    if (tag < 8) throw new WireFormatError('field number 0', pos);
    if (tag === fieldNo * 8 + WT_LEN) {
      const e = lenEnd(buf, pos, end);
      if (visit(NEXT, e) === true) return true;
      pos = e;
    } else pos = skipField(buf, pos, end, tag);
  }
  return false;
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

/** Counts the data points of the Metric message buf[start:end]. */
export function countMetricPoints(buf: Uint8Array, start: number, end: number): number {
  let n = 0;
  let pos = start;
  while (pos < end) {
    const tag = readVarint(buf, pos, end);
    pos = NEXT;
    if ((tag & 7) === WT_LEN && METRIC_DATA_FIELDS.includes(Math.floor(tag / 8))) {
      const e = lenEnd(buf, pos, end);
      n += countField(buf, NEXT, e, 1);
      pos = e;
    } else pos = skipField(buf, pos, end, tag);
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
