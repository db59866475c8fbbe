/**
 * The status page's data: a one-timer-per-service sampler that reads the service's prom-client registry
 * once a second and keeps the last few minutes in a ring buffer.
 *
 * It reads metrics by name, never by import, so it shows what exists: zones and sensors when the somatic
 * processor registered `gophership_somatic_*`, queue fill when exporters registered
 * `otelcol_exporter_queue_size/capacity`, WAL figures when something registered a `*_wal_*` metric, and a
 * plain "no zones" state otherwise.
 *
 * Gauges whose collect() has side effects (gophership_event_loop_delay_seconds resets its histogram per
 * scrape) are never read here, so the status page does not disturb Prometheus' view; the event loop is
 * measured with its own utilisation counter instead.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { gatewayVersion } from '../../core/build-info.js';
import { ITEM_NOUN, SIGNALS, type Signal } from '../../core/signal.js';
import type { HealthState, Telemetry } from '../telemetry.js';
import type { Registry } from 'prom-client';
import { EXPORTER_METRICS, PROCESSOR_METRICS, RECEIVER_METRICS, SERVICE_METRICS, WORKER_METRICS } from '../metrics.js';
import { SOMATIC_METRICS } from '../../somatic/metrics.js';
import { metricName, type MetricDef } from '../../core/metadata.js';
import { BARE_NAMING, type MetricNaming } from '../../core/metric-naming.js';

export interface StatusPipeline {
  id: string;
  signal: Signal;
  receivers: string[];
  processors: string[];
  exporters: string[];
}

/**
 * What the sampler reads: the service's registry, health and the naming its instruments were made with
 * (a Telemetry, or any registry in tests): it reads each metric by the name /metrics serves it under.
 */
export interface StatusSource {
  readonly registry: Registry;
  readonly health: Telemetry['health'];
  /** Absent: the metadata's names (the collector's default naming). */
  readonly naming?: MetricNaming;
}

export interface StatusOptions {
  telemetry: StatusSource;
  pipelines: readonly StatusPipeline[];
  version?: string;
  /** Sampling period. Default 1000 ms. */
  intervalMs?: number;
  /** History kept. Default 300 samples (5 minutes at 1 s). */
  historySize?: number;
}

export type ZoneName = 'green' | 'yellow' | 'red';
export const ZONE_NAMES: readonly ZoneName[] = ['green', 'yellow', 'red'];

/** One point of the timeline. Rates are records (items) per second over the previous interval. */
export interface StatusPoint {
  /** Unix ms. */
  t: number;
  /** 0 green, 1 yellow, 2 red; null when no somatic zone metric exists. */
  zone: number | null;
  accepted: number;
  refused: number;
  failed: number;
  sent: number;
  sendFailed: number;
  /** Somatic debt (bytes if a bytes gauge exists, else records); null when absent. */
  debt: number | null;
  /** Highest exporter queue fill 0..1; null when no queue metrics exist. */
  queueFill: number | null;
  /** Highest WAL fill 0..1; null when no WAL fill metric exists. */
  walFill: number | null;
}

export interface MetricReading {
  name: string;
  /** Prometheus type: gauge, counter, histogram, summary. */
  type: string;
  labels: Record<string, string | number>;
  value: number;
  help: string;
}

export interface Rates {
  accepted: number;
  refused: number;
  failed: number;
  sent: number;
  sendFailed: number;
  enqueueFailed: number;
}

export interface StatusSnapshot {
  version: string;
  health: HealthState;
  now: number;
  startedAt: number;
  intervalMs: number;
  historySize: number;
  zone: { level: number | null; name: ZoneName | null; source: 'somatic' | 'none'; readings: MetricReading[]; transitions: number };
  /**
   * The gauges behind the zone: gophership_somatic_sensor{sensor} first (each a ratio of its limit,
   * event_loop_delay in ms), then the other gophership_somatic_* gauges (debt, in-flight bytes...).
   */
  sensors: MetricReading[];
  debt: { value: number; unit: 'bytes' | 'records' } | null;
  rates: Rates;
  totals: Rates;
  pipelines: Array<
    StatusPipeline & { inRate: number; outRate: number; refusedRate: number; processorRates: Array<{ id: string; inRate: number; outRate: number }> }
  >;
  receivers: Array<{ id: string; transport: string; acceptedRate: number; refusedRate: number; failedRate: number; accepted: number }>;
  exporters: Array<{
    id: string;
    sentRate: number;
    sendFailedRate: number;
    enqueueFailedRate: number;
    sent: number;
    queue: { size: number; capacity: number; fill: number } | null;
  }>;
  /**
   * What sits on disk: metrics with `wal` in the name, WAL-backed queue bytes and the somatic debt gauges;
   * walFill is the highest WAL fill known (a `*wal*fill|ratio*` gauge or the somatic `wal` sensor).
   */
  storage: { readings: MetricReading[]; walFill: number | null };
  /** This process's; with worker processes the gateway's (every process's RSS, heap and CPU; the busiest event loop). */
  process: { rssBytes: number; heapUsedBytes: number; eventLoopUtilization: number; cpuPercent: number; uptimeSeconds: number };
  /**
   * With worker processes (service.workers, read from the primary's gophership_worker_* gauges): each
   * worker's own zone (null without a somatic processor), whether it serves and its RSS, and the zone of
   * the machine-wide view; null in a single process. `zone` above is the worst worker's.
   */
  workers: { global: ZoneName | null; each: Array<{ worker: string; zone: ZoneName | null; up: boolean; rssBytes: number }> } | null;
  history: StatusPoint[];
}

