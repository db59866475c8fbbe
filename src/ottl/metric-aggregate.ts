/**
 * aggregate_on_attributes and aggregate_on_attribute_value (the transform processor's, on the collector's
 * internal/coreinternal/aggregateutil): the metric's data points are grouped by their attributes and
 * timestamp (delta points also by start time; histograms also by bounds, by whether min and max are set
 * and by flags; exponential histograms by scale, offsets, min/max presence and flags) and each group merged
 * into its first point. Gauges and sums take the aggregation function; histograms are always summed.
 */
import { toBinary } from '@bufbuild/protobuf';
import { AnyValueSchema, type KeyValue } from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';
import {
  AggregationTemporality,
  type ExponentialHistogramDataPoint,
  type HistogramDataPoint,
  type Metric,
  type NumberDataPoint,
} from '../../proto/gen/opentelemetry/proto/metrics/v1/metrics_pb.js';
import { ArgError, literalString, type CompiledArg } from './functions.js';
import { literalStrings } from './editors.js';
import type { ContextEditor } from './metric-editors.js';
import { OttlRuntimeError } from './paths.js';

const FUNCTIONS = ['sum', 'mean', 'min', 'max', 'median', 'count'] as const;
type AggregationFunction = (typeof FUNCTIONS)[number];

function aggregationFunction(a: CompiledArg | undefined, fn: string): AggregationFunction {
  const s = literalString(a, fn, 'function');
  if (!(FUNCTIONS as readonly string[]).includes(s))
    throw new ArgError(a!.col, `${fn}: invalid aggregation function "${s}"; valid options: ${FUNCTIONS.join(', ')} (case-sensitive)`);
  return s as AggregationFunction;
}

/** The attribute set as a key: by sorted key, each value by its protobuf encoding (so 1 and "1" differ). */
function attributesKey(kvs: readonly KeyValue[]): string {
  return kvs
    .map((kv) => `${kv.key}\u0000${kv.value ? Buffer.from(toBinary(AnyValueSchema, kv.value)).toString('base64') : ''}`)
    .sort()
    .join('\u0001');
}

/** Groups points by key, in the order each group first appears (the collector's map order is random). */
function groupBy<P>(points: readonly P[], key: (p: P) => string): P[][] {
  const groups = new Map<string, P[]>();
  for (const p of points) {
    const k = key(p);
    const g = groups.get(k);
    if (g) g.push(p);
    else groups.set(k, [p]);
  }
  return [...groups.values()];
}

const earliestStart = (first: { startTimeUnixNano: bigint }, p: { startTimeUnixNano: bigint }) => {
  if (p.startTimeUnixNano < first.startTimeUnixNano) first.startTimeUnixNano = p.startTimeUnixNano;
};

const doubleOf = (p: NumberDataPoint): number => (p.value.case === 'asDouble' ? p.value.value : p.value.case === 'asInt' ? Number(p.value.value) : 0);
/** A double point read as an int truncates, as Go's int64(float64) does. */
const intOf = (p: NumberDataPoint): bigint =>
  p.value.case === 'asInt' ? p.value.value : p.value.case === 'asDouble' && Number.isFinite(p.value.value) ? BigInt(Math.trunc(p.value.value)) : 0n;

function median<T extends number | bigint>(values: T[], half: (a: T, b: T) => T): T {
  values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const m = values.length >> 1;
  return values.length % 2 === 1 ? values[m]! : half(values[m - 1]!, values[m]!);
}

/** Merges a group of number points into its first: the value by `agg`, the earliest start time. */
function mergeNumbers(group: NumberDataPoint[], agg: AggregationFunction): NumberDataPoint {
  const first = group[0]!;
  for (let i = 1; i < group.length; i++) earliestStart(first, group[i]!);
  const n = group.length;
  if (first.value.case === 'asDouble') {
    const xs = group.map(doubleOf);
    let v: number;
    if (agg === 'sum' || agg === 'mean') v = xs.reduce((a, b) => a + b, 0) / (agg === 'mean' ? n : 1);
    else if (agg === 'max') v = Math.max(...xs);
    else if (agg === 'min') v = Math.min(...xs);
    else if (agg === 'median') v = median(xs, (a, b) => (a + b) / 2);
    else v = n;
    first.value = { case: 'asDouble', value: v };
  } else if (first.value.case === 'asInt') {
    const xs = group.map(intOf);
    let v: bigint;
    if (agg === 'sum' || agg === 'mean')
      v =
        BigInt.asIntN(
          64,
          xs.reduce((a, b) => a + b, 0n),
        ) / (agg === 'mean' ? BigInt(n) : 1n);
    else if (agg === 'max') v = xs.reduce((a, b) => (b > a ? b : a));
    else if (agg === 'min') v = xs.reduce((a, b) => (b < a ? b : a));
    else if (agg === 'median') v = median(xs, (a, b) => (a + b) / 2n);
    else v = BigInt(n);
    first.value = { case: 'asInt', value: BigInt.asIntN(64, v) };
  }
  return first;
}

/** Adds bucket counts index by index (`into` grows where `from` is longer). */
function addBuckets(into: bigint[], from: readonly bigint[]): void {
  from.forEach((c, b) => (into[b] = (into[b] ?? 0n) + c));
}

/** What histogram points of both kinds merge alike: count, sum, min and max (where the first has them), exemplars, start. */
function mergeDistribution(first: HistogramDataPoint | ExponentialHistogramDataPoint, p: HistogramDataPoint | ExponentialHistogramDataPoint): void {
  first.count += p.count;
  first.sum = (first.sum ?? 0) + (p.sum ?? 0);
  if (first.min !== undefined && p.min !== undefined && p.min < first.min) first.min = p.min;
  if (first.max !== undefined && p.max !== undefined && p.max > first.max) first.max = p.max;
  first.exemplars.push(...p.exemplars);
  earliestStart(first, p);
}

