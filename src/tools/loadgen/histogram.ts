/**
 * A log-linear latency histogram: 16 buckets per power of two of microseconds (about 4.4% wide), a fixed
 * Uint32Array, so recording is an index computation and an increment and percentiles are a walk.
 */
const SUB = 16;
const MAX_POW = 36; // 2^36 us ~ 19 hours: anything beyond lands in the last bucket

export class LatencyHistogram {
  private readonly counts = new Uint32Array(MAX_POW * SUB + 1);
  count = 0;
  max = 0;
  sum = 0;

  record(ms: number): void {
    const us = ms * 1000;
    this.counts[bucketOf(us)]!++;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  /** The upper bound in ms of the bucket holding quantile q (0..1); 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(upperOf(i) / 1000, this.max);
    }
    return this.max;
  }

  mean(): number {
    return this.count ? this.sum / this.count : 0;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.max = 0;
    this.sum = 0;
  }
}

function bucketOf(us: number): number {
  if (us < 1) return 0;
  const p = Math.floor(Math.log2(us));
  if (p >= MAX_POW) return MAX_POW * SUB;
  const frac = us / 2 ** p - 1; // 0..1
  return p * SUB + Math.min(SUB - 1, Math.floor(frac * SUB)) + 1;
}

function upperOf(i: number): number {
  if (i === 0) return 1;
  const p = Math.floor((i - 1) / SUB);
  const sub = (i - 1) % SUB;
  return 2 ** p * (1 + (sub + 1) / SUB);
}
