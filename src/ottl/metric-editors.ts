/**
 * The transform processor's metrics-only editors (its README, "Metrics only functions";
 * internal/metrics/func_*.go): they change a metric's type, scale its values, or append new metrics
 * to the scope; the aggregations (metric-aggregate.ts), the exponential histogram conversion
 * (metric-exponential.ts), merge_histogram_buckets (metric-buckets.ts) and extract_percentile_metric
 * (metric-percentile.ts) live beside. Each runs in one
 * context only, as the collector registers it: most in `metric`, the summary conversions and
 * merge_histogram_buckets in `datapoint`. Arguments the collector takes as literals are checked at config load.
 */
import { clone, create } from '@bufbuild/protobuf';
import {
  GaugeSchema,
  MetricSchema,
  SumSchema,
  AggregationTemporality,
  type Metric,
  type NumberDataPoint,
  type ScopeMetrics,
} from '../../proto/gen/opentelemetry/proto/metrics/v1/metrics_pb.js';
import { AnyValueSchema, KeyValueSchema } from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';
import { ArgError, literalString, type CompiledArg, type Getter } from './functions.js';
import type { Action, Editor } from './editors.js';
import { OttlRuntimeError, type ContextName, type EvalContext } from './paths.js';
import { typeOf } from './values.js';
import { AGGREGATE_EDITORS } from './metric-aggregate.js';
import { EXPONENTIAL_EDITORS } from './metric-exponential.js';
import { BUCKET_EDITORS } from './metric-buckets.js';
import { PERCENTILE_EDITORS } from './metric-percentile.js';
import { pointFrom } from './metric-points.js';

/** An editor that runs in some contexts only (the collector refuses it elsewhere as an unknown function). */
export interface ContextEditor extends Editor {
  contexts: readonly ContextName[];
}

const TYPE_NAMES: Record<string, string> = {
  gauge: 'Gauge',
  sum: 'Sum',
  histogram: 'Histogram',
  exponentialHistogram: 'ExponentialHistogram',
  summary: 'Summary',
};

/** The metric's type as the collector names it in messages (pmetric.MetricType's String). */
const typeName = (m: Metric): string => TYPE_NAMES[m.data.case ?? ''] ?? 'Empty';

function literalBool(a: CompiledArg | undefined, fn: string, what: string): boolean {
  if (!a || !a.isLiteral || typeof a.literal !== 'boolean') throw new ArgError(a?.col ?? 0, `${fn}: ${what} must be true or false`);
  return a.literal;
}

/** A float64 argument as a literal; an int literal is taken too (the collector asks for a float: 10.0). */
function literalNumber(a: CompiledArg | undefined, fn: string, what: string): number {
  if (a?.isLiteral && typeof a.literal === 'number') return a.literal;
  if (a?.isLiteral && typeof a.literal === 'bigint') return Number(a.literal);
  throw new ArgError(a?.col ?? 0, `${fn}: ${what} must be a number literal, e.g. 0.001`);
}

/** `"cumulative"` or `"delta"`, as the collector's conversions take it. */
function temporalityArg(a: CompiledArg | undefined, fn: string): AggregationTemporality {
  const s = literalString(a, fn, 'aggregation_temporality');
  if (s === 'cumulative') return AggregationTemporality.CUMULATIVE;
  if (s === 'delta') return AggregationTemporality.DELTA;
  throw new ArgError(a!.col, `${fn}: unknown aggregation temporality "${s}"; use "cumulative" or "delta"`);
}

/** An optional string argument that may be any expression (copy_metric's name, scale_metric's unit). */
function stringGetter(a: CompiledArg | undefined, fn: string, what: string): ((ctx: EvalContext) => string) | undefined {
  if (!a) return undefined;
  if (a.isLiteral && typeof a.literal !== 'string') throw new ArgError(a.col, `${fn}: ${what} must be a string`);
  const g: Getter = a.get;
  return (ctx) => {
    const v = g(ctx);
    if (typeof v !== 'string') throw new OttlRuntimeError(`${fn}: ${what} is a ${typeOf(v)}, not a string`);
    return v;
  };
}

/** A new Sum metric named from `source`, with its description and unit, appended by the caller. */
function newSum(source: Metric, suffix: string, temporality: AggregationTemporality, monotonic: boolean, points: NumberDataPoint[]): Metric {
  return create(MetricSchema, {
    name: source.name + suffix,
    description: source.description,
    unit: source.unit,
    data: { case: 'sum', value: create(SumSchema, { aggregationTemporality: temporality, isMonotonic: monotonic, dataPoints: points }) },
  });
}

const countValue = (count: bigint): NumberDataPoint['value'] => ({ case: 'asInt', value: BigInt.asIntN(64, count) });

const scopeMetricsOf = (ctx: EvalContext): Metric[] => (ctx.scope as ScopeMetrics).metrics;

