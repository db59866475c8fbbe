/**
 * Count connector: counts the spans, span events, metrics, data points or log records of each request
 * and emits one metrics request with a count per resource (the resource's attributes kept), as monotonic
 * delta sums. Default counts need no decode (wire counts); custom counts with conditions decode the request.
 */
import { create } from '@bufbuild/protobuf';
import type { Connector, ConnectorPlace, Host } from '../../src/core/component.js';
import { FanOutConsumer, type Consumer } from '../../src/core/consumer.js';
import { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';
import { compileConditions } from '../../src/ottl/config.js';
import { anyHolds, forEachItem } from '../../src/ottl/run.js';
import { newEvalContext, type ContextName } from '../../src/ottl/paths.js';
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
import { InstrumentationScopeSchema } from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';
import type { CountConnectorConfig, CountMetricConfig } from './config.js';

interface Count {
  name: string;
  description: string;
  context: ContextName;
  conditions: CompiledCondition[];
}

const DEFAULTS: Record<Signal, [key: keyof CountConnectorConfig, context: ContextName, name: string, description: string][]> = {
  traces: [
    ['spans', 'span', 'trace.span.count', 'The number of spans observed.'],
    ['spanevents', 'spanevent', 'trace.span.event.count', 'The number of span events observed.'],
  ],
  metrics: [
    ['metrics', 'metric', 'metric.count', 'The number of metrics observed.'],
    ['datapoints', 'datapoint', 'metric.data_point.count', 'The number of data points observed.'],
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
      if (custom.length === 0) this.counts.push({ name, description, context, conditions: [] });
      for (const [n, c] of custom)
        this.counts.push({ name: n, description: c.description, context, conditions: compileConditions(c.conditions, context, place.from) });
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
      const metrics = this.counts.map((c) => {
        let n = 0;
        const one = { [signal === 'logs' ? 'resourceLogs' : signal === 'traces' ? 'resourceSpans' : 'resourceMetrics']: [rx] } as any;
        forEachItem(signal, one, c.context, ctx, () => {
          if (c.conditions.length === 0 || anyHolds(c.conditions, ctx, { errorMode: 'ignore' })) n++;
        });
        const point = create(NumberDataPointSchema, { timeUnixNano: now, startTimeUnixNano: now, value: { case: 'asInt', value: BigInt(n) } });
        const sum = create(SumSchema, { dataPoints: [point], aggregationTemporality: AggregationTemporality.DELTA, isMonotonic: true });
        return create(MetricSchema, { name: c.name, description: c.description, unit: '1', data: { case: 'sum', value: sum } });
      });
      out.resourceMetrics.push(
        create(ResourceMetricsSchema, {
          resource: rx.resource,
          scopeMetrics: [create(ScopeMetricsSchema, { scope: create(InstrumentationScopeSchema, { name: 'gophership/countconnector' }), metrics })],
        }),
      );
    }
    if (out.resourceMetrics.length === 0) return Promise.resolve();
    return this.next.consume(Payload.fromMessage('metrics', out));
  }
}
