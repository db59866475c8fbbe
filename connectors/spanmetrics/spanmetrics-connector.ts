/**
 * spanmetrics connector: aggregates the spans of a traces pipeline into request, error and duration (RED)
 * metrics and emits them into the metrics pipelines that receive from it, every metrics_flush_interval
 * (and once more at shutdown, so a gateway that stops hands on what it counted). Taking spans never waits
 * on the metrics side: the aggregation is synchronous and the flush is its own request.
 */
import type { Connector, ConnectorPlace, CreateSettings, Host } from '../../src/core/component.js';
import { FanOutConsumer, type Consumer } from '../../src/core/consumer.js';
import { Payload } from '../../src/pdata/payload.js';
import type { Logger } from '../../src/telemetry/logger.js';
import { SpanMetricsAggregator } from './aggregator.js';
import { buildMetrics, DeltaStarts } from './build-metrics.js';
import type { SpanMetricsConfig } from './config.js';

export class SpanMetricsConnector implements Connector {
  private readonly next: Consumer;
  readonly aggregator: SpanMetricsAggregator;
  private readonly deltaStarts: DeltaStarts | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: SpanMetricsConfig,
    _place: ConnectorPlace,
    next: ReadonlyMap<string, Consumer>,
    private readonly logger: Logger,
    private readonly settings?: Pick<CreateSettings, 'pressure'>,
  ) {
    this.next = new FanOutConsumer([...next.values()], true);
    this.aggregator = new SpanMetricsAggregator(config);
    this.deltaStarts = config.aggregation_temporality === 'AGGREGATION_TEMPORALITY_DELTA' ? new DeltaStarts(config.metric_timestamp_cache_size) : undefined;
  }

  async start(_host?: Host): Promise<void> {
    // The somatic processor provides the ledger when it is created, before any component starts.
    this.aggregator.held.attach(this.settings?.pressure.ledger);
    this.timer = setInterval(() => void this.flush(), this.config.metrics_flush_interval);
    this.timer.unref();
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
    // What it counted is handed on: nothing is held any more.
    this.aggregator.clear();
  }

  consume(payload: Payload): Promise<void> {
    try {
      this.aggregator.add(payload.bytes);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Emits the metrics of what was aggregated so far and resets per the temporality; resolves when the metrics pipelines took them. */
  flush(nowMs = Date.now()): Promise<void> {
    const request = buildMetrics(this.config, this.aggregator.resources, BigInt(nowMs) * 1_000_000n, this.deltaStarts);
    this.aggregator.reset(nowMs);
    if (request === undefined) return this.flushing;
    // As the collector: metrics the pipeline refuses are logged, not retried (the next cumulative flush carries them again).
    const sent = this.next.consume(Payload.fromMessage('metrics', request)).catch((err: unknown) => {
      this.logger.error('spanmetrics: the metrics pipeline refused the flushed metrics', { error: (err as Error).message });
    });
    this.flushing = this.flushing.then(() => sent);
    return this.flushing;
  }
}