/**
 * extract_sum_metric / extract_count_metric: a new Sum from each data point's sum (histograms without a
 * sum give no point) or count, appended to the scope when it has a point. Another metric type is an error.
 */
function extractEditor(kind: 'sum' | 'count'): ContextEditor {
  return {
    contexts: ['metric'],
    params: [{ name: 'is_monotonic' }, { name: 'suffix', optional: true }],
    build: (args, fn) => {
      const monotonic = literalBool(args[0], fn, 'is_monotonic');
      const suffix = args[1] ? literalString(args[1], fn, 'suffix') : `_${kind}`;
      return (ctx) => {
        const m = ctx.metric as Metric;
        const d = m.data;
        if (d.case !== 'histogram' && d.case !== 'exponentialHistogram' && d.case !== 'summary')
          throw new OttlRuntimeError(`${fn} requires an input metric of type Histogram, ExponentialHistogram or Summary, got ${typeName(m)}`);
        // A summary has no temporality; the collector makes its sums cumulative (as OpenMetrics has them).
        const temporality = d.case === 'summary' ? AggregationTemporality.CUMULATIVE : d.value.aggregationTemporality;
        const points: NumberDataPoint[] = [];
        for (const p of d.value.dataPoints) {
          if (kind === 'count') points.push(pointFrom(p, countValue(p.count)));
          else if (p.sum !== undefined) points.push(pointFrom(p, { case: 'asDouble', value: p.sum }));
        }
        if (points.length > 0) scopeMetricsOf(ctx).push(newSum(m, suffix, temporality, monotonic, points));
      };
    },
  };
}

/**
 * convert_summary_sum_val_to_sum / convert_summary_count_val_to_sum (datapoint context): a new Sum from
 * the summary's sums or counts, every data point of it. The collector runs the function once per data
 * point and so appends the same metric once per point of the summary; GopherShip appends it once.
 */
function summaryEditor(kind: 'sum' | 'count'): ContextEditor {
  return {
    contexts: ['datapoint'],
    params: [{ name: 'aggregation_temporality' }, { name: 'is_monotonic' }, { name: 'suffix', optional: true }],
    build: (args, fn) => {
      const temporality = temporalityArg(args[0], fn);
      const monotonic = literalBool(args[1], fn, 'is_monotonic');
      const suffix = args[2] ? literalString(args[2], fn, 'suffix') : `_${kind}`;
      // The summaries this statement converted already (decoded messages of the requests in flight).
      const done = new WeakSet<Metric>();
      return (ctx) => {
        const m = ctx.metric as Metric;
        if (m.data.case !== 'summary' || done.has(m)) return;
        done.add(m);
        const points = m.data.value.dataPoints.map((p) => pointFrom(p, kind === 'count' ? countValue(p.count) : { case: 'asDouble', value: p.sum }));
        scopeMetricsOf(ctx).push(newSum(m, suffix, temporality, monotonic, points));
      };
    },
  };
}

/** int64(float64(v) * factor), as Go converts: toward zero, saturating where Go's result is undefined. */
function scaleInt(v: bigint, factor: number): bigint {
  const x = Math.trunc(Number(v) * factor);
  if (!Number.isFinite(x)) return x > 0 ? 2n ** 63n - 1n : -(2n ** 63n);
  return BigInt.asIntN(64, BigInt(x));
}

function scaleValue<T extends { value: { case: 'asDouble'; value: number } | { case: 'asInt'; value: bigint } | { case: undefined; value?: undefined } }>(
  o: T,
  factor: number,
): void {
  const v = o.value;
  if (v.case === 'asDouble') v.value *= factor;
  else if (v.case === 'asInt') v.value = scaleInt(v.value, factor);
}

/** scale_metric: every value of the metric times `factor` (histogram bounds and exemplars too); then the unit. */
function scaleMetric(m: Metric, factor: number, fn: string): void {
  const d = m.data;
  switch (d.case) {
    case 'gauge':
    case 'sum':
      // As the collector: a number point's value only, not its exemplars.
      for (const p of d.value.dataPoints) scaleValue(p, factor);
      return;
    case 'histogram':
      for (const p of d.value.dataPoints) {
        if (p.sum !== undefined) p.sum *= factor;
        if (p.min !== undefined) p.min *= factor;
        if (p.max !== undefined) p.max *= factor;
        p.explicitBounds = p.explicitBounds.map((b) => b * factor);
        for (const e of p.exemplars) scaleValue(e, factor);
      }
      return;
    case 'summary':
      for (const p of d.value.dataPoints) {
        p.sum *= factor;
        for (const q of p.quantileValues) q.value *= factor;
      }
      return;
    case 'exponentialHistogram':
      throw new OttlRuntimeError(`exponential histograms are not supported by ${fn}`);
    default:
      throw new OttlRuntimeError(`${fn}: unsupported metric type ${typeName(m)}`);
  }
}

