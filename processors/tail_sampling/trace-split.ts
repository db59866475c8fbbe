/**
 * Groups the spans of an encoded ExportTraceServiceRequest by trace on the wire. For every ResourceSpans,
 * each trace with spans in it gets one fragment: a framed ResourceSpans (field 1 of the request) holding the
 * resource and scope fields as received and only that trace's spans. Fragments of one trace concatenate
 * into a valid request, so a trace is held as the bytes it will leave as. Linear in spans: the spans of
 * a ResourceSpans are chained per trace, not rescanned per trace (a request may hold thousands of traces).
 */
import { NEXT, copyBytes, findLenField, readVarint, skipField, varintSize, writeVarint, type Range } from '../../src/pdata/wire-primitives.js';

/** Where spans go: the visitor names each span's group (its trace) and gives room for each fragment. */
export interface SplitVisitor {
  /** A ResourceSpans begins; `resource` is its Resource content (start === end when absent). */
  resourceSpans(buf: Uint8Array, resource: Range, present: boolean): void;
  /** The group (0, 1, ...: dense, per request) of the span whose content is buf[start:end]. */
  span(buf: Uint8Array, start: number, end: number): number;
  /**
   * Room for a fragment of `size` bytes for `group` holding `spans` spans: the buffer to write to, the
   * offset left in `at.start`; undefined to skip it (spans dropped).
   */
  room(group: number, size: number, spans: number, at: Range): Uint8Array | undefined;
}

/** Growable int table, reused across requests. */
class Ints {
  a = new Int32Array(256);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  /** Sets index i (growing as needed) without changing n. */
  set(i: number, v: number): void {
    while (i >= this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[i] = v;
  }
}

export class TraceSplitter {
  private readonly rxOther = new Ints(); // pairs start,end (framed fields of the ResourceSpans other than scopes)
  private readonly scopeOtherFrom = new Ints(); // per scope: index into scopeOther (and one past the last)
  private readonly scopeOther = new Ints(); // pairs start,end (framed fields of a ScopeSpans other than spans)
  private readonly leafStart = new Ints(); // framed span
  private readonly leafEnd = new Ints();
  private readonly leafScope = new Ints();
  private readonly leafNext = new Ints(); // next span of the same group in this ResourceSpans, or -1
  private readonly head = new Ints(); // per group: first span in this ResourceSpans
  private readonly tail = new Ints();
  private readonly seen = new Ints(); // per group: serial of the ResourceSpans it last appeared in
  private readonly groups = new Ints(); // groups of this ResourceSpans in order of first span
  private serial = 0;
  private readonly resource: Range = { start: 0, end: 0 };
  private readonly at: Range = { start: 0, end: 0 };

  /** Walks the request; the visitor sees every span and takes every fragment. Throws WireFormatError on bad framing. */
  split(buf: Uint8Array, visitor: SplitVisitor): void {
    const end = buf.length;
    let pos = 0;
    while (pos < end) {
      const tag = readVarint(buf, pos, end);
      const next = skipField(buf, NEXT, end, tag);
      if (tag === 0x0a) this.resourceSpans(buf, NEXT, next, visitor);
      pos = next;
    }
  }

