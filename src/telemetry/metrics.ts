/**
 * The metrics the service and the shared helpers emit on behalf of components: what every receiver,
 * processor and exporter reports (the collector's names), the service's own process metrics. Components
 * list the ones they emit in their metadata; Telemetry creates them; the status page reads them by these names.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { SeriesHistogram } from './histogram.js';
import { instrumentOptions, metricName, type MetricDef } from '../core/metadata.js';
import { BARE_NAMING, type MetricNaming } from '../core/metric-naming.js';

const RECEIVER_LABELS = ['receiver', 'transport'] as const;
const EXPORTER_LABELS = ['exporter'] as const;
const PROCESSOR_LABELS = ['processor', 'otel_signal'] as const;

/** What the service counts for every receiver (src/telemetry/telemetry.ts). */
export const RECEIVER_METRICS = {
  accepted: {
    name: 'otelcol_receiver_accepted',
    type: 'counter',
    unit: '{items}',
    description: 'Items successfully pushed into the pipeline',
    labels: RECEIVER_LABELS,
    perSignal: true,
  },
  refused: {
    name: 'otelcol_receiver_refused',
    type: 'counter',
    unit: '{items}',
    description: 'Items that could not be pushed into the pipeline',
    labels: RECEIVER_LABELS,
    perSignal: true,
  },
  failed: {
    name: 'otelcol_receiver_failed',
    type: 'counter',
    unit: '{items}',
    description: 'Items the receiver failed to process (bad data)',
    labels: RECEIVER_LABELS,
    perSignal: true,
  },
  unauthenticated: {
    name: 'gophership_receiver_unauthenticated_requests',
    type: 'counter',
    unit: '{requests}',
    description:
      'Requests refused by the authentication step, by reason: credentials (missing or wrong: HTTP 401, gRPC UNAUTHENTICATED), busy (not checked, too many slow password checks waiting: 503, UNAVAILABLE), unavailable (the authenticator failed, e.g. the OIDC issuer unreachable: 503, UNAVAILABLE)',
    labels: [...RECEIVER_LABELS, 'reason'],
  },
  receivedBytes: {
    name: 'gophership_receiver_received_bytes',
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
    type: 'counter',
    unit: '{items}',
    description: 'Items passed to the processor',
    labels: PROCESSOR_LABELS,
  },
  outgoing: {
    name: 'otelcol_processor_outgoing_items',
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
    type: 'counter',
    unit: '{items}',
    description: 'Items successfully sent to destination',
    labels: EXPORTER_LABELS,
    perSignal: true,
  },
  sendFailed: {
    name: 'otelcol_exporter_send_failed',
    type: 'counter',
    unit: '{items}',
    description: 'Items the exporter failed to send',
    labels: EXPORTER_LABELS,
    perSignal: true,
  },
  enqueueFailed: {
    name: 'otelcol_exporter_enqueue_failed',
    type: 'counter',
    unit: '{items}',
    description: 'Items that could not be added to the sending queue',
    labels: EXPORTER_LABELS,
    perSignal: true,
  },
  resent: {
    name: 'gophership_exporter_resent',
    type: 'counter',
    unit: '{items}',
    description:
      'Items sent again after a failed or timed-out attempt (retries; an attempt whose answer was lost may have been delivered, so the downstream can count these twice)',
    labels: EXPORTER_LABELS,
    perSignal: true,
  },
  resentRequests: {
    name: 'gophership_exporter_resent_requests',
    type: 'counter',
    unit: '{requests}',
    description: 'Requests sent again after a failed or timed-out attempt (one per retry)',
    labels: EXPORTER_LABELS,
  },
  sentBytes: {
    name: 'gophership_exporter_sent_bytes',
    type: 'counter',
    unit: 'By',
    description: 'Request bytes sent downstream (before compression)',
    labels: EXPORTER_LABELS,
  },
  queueSize: {
    name: 'otelcol_exporter_queue_size',
    type: 'gauge',
    unit: '{requests}',
    description: 'Current size of the retry queue (in batches)',
    labels: EXPORTER_LABELS,
  },
  queueCapacity: {
    name: 'otelcol_exporter_queue_capacity',
    type: 'gauge',
    unit: '{requests}',
    description: 'Fixed capacity of the retry queue (in batches)',
    labels: EXPORTER_LABELS,
  },
  queueBytes: {
    name: 'gophership_exporter_queue_bytes',
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
  workers: { name: 'gophership_workers', type: 'gauge', unit: '{processes}', description: 'Worker processes configured (service.workers)', labels: [] },
  up: { name: 'gophership_worker_up', type: 'gauge', unit: '{state}', description: '1 while the worker reports serving', labels: ['worker'] },
  zone: {
    name: 'gophership_worker_zone',
    type: 'gauge',
    unit: '{zone}',
    description: "Each worker's own somatic zone (0 green, 1 yellow, 2 red; -1 none)",
    labels: ['worker'],
  },
  rss: { name: 'gophership_worker_rss_bytes', type: 'gauge', unit: 'By', description: 'Resident memory of each worker process', labels: ['worker'] },
  restarts: {
    name: 'gophership_worker_restarts',
    type: 'counter',
    unit: '{processes}',
    description: 'Worker processes replaced after they died',
    labels: ['worker'],
  },
  globalZone: {
    name: 'gophership_global_zone',
    type: 'gauge',
    unit: '{zone}',
    description: "The machine-wide view's zone, published to every worker",
    labels: [],
  },
  globalMemory: {
    name: 'gophership_global_memory_ratio',
    type: 'gauge',
    unit: '1',
    description: "Sum of the workers' RSS over the configured memory limit",
    labels: [],
  },
} as const satisfies Record<string, MetricDef>;

/** The service's own metrics (besides prom-client's default `gophership_process_*` and `gophership_nodejs_*`). */
export const SERVICE_METRICS = {
  rss: { name: 'otelcol_process_memory_rss', type: 'gauge', unit: 'By', description: 'Total physical memory (resident set size) in bytes', labels: [] },
  heapAlloc: { name: 'otelcol_process_runtime_heap_alloc_bytes', type: 'gauge', unit: 'By', description: 'V8 heap used in bytes', labels: [] },
  heapTotal: { name: 'otelcol_process_runtime_total_sys_memory_bytes', type: 'gauge', unit: 'By', description: 'V8 heap total in bytes', labels: [] },
  cpu: { name: 'otelcol_process_cpu_seconds', type: 'counter', unit: 's', description: 'Total CPU user and system time in seconds', labels: [] },
  uptime: { name: 'otelcol_process_uptime', type: 'counter', unit: 's', description: 'Uptime of the process in seconds', labels: [], acrossWorkers: 'max' },
  eventLoopDelay: {
    name: 'gophership_event_loop_delay_seconds',
    type: 'gauge',
    unit: 's',
    description: 'Event-loop delay over the last scrape interval',
    labels: ['quantile'],
    acrossWorkers: 'max',
  },
  workerThreads: {
    name: 'gophership_processing_worker_threads',
    type: 'gauge',
    unit: '{threads}',
    description: 'Worker threads running processor edits (service.processing.worker_threads)',
    labels: [],
  },
  workerEdits: {
    name: 'gophership_processing_worker_edits_total',
    type: 'counter',
    unit: '{requests}',
    description: 'Requests whose processor edit ran on a worker thread',
    labels: [],
  },
} as const satisfies Record<string, MetricDef>;

/**
 * A service's registry, with the naming its /metrics reader asks for (service.telemetry.metrics.readers):
 * every instrument made in it takes its name from `naming`, so /metrics, the workers' sum and the status
 * page all see the one name.
 */
export class NamedRegistry extends Registry {
  constructor(readonly naming: MetricNaming) {
    super();
  }
}

/** The naming of the instruments in `registry`: a plain registry (a test's) has the metadata's names. */
export function namingOf(registry: Registry): MetricNaming {
  return registry instanceof NamedRegistry ? registry.naming : BARE_NAMING;
}

/**
 * The counter for `def` in a service's registry, created by the first caller: several instances of a
 * component (one per pipeline, say) share it, told apart by their labels.
 */
export function sharedCounter(registry: Registry, def: MetricDef): Counter<string> {
  const naming = namingOf(registry);
  const existing = registry.getSingleMetric(metricName(def, naming));
  if (existing) return existing as Counter<string>;
  return new Counter({ ...instrumentOptions(def, naming), registers: [registry] });
}

/** The gauge for `def` in a service's registry, created by the first caller (as sharedCounter). */
export function sharedGauge(registry: Registry, def: MetricDef): Gauge<string> {
  const naming = namingOf(registry);
  const existing = registry.getSingleMetric(metricName(def, naming));
  if (existing) return existing as Gauge<string>;
  return new Gauge({ ...instrumentOptions(def, naming), registers: [registry] });
}

/**
 * The histogram for `def` in a service's registry, created by the first caller (as sharedCounter), with
 * the buckets `def` names. Resolve a series once with `labels()` and observe it once per batch, export or
 * decision, never per record.
 */
export function sharedHistogram(registry: Registry, def: MetricDef): SeriesHistogram {
  const naming = namingOf(registry);
  const existing = registry.getSingleMetric(metricName(def, naming));
  if (existing) return existing as unknown as SeriesHistogram;
  const { name, help, labelNames, buckets } = instrumentOptions(def, naming);
  return new SeriesHistogram({ name, help, labelNames, buckets: buckets ?? [] }, registry);
}
