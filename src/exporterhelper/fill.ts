/**
 * A process-wide view of how full the exporters' sending queues are, for the somatic controller: it reads
 * `queueFillRatios()` on its timer (no event, no polling of a shared flag by the data path).
 */

const fills = new Map<object, { exporter: string; fill: () => number }>();

/** Called by a started helper; returns the function that unregisters it (on shutdown). */
export function registerQueueFill(exporter: string, fill: () => number): () => void {
  const key = {};
  fills.set(key, { exporter, fill });
  return () => {
    fills.delete(key);
  };
}

/**
 * The fullest sending queue of this process, 0..1: for a memory queue waiting requests / queue_size; for
 * a WAL queue the larger of pending records / queue_size and disk bytes / max_size_mib. 0 when no queue runs.
 */
export function queueFillRatios(): number {
  let max = 0;
  for (const { fill } of fills.values()) {
    const f = fill();
    if (f > max) max = f;
  }
  return Math.min(1, max);
}

/** Fill per running exporter ID (several services in one process may list the same ID twice). */
export function queueFillByExporter(): { exporter: string; fill: number }[] {
  return [...fills.values()].map(({ exporter, fill }) => ({ exporter, fill: Math.min(1, fill()) }));
}
