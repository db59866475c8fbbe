/**
 * Count connector: counts the spans, span events, metrics, data points or log records of each request
 * and emits one metrics request with the counts of each resource (the resource's attributes kept), as
 * monotonic delta sums: one data point per set of values of the count's `attributes`. As the collector's,
 * a count with nothing counted is left out, and a resource with no count at all.
 */
import { create } from '@bufbuild/protobuf';
import type { Connector, ConnectorPlace, Host } from '../../src/core/component.js';
import { FanOutConsumer, type Consumer } from '../../src/core/consumer.js';
import { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';
import { compileConditions } from '../../src/ottl/config.js';
import { anyHolds, forEachItem } from '../../src/ottl/run.js';
import { newEvalContext, type ContextName, type EvalContext } from '../../src/ottl/paths.js';
import type { CompiledCondition } from '../../src/ottl/compile.js';
import { ExportMetricsServiceRequestSchema } from '../../proto/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import {
  AggregationTemporality,
  MetricSchema,
  NumberDataPointSchema,
  ResourceMetricsSchema,
  ScopeMetricsSchema,
  SumSchema,
} from '../../proto/gen/opentelemetry/proto/metrics/v1/metrics_pb.js';
import {
  AnyValueSchema,
  InstrumentationScopeSchema,
  KeyValueSchema,
  type AnyValue,
  type KeyValue,
} from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';
import type { CountAttributeConfig, CountConnectorConfig, CountMetricConfig } from './config.js';

/** The collector's scope name for these metrics (its generated metadata.ScopeName), e.g. Prometheus' otel_scope_name. */
export const SCOPE_NAME = 'github.com/open-telemetry/opentelemetry-collector-contrib/connector/countconnector';

interface Count {
  name: string;
  description: string;
  context: ContextName;
  conditions: CompiledCondition[];
  attributes: CountAttributeConfig[];
}

/** The record's own attributes for a count's context (the metric context has none: it cannot group). */
function recordAttributes(ctx: EvalContext, context: ContextName): KeyValue[] | undefined {
  const rec =
    context === 'span' ? ctx.span : context === 'spanevent' ? ctx.spanevent : context === 'datapoint' ? ctx.datapoint : context === 'log' ? ctx.log : undefined;
  return (rec as { attributes?: KeyValue[] } | undefined)?.attributes;
}

const valueOf = (list: readonly KeyValue[] | undefined, key: string): AnyValue | undefined => list?.find((kv) => kv.key === key)?.value;

/**
 * The data point attribute of `attr` for the item in ctx, as the collector's: the record's attribute,
 * else the scope's, else the resource's, else `default_value`; an int or a double keeps its type, anything
 * else is read as pcommon's Str() (a string, or '' for other types). Undefined: the item is not counted.
 */
function countAttribute(ctx: EvalContext, context: ContextName, attr: CountAttributeConfig): KeyValue | undefined {
  const found =
    valueOf(recordAttributes(ctx, context), attr.key) ??
    valueOf((ctx.scope as { scope?: { attributes: KeyValue[] } }).scope?.attributes, attr.key) ??
    valueOf((ctx.resource as { resource?: { attributes: KeyValue[] } }).resource?.attributes, attr.key);
  let value: AnyValue['value'];
  if (found) {
    const v = found.value;
    value = v.case === 'intValue' || v.case === 'doubleValue' ? v : { case: 'stringValue', value: v.case === 'stringValue' ? v.value : '' };
  } else {
    const d = attr.default_value;
    if (d === undefined || d === '' || d === 0) return undefined;
    value =
      typeof d === 'string'
        ? { case: 'stringValue', value: d }
        : Number.isInteger(d)
          ? { case: 'intValue', value: BigInt(d) }
          : { case: 'doubleValue', value: d };
  }
  return create(KeyValueSchema, { key: attr.key, value: create(AnyValueSchema, { value }) });
}

/** A grouping key for a set of attribute values (each value with its type). */
const groupKey = (attrs: readonly KeyValue[]): string => attrs.map((kv) => `${kv.value!.value.case}:${String(kv.value!.value.value)}`).join('\u0000');

