/**
 * extract_percentile_metric(percentile, Optional[suffix]) (the transform processor's, metric context): a
 * new Gauge `<name><suffix>` (default `_p<percentile>`) of each histogram point's estimated percentile.
 * Explicit histograms interpolate linearly within the bucket holding the target count (the lowest bucket
 * from min, or 0; the last one up to max); exponential histograms logarithmically within their bucket, and
 * linearly across the zero bucket. As the collector: other types are left alone, a point without counts is
 * skipped, one whose counts do not fit its bounds is an error.
 */
import { create } from '@bufbuild/protobuf';
import {
  GaugeSchema,
  MetricSchema,
  type ExponentialHistogramDataPoint,
  type ExponentialHistogramDataPoint_Buckets,
  type HistogramDataPoint,
  type Metric,
  type NumberDataPoint,
  type ScopeMetrics,
} from '../../proto/gen/opentelemetry/proto/metrics/v1/metrics_pb.js';
import { ArgError, literalString } from './functions.js';
import type { ContextEditor } from './metric-editors.js';
import { pointFrom } from './metric-points.js';
import { OttlRuntimeError } from './paths.js';

/** A point with nothing to interpolate from: left out of the new metric. */
const SKIP = Symbol('skip');

/** Go's %g for the percentile (shortest form; an exponent of two digits below 1e-4). */
function goG(x: number): string {
  if (x !== 0 && Math.abs(x) < 1e-4) return x.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(x);
}

function linear(lower: number, upper: number, ratio: number): number {
  if (!(ratio >= 0 && ratio <= 1)) throw new OttlRuntimeError(`linear interpolation: invalid ratio ${ratio}, must be between 0 and 1`);
  return lower + ratio * (upper - lower);
}

function logarithmic(lower: number, upper: number, ratio: number): number {
  if (!(ratio >= 0 && ratio <= 1)) throw new OttlRuntimeError(`logarithmic interpolation: invalid ratio ${ratio}, must be between 0 and 1`);
  if (lower <= 0 || upper <= 0) throw new OttlRuntimeError(`logarithmic interpolation: bounds must be positive, got ${lower} and ${upper}`);
  const lo = Math.log2(lower);
  return 2 ** (lo + (Math.log2(upper) - lo) * ratio);
}

/** The lower bound of exponential bucket `index` at `scale`: 2^(index / 2^scale). */
function bucketBound(index: number, scale: number): number {
  return scale <= 0 ? 2 ** (index * 2 ** -scale) : Math.exp(index * Math.LN2 * 2 ** -scale);
}

const targetOf = (count: bigint, percentile: number): number => Math.ceil(Number(count) * (percentile / 100));

function histogramPercentile(p: HistogramDataPoint, percentile: number): number | typeof SKIP {
  const counts = p.bucketCounts;
  const bounds = p.explicitBounds;
  if (p.count === 0n || counts.length === 0) return SKIP;
  if (counts.length !== bounds.length + 1)
    throw new OttlRuntimeError(
      `calculating histogram percentile: malformed data: bucketCounts length (${counts.length}) != explicitBounds length (${bounds.length}) + 1`,
    );
  const target = targetOf(p.count, percentile);
  // One bucket, no bounds: (-inf, +inf), so min and max are needed.
  if (bounds.length === 0) {
    if (p.min === undefined || p.max === undefined) return SKIP;
    return linear(p.min, p.max, target / Number(counts[0]));
  }
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    const before = cumulative;
    cumulative += Number(counts[i]);
    if (cumulative < target) continue;
    let lower: number;
    let upper: number;
    if (i === 0) {
      upper = bounds[0]!;
      lower = 0;
      if (p.min !== undefined && p.min < upper) lower = p.min;
      else if (upper < 0) return upper;
    } else {
      lower = bounds[i - 1]!;
      if (i < bounds.length) upper = bounds[i]!;
      else if (p.max === undefined || p.max <= lower) return lower;
      else upper = p.max;
    }
    return linear(lower, upper, (target - before) / Number(counts[i]));
  }
  throw new OttlRuntimeError(
    `calculating histogram percentile: malformed data: cumulative count doesn't reach target count corresponding to percentile. targetCount=${target}, total count=${cumulative}`,
  );
}

