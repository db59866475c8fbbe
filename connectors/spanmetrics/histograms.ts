/**
 * The two duration histograms of a series: explicit buckets (the collector's sort.SearchFloat64s rule: a
 * value equal to a bound counts in that bound's bucket) and a base-2 exponential histogram that starts at
 * scale 20 and halves its resolution whenever the buckets it needs would exceed max_size (the algorithm of
 * the collector's go-expohisto: one scale for the whole histogram, the highest that fits every value).
 */

export interface DurationHistogram {
  /** Records `value` n times (a span standing for n spans: its adjusted count). */
  observe(value: number, n?: number): void;
  count: number;
  sum: number;
}

export class ExplicitHistogram implements DurationHistogram {
  count = 0;
  sum = 0;
  readonly bucketCounts: number[];

  constructor(readonly bounds: readonly number[]) {
    this.bucketCounts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number, n = 1): void {
    this.count += n;
    this.sum += value * n;
    // Binary search: the first bound >= value.
    let lo = 0;
    let hi = this.bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.bounds[mid]! < value) lo = mid + 1;
      else hi = mid;
    }
    this.bucketCounts[lo]! += n;
  }
}

/** The highest scale: bucket bases 2^(2^-20) apart, as the collector's exponential histogram starts. */
export const MAX_SCALE = 20;

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

/** The unbiased base-2 exponent of a positive normal double, and whether its significand is exactly 1 (a power of two). */
function exponentOf(v: number): { exp: number; pow2: boolean } {
  F64[0] = v;
  const hi = U32[1]!;
  const lo = U32[0]!;
  return { exp: ((hi >>> 20) & 0x7ff) - 1023, pow2: (hi & 0xfffff) === 0 && lo === 0 };
}

/**
 * The index of the bucket holding v > 0 at `scale`: bucket i holds (base^i, base^(i+1)], base = 2^(2^-scale).
 * An exact power of two sits on a boundary and belongs to the bucket below it.
 */
export function bucketIndex(v: number, scale: number): number {
  const { exp, pow2 } = exponentOf(v);
  if (scale <= 0) {
    const i = pow2 ? exp - 1 : exp;
    return i >> -scale;
  }
  if (pow2) return exp * 2 ** scale - 1;
  // ceil(log2(v) * 2^scale) - 1: v lies on no boundary (those are powers of two or irrational).
  return Math.ceil(Math.log2(v) * 2 ** scale) - 1;
}

export class ExponentialHistogram implements DurationHistogram {
  count = 0;
  sum = 0;
  zeroCount = 0;
  min = Infinity;
  max = -Infinity;
  scale = MAX_SCALE;
  /** Index of counts[0]. */
  offset = 0;
  counts: number[] = [];

  constructor(private readonly maxSize: number) {}

  observe(value: number, n = 1): void {
    this.count += n;
    this.sum += value * n;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    // Durations are never negative (an end before the start is recorded as 0).
    if (value <= 0) {
      this.zeroCount += n;
      return;
    }
    let i = bucketIndex(value, this.scale);
    if (this.counts.length === 0) {
      this.offset = i;
      this.counts.push(n);
      return;
    }
    const low = Math.min(this.offset, i);
    const high = Math.max(this.offset + this.counts.length - 1, i);
    let change = 0;
    while ((high >> change) - (low >> change) + 1 > this.maxSize) change++;
    if (change > 0) {
      this.downscale(change);
      i >>= change;
    }
    if (i < this.offset) {
      this.counts.unshift(...new Array<number>(this.offset - i).fill(0));
      this.offset = i;
    } else if (i >= this.offset + this.counts.length) {
      this.counts.push(...new Array<number>(i - this.offset - this.counts.length + 1).fill(0));
    }
    this.counts[i - this.offset]! += n;
  }

  /** Halves the resolution `change` times: bucket i becomes bucket i >> change, counts merged. */
  private downscale(change: number): void {
    const start = this.offset >> change;
    const end = (this.offset + this.counts.length - 1) >> change;
    const merged = new Array<number>(end - start + 1).fill(0);
    for (let k = 0; k < this.counts.length; k++) merged[((this.offset + k) >> change) - start]! += this.counts[k]!;
    this.counts = merged;
    this.offset = start;
    this.scale -= change;
  }
}
