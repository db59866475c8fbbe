/**
 * convert_exponential_histogram_to_histogram(distribution, explicit_bounds): an ExponentialHistogram
 * becomes an explicit Histogram with the bounds given, each exponential bucket's count placed by the
 * distribution the collector offers (upper, midpoint, uniform, random). The output is a valid OTLP
 * histogram, where the collector's is not: one bucket count more than bounds (the collector writes as many
 * as bounds, folding the overflow into the last finite bucket), every point counted (the collector drops
 * negative buckets, and zeros unless the first bound is 0), an exponential bucket within one explicit
 * bucket counted there (the collector's shortcut puts it one bucket lower).
 */
import { create } from '@bufbuild/protobuf';
import {
  HistogramDataPointSchema,
  HistogramSchema,
  type ExponentialHistogramDataPoint,
  type ExponentialHistogramDataPoint_Buckets,
  type HistogramDataPoint,
  type Metric,
} from '../../proto/gen/opentelemetry/proto/metrics/v1/metrics_pb.js';
import { ArgError, literalString, type CompiledArg } from './functions.js';
import type { ContextEditor } from './metric-editors.js';

const DISTRIBUTIONS = ['upper', 'midpoint', 'uniform', 'random'] as const;
type Distribution = (typeof DISTRIBUTIONS)[number];

/** Adds `count` values lying in [lo, hi] to `counts` (explicit buckets over `bounds`). */
type Place = (counts: bigint[], bounds: readonly number[], lo: number, hi: number, count: bigint) => void;

/** The explicit bucket holding v: bucket i is (bounds[i-1], bounds[i]], the last one (bounds[n-1], +inf). */
function bucketOf(bounds: readonly number[], v: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= bounds[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The explicit bucket holding the values just above v (the first bucket an exclusive lower end reaches). */
function bucketAbove(bounds: readonly number[], v: number): number {
  let i = bucketOf(bounds, v);
  if (i < bounds.length && bounds[i] === v) i++;
  return i;
}

const PLACE: Record<Distribution, Place> = {
  upper: (counts, bounds, _lo, hi, count) => {
    counts[bucketOf(bounds, hi)]! += count;
  },
  midpoint: (counts, bounds, lo, hi, count) => {
    counts[bucketOf(bounds, (lo + hi) / 2)]! += count;
  },
  // Evenly over the explicit buckets the range reaches; the remainder one each from the lowest.
  uniform: (counts, bounds, lo, hi, count) => {
    const first = bucketAbove(bounds, lo);
    const last = Math.max(first, bucketOf(bounds, hi));
    const n = BigInt(last - first + 1);
    let rest = count % n;
    for (let i = first; i <= last; i++) {
      counts[i]! += count / n + (rest > 0n ? 1n : 0n);
      if (rest > 0n) rest--;
    }
  },
  // By the share of the range each explicit bucket covers, rounded down; what rounding left, at random.
  random: (counts, bounds, lo, hi, count) => {
    const first = bucketAbove(bounds, lo);
    const last = Math.max(first, bucketOf(bounds, hi));
    if (first === last || !(hi > lo)) {
      counts[first]! += count;
      return;
    }
    let placed = 0n;
    for (let i = first; i <= last; i++) {
      const from = i === 0 ? lo : Math.max(lo, bounds[i - 1]!);
      const to = i === bounds.length ? hi : Math.min(hi, bounds[i]!);
      const share = BigInt(Math.floor((Number(count) * Math.max(0, to - from)) / (hi - lo)));
      counts[i]! += share;
      placed += share;
    }
    for (let left = count - placed; left > 0n; left--) counts[first + Math.floor(Math.random() * (last - first + 1))]! += 1n;
  },
};

/**
 * Each exponential bucket's range: bucket index k of scale s holds (base^k, base^(k+1)] with
 * base = 2^(2^-s); a negative bucket the same range below zero.
 */
function placeBuckets(
  counts: bigint[],
  bounds: readonly number[],
  scale: number,
  buckets: ExponentialHistogramDataPoint_Buckets | undefined,
  negative: boolean,
  place: Place,
): void {
  if (!buckets) return;
  // 2 ** x rather than exp(x * ln 2): exact for the whole powers of two of scales <= 0.
  const step = 2 ** -scale;
  buckets.bucketCounts.forEach((count, pos) => {
    if (count === 0n) return;
    const index = buckets.offset + pos;
    const lower = 2 ** (index * step);
    const upper = 2 ** ((index + 1) * step);
    if (negative) place(counts, bounds, -upper, -lower, count);
    else place(counts, bounds, lower, upper, count);
  });
}

function convertPoint(p: ExponentialHistogramDataPoint, bounds: readonly number[], place: Place): HistogramDataPoint {
  const counts = new Array<bigint>(bounds.length + 1).fill(0n);
  // Zeros (within the zero threshold) are values of 0.
  if (p.zeroCount > 0n) counts[bucketOf(bounds, 0)]! += p.zeroCount;
  placeBuckets(counts, bounds, p.scale, p.positive, false, place);
  placeBuckets(counts, bounds, p.scale, p.negative, true, place);
  return create(HistogramDataPointSchema, {
    attributes: p.attributes,
    startTimeUnixNano: p.startTimeUnixNano,
    timeUnixNano: p.timeUnixNano,
    count: p.count,
    sum: p.sum,
    min: p.min,
    max: p.max,
    exemplars: p.exemplars,
    flags: p.flags,
    explicitBounds: bounds.slice(),
    bucketCounts: counts,
  });
}

function boundsArg(a: CompiledArg | undefined, fn: string): number[] {
  const v = a?.literal;
  const numbers = Array.isArray(v) ? v.map((x) => (typeof x === 'bigint' ? Number(x) : x)) : undefined;
  if (!a?.isLiteral || !numbers || !numbers.every((x) => typeof x === 'number' && Number.isFinite(x)))
    throw new ArgError(a?.col ?? 0, `${fn}: explicit_bounds must be a list of numbers, e.g. [0.0, 10.0, 100.0]`);
  if (numbers.length === 0) throw new ArgError(a.col, `${fn}: explicit_bounds cannot be empty`);
  const bounds = numbers as number[];
  if (bounds.some((b, i) => i > 0 && b <= bounds[i - 1]!))
    throw new ArgError(a.col, `${fn}: explicit_bounds must be strictly increasing, got [${bounds.join(', ')}]`);
  return bounds;
}

export const EXPONENTIAL_EDITORS: Record<string, ContextEditor> = {
  convert_exponential_histogram_to_histogram: {
    contexts: ['metric'],
    params: [{ name: 'distribution' }, { name: 'explicit_bounds' }],
    build: (args, fn) => {
      // An empty distribution is the collector's default, random.
      const name = literalString(args[0], fn, 'distribution') || 'random';
      if (!(DISTRIBUTIONS as readonly string[]).includes(name))
        throw new ArgError(args[0]!.col, `${fn}: invalid distribution "${name}"; use one of ${DISTRIBUTIONS.join(', ')}`);
      const place = PLACE[name as Distribution];
      const bounds = boundsArg(args[1], fn);
      return (ctx) => {
        const m = ctx.metric as Metric;
        if (m.data.case !== 'exponentialHistogram') return;
        const exp = m.data.value;
        m.data = {
          case: 'histogram',
          value: create(HistogramSchema, {
            aggregationTemporality: exp.aggregationTemporality,
            dataPoints: exp.dataPoints.map((p) => convertPoint(p, bounds, place)),
          }),
        };
      };
    },
  },
};
