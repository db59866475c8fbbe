/**
 * The primary of a gateway with worker processes (`service.workers`). It never touches data: Node's
 * cluster module hands the receivers' connections to the workers. It forks the workers, replaces one that
 * dies (worker K's successor finds K's WAL directories and replays them), gathers every worker's pressure
 * on a slow timer and publishes the machine-wide view, serves one /metrics with the sum over the workers
 * (plus per-worker series of its own) and one status page, and on SIGTERM drains them all.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Registry } from 'prom-client';
import { allocatorEnv } from '../../core/allocator.js';

/** One registry's metrics as getMetricsAsJSON() gives them (what a worker sends). */
type MetricsJson = object[];
import type { ValidatedConfig } from '../../config/validate.js';
import { Logger } from '../../telemetry/logger.js';
import { TelemetryServer } from '../../telemetry/server.js';
import { StatusSampler, registerStatusRoutes } from '../../telemetry/status/index.js';
import type { HealthState, Telemetry } from '../../telemetry/telemetry.js';
import { globalViewOf, REPORT_STALE_MS } from './global-view.js';
import { WORKER_COUNT_ENV, WORKER_INDEX_ENV, type FromWorker, type GlobalView, type ToWorker, type WorkerReport } from './messages.js';
import { metricLevel, metricNaming, metricsAddress } from '../../telemetry/config.js';
import { CONFIG_FILES_ENV } from '../../config/load.js';
import { NamedRegistry, WORKER_METRICS, counterFor, gaugeFor } from '../../telemetry/metrics.js';
import { expositionOf } from '../../telemetry/exposition.js';

/** How often the machine-wide view is made and published. */
export const GLOBAL_VIEW_INTERVAL_MS = 250;
/**
 * GOPHERSHIP_GLOBAL_VIEW=off keeps the view to the primary's gauges and health (workers still report, and
 * still see each other's health): a diagnostic for bench/workers.mjs, which measures what publishing it costs.
 */
const GLOBAL_VIEW_PUBLISHED = process.env.GOPHERSHIP_GLOBAL_VIEW !== 'off';
/** A worker that dies this many times within RESTART_WINDOW_MS is not replaced again: the gateway stops. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 30_000;
/** Wait for workers' metrics at a scrape. */
const METRICS_TIMEOUT_MS = 2000;

interface Slot {
  index: number;
  worker: Worker | undefined;
  report: WorkerReport | undefined;
  reportAt: number;
  deaths: number[];
  /** Whether any worker in this slot has served: a slot whose first worker cannot start fails the gateway. */
  served: boolean;
}

export interface PrimaryOptions {
  shutdownTimeoutMs: number;
  logger?: Logger;
  /** The config files' text as this process read them (path -> text): every worker, a replacement too, runs on it. */
  configFiles?: Record<string, string>;
  /** What to tell the operator at start: about the worker count (planWorkers), WALs it will not read (stranded.ts). */
  notes?: ReadonlyArray<{ level: 'info' | 'warn' | 'error'; message: string }>;
}

/** Linux refuses an environment string past 128 KiB (MAX_ARG_STRLEN): a larger config is re-read by each worker. */
const MAX_CONFIG_ENV_BYTES = 128 * 1024 - 64;

