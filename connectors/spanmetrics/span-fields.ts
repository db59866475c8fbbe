/**
 * Reads the fields spanmetrics needs from one encoded Span, without decoding it: the name, kind, status
 * code, duration and the trace and span IDs' positions. One reader per connector, reused for every span.
 */
import { NEXT, lenTag, readVarint, skipField, tagOf, WT_I64, WT_VARINT } from '../../src/pdata/wire-primitives.js';

// Span (opentelemetry-proto trace.proto): trace_id=1, span_id=2, trace_state=3, name=5, kind=6, start=7,
// end=8, status=15.
const T_TRACE_ID = lenTag(1);
const T_SPAN_ID = lenTag(2);
const T_TRACE_STATE = lenTag(3);
const T_NAME = lenTag(5);
const T_KIND = tagOf(6, WT_VARINT);
const T_START = tagOf(7, WT_I64);
const T_END = tagOf(8, WT_I64);
const T_STATUS = lenTag(15);
// Status: code=3.
const T_STATUS_CODE = tagOf(3, WT_VARINT);

const KIND_NAMES = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

/** The collector's traceutil.SpanKindStr: an unknown kind is the empty string. */
export const spanKindName = (k: number): string => KIND_NAMES[k] ?? '';
/** The collector's traceutil.StatusCodeStr. */
export const statusCodeName = (c: number): string => STATUS_NAMES[c] ?? '';

export class SpanFields {
  nameStart = 0;
  nameEnd = 0;
  kind = 0;
  statusCode = 0;
  /** end - start in nanoseconds; 0 when the end is not after the start (as the collector). */
  durationNanos = 0;
  traceIdStart = 0;
  traceIdEnd = 0;
  spanIdStart = 0;
  spanIdEnd = 0;
  traceStateStart = 0;
  traceStateEnd = 0;

  /** Reads the Span at buf[start:end]. */
  read(buf: Buffer, start: number, end: number): void {
    this.nameStart = this.nameEnd = this.traceIdStart = this.traceIdEnd = this.spanIdStart = this.spanIdEnd = start;
    this.traceStateStart = this.traceStateEnd = start;
    this.kind = this.statusCode = 0;
    let startLo = 0;
    let startHi = 0;
    let endLo = 0;
    let endHi = 0;
    let pos = start;
    while (pos < end) {
      const tag = readVarint(buf, pos, end);
      pos = NEXT;
      switch (tag) {
        case T_NAME:
        case T_TRACE_ID:
        case T_SPAN_ID:
        case T_TRACE_STATE:
        case T_STATUS: {
          const len = readVarint(buf, pos, end);
          const s = NEXT;
          const e = s + len;
          if (tag === T_NAME) {
            this.nameStart = s;
            this.nameEnd = e;
          } else if (tag === T_TRACE_ID) {
            this.traceIdStart = s;
            this.traceIdEnd = e;
          } else if (tag === T_SPAN_ID) {
            this.spanIdStart = s;
            this.spanIdEnd = e;
          } else if (tag === T_TRACE_STATE) {
            this.traceStateStart = s;
            this.traceStateEnd = e;
          } else this.statusCode = readStatusCode(buf, s, e);
          pos = e;
          break;
        }
        case T_KIND:
          this.kind = readVarint(buf, pos, end);
          pos = NEXT;
          break;
        case T_START:
          startLo = buf.readUInt32LE(pos);
          startHi = buf.readUInt32LE(pos + 4);
          pos += 8;
          break;
        case T_END:
          endLo = buf.readUInt32LE(pos);
          endHi = buf.readUInt32LE(pos + 4);
          pos += 8;
          break;
        default:
          pos = skipField(buf, pos, end, tag);
      }
    }
    // Exact while the difference is below 2^53 ns (104 days).
    const d = (endHi - startHi) * 4294967296 + (endLo - startLo);
    this.durationNanos = d > 0 ? d : 0;
  }

  /** Whether the trace ID is set and not all zeros (pcommon's TraceID.IsEmpty). */
  hasTraceId(buf: Buffer): boolean {
    if (this.traceIdEnd - this.traceIdStart !== 16) return false;
    for (let i = this.traceIdStart; i < this.traceIdEnd; i++) if (buf[i] !== 0) return true;
    return false;
  }
}

function readStatusCode(buf: Buffer, s: number, e: number): number {
  let code = 0;
  let p = s;
  while (p < e) {
    const t = readVarint(buf, p, e);
    p = NEXT;
    if (t === T_STATUS_CODE) {
      code = readVarint(buf, p, e);
      p = NEXT;
    } else p = skipField(buf, p, e, t);
  }
  return code;
}
