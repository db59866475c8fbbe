/**
 * What makes worker K's config its own: every WAL directory gets a `worker-K` subdirectory (no lock or
 * file is shared, and a replacement worker K finds its predecessor's WAL and replays it), files an
 * exporter appends to (and the somatic processor's `replay.dead_letter_path`) get a `.worker-K` suffix,
 * a memory sending queue keeps its shutdown leftovers in a directory of its own, each memory limit
 * becomes the worker's share, the pprof extension's save_to_file gets the `.worker-K` suffix too, and the
 * self-metrics address is left to the primary (which serves the sum of all workers).
 */
import { join } from 'node:path';
import type { ComponentConfig, ValidatedConfig } from '../../config/validate.js';
import { DEFAULT_KEEP_DIRECTORY } from '../../exporterhelper/helper.js';

/** Rewrites one component's parsed config in place; `exporter` marks file paths an exporter appends to. */
function rewrite(value: unknown, index: number, count: number, exporter: boolean): void {
  if (value === null || typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  for (const [key, v] of Object.entries(obj)) {
    if (key === 'directory' && typeof v === 'string' && v !== '') obj[key] = join(v, `worker-${index}`);
    else if (key === 'memory_limit_mib' && typeof v === 'number' && v > 0) obj[key] = Math.max(1, Math.floor(v / count));
    // memory_limiter's limits are per process too (a spike headroom of 0 falls back to 20 % of the share).
    else if ((key === 'limit_mib' || key === 'limit_percentage') && typeof v === 'number' && v > 0) obj[key] = Math.max(1, Math.floor(v / count));
    else if ((key === 'spike_limit_mib' || key === 'spike_limit_percentage') && typeof v === 'number' && v > 0) obj[key] = Math.floor(v / count);
    else if (((key === 'path' && exporter) || key === 'dead_letter_path') && typeof v === 'string' && v !== '') obj[key] = `${v}.worker-${index}`;
    else if (typeof v === 'object') rewrite(v, index, count, exporter);
  }
}

/**
 * A memory sending queue with neither a directory nor a dead-letter file keeps what it could not deliver
 * at shutdown in the default keep directory, shared by every worker: workers draining at once found its
 * WAL locked by one another, and the later one's requests were lost. Each worker gets its own.
 */
function ownKeepDirectory(config: unknown, index: number): void {
  const c = config as { sending_queue?: { enabled?: boolean; storage?: string; directory?: string }; dead_letter?: { path?: string } };
  const q = c.sending_queue;
  if (q && q.enabled !== false && q.storage !== 'wal' && !q.directory && !c.dead_letter?.path) q.directory = join(DEFAULT_KEEP_DIRECTORY, `worker-${index}`);
}

function copyWith(map: Map<string, ComponentConfig>, index: number, count: number, exporter: boolean): Map<string, ComponentConfig> {
  const out = new Map<string, ComponentConfig>();
  for (const [id, c] of map) {
    const config = structuredClone(c.config);
    rewrite(config, index, count, exporter);
    if (exporter) ownKeepDirectory(config, index);
    out.set(id, { ...c, config });
  }
  return out;
}

/** The pprof extension's whole-run CPU profile (save_to_file) is one process's: each worker writes a file of its own. */
function ownProfileFiles(map: Map<string, ComponentConfig>, index: number): Map<string, ComponentConfig> {
  const out = new Map<string, ComponentConfig>();
  for (const [id, c] of map) {
    const file = (c.config as { save_to_file?: unknown } | null)?.save_to_file;
    out.set(id, typeof file === 'string' && file !== '' ? { ...c, config: { ...(c.config as object), save_to_file: `${file}.worker-${index}` } } : c);
  }
  return out;
}

export function perWorkerConfig(config: ValidatedConfig, index: number, count: number): ValidatedConfig {
  return {
    receivers: copyWith(config.receivers, index, count, false),
    processors: copyWith(config.processors, index, count, false),
    exporters: copyWith(config.exporters, index, count, true),
    connectors: copyWith(config.connectors, index, count, false),
    extensions: ownProfileFiles(config.extensions, index),
    service: {
      ...config.service,
      telemetry: { ...config.service.telemetry, metrics: { ...config.service.telemetry.metrics, address: '', readers: [] } },
    },
  };
}
