/**
 * Turns the spanmetrics state into one ExportMetricsServiceRequest, as the collector lays it out: per
 * resource one scope `spanmetricsconnector` with `<namespace>.calls` (a monotonic sum) and
 * `<namespace>.duration` (an explicit or exponential histogram in the configured unit). Cumulative points
 * start when their series began; delta points start at the series' previous flush (or its first span).
 * Runs once per flush interval, so it builds messages rather than bytes.
 */
import { create } from '@bufbuild/protobuf';
import {
  ExportMetricsServiceRequestSchema,
  type ExportMetricsServiceRequest,
} from '../../proto/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import {
  AggregationTemporality,
  ExemplarSchema,
  ExponentialHistogramDataPoint_BucketsSchema,
  ExponentialHistogramDataPointSchema,
  ExponentialHistogramSchema,
  HistogramDataPointSchema,
  HistogramSchema,
  MetricSchema,
  NumberDataPointSchema,
  ResourceMetricsSchema,
  ScopeMetricsSchema,
  SumSchema,
  type Metric,
} from '../../proto/gen/opentelemetry/proto/metrics/v1/metrics_pb.js';
import { InstrumentationScopeSchema } from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';
import { ResourceSchema } from '../../proto/gen/opentelemetry/proto/resource/v1/resource_pb.js';
import type { SpanMetricsConfig } from './config.js';
import type { ResourceState, Series } from './aggregator.js';
import { ExplicitHistogram, ExponentialHistogram } from './histograms.js';

export const SCOPE_NAME = 'spanmetricsconnector';

/** Delta start times: series key -> its previous flush time, bounded (the oldest is forgotten first). */
export class DeltaStarts {
  private readonly last = new Map<string, bigint>();
  constructor(private readonly capacity: number) {}
  get(key: string): bigint | undefined {
    return this.last.get(key);
  }
  set(key: string, t: bigint): void {
    this.last.delete(key);
    if (this.last.size >= this.capacity) this.last.delete(this.last.keys().next().value!);
    this.last.set(key, t);
  }
}

export function buildMetrics(
  config: SpanMetricsConfig,
  resources: ReadonlyMap<string, ResourceState>,
  nowNanos: bigint,
  deltaStarts: DeltaStarts | undefined,
): ExportMetricsServiceRequest | undefined {
  const delta = config.aggregation_temporality === 'AGGREGATION_TEMPORALITY_DELTA';
  const temporality = delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
  const prefix = config.namespace === '' ? '' : `${config.namespace}.`;
  const out = create(ExportMetricsServiceRequestSchema);
  for (const [rk, state] of resources) {
    if (state.series.size === 0) continue;
    // Delta start times are kept per metric (the calls, duration and events series of one key differ).
    const startOf = (metric: string, sk: string, s: Series): bigint => {
      if (!deltaStarts) return s.startNanos;
      const key = `${rk}\u0003${metric}${sk}`;
      const start = deltaStarts.get(key) ?? s.startNanos;
      deltaStarts.set(key, nowNanos);
      return start;
    };
    const exemplarsOf = (s: Series) =>
      s.exemplars.map((e) =>
        create(ExemplarSchema, { timeUnixNano: nowNanos, traceId: e.traceId, spanId: e.spanId, value: { case: 'asDouble', value: e.value } }),
      );
    const sumPoints = (metric: string, table: ReadonlyMap<string, Series>) =>
      [...table].map(([sk, s]) =>
        create(NumberDataPointSchema, {
          attributes: s.attributes,
          startTimeUnixNano: startOf(metric, sk, s),
          timeUnixNano: nowNanos,
          value: { case: 'asInt', value: BigInt(s.calls) },
          exemplars: exemplarsOf(s),
        }),
      );
    const sum = (name: string, dataPoints: ReturnType<typeof sumPoints>) =>
      create(MetricSchema, {
        name: `${prefix}${name}`,
        data: { case: 'sum', value: create(SumSchema, { dataPoints, aggregationTemporality: temporality, isMonotonic: true }) },
      });
    const callPoints = sumPoints('c', state.series);
    const histPoints = [];
    const expoPoints = [];
    const durations = state.durations ?? state.series;
    let i = 0;
    for (const [sk, s] of durations) {
      // A series shared with the calls metric (same table, same order) starts where its calls point does.
      const start = state.durations ? startOf('d', sk, s) : callPoints[i]!.startTimeUnixNano;
      i++;
      const common = { attributes: s.attributes, startTimeUnixNano: start, timeUnixNano: nowNanos };
      const h = s.histogram;
      if (h instanceof ExplicitHistogram) {
        histPoints.push(
          create(HistogramDataPointSchema, {
            ...common,
            count: BigInt(h.count),
            sum: h.sum,
            bucketCounts: h.bucketCounts.map(BigInt),
            explicitBounds: [...h.bounds],
            exemplars: exemplarsOf(s),
          }),
        );
      } else if (h instanceof ExponentialHistogram) {
        expoPoints.push(
          create(ExponentialHistogramDataPointSchema, {
            ...common,
            count: BigInt(h.count),
            sum: h.sum,
            scale: h.scale,
            zeroCount: BigInt(h.zeroCount),
            positive: create(ExponentialHistogramDataPoint_BucketsSchema, { offset: h.offset, bucketCounts: h.counts.map(BigInt) }),
            negative: create(ExponentialHistogramDataPoint_BucketsSchema, {}),
            ...(h.count > 0 ? { min: h.min, max: h.max } : {}),
            exemplars: exemplarsOf(s),
          }),
        );
      }
    }
    const metrics: Metric[] = [sum('calls', callPoints)];
    if (!config.histogram.disable) {
      const name = `${prefix}duration`;
      const unit = config.histogram.unit;
      metrics.push(
        config.histogram.exponential
          ? create(MetricSchema, {
              name,
              unit,
              data: {
                case: 'exponentialHistogram',
                value: create(ExponentialHistogramSchema, { dataPoints: expoPoints, aggregationTemporality: temporality }),
              },
            })
          : create(MetricSchema, {
              name,
              unit,
              data: { case: 'histogram', value: create(HistogramSchema, { dataPoints: histPoints, aggregationTemporality: temporality }) },
            }),
      );
    }
    if (state.events) metrics.push(sum('events', sumPoints('e', state.events)));
    out.resourceMetrics.push(
      create(ResourceMetricsSchema, {
        resource: create(ResourceSchema, { attributes: state.attributes }),
        scopeMetrics: [create(ScopeMetricsSchema, { scope: create(InstrumentationScopeSchema, { name: SCOPE_NAME }), metrics })],
      }),
    );
  }
  return out.resourceMetrics.length > 0 ? out : undefined;
}