export const METRIC_EDITORS: Record<string, ContextEditor> = {
  convert_sum_to_gauge: {
    contexts: ['metric'],
    params: [],
    build: (): Action => (ctx) => {
      const m = ctx.metric as Metric;
      if (m.data.case !== 'sum') return;
      // The points as they are, exemplars included; temporality and monotonicity have no place in a gauge.
      m.data = { case: 'gauge', value: create(GaugeSchema, { dataPoints: m.data.value.dataPoints }) };
    },
  },
  convert_gauge_to_sum: {
    contexts: ['metric'],
    params: [{ name: 'aggregation_temporality' }, { name: 'is_monotonic' }],
    build: (args, fn): Action => {
      const temporality = temporalityArg(args[0], fn);
      const monotonic = literalBool(args[1], fn, 'is_monotonic');
      return (ctx) => {
        const m = ctx.metric as Metric;
        if (m.data.case !== 'gauge') return;
        m.data = {
          case: 'sum',
          value: create(SumSchema, { aggregationTemporality: temporality, isMonotonic: monotonic, dataPoints: m.data.value.dataPoints }),
        };
      };
    },
  },
  extract_sum_metric: extractEditor('sum'),
  extract_count_metric: extractEditor('count'),
  convert_summary_sum_val_to_sum: summaryEditor('sum'),
  convert_summary_count_val_to_sum: summaryEditor('count'),
  copy_metric: {
    contexts: ['metric'],
    params: [
      { name: 'name', optional: true },
      { name: 'description', optional: true },
      { name: 'unit', optional: true },
    ],
    build: (args, fn): Action => {
      const name = stringGetter(args[0], fn, 'name');
      const description = stringGetter(args[1], fn, 'description');
      const unit = stringGetter(args[2], fn, 'unit');
      // The copies this statement made: it does not copy them again when the loop reaches them (a
      // statement matching its own copies would copy them again and again).
      const made = new WeakSet<Metric>();
      return (ctx) => {
        const m = ctx.metric as Metric;
        if (made.has(m)) return;
        // The new values are read from the original, before the copy is appended.
        const n = name?.(ctx);
        const dsc = description?.(ctx);
        const u = unit?.(ctx);
        const copy = clone(MetricSchema, m);
        if (n !== undefined) copy.name = n;
        if (dsc !== undefined) copy.description = dsc;
        if (u !== undefined) copy.unit = u;
        made.add(copy);
        scopeMetricsOf(ctx).push(copy);
      };
    },
  },
  scale_metric: {
    contexts: ['metric'],
    params: [{ name: 'factor' }, { name: 'unit', optional: true }],
    build: (args, fn): Action => {
      const factor = literalNumber(args[0], fn, 'factor');
      const unit = stringGetter(args[1], fn, 'unit');
      return (ctx) => {
        const m = ctx.metric as Metric;
        const u = unit?.(ctx);
        scaleMetric(m, factor, fn);
        if (u !== undefined) m.unit = u;
      };
    },
  },
  convert_summary_quantile_val_to_gauge: {
    contexts: ['metric'],
    params: [
      { name: 'attribute_key', optional: true },
      { name: 'suffix', optional: true },
    ],
    build: (args, fn): Action => {
      const key = args[0] ? literalString(args[0], fn, 'attribute_key') : 'quantile';
      const suffix = args[1] ? literalString(args[1], fn, 'suffix') : '.quantiles';
      return (ctx) => {
        const m = ctx.metric as Metric;
        if (m.data.case !== 'summary') return;
        // One gauge point per quantile of each summary point, the quantile as a double attribute.
        const points: NumberDataPoint[] = [];
        for (const p of m.data.value.dataPoints) {
          for (const q of p.quantileValues) {
            const point = pointFrom(p, { case: 'asDouble', value: q.value });
            const quantile = create(AnyValueSchema, { value: { case: 'doubleValue', value: q.quantile } });
            const kv = point.attributes.find((a) => a.key === key);
            if (kv) kv.value = quantile;
            else point.attributes.push(create(KeyValueSchema, { key, value: quantile }));
            points.push(point);
          }
        }
        scopeMetricsOf(ctx).push(
          create(MetricSchema, {
            name: m.name + suffix,
            description: m.description,
            unit: m.unit,
            data: { case: 'gauge', value: create(GaugeSchema, { dataPoints: points }) },
          }),
        );
      };
    },
  },
  ...AGGREGATE_EDITORS,
  ...EXPONENTIAL_EDITORS,
  ...BUCKET_EDITORS,
  ...PERCENTILE_EDITORS,
};

/** The contexts each metrics-only editor runs in, for context inference. */
export const METRIC_EDITOR_CONTEXTS: Readonly<Record<string, readonly ContextName[]>> = Object.fromEntries(
  Object.entries(METRIC_EDITORS).map(([name, e]) => [name, e.contexts]),
);