type Key = string;
const COUNTER_KINDS = {
  accepted: RECEIVER_METRICS.accepted,
  refused: RECEIVER_METRICS.refused,
  failed: RECEIVER_METRICS.failed,
  sent: EXPORTER_METRICS.sent,
  sendFailed: EXPORTER_METRICS.sendFailed,
  enqueueFailed: EXPORTER_METRICS.enqueueFailed,
} as const;
type CounterKind = keyof typeof COUNTER_KINDS;

interface MetricLike {
  name: string;
  help?: string;
  get(): Promise<{ type?: string; values: Array<{ value: number; labels: Record<string, string | number> }> }>;
}

const labelKey = (labels: Record<string, string | number>): string =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');

export class StatusSampler {
  private readonly telemetry: StatusSource;
  private readonly pipelines: readonly StatusPipeline[];
  private readonly version: string;
  readonly intervalMs: number;
  readonly historySize: number;
  private readonly startedAt = Date.now();

  // Ring buffer of the timeline.
  private readonly ring: (StatusPoint | undefined)[];
  private head = 0;
  private count = 0;

  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;
  private prevAt = 0;
  /** Counter totals of the previous sample, by metric name + labels. */
  private prevTotals = new Map<Key, number>();
  private prevElu: EventLoopUtilization = performance.eventLoopUtilization();
  private prevCpu = process.cpuUsage();
  /** With worker processes: their summed CPU seconds at the previous sample. */
  private prevWorkerCpu: number | undefined;
  private latest: Omit<StatusSnapshot, 'history' | 'health' | 'now'> | undefined;
  /** The somatic metrics' served names, by key (the zone, sensor and debt gauges are told apart by name). */
  private readonly somaticNames: Readonly<Record<keyof typeof SOMATIC_METRICS, string>>;
  private readonly somaticNameSet: ReadonlySet<string>;
  private readonly naming: MetricNaming;

  constructor(opts: StatusOptions) {
    this.telemetry = opts.telemetry;
    const naming = opts.telemetry.naming ?? BARE_NAMING;
    this.naming = naming;
    this.somaticNames = Object.fromEntries(Object.entries(SOMATIC_METRICS).map(([k, d]) => [k, metricName(d, naming)])) as Record<
      keyof typeof SOMATIC_METRICS,
      string
    >;
    this.somaticNameSet = new Set(Object.values(this.somaticNames));
    this.pipelines = opts.pipelines;
    this.version = opts.version ?? gatewayVersion();
    this.intervalMs = opts.intervalMs ?? 1000;
    this.historySize = opts.historySize ?? 300;
    this.ring = new Array(this.historySize);
  }

