/**
 * A deadline in time the process could run, for telling a hang from a busy machine: a fuzz run is niced
 * and shares the machine, so a case can wait seconds for a core without anything being stuck. The
 * deadline ticks every 100 ms and counts at most two ticks' worth per tick, so time the process spent
 * starved (its ticks came late) does not count, while a case that waits on an answer that never comes
 * (ticks on time) expires after `ms` of wall time.
 */
const TICK_MS = 100;

/** Calls `onExpire` once `ms` of such time has passed; the returned function cancels it. */
export function runnableDeadline(ms: number, onExpire: () => void): () => void {
  let counted = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    counted += Math.min(now - last, 2 * TICK_MS);
    last = now;
    if (counted >= ms) {
      clearInterval(timer);
      onExpire();
    }
  }, TICK_MS);
  return () => clearInterval(timer);
}
