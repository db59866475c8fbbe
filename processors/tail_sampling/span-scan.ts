/**
 * One span as the policies' span rules see it: the fields they read (trace ID, tracestate, parent span
 * ID, start, end, status code, flags) found in one pass over the span's bytes, and its attributes loaded
 * on first use.
 */
import { AttrList } from '../../src/processorhelper/wire-edit.js';
import { NEXT, findVarintField, readVarint, skipField } from '../../src/pdata/wire-primitives.js';

// Span fields (opentelemetry-proto trace.proto) as tags: trace_id 1, trace_state 3, parent_span_id 4,
// start 7, end 8, status 15, flags 16 (fixed32).
const TRACE_ID = 0x0a;
const TRACE_STATE = 0x1a;
const PARENT_SPAN_ID = 0x22;
const FLAGS = (16 << 3) | 5;
const START_TIME = 0x39;
const END_TIME = 0x41;
const STATUS = 0x7a;

/** One span as the rules see it: its content range and the fields they read, scanned once. */
export class SpanScan {
  buf: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;
  status = 0;
  traceIdStart = 0;
  traceIdEnd = 0;
  traceStateStart = 0;
  traceStateEnd = 0;
  parentStart = 0;
  parentEnd = 0;
  /** The span's flags (the W3C trace flags in the low byte). */
  flags = 0;
  startHi = 0;
  startLo = 0;
  endHi = 0;
  endLo = 0;
  /** The span's attributes, loaded on first use per span. */
  private readonly attrList = new AttrList();
  private attrsLoaded = false;

  load(buf: Buffer, start: number, end: number): void {
    this.buf = buf;
    this.start = start;
    this.end = end;
    this.status = 0;
    this.traceIdStart = this.traceIdEnd = start;
    this.traceStateStart = this.traceStateEnd = 0;
    this.parentStart = this.parentEnd = 0;
    this.flags = 0;
    this.startHi = this.startLo = this.endHi = this.endLo = 0;
    this.attrsLoaded = false;
    let p = start;
    while (p < end) {
      const tag = readVarint(buf, p, end);
      const next = skipField(buf, NEXT, end, tag);
      if (tag === TRACE_ID) {
        this.traceIdStart = NEXT;
        this.traceIdEnd = next;
      } else if (tag === TRACE_STATE) {
        this.traceStateStart = NEXT;
        this.traceStateEnd = next;
      } else if (tag === PARENT_SPAN_ID) {
        this.parentStart = NEXT;
        this.parentEnd = next;
      } else if (tag === FLAGS) {
        this.flags = buf.readUInt32LE(next - 4);
      } else if (tag === START_TIME) {
        this.startLo = buf.readUInt32LE(next - 8);
        this.startHi = buf.readUInt32LE(next - 4);
      } else if (tag === END_TIME) {
        this.endLo = buf.readUInt32LE(next - 8);
        this.endHi = buf.readUInt32LE(next - 4);
      } else if (tag === STATUS) this.status = findVarintField(buf, NEXT, next, 3, 0);
      p = next;
    }
  }

  /** A root span: no parent span ID, or an all-zero one (pcommon's SpanID.IsEmpty), as the collector decides. */
  isRoot(): boolean {
    const buf = this.buf;
    for (let i = this.parentStart; i < this.parentEnd; i++) if (buf[i] !== 0) return false;
    return true;
  }

  attrs(): AttrList {
    if (!this.attrsLoaded) {
      this.attrList.load(this.buf, this.start, this.end, 9);
      this.attrsLoaded = true;
    }
    return this.attrList;
  }

  traceState(): string {
    return this.buf.toString('utf8', this.traceStateStart, this.traceStateEnd);
  }
}