  /** Takes a first sample (so the page has data at once) and samples every interval until stop(). */
  start(): void {
    if (this.timer) return;
    this.prevAt = Date.now();
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    // The sampler must never keep a process alive on its own.
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.sampling;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Samples now (tests and the first page load use it); overlapping calls share one sample. */
  sample(): Promise<void> {
    this.sampling ??= this.doSample().finally(() => (this.sampling = undefined));
    return this.sampling;
  }

  history(sinceMs = 0): StatusPoint[] {
    const out: StatusPoint[] = [];
    const start = (this.head - this.count + this.historySize) % this.historySize;
    for (let i = 0; i < this.count; i++) {
      const p = this.ring[(start + i) % this.historySize]!;
      if (p.t > sinceMs) out.push(p);
    }
    return out;
  }

  /** The current view; `sinceMs` limits the history to newer points (the page polls with it). */
  snapshot(sinceMs = 0): StatusSnapshot {
    const base = this.latest ?? this.emptyView();
    return { ...base, health: this.telemetry.health, now: Date.now(), history: this.history(sinceMs) };
  }

  private emptyView(): Omit<StatusSnapshot, 'history' | 'health' | 'now'> {
    const zero: Rates = { accepted: 0, refused: 0, failed: 0, sent: 0, sendFailed: 0, enqueueFailed: 0 };
    return {
      version: this.version,
      startedAt: this.startedAt,
      intervalMs: this.intervalMs,
      historySize: this.historySize,
      zone: { level: null, name: null, source: 'none', readings: [], transitions: 0 },
      sensors: [],
      debt: null,
      rates: zero,
      totals: zero,
      pipelines: [],
      receivers: [],
      exporters: [],
      storage: { readings: [], walFill: null },
      process: { rssBytes: 0, heapUsedBytes: 0, eventLoopUtilization: 0, cpuPercent: 0, uptimeSeconds: 0 },
      workers: null,
    };
  }

  /** The somatic sensor gauge's served name (the page tells sensors apart by it). */
  get sensorName(): string {
    return this.somaticNames.sensor;
  }

  /** The name `def` is served under here. */
  private name(def: MetricDef, itemNoun?: string): string {
    return metricName(def, this.naming, itemNoun);
  }

  private async read(name: string): Promise<MetricReading[]> {
    const m = this.telemetry.registry.getSingleMetric(name) as unknown as MetricLike | undefined;
    if (!m) return [];
    return this.values(m);
  }

  private async values(m: MetricLike): Promise<MetricReading[]> {
    const got = await m.get();
    const type = String(got.type ?? 'untyped');
    return got.values.map((v) => ({ name: m.name, type, labels: v.labels, value: v.value, help: m.help ?? '' }));
  }

  private async doSample(): Promise<void> {
    const now = Date.now();
    const dt = Math.max(1, now - this.prevAt) / 1000;
    const first = this.latest === undefined;
    this.prevAt = now;
    const totals = new Map<Key, number>();

    // Counters: per kind, per signal; keyed rates per label set.
    type Row = { labels: Record<string, string | number>; signal: Signal; total: number; rate: number };
    const rows = {} as Record<CounterKind, Row[]>;
    for (const kind of Object.keys(COUNTER_KINDS) as CounterKind[]) {
      rows[kind] = [];
      for (const signal of SIGNALS) {
        const name = this.name(COUNTER_KINDS[kind], ITEM_NOUN[signal]);
        for (const r of await this.read(name)) {
          const key = `${name}{${labelKey(r.labels)}}`;
          totals.set(key, r.value);
          const prev = this.prevTotals.get(key);
          // A first sample has no interval: rate 0 rather than "everything since start in one second".
          const rate = first ? 0 : round2(Math.max(0, r.value - (prev ?? 0)) / dt);
          rows[kind].push({ labels: r.labels, signal, total: r.value, rate });
        }
      }
    }
    const procIn = await this.procRates(this.name(PROCESSOR_METRICS.incoming), totals, dt, first);
    const procOut = await this.procRates(this.name(PROCESSOR_METRICS.outgoing), totals, dt, first);
    this.prevTotals = totals;

    const sum = (kind: CounterKind, field: 'rate' | 'total', pred: (r: Row) => boolean = () => true) =>
      rows[kind].filter(pred).reduce((a, r) => a + r[field], 0);
    const rates: Rates = { accepted: 0, refused: 0, failed: 0, sent: 0, sendFailed: 0, enqueueFailed: 0 };
    const all: Rates = { ...rates };
    for (const kind of Object.keys(COUNTER_KINDS) as CounterKind[]) {
      rates[kind] = sum(kind, 'rate');
      all[kind] = sum(kind, 'total');
    }

    // Somatic, queue and WAL metrics are found by name so they appear when their components exist.
    const somatic: MetricReading[] = [];
    const wal: MetricReading[] = [];
    for (const m of this.telemetry.registry.getMetricsAsArray() as unknown as MetricLike[]) {
      if (this.somaticNameSet.has(m.name)) somatic.push(...(await this.values(m)));
      else if (/(^|_)wal(_|$)|_queue_bytes$/.test(m.name)) wal.push(...(await this.values(m)));
    }
    const S = this.somaticNames;
    const zoneReadings = somatic.filter((r) => r.name === S.zone);
    const isSensor = (r: MetricReading) => r.name === S.sensor;
    const sensors = [...somatic.filter(isSensor), ...somatic.filter((r) => !isSensor(r) && r.type === 'gauge' && r.name !== S.zone)];
    const transitions = somatic.filter((r) => r.name === S.transitions).reduce((a, r) => a + r.value, 0);
    wal.push(...somatic.filter((r) => r.name === S.debtBytes || r.name === S.debtRecords || (isSensor(r) && r.labels.sensor === 'wal')));
    const zoneLevel = zoneReadings.length ? Math.max(...zoneReadings.map((r) => r.value)) : null;
    const debt = pickDebt(sensors, S);

    const queueSize = await this.read(this.name(EXPORTER_METRICS.queueSize));
    const queueCap = await this.read(this.name(EXPORTER_METRICS.queueCapacity));
    const exporterIds = new Set<string>();
    for (const p of this.pipelines) for (const e of p.exporters) exporterIds.add(e);
    const byExporter = (rs: MetricReading[], id: string) => rs.filter((r) => r.labels.exporter === id).reduce((a, r) => a + r.value, 0);
    const exporters = [...exporterIds].map((id) => {
      const isThis = (r: Row) => r.labels.exporter === id;
      const hasQueue = queueCap.some((r) => r.labels.exporter === id);
      const size = byExporter(queueSize, id);
      const capacity = byExporter(queueCap, id);
      return {
        id,
        sentRate: sum('sent', 'rate', isThis),
        sendFailedRate: sum('sendFailed', 'rate', isThis),
        enqueueFailedRate: sum('enqueueFailed', 'rate', isThis),
        sent: sum('sent', 'total', isThis),
        queue: hasQueue ? { size, capacity, fill: capacity > 0 ? size / capacity : 0 } : null,
      };
    });
    const queueFills = exporters.filter((e) => e.queue).map((e) => e.queue!.fill);

    const receivers: StatusSnapshot['receivers'] = [];
    const recKey = (r: Row) => `${r.labels.receiver}\0${r.labels.transport}`;
    const recKeys = new Set([...rows.accepted, ...rows.refused, ...rows.failed].map(recKey));
    for (const k of recKeys) {
      const isThis = (r: Row) => recKey(r) === k;
      const [id, transport] = k.split('\0') as [string, string];
      receivers.push({
        id,
        transport,
        acceptedRate: sum('accepted', 'rate', isThis),
        refusedRate: sum('refused', 'rate', isThis),
        failedRate: sum('failed', 'rate', isThis),
        accepted: sum('accepted', 'total', isThis),
      });
    }
    receivers.sort((a, b) => (a.id + a.transport).localeCompare(b.id + b.transport));

    // A pipeline's rates: what its receivers accepted and its exporters sent of its signal (an exporter
    // shared by two pipelines of one signal counts for both; the collector's metrics do not split it).
    const pipelines = this.pipelines.map((p) => {
      const rec = (r: Row) => r.signal === p.signal && p.receivers.includes(String(r.labels.receiver));
      const exp = (r: Row) => r.signal === p.signal && p.exporters.includes(String(r.labels.exporter));
      return {
        ...p,
        inRate: sum('accepted', 'rate', rec),
        refusedRate: sum('refused', 'rate', rec),
        outRate: sum('sent', 'rate', exp),
        processorRates: p.processors.map((id) => ({
          id,
          inRate: procIn.get(`${id}\0${p.signal}`) ?? 0,
          outRate: procOut.get(`${id}\0${p.signal}`) ?? 0,
        })),
      };
    });

    const workers = await this.workers();
    const walFills = wal.filter((r) => /wal.*(fill|ratio)|(fill|ratio).*wal/.test(r.name) || (isSensor(r) && r.labels.sensor === 'wal')).map((r) => r.value);
    const walFill = walFills.length ? Math.max(...walFills) : null;

    const elu = performance.eventLoopUtilization(this.prevElu);
    this.prevElu = performance.eventLoopUtilization();
    const cpu = process.cpuUsage(this.prevCpu);
    this.prevCpu = process.cpuUsage();
    const mem = process.memoryUsage();
    // With worker processes, this process (the primary) carries no data: the figures are the gateway's,
    // every process's memory and CPU and the busiest event loop the workers' somatic sensors saw.
    let rssBytes = mem.rss;
    let heapUsedBytes = mem.heapUsed;
    let cpuSeconds = (cpu.user + cpu.system) / 1e6;
    let busiest = elu.utilization;
    if (workers) {
      const total = async (def: MetricDef) => (await this.read(this.name(def))).reduce((a, r) => a + r.value, 0);
      rssBytes += workers.each.reduce((a, w) => a + w.rssBytes, 0);
      heapUsedBytes += await total(SERVICE_METRICS.heapAlloc);
      const workerCpu = await total(SERVICE_METRICS.cpu);
      // A worker replaced meanwhile starts its count again: no negative CPU.
      if (this.prevWorkerCpu !== undefined) cpuSeconds += Math.max(0, workerCpu - this.prevWorkerCpu);
      this.prevWorkerCpu = workerCpu;
      const sensorElu = sensors.find((r) => isSensor(r) && r.labels.sensor === 'event_loop_utilization');
      if (sensorElu) busiest = Math.max(busiest, sensorElu.value);
    }

    this.latest = {
      version: this.version,
      startedAt: this.startedAt,
      intervalMs: this.intervalMs,
      historySize: this.historySize,
      zone: {
        level: zoneLevel,
        name: zoneLevel === null ? null : (ZONE_NAMES[Math.min(2, Math.max(0, Math.round(zoneLevel)))] ?? null),
        source: zoneLevel === null ? 'none' : 'somatic',
        readings: zoneReadings,
        transitions,
      },
      sensors,
      debt,
      rates,
      totals: all,
      pipelines,
      receivers,
      exporters,
      storage: { readings: wal, walFill },
      process: {
        rssBytes,
        heapUsedBytes,
        eventLoopUtilization: first ? 0 : round2(busiest * 100) / 100,
        cpuPercent: first ? 0 : round2((cpuSeconds / dt) * 100),
        uptimeSeconds: (now - this.startedAt) / 1000,
      },
      workers,
    };
    this.push({
      t: now,
      zone: zoneLevel,
      accepted: rates.accepted,
      refused: rates.refused,
      failed: rates.failed,
      sent: rates.sent,
      sendFailed: rates.sendFailed,
      debt: debt?.value ?? null,
      queueFill: queueFills.length ? Math.max(...queueFills) : null,
      walFill,
    });
  }

  private async workers(): Promise<StatusSnapshot['workers']> {
    const zones = await this.read(this.name(WORKER_METRICS.zone));
    if (zones.length === 0) return null;
    const up = await this.read(this.name(WORKER_METRICS.up));
    const rss = await this.read(this.name(WORKER_METRICS.rss));
    const of = (rs: MetricReading[], worker: string) => rs.find((r) => String(r.labels.worker) === worker)?.value ?? 0;
    const each = zones
      .map((r) => String(r.labels.worker))
      .sort((a, b) => Number(a) - Number(b))
      .map((worker) => ({ worker, zone: zoneName(of(zones, worker)), up: of(up, worker) === 1, rssBytes: of(rss, worker) }));
    return { global: zoneName((await this.read(this.name(WORKER_METRICS.globalZone)))[0]?.value), each };
  }

  private async procRates(name: string, totals: Map<Key, number>, dt: number, first: boolean): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const r of await this.read(name)) {
      const key = `${name}{${labelKey(r.labels)}}`;
      totals.set(key, r.value);
      const rate = first ? 0 : round2(Math.max(0, r.value - (this.prevTotals.get(key) ?? 0)) / dt);
      const k = `${r.labels.processor}\0${r.labels.otel_signal}`;
      out.set(k, (out.get(k) ?? 0) + rate);
    }
    return out;
  }

  private push(p: StatusPoint): void {
    this.ring[this.head] = p;
    this.head = (this.head + 1) % this.historySize;
    this.count = Math.min(this.count + 1, this.historySize);
  }
}

/** A zone gauge's value as its name; null for -1 (no somatic processor) or no value. */
const zoneName = (v: number | undefined): ZoneName | null => (v === undefined || v < 0 ? null : (ZONE_NAMES[Math.min(2, Math.round(v))] ?? null));

const round2 = (n: number): number => Math.round(n * 100) / 100;

/** The debt figure for the timeline: a debt bytes gauge if one exists, else a debt records gauge. */
function pickDebt(sensors: MetricReading[], names: { debtBytes: string; debtRecords: string }): { value: number; unit: 'bytes' | 'records' } | null {
  const total = (rs: MetricReading[]) => rs.reduce((a, r) => a + r.value, 0);
  const bytes = sensors.filter((r) => r.name === names.debtBytes);
  if (bytes.length) return { value: total(bytes), unit: 'bytes' };
  const records = sensors.filter((r) => r.name === names.debtRecords);
  if (records.length) return { value: total(records), unit: 'records' };
  return null;
}
