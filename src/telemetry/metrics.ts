/**
 * The metrics the service and the shared helpers emit on behalf of components: what every receiver,
 * processor and exporter reports (the collector's names), the service's own process metrics. Components
 * list the ones they emit in their metadata; Telemetry creates them; the status page reads them by these names.
 *
 * Levels, as the collector sets them: its service drops an instrument below the configured level only when a
 * level is registered for it (component.RegisterMetricLevelConfigs, formerly the service's configureViews):
 * the batch processor's meter at normal and its send_size_bytes at detailed, processorhelper's
 * internal_duration and exporterhelper's queue_batch_send_size_bytes at detailed, otelhttp/otelgrpc at
 * detailed. Everything else, the receiver, processor and exporter helpers' counters, otelcol_process_* and
 * the contrib components' metrics, is served from basic up (opentelemetry.io docs/collector/internal-telemetry
 * lists them by level). GopherShip's own metrics say why theirs beside each.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { HistogramSeries, SeriesHistogram } from './histogram.js';
import { instrumentOptions, levelServes, metricName, type MetricDef, type MetricLevel } from '../core/metadata.js';
import { BARE_NAMING, type MetricNaming } from '../core/metric-naming.js';

const RECEIVER_LABELS = ['receiver', 'transport'] as const;
const EXPORTER_LABELS = ['exporter'] as const;
const PROCESSOR_LABELS = ['processor', 'otel_signal'] as const;

/** What the service counts for every receiver (src/telemetry/telemetry.ts). */
export const RECEIVER_METRICS = {
  accepted: {
    name: 'otelcol_receiver_accepted',
    level: 'basic',
    type: 'counter',
    unit: '{items}',
    description: 'Items successfully pushed into the pipeline',
    labels: RECEIVER_LABELS,
    perSignal: true,
  },
  refused: {
    name: 'otelcol_receiver_refused',
    level: 'basic',
    type: 'counter',
    unit: '{items}',
    description: 'Items that could not be pushed into the pipeline',
    labels: RECEIVER_LABELS,
    perSignal: true,
  },
  failed: {
    name: 'otelcol_receiver_failed',
    level: 'basic',
    type: 'counter',
    unit: '{items}',
    description: 'Items the receiver failed to process (bad data)',
    labels: RECEIVER_LABELS,
    perSignal: true,
  },
  unauthenticated: {
    name: 'gophership_receiver_unauthenticated_requests',
    // normal: an operator needs it to see refused credentials; one series per receiver, transport and reason.
    level: 'normal',
    type: 'counter',
    unit: '{requests}',
    description:
      'Requests refused by the authentication step, by reason: credentials (missing or wrong: HTTP 401, gRPC UNAUTHENTICATED), busy (not checked, too many slow password checks waiting: 503, UNAVAILABLE), unavailable (the authenticator failed, e.g. the OIDC issuer unreachable: 503, UNAVAILABLE)',
    labels: [...RECEIVER_LABELS, 'reason'],
  },
  receivedBytes: {
    name: 'gophership_receiver_received_bytes',
    // normal: throughput in bytes beside the basic item counts; one series per receiver and transport.
    level: 'normal',
    type: 'counter',
    unit: 'By',
    description: 'Request bytes received (after decompression)',
    labels: RECEIVER_LABELS,
  },
} as const satisfies Record<string, MetricDef>;

/** What processors built on the shared helpers (wire processor, batch) count. */
export const PROCESSOR_METRICS = {
  incoming: {
    name: 'otelcol_processor_incoming_items',
    level: 'basic',
    type: 'counter',
    unit: '{items}',
    description: 'Items passed to the processor',
    labels: PROCESSOR_LABELS,
  },
  outgoing: {
    name: 'otelcol_processor_outgoing_items',
    level: 'basic',
    type: 'counter',
    unit: '{items}',
    description: 'Items emitted by the processor',
    labels: PROCESSOR_LABELS,
  },
} as const satisfies Record<string, MetricDef>;

