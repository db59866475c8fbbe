/**
 * Worker K of a gateway with worker processes: runs every pipeline on its own config (per-worker WAL
 * directories and memory share, see per-worker-config.ts) on the receiver ports the primary shares. The
 * reflex stays here: the worker zones itself from its own sensors and admits on its own counters; the
 * primary's machine-wide view reaches it on a timer and only ever makes it stricter.
 */
import type { ValidatedConfig } from '../../config/validate.js';
import { messageOf } from '../../core/errors.js';
import { Service } from '../service.js';
import { Logger } from '../../telemetry/logger.js';
import type { FromWorker, ToWorker, WorkerReport } from './messages.js';
import { perWorkerConfig } from './per-worker-config.js';
import { metricNaming } from '../../telemetry/config.js';

/** How often a worker reports its pressure to the primary. */
export const REPORT_INTERVAL_MS = 250;

export async function runWorker(config: ValidatedConfig, index: number, count: number, shutdownTimeoutMs: number): Promise<number> {
  const send = (m: FromWorker): void => {
    if (process.connected) process.send!(m);
  };
  let fatal: Error | undefined;
  let resolveStop!: (deadlineMs: number) => void;
  const stopRequested = new Promise<number>((r) => (resolveStop = r));
  const service = new Service(perWorkerConfig(config, index, count), {
    logger: Logger.fromConfig(config.service.telemetry.logs, config.service.telemetry.resource).child({ worker: index }),
    // Its config has no reader (the primary serves): named as the primary's reader serves the sum.
    metricNaming: metricNaming(config.service.telemetry.metrics),
    onFatalError: (err) => {
      fatal = err;
      resolveStop(shutdownTimeoutMs);
    },
  });
  const log = service.logger;

  const report = (): void => {
    const somatic = service.pressure.runtime;
    const r: WorkerReport = {
      t: 'report',
      index,
      health: service.telemetry.localHealth,
      zone: somatic?.zone ?? -1,
      rssBytes: process.memoryUsage.rss(),
      memoryLimitBytes: somatic?.settings.memoryLimitBytes ?? 0,
      walFill: somatic ? Math.max(0, ...[...somatic.wals].map((w) => w())) : 0,
    };
    send(r);
  };

  process.on('message', (m: ToWorker) => {
    if (m.t === 'global') {
      service.telemetry.clusterHealth = m.health;
      service.pressure.runtime?.setGlobalZone(m.zone);
    } else if (m.t === 'metrics?') {
      service.telemetry.registry.getMetricsAsJSON().then(
        (data) => send({ t: 'metrics', id: m.id, data }),
        () => send({ t: 'metrics', id: m.id, data: [] }),
      );
    } else if (m.t === 'shutdown') {
      resolveStop(m.deadlineMs);
    }
  });
  // A terminal's Ctrl-C reaches every process of the group; the primary also asks each worker to stop.
  const onSignal = (): void => resolveStop(shutdownTimeoutMs);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // The primary gone (killed) leaves nobody to hand out connections or restart us: stop too.
  process.on('disconnect', onSignal);

  try {
    await service.start();
  } catch (err) {
    log.error('worker failed to start', { error: messageOf(err) });
    if (process.connected) process.disconnect();
    return 1;
  }
  report();
  const timer = setInterval(report, REPORT_INTERVAL_MS);
  timer.unref();
  const deadlineMs = await stopRequested;
  clearInterval(timer);
  await service.shutdown(deadlineMs);
  report();
  // The IPC channel would keep this process alive after the drain.
  if (process.connected) process.disconnect();
  return fatal ? 1 : 0;
}