const DEFAULTS: Record<Signal, [key: keyof CountConnectorConfig, context: ContextName, name: string, description: string][]> = {
  traces: [
    ['spans', 'span', 'trace.span.count', 'The number of spans observed.'],
    ['spanevents', 'spanevent', 'trace.span.event.count', 'The number of span events observed.'],
  ],
  metrics: [
    ['metrics', 'metric', 'metric.count', 'The number of metrics observed.'],
    ['datapoints', 'datapoint', 'metric.datapoint.count', 'The number of data points observed.'],
  ],
  logs: [['logs', 'log', 'log.record.count', 'The number of log records observed.']],
};

export class CountConnector implements Connector {
  private readonly counts: Count[] = [];
  private readonly next: Consumer;

  constructor(
    config: CountConnectorConfig,
    private readonly place: ConnectorPlace,
    next: ReadonlyMap<string, Consumer>,
  ) {
    this.next = new FanOutConsumer([...next.values()], true);
    for (const [key, context, name, description] of DEFAULTS[place.from]) {
      const custom = Object.entries(config[key] as Record<string, CountMetricConfig>);
      if (custom.length === 0) this.counts.push({ name, description, context, conditions: [], attributes: [] });
      for (const [n, c] of custom)
        this.counts.push({
          name: n,
          description: c.description,
          context,
          conditions: compileConditions(c.conditions, context, place.from),
          attributes: c.attributes,
        });
    }
  }

  async start(_host?: Host): Promise<void> {}
  async shutdown(): Promise<void> {}

  consume(payload: Payload): Promise<void> {
    const signal = this.place.from;
    const msg = payload.decode();
    const now = BigInt(Date.now()) * 1_000_000n;
    const ctx = newEvalContext();
    const resources = (msg as any)[signal === 'logs' ? 'resourceLogs' : signal === 'traces' ? 'resourceSpans' : 'resourceMetrics'] as any[];
    const out = create(ExportMetricsServiceRequestSchema);
    for (const rx of resources) {
      const metrics = [];
      for (const c of this.counts) {
        // Counts by set of attribute values, in the order first seen.
        const groups = new Map<string, { attrs: KeyValue[]; n: number }>();
        const one = { [signal === 'logs' ? 'resourceLogs' : signal === 'traces' ? 'resourceSpans' : 'resourceMetrics']: [rx] } as any;
        forEachItem(signal, one, c.context, ctx, () => {
          const attrs: KeyValue[] = [];
          for (const a of c.attributes) {
            const kv = countAttribute(ctx, c.context, a);
            // An item without every attribute (and no default) is not counted.
            if (kv === undefined) return;
            attrs.push(kv);
          }
          if (c.conditions.length > 0 && !anyHolds(c.conditions, ctx, { errorMode: 'ignore' })) return;
          const key = groupKey(attrs);
          const g = groups.get(key);
          if (g) g.n++;
          else groups.set(key, { attrs, n: 1 });
        });
        if (groups.size === 0) continue;
        const dataPoints = [...groups.values()].map((g) =>
          create(NumberDataPointSchema, { attributes: g.attrs, timeUnixNano: now, startTimeUnixNano: now, value: { case: 'asInt', value: BigInt(g.n) } }),
        );
        const sum = create(SumSchema, { dataPoints, aggregationTemporality: AggregationTemporality.DELTA, isMonotonic: true });
        // No unit, as the collector's (a unit of '1' can change a name in Prometheus translation).
        metrics.push(create(MetricSchema, { name: c.name, description: c.description, data: { case: 'sum', value: sum } }));
      }
      if (metrics.length === 0) continue;
      out.resourceMetrics.push(
        create(ResourceMetricsSchema, {
          resource: rx.resource,
          scopeMetrics: [create(ScopeMetricsSchema, { scope: create(InstrumentationScopeSchema, { name: SCOPE_NAME }), metrics })],
        }),
      );
    }
    if (out.resourceMetrics.length === 0) return Promise.resolve();
    return this.next.consume(Payload.fromMessage('metrics', out));
  }
}