/** What the exporterhelper counts for every exporter, its sending queue included. */
export const EXPORTER_METRICS = {
  sent: {
    name: 'otelcol_exporter_sent',
    level: 'basic',
    type: 'counter',
    unit: '{items}',
    description: 'Items successfully sent to destination',
    labels: EXPORTER_LABELS,
    perSignal: true,
  },
  sendFailed: {
    name: 'otelcol_exporter_send_failed',
    level: 'basic',
    type: 'counter',
    unit: '{items}',
    description: 'Items the exporter failed to send',
    labels: EXPORTER_LABELS,
    perSignal: true,
  },
  enqueueFailed: {
    name: 'otelcol_exporter_enqueue_failed',
    level: 'basic',
    type: 'counter',
    unit: '{items}',
    description: 'Items that could not be added to the sending queue',
    labels: EXPORTER_LABELS,
    perSignal: true,
  },
  resent: {
    name: 'gophership_exporter_resent',
    // normal: retries an operator watches beside send_failed; one series per exporter and signal.
    level: 'normal',
    type: 'counter',
    unit: '{items}',
    description:
      'Items sent again after a failed or timed-out attempt (retries; an attempt whose answer was lost may have been delivered, so the downstream can count these twice)',
    labels: EXPORTER_LABELS,
    perSignal: true,
  },
  resentRequests: {
    name: 'gophership_exporter_resent_requests',
    // normal: the same retries counted in requests; one series per exporter.
    level: 'normal',
    type: 'counter',
    unit: '{requests}',
    description: 'Requests sent again after a failed or timed-out attempt (one per retry)',
    labels: EXPORTER_LABELS,
  },
  sentBytes: {
    name: 'gophership_exporter_sent_bytes',
    // normal: throughput in bytes beside the basic item counts; one series per exporter.
    level: 'normal',
    type: 'counter',
    unit: 'By',
    description: 'Request bytes sent downstream (before compression)',
    labels: EXPORTER_LABELS,
  },
  queueSize: {
    name: 'otelcol_exporter_queue_size',
    level: 'basic',
    type: 'gauge',
    unit: '{requests}',
    description: 'Current size of the retry queue (in batches)',
    labels: EXPORTER_LABELS,
  },
  queueCapacity: {
    name: 'otelcol_exporter_queue_capacity',
    level: 'basic',
    type: 'gauge',
    unit: '{requests}',
    description: 'Fixed capacity of the retry queue (in batches)',
    labels: EXPORTER_LABELS,
  },
  queueBytes: {
    name: 'gophership_exporter_queue_bytes',
    // basic: the byte companion of the basic queue gauges, read at scrape (no data-path cost), and the status page shows it.
    level: 'basic',
    type: 'gauge',
    unit: 'By',
    description: 'Bytes a WAL-backed sending queue holds on disk',
    labels: EXPORTER_LABELS,
  },
} as const satisfies Record<string, MetricDef>;

/**
 * What the primary of a gateway with worker processes (service.workers) adds to the summed /metrics of its
 * workers, per worker (label `worker`, its index) and for the machine-wide view; the status page reads them.
 */
export const WORKER_METRICS = {
  // basic: the status page reads the worker gauges; one series in all.
  workers: {
    name: 'gophership_workers',
    level: 'basic',
    type: 'gauge',
    unit: '{processes}',
    description: 'Worker processes configured (service.workers)',
    labels: [],
  },
  // basic: the status page shows each worker up or down; one series per worker.
  up: { name: 'gophership_worker_up', level: 'basic', type: 'gauge', unit: '{state}', description: '1 while the worker reports serving', labels: ['worker'] },
  zone: {
    name: 'gophership_worker_zone',
    // basic: the status page shows each worker's zone; one series per worker.
    level: 'basic',
    type: 'gauge',
    unit: '{zone}',
    description: "Each worker's own somatic zone (0 green, 1 yellow, 2 red; -1 none)",
    labels: ['worker'],
  },
  // basic: the status page shows each worker's memory; one series per worker.
  rss: {
    name: 'gophership_worker_rss_bytes',
    level: 'basic',
    type: 'gauge',
    unit: 'By',
    description: 'Resident memory of each worker process',
    labels: ['worker'],
  },
  restarts: {
    name: 'gophership_worker_restarts',
    // normal: an operator alerts on workers dying; one series per worker.
    level: 'normal',
    type: 'counter',
    unit: '{processes}',
    description: 'Worker processes replaced after they died',
    labels: ['worker'],
  },
  globalZone: {
    name: 'gophership_global_zone',
    // basic: the status page shows the machine-wide zone; one series.
    level: 'basic',
    type: 'gauge',
    unit: '{zone}',
    description: "The machine-wide view's zone, published to every worker",
    labels: [],
  },
  globalMemory: {
    name: 'gophership_global_memory_ratio',
    // normal: the machine-wide memory ratio an operator sizes by; one series.
    level: 'normal',
    type: 'gauge',
    unit: '1',
    description: "Sum of the workers' RSS over the configured memory limit",
    labels: [],
  },
} as const satisfies Record<string, MetricDef>;

