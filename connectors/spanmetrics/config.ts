/**
 * The spanmetrics connector's config: the collector-contrib keys (connector/spanmetricsconnector
 * config.go) with its defaults: namespace `traces.span.metrics`, flush every 60s, cumulative temporality,
 * an explicit histogram in milliseconds with the collector's default buckets, 5 exemplars per data point when
 * exemplars are on, no cardinality limit.
 */
import { s, type ConfigIssue, type ConfigOf } from '../../src/core/schema.js';

/** The collector's default explicit buckets, in milliseconds (divided by 1000 for unit `s`). */
export const DEFAULT_BUCKETS_MS = [2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10_000, 15_000] as const;

/** The four dimensions every series has; `exclude_dimensions` may drop them. */
export const DEFAULT_DIMENSIONS = ['service.name', 'span.name', 'span.kind', 'status.code'] as const;

/**
 * The collector's instance on every series (its connector.spanmetrics.includeCollectorInstanceID gate, beta:
 * on by default): each gateway of a tier writes its own series. `exclude_dimensions` may drop it too.
 */
export const COLLECTOR_INSTANCE_DIMENSION = 'collector.instance.id';

const dimension = s.object({
  name: s.string().mustBeSet().describe('span attribute (then resource attribute) whose value becomes a dimension'),
  default: s.string().describe('value when neither the span nor its resource has the attribute; without it the dimension is left out'),
});

const base = s.object({
  namespace: s.string().default('traces.span.metrics').describe('prefix of the metric names: <namespace>.calls, <namespace>.duration'),
  dimensions: s.array(dimension).default([]).describe('dimensions added to service.name, span.name, span.kind and status.code'),
  exclude_dimensions: s
    .array(s.enum(...DEFAULT_DIMENSIONS, COLLECTOR_INSTANCE_DIMENSION))
    .default([])
    .describe('default dimensions to leave out (collector.instance.id too)'),
  histogram: s.object({
    disable: s.bool().default(false).describe('emit no duration histogram (calls only)'),
    unit: s
      .enum('ms', 's')
      .default('ms')
      .describe("unit of the recorded durations (the collector's default, ms; s only behind its alpha gate useSecondAsDefaultMetricsUnit)"),
    explicit: s
      .presence(
        s.object({
          buckets: s
            .array(s.duration())
            .describe('bucket upper bounds as durations (default: 2ms 4ms 6ms 8ms 10ms 50ms 100ms 200ms 400ms 800ms 1s 1400ms 2s 5s 10s 15s)'),
        }),
      )
      .describe('an explicit-bucket histogram (the default)'),
    exponential: s
      .presence(s.object({ max_size: s.int(0).default(160).describe('most buckets per positive or negative range (0: 160)') }))
      .describe('a base-2 exponential histogram'),
    dimensions: s.array(dimension).default([]).describe('dimensions added to the duration histogram only (after dimensions)'),
  }),
  aggregation_temporality: s
    .enum('AGGREGATION_TEMPORALITY_CUMULATIVE', 'AGGREGATION_TEMPORALITY_DELTA')
    .default('AGGREGATION_TEMPORALITY_CUMULATIVE')
    .describe('cumulative: counts since the series began; delta: counts since the last flush'),
  metrics_flush_interval: s.duration().default(60_000).describe('how often the metrics are emitted'),
  metrics_expiration: s.duration().default(0).describe('a resource seen by no span for this long is no longer emitted (0: never)'),
  series_expiration: s.duration().default(0).describe('a series seen by no span for this long is no longer emitted (0: never)'),
  metric_timestamp_cache_size: s.int(1).default(1000).describe('delta: how many series remember their last flush time (the next start time)'),
  exemplars: s.object({
    enabled: s.bool().default(false).describe('attach the trace and span IDs of spans as exemplars'),
    max_per_data_point: s.int(0).default(5).describe('most exemplars per data point and flush'),
  }),
  aggregation_cardinality_limit: s
    .int(0)
    .default(0)
    .describe('most series per resource; spans of further series are counted in one series with otel.metric.overflow=true (0: no limit)'),
  resource_metrics_key_attributes: s.array(s.string()).default([]).describe('resource attributes that identify a resource (default: all)'),
  resource_metrics_cache_size: s.int(1).default(1000).describe('most resources held; the least recently seen one is dropped first'),
  dimensions_cache_size: s
    .int(1)
    .default(1000)
    .describe('deprecated in the collector for aggregation_cardinality_limit; accepted, bounds nothing here (each series holds its own attributes)'),
  calls_dimensions: s.array(dimension).default([]).describe('dimensions added to the calls metric only (after dimensions)'),
  events: s.object({
    enabled: s.bool().default(false).describe('emit <namespace>.events: span events counted per series'),
    dimensions: s
      .array(dimension)
      .default([])
      .describe(
        'event dimensions added to dimensions (required when enabled): the span attribute, else the event attribute, else the resource attribute, else default',
      ),
  }),
  include_instrumentation_scope: s
    .array(s.string())
    .default([])
    .describe('scope names whose spans get span.instrumentation.scope.name and .version dimensions'),
  add_resource_attributes: s
    .bool()
    .default(false)
    .describe(
      "keep the resource attributes on the metrics where the collector's connector.spanmetrics.excludeResourceMetrics gate drops them; GopherShip has that gate off (the collector's default), so they are copied either way",
    ),
  enable_metrics_sampling_method: s.bool().default(false).describe('add sampling.method: extrapolated (the count came from the span tracestate th) or counted'),
});

export const spanMetricsConfig = s.refine(base, (c, path, issues: ConfigIssue[]) => {
  if (c.histogram.explicit !== undefined && c.histogram.exponential !== undefined)
    issues.push({ path: [...path, 'histogram'], message: 'use either explicit or exponential buckets, not both' });
  const unique = (list: readonly { name: string }[], at: string[], taken: readonly string[]) => {
    const seen = new Set<string>(taken);
    list.forEach((d, i) => {
      if (seen.has(d.name)) issues.push({ path: [...path, ...at, String(i), 'name'], message: `duplicate dimension name ${d.name}` });
      seen.add(d.name);
    });
  };
  // As the collector: each list against the four default dimensions and itself (a name also in
  // `dimensions` is one attribute: the aggregator reads it once).
  unique(c.dimensions, ['dimensions'], DEFAULT_DIMENSIONS);
  unique(c.calls_dimensions, ['calls_dimensions'], DEFAULT_DIMENSIONS);
  unique(c.histogram.dimensions, ['histogram', 'dimensions'], DEFAULT_DIMENSIONS);
  unique(c.events.dimensions, ['events', 'dimensions'], DEFAULT_DIMENSIONS);
  if (c.events.enabled && c.events.dimensions.length === 0)
    issues.push({ path: [...path, 'events', 'dimensions'], message: 'no dimensions configured for events: list the event attributes to count by' });
  const b = c.histogram.explicit?.buckets;
  if (b)
    for (let i = 1; i < b.length; i++)
      if (b[i]! <= b[i - 1]!) issues.push({ path: [...path, 'histogram', 'explicit', 'buckets', String(i)], message: 'buckets must increase' });
});

export type SpanMetricsConfig = ConfigOf<typeof base>;