  private resourceSpans(buf: Uint8Array, rs: number, re: number, visitor: SplitVisitor): void {
    const serial = ++this.serial;
    this.rxOther.n = this.scopeOtherFrom.n = this.scopeOther.n = 0;
    this.leafStart.n = this.leafEnd.n = this.leafScope.n = this.leafNext.n = this.groups.n = 0;
    const present = findLenField(buf, rs, re, 1, this.resource);
    if (!present) this.resource.start = this.resource.end = rs;
    visitor.resourceSpans(buf, this.resource, present);
    let pos = rs;
    while (pos < re) {
      const fieldStart = pos;
      const tag = readVarint(buf, pos, re);
      const next = skipField(buf, NEXT, re, tag);
      if (tag !== 0x12) {
        this.rxOther.push(fieldStart);
        this.rxOther.push(next);
        pos = next;
        continue;
      }
      const scope = this.scopeOtherFrom.n;
      this.scopeOtherFrom.push(this.scopeOther.n);
      let p = NEXT;
      while (p < next) {
        const fs = p;
        const t = readVarint(buf, p, next);
        const after = skipField(buf, NEXT, next, t);
        if (t === 0x12) {
          const g = visitor.span(buf, NEXT, after);
          const i = this.leafStart.n;
          this.leafStart.push(fs);
          this.leafEnd.push(after);
          this.leafScope.push(scope);
          this.leafNext.push(-1);
          if (g >= this.seen.a.length || this.seen.a[g] !== serial) {
            this.seen.set(g, serial);
            this.head.set(g, i);
            this.groups.push(g);
          } else this.leafNext.a[this.tail.a[g]!] = i;
          this.tail.set(g, i);
        } else {
          this.scopeOther.push(fs);
          this.scopeOther.push(after);
        }
        p = after;
      }
      pos = next;
    }
    this.scopeOtherFrom.push(this.scopeOther.n);
    for (let k = 0; k < this.groups.n; k++) this.emit(buf, this.groups.a[k]!, visitor);
  }

  private scopeOtherSize(k: number): number {
    let n = 0;
    const { a } = this.scopeOther;
    for (let j = this.scopeOtherFrom.a[k]!; j < this.scopeOtherFrom.a[k + 1]!; j += 2) n += a[j + 1]! - a[j]!;
    return n;
  }

  /** Writes group g's fragment of this ResourceSpans: its other fields, then each scope with g's spans. */
  private emit(buf: Uint8Array, g: number, visitor: SplitVisitor): void {
    const { leafStart, leafEnd, leafScope, leafNext, rxOther } = this;
    let rx = 0;
    for (let j = 0; j < rxOther.n; j += 2) rx += rxOther.a[j + 1]! - rxOther.a[j]!;
    let spans = 0;
    // Sizes: spans of g come in scope order, so each scope's run is contiguous in the chain.
    for (let i = this.head.a[g]!; i >= 0;) {
      const k = leafScope.a[i]!;
      let size = this.scopeOtherSize(k);
      while (i >= 0 && leafScope.a[i] === k) {
        size += leafEnd.a[i]! - leafStart.a[i]!;
        spans++;
        i = leafNext.a[i]!;
      }
      rx += 1 + varintSize(size) + size;
    }
    const total = 1 + varintSize(rx) + rx;
    const out = visitor.room(g, total, spans, this.at);
    if (!out) return;
    let p = this.at.start;
    out[p++] = 0x0a;
    p = writeVarint(out, p, rx);
    for (let j = 0; j < rxOther.n; j += 2) p = copyBytes(buf, rxOther.a[j]!, rxOther.a[j + 1]!, out, p);
    for (let i = this.head.a[g]!; i >= 0;) {
      const k = leafScope.a[i]!;
      let size = this.scopeOtherSize(k);
      for (let m = i; m >= 0 && leafScope.a[m] === k; m = leafNext.a[m]!) size += leafEnd.a[m]! - leafStart.a[m]!;
      out[p++] = 0x12;
      p = writeVarint(out, p, size);
      const { a } = this.scopeOther;
      for (let j = this.scopeOtherFrom.a[k]!; j < this.scopeOtherFrom.a[k + 1]!; j += 2) p = copyBytes(buf, a[j]!, a[j + 1]!, out, p);
      // Adjacent spans of the trace are copied as one run.
      let runS = -1;
      let runE = -1;
      while (i >= 0 && leafScope.a[i] === k) {
        if (leafStart.a[i] === runE) runE = leafEnd.a[i]!;
        else {
          if (runS >= 0) p = copyBytes(buf, runS, runE, out, p);
          runS = leafStart.a[i]!;
          runE = leafEnd.a[i]!;
        }
        i = leafNext.a[i]!;
      }
      if (runS >= 0) p = copyBytes(buf, runS, runE, out, p);
    }
  }
}
