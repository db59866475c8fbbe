/**
 * The ambient awareness across worker processes, as a pure function: from each worker's last report, the
 * machine-wide view. Memory is judged on the sum of the workers' RSS against the sum of their limits
 * (the configured memory_limit_mib), so one worker's spike that the machine can carry does not slow the
 * others, and a machine-wide climb that no single worker sees reaches all of them.
 */
import { HEALTH_RANK, type HealthState } from '../../telemetry/telemetry.js';
import type { GlobalView, WorkerReport } from './messages.js';

/** The machine's memory enters Yellow at this share of the limit, Red at the limit (the admission line). */
export const GLOBAL_MEMORY_YELLOW = 0.85;
export const GLOBAL_MEMORY_RED = 1;
/** The fullest WAL enters Yellow at this share of its budget, Red when it is full. */
export const GLOBAL_WAL_YELLOW = 0.8;
export const GLOBAL_WAL_RED = 0.98;
/** A report older than this (a worker stuck or gone) counts its worker as starting. */
export const REPORT_STALE_MS = 2000;

export function globalViewOf(reports: readonly (WorkerReport | undefined)[], now: number): GlobalView {
  let totalRss = 0;
  let limit = 0;
  let worstWal = 0;
  let health: HealthState = 'serving';
  for (const r of reports) {
    if (r === undefined) {
      if (HEALTH_RANK.starting > HEALTH_RANK[health]) health = 'starting';
      continue;
    }
    totalRss += r.rssBytes;
    limit += r.memoryLimitBytes;
    if (r.walFill > worstWal) worstWal = r.walFill;
    if (HEALTH_RANK[r.health] > HEALTH_RANK[health]) health = r.health;
  }
  const memory = limit > 0 ? totalRss / limit : 0;
  const zone = memory >= GLOBAL_MEMORY_RED || worstWal >= GLOBAL_WAL_RED ? 2 : memory >= GLOBAL_MEMORY_YELLOW || worstWal >= GLOBAL_WAL_YELLOW ? 1 : 0;
  return { t: 'global', zone, totalRssBytes: totalRss, memoryLimitBytes: limit, worstWalFill: worstWal, health, at: now };
}
