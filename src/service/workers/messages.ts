/**
 * What the primary and its worker processes say to each other over the cluster IPC channel. There is no
 * message per request: a worker reports its pressure on a timer, the primary publishes the machine-wide
 * view on a timer, and metrics travel only when scraped.
 */
import type { HealthState } from '../../telemetry/telemetry.js';

/** The environment variable that makes a forked process worker K (0-based) of the primary. */
export const WORKER_INDEX_ENV = 'GOPHERSHIP_WORKER_INDEX';
export const WORKER_COUNT_ENV = 'GOPHERSHIP_WORKER_COUNT';

/** A worker's own state, sent every report interval. */
export interface WorkerReport {
  t: 'report';
  index: number;
  health: HealthState;
  /** 0 green, 1 yellow, 2 red; -1 without a somatic processor. */
  zone: number;
  rssBytes: number;
  /** This worker's share of the memory limit (somatic memory_limit_mib / workers); 0 without one. */
  memoryLimitBytes: number;
  /** The fullest WAL of this worker against its disk budget, 0..1. */
  walFill: number;
}

/** The machine-wide view the primary publishes to every worker. */
export interface GlobalView {
  t: 'global';
  /** The zone the whole machine's memory and disk call for: a worker takes the worse of it and its own. */
  zone: number;
  totalRssBytes: number;
  /** Sum of the workers' memory limits: the configured memory_limit_mib. */
  memoryLimitBytes: number;
  worstWalFill: number;
  /** The worst health of all workers (a missing worker counts as starting). */
  health: HealthState;
  /** When the view was made (ms since epoch), so a worker can tell a stale one. */
  at: number;
}

export interface MetricsRequest {
  t: 'metrics?';
  id: number;
}

export interface MetricsReply {
  t: 'metrics';
  id: number;
  data: unknown[];
}

export interface ShutdownRequest {
  t: 'shutdown';
  deadlineMs: number;
}

export type ToWorker = GlobalView | MetricsRequest | ShutdownRequest;
export type FromWorker = WorkerReport | MetricsReply;
