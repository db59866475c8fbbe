import type { ValidatedConfig } from '../../config/validate.js';
import { usableCores } from '../../core/cores.js';

/**
 * The least share of the somatic memory_limit_mib a worker process can work in. A worker's own resident
 * memory at start is 70-74 MiB (8 idle workers with a somatic WAL, Node 20, measured 2026-12-07), and the
 * somatic runtime asks for about twice that before requests fit (its start warning); below it a worker
 * starts in Red and stays there.
 */
export const MIN_WORKER_MEMORY_MIB = 160;

/**
 * `service.workers` as a number: `auto` is the cores this process may use, its cgroup's CPU quota counted
 * (src/core/cores.ts: a pod limited to 2 CPUs on a 64-core node runs 2 workers, not 64), and no more than
 * give each worker MIN_WORKER_MEMORY_MIB of the somatic memory_limit_mib (`memoryLimitMib`). `fsRoot` as
 * usableCores'; `cores`, when the caller has read them already.
 */
export function resolveWorkerCount(text: string, fsRoot = '/', memoryLimitMib?: number, cores = text === 'auto' ? usableCores(fsRoot) : 1): number {
  if (text !== 'auto') return Math.max(1, Number(text));
  const byMemory = memoryLimitMib ? Math.max(1, Math.floor(memoryLimitMib / MIN_WORKER_MEMORY_MIB)) : Infinity;
  return Math.min(cores, byMemory);
}

/** The somatic processors' memory_limit_mib (the smallest, if several), the limit the workers share; undefined without one. */
export function somaticMemoryLimitMib(config: ValidatedConfig): number | undefined {
  const limits = [...config.processors.values()]
    .filter((c) => c.id.type === 'somatic')
    .map((c) => (c.config as { memory_limit_mib?: unknown }).memory_limit_mib)
    .filter((v): v is number => typeof v === 'number' && v > 0);
  return limits.length > 0 ? Math.min(...limits) : undefined;
}

/**
 * The worker processes for a config, and what to tell the operator about the choice: why `auto` runs
 * fewer than one per core, or that an explicit count leaves each worker too little memory to leave Red.
 */
export function planWorkers(config: ValidatedConfig, fsRoot = '/'): { count: number; note?: { level: 'info' | 'warn'; message: string } } {
  const text = config.service.workers;
  const limit = somaticMemoryLimitMib(config);
  // The cgroup files are read once: the count and the note about it must see the same cores.
  const cores = text === 'auto' ? usableCores(fsRoot) : 1;
  const count = resolveWorkerCount(text, fsRoot, limit, cores);
  if (text === 'auto') {
    if (count < cores)
      return {
        count,
        note: {
          level: 'info',
          message: `service.workers: auto runs ${count} worker process${count === 1 ? '' : 'es'}, not one per core (${cores}): the somatic memory_limit_mib ${limit} gives each at least ${MIN_WORKER_MEMORY_MIB} MiB only for ${count}; raise memory_limit_mib to use every core`,
        },
      };
    return { count };
  }
  if (count > 1 && limit !== undefined && limit / count < MIN_WORKER_MEMORY_MIB) {
    return {
      count,
      note: {
        level: 'warn',
        message: `service.workers: ${count} leaves each worker ${Math.floor(limit / count)} MiB of the somatic memory_limit_mib ${limit}, under the ${MIN_WORKER_MEMORY_MIB} MiB a worker needs (its own resident memory is about 75 MiB): the workers will start in Red and stay there; set service.workers to at most ${Math.max(1, Math.floor(limit / MIN_WORKER_MEMORY_MIB))} (or auto), or memory_limit_mib to at least ${count * MIN_WORKER_MEMORY_MIB}`,
      },
    };
  }
  return { count };
}
