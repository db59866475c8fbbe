/**
 * The gateway's own telemetry: one prom-client registry per service (so several gateways can run in one
 * process, as the tests do), the collector's metric names, and the health state behind health_check.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Gauge, collectDefaultMetrics, type Counter } from 'prom-client';
import { ITEM_NOUN, SIGNALS, type Signal } from '../core/signal.js';
import { levelServes, type MetricDef, type MetricLevel } from '../core/metadata.js';
import { BARE_NAMING, type MetricNaming } from '../core/metric-naming.js';
import { EXPORTER_METRICS, NamedRegistry, PROCESSOR_METRICS, RECEIVER_METRICS, SERVICE_METRICS, counterFor, gaugeFor, serves } from './metrics.js';

export type HealthState = 'starting' | 'serving' | 'draining' | 'stopped';

/** Worse states rank higher: the worst of several processes' states is the one to report. */
export const HEALTH_RANK: Readonly<Record<HealthState, number>> = { serving: 0, starting: 1, draining: 2, stopped: 3 };

type SignalCounters = Record<Signal, Counter<string>>;

/** What an exporter's sending queue reports at scrape time (see registerExporterQueue). */
export interface ExporterQueueProbe {
  /** Requests waiting in the queue (for a WAL queue: durable records not yet acknowledged). */
  size: number;
  /** The most requests the queue takes (sending_queue.queue_size). */
  capacity: number;
  /** Bytes the queue holds on disk (WAL queues only). */
  bytes?: number;
}

function perSignal(registry: NamedRegistry, def: MetricDef): SignalCounters {
  const out = {} as SignalCounters;
  for (const sig of SIGNALS)
    out[sig] = counterFor(registry, def, { itemNoun: ITEM_NOUN[sig], help: `${def.description} (${ITEM_NOUN[sig].replace('_', ' ')})` });
  return out;
}

/**
 * prom-client's Node runtime metrics (`gophership_process_*`, `gophership_nodejs_*`: GC durations, heap
 * spaces, handles) are GopherShip's own, not MetricDefs: normal, as they are the runtime detail an operator
 * diagnoses GC and heap by, some thirty families whose GC observer runs at every collection; basic has the
 * collector's otelcol_process_* for the essentials.
 */
export const RUNTIME_METRICS_LEVEL: MetricLevel = 'normal';

/** An attribute key as a Prometheus label name: the characters label names lack become `_`, as the collector's exporter writes them. */
export function promLabelName(key: string): string {
  return key.replace(/[^A-Za-z0-9_]/g, '_').replace(/^(\d)/, '_$1');
}

export class Telemetry {
  /** Every instrument of the service, named as the /metrics reader asks (service.telemetry.metrics.readers). */
  readonly registry: NamedRegistry;
  private ownHealth: HealthState = 'starting';
  /**
   * With worker processes (service.workers), the worst health of all workers as the primary last
   * published it; `health` then answers the worse of this process's own and that, so the health check
   * every worker serves on the shared port reflects all of them.
   */
  clusterHealth: HealthState | undefined;

  get health(): HealthState {
    const own = this.ownHealth;
    const cluster = this.clusterHealth;
    return cluster === undefined || HEALTH_RANK[own] >= HEALTH_RANK[cluster] ? own : cluster;
  }

  set health(state: HealthState) {
    this.ownHealth = state;
  }

  /** This process's own health, whatever its peers'. */
  get localHealth(): HealthState {
    return this.ownHealth;
  }

  readonly receiverAccepted: SignalCounters;
  readonly receiverRefused: SignalCounters;
  readonly receiverFailed: SignalCounters;
  readonly exporterSent: SignalCounters;
  readonly exporterSendFailed: SignalCounters;
  readonly exporterEnqueueFailed: SignalCounters;
  readonly exporterResent: SignalCounters;
  readonly exporterResentRequests: Counter<string>;
  readonly processorIncoming: Counter<string>;
  readonly processorOutgoing: Counter<string>;
  readonly receiverUnauthenticated: Counter<string>;
  readonly receiverBytes: Counter<string>;
  readonly exporterBytes: Counter<string>;

  /** Queue probes per exporter ID, read when the queue gauges are scraped (no cost on the data path). */
  private readonly queueProbes = new Map<string, () => ExporterQueueProbe>();

  private readonly eventLoop: IntervalHistogram;
  private readonly startedAt = Date.now();

