/**
 * One ResourceX of an encoded Export request (ResourceLogs, ResourceSpans, ResourceMetrics) read into the
 * parts a wire split rebuilds it from: its fields other than scopes, each ScopeX's fields other than its
 * leaves (log records, spans, metrics), and every leaf with the group a caller assigned it (a backend, a
 * trace). Ranges are framed (tag included) and point into the request; nothing is copied or decoded.
 * Used by the loadbalancing exporter (a part per backend) and tail_sampling (a fragment per trace).
 */
import { NEXT, readVarint, skipField } from './wire-primitives.js';

/** A growable int table, reused across requests. */
export class Ints {
  a = new Int32Array(256);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) this.grow(this.n);
    this.a[this.n++] = v;
  }
  /** Sets index i (growing as needed) without changing n. */
  set(i: number, v: number): void {
    if (i >= this.a.length) this.grow(i);
    this.a[i] = v;
  }
  private grow(i: number): void {
    let len = this.a.length * 2;
    while (len <= i) len *= 2;
    const b = new Int32Array(len);
    b.set(this.a);
    this.a = b;
  }
}

/**
 * Assigns a leaf (content buf[start:end], within ResourceX content buf[rxStart:rxEnd] and ScopeX content
 * buf[scopeStart:scopeEnd]) to a group.
 */
export type LeafGroup = (buf: Uint8Array, start: number, end: number, rxStart: number, rxEnd: number, scopeStart: number, scopeEnd: number) => number;

export class ResourceLeaves {
  /** Pairs start,end: the ResourceX's fields other than its ScopeX. */
  readonly other = new Ints();
  /** Per scope k: the index of its first pair in scopeOther; one more entry past the last scope. */
  readonly scopeFrom = new Ints();
  /** Pairs start,end: each ScopeX's fields other than its leaves. */
  readonly scopeOther = new Ints();
  readonly leafStart = new Ints();
  readonly leafEnd = new Ints();
  readonly leafScope = new Ints();
  readonly leafGroup = new Ints();
  /** Leaves in each entry: 1, or a run's length when runs are merged. */
  readonly leafCount = new Ints();

  /**
   * `runs`: adjacent leaves of one group are kept as one entry (their range joined, leafCount their number),
   * so a caller that moves them together (a split by backend: spans of one trace sit together) walks runs,
   * not leaves.
   */
  constructor(private readonly runs = false) {}

  /** Scopes read. */
  get scopes(): number {
    return this.scopeFrom.n - 1;
  }

  /** Reads ResourceX content buf[rs:re]; `group` (when given) assigns each leaf, in order. Throws WireFormatError. */
  read(buf: Uint8Array, rs: number, re: number, group: LeafGroup | number): void {
    this.other.n = this.scopeFrom.n = this.scopeOther.n = 0;
    this.leafStart.n = this.leafEnd.n = this.leafScope.n = this.leafGroup.n = this.leafCount.n = 0;
    let pos = rs;
    while (pos < re) {
      const fieldStart = pos;
      const tag = readVarint(buf, pos, re);
      const next = skipField(buf, NEXT, re, tag);
      if (tag !== 0x12) {
        this.other.push(fieldStart);
        this.other.push(next);
        pos = next;
        continue;
      }
      const scope = this.scopeFrom.n;
      this.scopeFrom.push(this.scopeOther.n);
      const ss = NEXT;
      let p = ss;
      while (p < next) {
        const fs = p;
        const t = readVarint(buf, p, next);
        const after = skipField(buf, NEXT, next, t);
        if (t === 0x12) {
          const g = typeof group === 'number' ? group : group(buf, NEXT, after, rs, re, ss, next);
          const last = this.leafStart.n - 1;
          // A leaf right after the last one (same scope: no scope field between them), of the same group.
          if (this.runs && last >= 0 && this.leafEnd.a[last] === fs && this.leafGroup.a[last] === g) {
            this.leafEnd.a[last] = after;
            this.leafCount.a[last]! += 1;
          } else {
            this.leafGroup.push(g);
            this.leafStart.push(fs);
            this.leafEnd.push(after);
            this.leafScope.push(scope);
            this.leafCount.push(1);
          }
        } else {
          this.scopeOther.push(fs);
          this.scopeOther.push(after);
        }
        p = after;
      }
      pos = next;
    }
    this.scopeFrom.push(this.scopeOther.n);
  }

  /** Bytes of the ResourceX's fields other than scopes. */
  otherSize(): number {
    let n = 0;
    const { a } = this.other;
    for (let j = 0; j < this.other.n; j += 2) n += a[j + 1]! - a[j]!;
    return n;
  }

  /** Bytes of scope k's fields other than leaves. */
  scopeOtherSize(k: number): number {
    let n = 0;
    const { a } = this.scopeOther;
    for (let j = this.scopeFrom.a[k]!; j < this.scopeFrom.a[k + 1]!; j += 2) n += a[j + 1]! - a[j]!;
    return n;
  }
}
