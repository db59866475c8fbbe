/**
 * The timer of one attempt at a downstream (an exporter's per-attempt `timeout`). After a stall of the
 * event loop (a long GC, a starved process) the timers run before the poll that reads an answer which
 * arrived meanwhile: an attempt given up then is resent, and a request the downstream took is delivered
 * twice. So `onTimeout` runs after that poll (setImmediate runs right after it), and only if the attempt
 * has not settled by then. Clear it with clearTimeout as any timer.
 */
export function attemptTimeout(ms: number, settled: () => boolean, onTimeout: () => void): NodeJS.Timeout {
  return setTimeout(() => {
    setImmediate(() => {
      if (!settled()) onTimeout();
    });
  }, ms);
}