  /**
   * `level` is service.telemetry.metrics.level (`none` serves nothing, so it keeps every instrument, as
   * before levels were applied); a metric above it is never created. A test's Telemetry serves them all.
   */
  constructor(
    readonly naming: MetricNaming = BARE_NAMING,
    readonly level: MetricLevel = 'detailed',
  ) {
    this.registry = new NamedRegistry(naming, level);
    const reg = this.registry;
    this.receiverAccepted = perSignal(reg, RECEIVER_METRICS.accepted);
    this.receiverRefused = perSignal(reg, RECEIVER_METRICS.refused);
    this.receiverFailed = perSignal(reg, RECEIVER_METRICS.failed);
    this.exporterSent = perSignal(reg, EXPORTER_METRICS.sent);
    this.exporterSendFailed = perSignal(reg, EXPORTER_METRICS.sendFailed);
    this.exporterEnqueueFailed = perSignal(reg, EXPORTER_METRICS.enqueueFailed);
    this.exporterResent = perSignal(reg, EXPORTER_METRICS.resent);
    this.exporterResentRequests = counterFor(reg, EXPORTER_METRICS.resentRequests);
    this.processorIncoming = counterFor(reg, PROCESSOR_METRICS.incoming);
    this.processorOutgoing = counterFor(reg, PROCESSOR_METRICS.outgoing);
    this.receiverUnauthenticated = counterFor(reg, RECEIVER_METRICS.unauthenticated);
    this.receiverBytes = counterFor(reg, RECEIVER_METRICS.receivedBytes);
    this.exporterBytes = counterFor(reg, EXPORTER_METRICS.sentBytes);
    this.eventLoop = monitorEventLoopDelay({ resolution: 10 });
    // The collector's own process metric names, computed at scrape time.
    gaugeFor(reg, SERVICE_METRICS.rss, {
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
    gaugeFor(reg, SERVICE_METRICS.heapAlloc, {
      collect() {
        this.set(process.memoryUsage().heapUsed);
      },
    });
    gaugeFor(reg, SERVICE_METRICS.heapTotal, {
      collect() {
        this.set(process.memoryUsage().heapTotal);
      },
    });
    // Counters, as the collector's (monotonic sums, served as ..._seconds_total by a suffixing reader); a
    // counter only goes up, so each scrape sets it by starting it again from zero.
    counterFor(reg, SERVICE_METRICS.cpu, {
      collect() {
        const u = process.cpuUsage();
        this.reset();
        this.inc((u.user + u.system) / 1e6);
      },
    });
    const startedAt = this.startedAt;
    counterFor(reg, SERVICE_METRICS.uptime, {
      collect() {
        this.reset();
        this.inc((Date.now() - startedAt) / 1000);
      },
    });
    // The delay histogram samples the loop all the time: enabled only where its gauge is served.
    if (serves(reg, SERVICE_METRICS.eventLoopDelay)) {
      this.eventLoop.enable();
      const el = this.eventLoop;
      gaugeFor(reg, SERVICE_METRICS.eventLoopDelay, {
        collect() {
          this.set({ quantile: '0.5' }, el.percentile(50) / 1e9);
          this.set({ quantile: '0.99' }, el.percentile(99) / 1e9);
          this.set({ quantile: 'max' }, el.max / 1e9);
          el.reset();
        },
      });
    }
    // prom-client's names already start with process_ or nodejs_: the prefix adds only the gateway's own
    // (gophership_process_cpu_seconds_total, gophership_nodejs_gc_duration_seconds).
    if (levelServes(level, RUNTIME_METRICS_LEVEL)) collectDefaultMetrics({ register: reg, prefix: 'gophership_' });
    // The collector's queue gauges, plus the disk bytes of WAL-backed queues, read from probes at scrape.
    const probes = this.queueProbes;
    const queueGauge = (def: MetricDef, pick: (p: ExporterQueueProbe) => number | undefined) =>
      gaugeFor(reg, def, {
        collect() {
          this.reset();
          for (const [exporter, probe] of probes) {
            const v = pick(probe());
            if (v !== undefined) this.set({ exporter }, v);
          }
        },
      });
    queueGauge(EXPORTER_METRICS.queueSize, (p) => p.size);
    queueGauge(EXPORTER_METRICS.queueCapacity, (p) => p.capacity);
    queueGauge(EXPORTER_METRICS.queueBytes, (p) => p.bytes);
  }

  /**
   * Registers an exporter's sending queue for otelcol_exporter_queue_size / _capacity and
   * gophership_exporter_queue_bytes; returns the function that removes it (call on shutdown).
   */
  registerExporterQueue(exporter: string, probe: () => ExporterQueueProbe): () => void {
    this.queueProbes.set(exporter, probe);
    return () => {
      if (this.queueProbes.get(exporter) === probe) this.queueProbes.delete(exporter);
    };
  }

  /**
   * service.telemetry.resource as the collector shows it to Prometheus: a `target_info` gauge (value 1)
   * whose labels are the attributes, with the characters Prometheus label names lack turned into `_`.
   */
  describeResource(attributes: Record<string, string | undefined>): void {
    const entries = Object.entries(attributes).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== null);
    if (entries.length === 0) return;
    const labels = Object.fromEntries(entries.map(([k, v]) => [promLabelName(k), v]));
    new Gauge({
      name: 'target_info',
      help: 'Target metadata: the service.telemetry.resource attributes',
      labelNames: Object.keys(labels),
      registers: [this.registry],
    }).set(labels, 1);
  }

  close(): void {
    this.eventLoop.disable();
  }
}