/** Merges a group of histogram points into its first (always a sum; points with count 0 are skipped). */
function mergeHistograms(group: HistogramDataPoint[]): HistogramDataPoint {
  const first = group[0]!;
  for (let i = 1; i < group.length; i++) {
    const p = group[i]!;
    if (p.count === 0n) continue;
    mergeDistribution(first, p);
    addBuckets(first.bucketCounts, p.bucketCounts);
  }
  return first;
}

function mergeExponential(group: ExponentialHistogramDataPoint[]): ExponentialHistogramDataPoint {
  const first = group[0]!;
  for (let i = 1; i < group.length; i++) {
    const p = group[i]!;
    if (p.count === 0n) continue;
    mergeDistribution(first, p);
    first.zeroCount += p.zeroCount;
    // Grouped by scale and offsets, so bucket i of each means the same range; lengths may differ.
    if (p.positive) {
      if (first.positive) addBuckets(first.positive.bucketCounts, p.positive.bucketCounts);
      else first.positive = p.positive;
    }
    if (p.negative) {
      if (first.negative) addBuckets(first.negative.bucketCounts, p.negative.bucketCounts);
      else first.negative = p.negative;
    }
  }
  return first;
}

/** Groups and merges the metric's points in place. A summary is an error (the collector's drops its points). */
function aggregate(m: Metric, agg: AggregationFunction, fn: string): void {
  const d = m.data;
  const byStart = (t: AggregationTemporality) => t === AggregationTemporality.DELTA;
  switch (d.case) {
    case 'gauge':
    case 'sum': {
      const start = d.case === 'sum' && byStart(d.value.aggregationTemporality);
      const key = (p: NumberDataPoint) => `${attributesKey(p.attributes)}|${p.timeUnixNano}|${start ? p.startTimeUnixNano : ''}`;
      d.value.dataPoints = groupBy(d.value.dataPoints, key).map((g) => mergeNumbers(g, agg));
      return;
    }
    case 'histogram': {
      const start = byStart(d.value.aggregationTemporality);
      const key = (p: HistogramDataPoint) =>
        `${attributesKey(p.attributes)}|${p.timeUnixNano}|${start ? p.startTimeUnixNano : ''}|${p.explicitBounds.join(',')}|${p.min !== undefined}|${p.max !== undefined}|${p.flags}`;
      d.value.dataPoints = groupBy(d.value.dataPoints, key).map(mergeHistograms);
      return;
    }
    case 'exponentialHistogram': {
      const start = byStart(d.value.aggregationTemporality);
      const key = (p: ExponentialHistogramDataPoint) =>
        `${attributesKey(p.attributes)}|${p.timeUnixNano}|${start ? p.startTimeUnixNano : ''}|${p.scale}|${p.negative?.offset ?? 0}|` +
        `${p.positive?.offset ?? 0}|${p.min !== undefined}|${p.max !== undefined}|${p.flags}`;
      d.value.dataPoints = groupBy(d.value.dataPoints, key).map(mergeExponential);
      return;
    }
    case 'summary':
      throw new OttlRuntimeError(`${fn} does not support aggregating Summary metrics`);
    default:
      return;
  }
}

/** The points' attribute lists, whatever the metric type. */
function pointAttributes(m: Metric): KeyValue[][] {
  return (m.data.value?.dataPoints ?? []).map((p) => p.attributes);
}

export const AGGREGATE_EDITORS: Record<string, ContextEditor> = {
  aggregate_on_attributes: {
    contexts: ['metric'],
    params: [{ name: 'function' }, { name: 'attributes', optional: true }],
    build: (args, fn) => {
      const agg = aggregationFunction(args[0], fn);
      // Omitted: every attribute kept; []: none kept; [keys]: only those.
      const keep = args[1] ? new Set(literalStrings(args[1], fn, 'attributes')) : undefined;
      return (ctx) => {
        const m = ctx.metric as Metric;
        if (m.data.case === 'summary') throw new OttlRuntimeError(`${fn} does not support aggregating Summary metrics`);
        if (keep) {
          for (const attrs of pointAttributes(m)) {
            const kept = attrs.filter((kv) => keep.has(kv.key));
            if (kept.length !== attrs.length) attrs.splice(0, attrs.length, ...kept);
          }
        }
        aggregate(m, agg, fn);
      };
    },
  },
  aggregate_on_attribute_value: {
    contexts: ['metric'],
    params: [{ name: 'function' }, { name: 'attribute' }, { name: 'values' }, { name: 'new_value' }],
    build: (args, fn) => {
      const agg = aggregationFunction(args[0], fn);
      const attribute = literalString(args[1], fn, 'attribute');
      const values = new Set(literalStrings(args[2], fn, 'values'));
      const newValue = literalString(args[3], fn, 'new_value');
      return (ctx) => {
        const m = ctx.metric as Metric;
        if (m.data.case === 'summary') throw new OttlRuntimeError(`${fn} does not support aggregating Summary metrics`);
        for (const attrs of pointAttributes(m)) {
          for (const kv of attrs) {
            const v = kv.value?.value;
            if (kv.key === attribute && v?.case === 'stringValue' && values.has(v.value)) v.value = newValue;
          }
        }
        aggregate(m, agg, fn);
      };
    },
  },
};
