/**
 * Groups the spans of an encoded ExportTraceServiceRequest by trace on the wire. For every ResourceSpans,
 * each trace with spans in it gets one fragment: a framed ResourceSpans (field 1 of the request) holding the
 * resource and scope fields as received and only that trace's spans. Fragments of one trace concatenate
 * into a valid request, so a trace is held as the bytes it will leave as. Linear in spans: the spans of
 * a ResourceSpans are chained per trace, not rescanned per trace (a request may hold thousands of traces).
 */
import { NEXT, copyBytes, findLenField, readVarint, skipField, varintSize, writeVarint, type Range } from '../../src/pdata/wire-primitives.js';
import { Ints, ResourceLeaves } from '../../src/pdata/resource-leaves.js';

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

export class TraceSplitter {
  private readonly rx = new ResourceLeaves();
  private readonly next = new Ints(); // per span: the next span of the same group in this ResourceSpans, or -1
  private readonly head = new Ints(); // per group: its first span in this ResourceSpans
  private readonly tail = new Ints();
  private readonly seen = new Ints(); // per group: serial of the ResourceSpans it last appeared in
  private readonly groups = new Ints(); // groups of this ResourceSpans in order of first span
  private serial = 0;
  private visitor: SplitVisitor | undefined;
  private readonly spanGroup = (buf: Uint8Array, s: number, e: number): number => this.visitor!.span(buf, s, e);
  private readonly resource: Range = { start: 0, end: 0 };
  private readonly at: Range = { start: 0, end: 0 };

  /** Walks the request; the visitor sees every span and takes every fragment. Throws WireFormatError on bad framing. */
  split(buf: Uint8Array, visitor: SplitVisitor): void {
    this.visitor = visitor;
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
    const present = findLenField(buf, rs, re, 1, this.resource);
    if (!present) this.resource.start = this.resource.end = rs;
    visitor.resourceSpans(buf, this.resource, present);
    this.rx.read(buf, rs, re, this.spanGroup);
    // Chain each group's spans (in order) and list the groups in order of their first span.
    const serial = ++this.serial;
    const { a: group, n } = this.rx.leafGroup;
    this.groups.n = 0;
    for (let i = 0; i < n; i++) {
      const g = group[i]!;
      this.next.set(i, -1);
      if (g >= this.seen.a.length || this.seen.a[g] !== serial) {
        this.seen.set(g, serial);
        this.head.set(g, i);
        this.groups.push(g);
      } else this.next.a[this.tail.a[g]!] = i;
      this.tail.set(g, i);
    }
    for (let k = 0; k < this.groups.n; k++) this.emit(buf, this.groups.a[k]!, visitor);
  }

  /** Writes group g's fragment of this ResourceSpans: its other fields, then each scope with g's spans. */
  private emit(buf: Uint8Array, g: number, visitor: SplitVisitor): void {
    const { leafStart, leafEnd, leafScope, other, scopeOther, scopeFrom } = this.rx;
    const next = this.next.a;
    let rx = this.rx.otherSize();
    let spans = 0;
    // Sizes: spans of g come in scope order, so each scope's run is contiguous in the chain.
    for (let i = this.head.a[g]!; i >= 0;) {
      const k = leafScope.a[i]!;
      let size = this.rx.scopeOtherSize(k);
      for (; i >= 0 && leafScope.a[i] === k; i = next[i]!) {
        size += leafEnd.a[i]! - leafStart.a[i]!;
        spans++;
      }
      rx += 1 + varintSize(size) + size;
    }
    const out = visitor.room(g, 1 + varintSize(rx) + rx, spans, this.at);
    if (!out) return;
    let p = this.at.start;
    out[p++] = 0x0a;
    p = writeVarint(out, p, rx);
    for (let j = 0; j < other.n; j += 2) p = copyBytes(buf, other.a[j]!, other.a[j + 1]!, out, p);
    for (let i = this.head.a[g]!; i >= 0;) {
      const k = leafScope.a[i]!;
      let size = this.rx.scopeOtherSize(k);
      for (let m = i; m >= 0 && leafScope.a[m] === k; m = next[m]!) size += leafEnd.a[m]! - leafStart.a[m]!;
      out[p++] = 0x12;
      p = writeVarint(out, p, size);
      for (let j = scopeFrom.a[k]!; j < scopeFrom.a[k + 1]!; j += 2) p = copyBytes(buf, scopeOther.a[j]!, scopeOther.a[j + 1]!, out, p);
      // Adjacent spans of the trace are copied as one run.
      let runS = -1;
      let runE = -1;
      for (; i >= 0 && leafScope.a[i] === k; i = next[i]!) {
        if (leafStart.a[i] === runE) runE = leafEnd.a[i]!;
        else {
          if (runS >= 0) p = copyBytes(buf, runS, runE, out, p);
          runS = leafStart.a[i]!;
          runE = leafEnd.a[i]!;
        }
      }
      if (runS >= 0) p = copyBytes(buf, runS, runE, out, p);
    }
  }
}
