import { usableCores } from '../../core/cores.js';

/**
 * `service.workers` as a number: `auto` is the cores this process may use, its cgroup's CPU quota counted
 * (src/core/cores.ts): a pod limited to 2 CPUs on a 64-core node runs 2 workers, not 64 each with 1/64
 * of the memory limit. `fsRoot` as usableCores'.
 */
export function resolveWorkerCount(text: string, fsRoot = '/'): number {
  return text === 'auto' ? usableCores(fsRoot) : Math.max(1, Number(text));
}