const countsOf = (b: ExponentialHistogramDataPoint_Buckets | undefined): bigint[] => b?.bucketCounts ?? [];

function exponentialPercentile(p: ExponentialHistogramDataPoint, percentile: number): number | typeof SKIP {
  const negative = countsOf(p.negative);
  const positive = countsOf(p.positive);
  if (p.count === 0n || (negative.length === 0 && positive.length === 0 && p.zeroCount === 0n)) return SKIP;
  const target = targetOf(p.count, percentile);
  // The most negative values first: the negative buckets from the highest index down.
  let cumulative = 0;
  for (let i = negative.length - 1; i >= 0; i--) {
    const before = cumulative;
    cumulative += Number(negative[i]);
    if (cumulative < target) continue;
    const index = (p.negative?.offset ?? 0) + i;
    const absLower = bucketBound(index, p.scale);
    const absUpper = bucketBound(index + 1, p.scale);
    return -logarithmic(absLower, absUpper, 1 - (target - before) / Number(negative[i]));
  }
  const zero = Number(p.zeroCount);
  if (cumulative + zero >= target) {
    let lower = -p.zeroThreshold;
    let upper = p.zeroThreshold;
    if (negative.length === 0 && positive.length > 0) lower = 0;
    else if (positive.length === 0 && negative.length > 0) upper = 0;
    return linear(lower, upper, (target - cumulative) / zero);
  }
  cumulative += zero;
  for (let i = 0; i < positive.length; i++) {
    const before = cumulative;
    cumulative += Number(positive[i]);
    if (cumulative < target) continue;
    const index = (p.positive?.offset ?? 0) + i;
    return logarithmic(bucketBound(index, p.scale), bucketBound(index + 1, p.scale), (target - before) / Number(positive[i]));
  }
  throw new OttlRuntimeError(
    `calculating exponential histogram percentile: malformed data: cumulative count doesn't reach target count corresponding to percentile. targetCount=${target}, total count=${cumulative}`,
  );
}

export const PERCENTILE_EDITORS: Record<string, ContextEditor> = {
  extract_percentile_metric: {
    contexts: ['metric'],
    params: [{ name: 'percentile' }, { name: 'suffix', optional: true }],
    build: (args, fn) => {
      const a = args[0];
      const percentile = a?.isLiteral && (typeof a.literal === 'number' || typeof a.literal === 'bigint') ? Number(a.literal) : undefined;
      if (percentile === undefined) throw new ArgError(a?.col ?? 0, `${fn}: percentile must be a number literal, e.g. 95.0`);
      if (!(percentile > 0 && percentile < 100)) throw new ArgError(a!.col, `${fn}: percentile must be greater than 0 and less than 100, got ${percentile}`);
      // An empty suffix is the default, as in the collector.
      const suffix = (args[1] ? literalString(args[1], fn, 'suffix') : '') || `_p${goG(percentile)}`;
      const tag = `p${goG(percentile)}`;
      return (ctx) => {
        const m = ctx.metric as Metric;
        const d = m.data;
        if ((d.case !== 'histogram' && d.case !== 'exponentialHistogram') || d.value.dataPoints.length === 0) return;
        const points: NumberDataPoint[] = [];
        for (const p of d.value.dataPoints) {
          const v =
            d.case === 'histogram'
              ? histogramPercentile(p as HistogramDataPoint, percentile)
              : exponentialPercentile(p as ExponentialHistogramDataPoint, percentile);
          if (v !== SKIP) points.push(pointFrom(p, { case: 'asDouble', value: v }));
        }
        if (points.length === 0) return;
        (ctx.scope as ScopeMetrics).metrics.push(
          create(MetricSchema, {
            name: m.name + suffix,
            description: m.description === '' ? tag : `${m.description} (${tag})`,
            unit: m.unit,
            data: { case: 'gauge', value: create(GaugeSchema, { dataPoints: points }) },
          }),
        );
      };
    },
  },
};