/** The service's own metrics (besides prom-client's default `gophership_process_*` and `gophership_nodejs_*`). */
export const SERVICE_METRICS = {
  rss: {
    name: 'otelcol_process_memory_rss',
    level: 'basic',
    type: 'gauge',
    unit: 'By',
    description: 'Total physical memory (resident set size) in bytes',
    labels: [],
  },
  heapAlloc: { name: 'otelcol_process_runtime_heap_alloc_bytes', level: 'basic', type: 'gauge', unit: 'By', description: 'V8 heap used in bytes', labels: [] },
  heapTotal: {
    name: 'otelcol_process_runtime_total_sys_memory_bytes',
    level: 'basic',
    type: 'gauge',
    unit: 'By',
    description: 'V8 heap total in bytes',
    labels: [],
  },
  cpu: {
    name: 'otelcol_process_cpu_seconds',
    level: 'basic',
    type: 'counter',
    unit: 's',
    description: 'Total CPU user and system time in seconds',
    labels: [],
  },
  uptime: {
    name: 'otelcol_process_uptime',
    level: 'basic',
    type: 'counter',
    unit: 's',
    description: 'Uptime of the process in seconds',
    labels: [],
    acrossWorkers: 'max',
  },
  eventLoopDelay: {
    name: 'gophership_event_loop_delay_seconds',
    // normal: the Node event loop's delay, an operator's first look at a slow gateway; three series.
    level: 'normal',
    type: 'gauge',
    unit: 's',
    description: 'Event-loop delay over the last scrape interval',
    labels: ['quantile'],
    acrossWorkers: 'max',
  },
  workerThreads: {
    name: 'gophership_processing_worker_threads',
    // normal: sizes service.processing.worker_threads; one series, read at scrape.
    level: 'normal',
    type: 'gauge',
    unit: '{threads}',
    description: 'Worker threads running processor edits (service.processing.worker_threads)',
    labels: [],
  },
  workerEdits: {
    name: 'gophership_processing_worker_edits_total',
    // normal: how much editing the worker threads take; one series, read at scrape.
    level: 'normal',
    type: 'counter',
    unit: '{requests}',
    description: 'Requests whose processor edit ran on a worker thread',
    labels: [],
  },
} as const satisfies Record<string, MetricDef>;

/**
 * A service's registry, with the naming its /metrics reader asks for (service.telemetry.metrics.readers)
 * and the level it serves (service.telemetry.metrics.level): every instrument made in it takes its name
 * from `naming`, so /metrics, the workers' sum and the status page all see the one name, and one whose
 * MetricDef is above `level` is never created in it (counterFor and its siblings hand out a no-op).
 */
export class NamedRegistry extends Registry {
  /** Bucket bounds views give histograms (explicit_bucket_histogram), by served name: sharedHistogram creates them so. */
  readonly histogramBuckets = new Map<string, readonly number[]>();

  constructor(
    readonly naming: MetricNaming,
    readonly level: MetricLevel = 'detailed',
  ) {
    super();
  }
}

/** The naming of the instruments in `registry`: a plain registry (a test's) has the metadata's names. */
export function namingOf(registry: Registry): MetricNaming {
  return registry instanceof NamedRegistry ? registry.naming : BARE_NAMING;
}

/** Whether `registry` serves `def`: a plain registry (a test's) serves every level. */
export function serves(registry: Registry, def: MetricDef): boolean {
  return !(registry instanceof NamedRegistry) || levelServes(registry.level, def.level);
}

// What a metric the configured level does not serve is handed instead: one instance of each kind does for
// all, as it records nothing. Its methods do nothing, so a component observing it pays one empty call.
const NOOP_CHILD = { inc() {}, dec() {}, set() {}, setToCurrentTime() {}, startTimer: () => () => 0 };