export async function runPrimary(config: ValidatedConfig, count: number, opts: PrimaryOptions): Promise<number> {
  const log = (opts.logger ?? Logger.fromConfig(config.service.telemetry.logs, config.service.telemetry.resource)).child({ kind: 'service', id: 'primary' });
  // Named as the workers name theirs (the same config): the sum and the status page read one set of names.
  const naming = metricNaming(config.service.telemetry.metrics);
  // and at the workers' level: the primary's own gauges below it are no-ops.
  const registry = new NamedRegistry(naming, metricLevel(config.service.telemetry.metrics));
  const W = WORKER_METRICS;
  const restarts = counterFor(registry, W.restarts);
  const zoneGauge = gaugeFor(registry, W.zone);
  const rssGauge = gaugeFor(registry, W.rss);
  const upGauge = gaugeFor(registry, W.up);
  const globalZone = gaugeFor(registry, W.globalZone);
  const globalMemory = gaugeFor(registry, W.globalMemory);
  gaugeFor(registry, W.workers).set(count);

  for (const n of opts.notes ?? []) log[n.level](n.message);
  const slots: Slot[] = Array.from({ length: count }, (_, index) => ({ index, worker: undefined, report: undefined, reportAt: 0, deaths: [], served: false }));
  let stopping = false;
  let failed: string | undefined;
  let resolveStop!: () => void;
  const stopRequested = new Promise<void>((r) => (resolveStop = r));
  let nextMetricsId = 1;
  const pendingMetrics = new Map<number, (data: MetricsJson | undefined) => void>();

  const post = (w: Worker | undefined, m: ToWorker): void => {
    if (w && w.isConnected()) w.send(m);
  };

  // The config as read now, not as the files read when a worker is replaced (load.ts, CONFIG_FILES_ENV).
  const configFiles = JSON.stringify(opts.configFiles ?? {});
  const heldConfig = Buffer.byteLength(configFiles) <= MAX_CONFIG_ENV_BYTES ? { [CONFIG_FILES_ENV]: configFiles } : {};
  if (!heldConfig[CONFIG_FILES_ENV])
    log.warn('the config files are too large to hand to the workers: a replaced worker reads them again, so keep them unchanged while the gateway runs', {
      bytes: Buffer.byteLength(configFiles),
    });
  const fork = (slot: Slot): void => {
    // The workers carry the data: they start with the allocator setting the memory limit relies on (src/core/allocator.ts).
    const w = cluster.fork({ ...allocatorEnv(), ...heldConfig, [WORKER_INDEX_ENV]: String(slot.index), [WORKER_COUNT_ENV]: String(count) });
    slot.worker = w;
    slot.report = undefined;
    w.on('message', (m: FromWorker) => {
      if (m.t === 'report') {
        slot.report = m;
        slot.reportAt = Date.now();
        if (m.health === 'serving') slot.served = true;
      } else if (m.t === 'metrics') {
        pendingMetrics.get(m.id)?.(m.data as MetricsJson);
      }
    });
    w.on('exit', (code, signal) => {
      if (slot.worker === w) slot.worker = undefined;
      if (stopping) return;
      const now = Date.now();
      slot.deaths = [...slot.deaths.filter((t) => now - t < RESTART_WINDOW_MS), now];
      if (!slot.served) {
        // It never served: a config or port problem every replacement would hit too.
        failed = `worker ${slot.index} failed to start (${signal ?? `exit code ${code}`}); its log says why`;
        resolveStop();
        return;
      }
      if (slot.deaths.length > MAX_RESTARTS) {
        failed = `worker ${slot.index} died ${slot.deaths.length} times within ${RESTART_WINDOW_MS / 1000}s (last: ${signal ?? `exit code ${code}`})`;
        log.error('worker keeps dying; stopping the gateway', { worker: slot.index, code, signal });
        resolveStop();
        return;
      }
      log.error('worker died; starting its replacement, which replays its WAL', { worker: slot.index, code, signal });
      restarts.inc({ worker: String(slot.index) });
      fork(slot);
    });
  };

  cluster.setupPrimary({ exec: process.argv[1], args: process.argv.slice(2) });
  for (const slot of slots) fork(slot);

  const view = (): GlobalView => {
    const now = Date.now();
    return globalViewOf(
      slots.map((s) => (s.worker && s.report && now - s.reportAt <= REPORT_STALE_MS ? s.report : undefined)),
      now,
    );
  };
  const publish = (): void => {
    const v = view();
    globalZone.set(v.zone);
    globalMemory.set(v.memoryLimitBytes > 0 ? v.totalRssBytes / v.memoryLimitBytes : 0);
    for (const s of slots) {
      const w = String(s.index);
      zoneGauge.set({ worker: w }, s.report?.zone ?? -1);
      rssGauge.set({ worker: w }, s.report?.rssBytes ?? 0);
      upGauge.set({ worker: w }, s.worker && s.report?.health === 'serving' ? 1 : 0);
      post(s.worker, GLOBAL_VIEW_PUBLISHED ? v : { ...v, zone: 0 });
    }
  };
  const viewTimer = setInterval(publish, GLOBAL_VIEW_INTERVAL_MS);

  /** Every worker's registry as JSON, summed into one registry (counters and gauges add up). */
  const gather = async (): Promise<Registry> => {
    const live = slots.filter((s) => s.worker?.isConnected());
    const parts = await Promise.all(
      live.map((s) =>
        new Promise<MetricsJson | undefined>((resolve) => {
          const id = nextMetricsId++;
          const timer = setTimeout(() => resolve(undefined), METRICS_TIMEOUT_MS);
          pendingMetrics.set(id, (data) => {
            clearTimeout(timer);
            resolve(data);
          });
          post(s.worker, { t: 'metrics?', id });
        }).finally(() => undefined),
      ),
    );
    const got = parts.filter((p): p is MetricsJson => p !== undefined && p.length > 0);
    const summed: Registry = got.length > 0 ? AggregatorRegistry.aggregate(got) : new Registry();
    return Registry.merge([summed, registry]);
  };

  // One self-metrics endpoint and status page for the whole gateway.
  let server: TelemetryServer | undefined;
  let sampler: StatusSampler | undefined;
  let latest: Registry = registry;
  const metrics = config.service.telemetry.metrics;
  const address = metricsAddress(metrics);
  if (address !== '') {
    const source = {
      naming,
      get registry() {
        return latest;
      },
      get health(): HealthState {
        return view().health;
      },
    };
    server = new TelemetryServer(source as unknown as Telemetry, address, log, metrics.tls);
    // The reader's options (scope labels...) apply to the sum, as a single process's are applied to its registry.
    const exposition = expositionOf(config, naming);
    for (const w of exposition.refusedPairings()) log.warn(w);
    server.route('/metrics', (_req, res) => {
      gather().then(
        async (r) => {
          res.writeHead(200, { 'content-type': r.contentType });
          res.end(await exposition.render(r));
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`collecting metrics failed: ${err.message}\n`);
        },
      );
    });
    sampler = new StatusSampler({ telemetry: source, pipelines: config.service.pipelines });
    registerStatusRoutes(server, sampler);
    await server.start();
  }
  // The status page samples once a second: refresh the summed registry it reads just as often.
  const refresh = setInterval(() => {
    gather().then(
      (r) => (latest = r),
      () => {},
    );
  }, 1000);
  sampler?.start();

  // Started once every worker serves (its receivers listen), or not at all if one cannot start.
  const ready = await new Promise<boolean>((resolve) => {
    const check = setInterval(() => {
      if (failed !== undefined) resolve(false);
      else if (slots.every((s) => s.report?.health === 'serving')) resolve(true);
      else return;
      clearInterval(check);
    }, 50);
  });
  if (ready) {
    publish(); // the gauges and the workers' health show all serving from the first scrape on
    log.info('gateway started', { workers: count, metrics: server?.address });
  }
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log.error('second signal: exiting without finishing the drain', { signal: sig });
      for (const s of slots) s.worker?.process.kill('SIGKILL');
      process.exit(130);
    }
    log.info('signal received; draining every worker', { signal: sig, deadline_ms: opts.shutdownTimeoutMs });
    resolveStop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await stopRequested;
  stopping = true;
  clearInterval(refresh);
  // Workers drain on their own deadline; the primary keeps publishing (health: draining) meanwhile.
  const exits = slots.map((s) => (s.worker ? new Promise<void>((r) => s.worker!.once('exit', () => r())) : Promise.resolve()));
  for (const s of slots) post(s.worker, { t: 'shutdown', deadlineMs: opts.shutdownTimeoutMs });
  const grace = setTimeout(() => {
    for (const s of slots) s.worker?.process.kill('SIGKILL');
  }, opts.shutdownTimeoutMs + 5000);
  await Promise.all(exits);
  clearTimeout(grace);
  clearInterval(viewTimer);
  await sampler?.stop();
  await server?.close();
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  if (failed) {
    log.error('gateway stopped', { reason: failed });
    return 1;
  }
  log.info('gateway stopped');
  return 0;
}
