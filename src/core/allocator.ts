/**
 * The C allocator's setting the memory limit depends on (Linux, glibc).
 *
 * The somatic gate keeps resident memory (RSS) under `memory_limit_mib` by counting what it admits against
 * the room the last RSS reading showed. That holds only if memory freed is memory returned. glibc's malloc
 * starts by serving blocks of 128 KiB and more (request bodies, batches) with their own mmap, returned on
 * free; but the first such block freed raises its threshold to that block's size (up to 32 MiB), and from
 * then on those blocks come from its arenas, which keep freed pages resident and grow when a larger block
 * does not fit between the live ones. Measured in test/rss-flood.test.ts (processors flood, loaded machine):
 * RSS climbed from the admission line to 259-353 MiB of a 256 MiB limit with nothing admitted, the growth in
 * a 64 MiB thread arena and the main heap (4 runs of 42; malloc_trim through gdb gave back 85 MiB of one);
 * with the threshold held at 128 KiB, none of 33 runs passed 246 MiB (bench/RESULTS.md, 2026-12-07 06:00). src/core/allocator.test.ts shows the mechanism alone: 12 MiB left live of 96 MiB of
 * 1 MiB Buffers keeps 85-98 MiB resident without the setting, and none of the freed memory with it.
 *
 * The setting must be in the environment when the process starts (glibc reads it before any JavaScript
 * runs), so `npm start`, the container image and the worker processes the primary forks set it, and a
 * gateway started without it under a memory limit says so at start (SomaticRuntime.acquire).
 */

/** glibc's own starting threshold, held there: large blocks always mapped, and unmapped when freed. */
export const MMAP_THRESHOLD_TUNABLE = 'glibc.malloc.mmap_threshold=131072';

/** Whether `env` fixes glibc's mmap threshold (GLIBC_TUNABLES, or the older MALLOC_MMAP_THRESHOLD_). */
export function mmapThresholdFixed(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.MALLOC_MMAP_THRESHOLD_ !== undefined) return true;
  return (env.GLIBC_TUNABLES ?? '').split(':').some((t) => t.startsWith('glibc.malloc.mmap_threshold='));
}

/** `env`'s variables for a child gateway process: GLIBC_TUNABLES with the threshold added, unless it fixes one already. */
export function allocatorEnv(env: NodeJS.ProcessEnv = process.env): { GLIBC_TUNABLES?: string } {
  if (mmapThresholdFixed(env)) return {};
  const others = env.GLIBC_TUNABLES;
  return { GLIBC_TUNABLES: others ? `${others}:${MMAP_THRESHOLD_TUNABLE}` : MMAP_THRESHOLD_TUNABLE };
}

/** Whether this process runs on glibc (the setting means nothing to musl or other platforms). */
export function onGlibc(): boolean {
  if (process.platform !== 'linux') return false;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return typeof header?.glibcVersionRuntime === 'string';
}
