/**
 * A set of half-open integer ranges [start, end) that coalesces neighbours as they arrive, in any order.
 * Batches complete out of order, so acknowledged sequence numbers are kept as ranges keyed by both ends:
 * adding a range costs two map look-ups, and a run of a billion records in order stays one entry.
 */
import type { SeqRanges } from './common.js';

export class RangeSet {
  private readonly byStart = new Map<number, number>();
  private readonly byEnd = new Map<number, number>();
  private total = 0;

  /** Adds [start, end); the caller never adds overlapping ranges (each sequence number is acked once). */
  add(start: number, end: number): void {
    if (end <= start) return;
    this.total += end - start;
    const before = this.byEnd.get(start);
    if (before !== undefined) {
      this.byEnd.delete(start);
      this.byStart.delete(before);
      start = before;
    }
    const after = this.byStart.get(end);
    if (after !== undefined) {
      this.byStart.delete(end);
      this.byEnd.delete(after);
      end = after;
    }
    this.byStart.set(start, end);
    this.byEnd.set(end, start);
  }

  /** Count of numbers in the set. */
  get size(): number {
    return this.total;
  }

  /** The ranges, sorted by start. */
  toArray(): SeqRanges {
    const out: SeqRanges = [];
    for (const [s, e] of this.byStart) out.push([s, e]);
    out.sort((a, b) => a[0] - b[0]);
    return out;
  }
}