class NoopCounter extends Counter<string> {
  constructor() {
    super({ name: 'gophership_unserved_counter', help: 'not served', registers: [] });
    // prom-client's Counter sets `inc` on the instance, past any method of a subclass: replace it there.
    this.inc = () => {};
  }
  override labels(): Counter.Internal {
    return NOOP_CHILD;
  }
  override remove(): void {}
}

class NoopGauge extends Gauge<string> {
  override inc(): void {}
  override dec(): void {}
  override set(): void {}
  override setToCurrentTime(): void {}
  override startTimer(): () => number {
    return () => 0;
  }
  override labels(): Gauge.Internal<string> {
    return NOOP_CHILD;
  }
  override remove(): void {}
}

class NoopSeries extends HistogramSeries {
  override observe(): void {}
}

const NOOP_SERIES = new NoopSeries([], {});

class NoopHistogram extends SeriesHistogram {
  override labels(): HistogramSeries {
    return NOOP_SERIES;
  }
}

// In no registry (registers: []): nothing scrapes, sums or shows them.
const NOOP_COUNTER = new NoopCounter();
const NOOP_GAUGE = new NoopGauge({ name: 'gophership_unserved_gauge', help: 'not served', registers: [] });
const NOOP_HISTOGRAM = new NoopHistogram({ name: 'gophership_unserved_histogram', help: 'not served', labelNames: [], buckets: [] }, undefined);

/** What a counter or gauge may add to its MetricDef: a scrape-time `collect`, a per-signal item noun, a help text. */
export interface InstrumentExtras<T> {
  itemNoun?: string;
  help?: string;
  collect?: (this: T) => void | Promise<void>;
}

/**
 * A new counter for `def` in `registry` if the registry's level serves it, else the shared no-op (decided
 * here, at start, never per observation).
 */
export function counterFor(registry: Registry, def: MetricDef, extras: InstrumentExtras<Counter<string>> = {}): Counter<string> {
  if (!serves(registry, def)) return NOOP_COUNTER;
  const { itemNoun, ...rest } = extras;
  return new Counter({ ...instrumentOptions(def, namingOf(registry), itemNoun), ...rest, registers: [registry] });
}

/** A new gauge for `def` in `registry`, or the no-op below its level (as counterFor). */
export function gaugeFor(registry: Registry, def: MetricDef, extras: InstrumentExtras<Gauge<string>> = {}): Gauge<string> {
  if (!serves(registry, def)) return NOOP_GAUGE;
  const { itemNoun, ...rest } = extras;
  return new Gauge({ ...instrumentOptions(def, namingOf(registry), itemNoun), ...rest, registers: [registry] });
}

/**
 * The counter for `def` in a service's registry, created by the first caller: several instances of a
 * component (one per pipeline, say) share it, told apart by their labels. Below its level: the no-op.
 */
export function sharedCounter(registry: Registry, def: MetricDef): Counter<string> {
  const existing = registry.getSingleMetric(metricName(def, namingOf(registry)));
  if (existing) return existing as Counter<string>;
  return counterFor(registry, def);
}

/** The gauge for `def` in a service's registry, created by the first caller (as sharedCounter). */
export function sharedGauge(registry: Registry, def: MetricDef): Gauge<string> {
  const existing = registry.getSingleMetric(metricName(def, namingOf(registry)));
  if (existing) return existing as Gauge<string>;
  return gaugeFor(registry, def);
}

/**
 * The histogram for `def` in a service's registry, created by the first caller (as sharedCounter), with
 * the buckets `def` names. Resolve a series once with `labels()` and observe it once per batch, export or
 * decision, never per record. Below its level: a no-op whose series record nothing.
 */
export function sharedHistogram(registry: Registry, def: MetricDef): SeriesHistogram {
  if (!serves(registry, def)) return NOOP_HISTOGRAM;
  const naming = namingOf(registry);
  const existing = registry.getSingleMetric(metricName(def, naming));
  if (existing) return existing as unknown as SeriesHistogram;
  const { name, help, labelNames, buckets } = instrumentOptions(def, naming);
  const viewed = registry instanceof NamedRegistry ? registry.histogramBuckets.get(name) : undefined;
  return new SeriesHistogram({ name, help, labelNames, buckets: [...(viewed ?? buckets ?? [])] }, registry);
}
