/**
 * A hang that blocks the event loop (a parser looping on one input) stops every timer of the process,
 * fast-check's per-case timeout and the test runner's included, so nothing would ever report it. This
 * watchdog runs on its own thread: the fuzz loop stores the number of the case it is on in shared memory,
 * and when that number has not moved for `afterMs` the watchdog writes which case of which seed hung (the
 * fast-check path that replays it) to stderr and ends the process, which is the only way to stop it.
 */
import { Worker } from 'node:worker_threads';

/** The watchdog thread: polls the shared case number; stderr and SIGKILL when it stands still too long. */
const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const { readFileSync, writeSync } = require('node:fs');
const cell = new Int32Array(workerData.shared);
// CPU seconds of the main thread (utime + stime of /proc/self/task/<pid>/stat, in clock ticks of 10 ms).
const mainCpuMs = () => {
  try {
    const f = readFileSync('/proc/self/task/' + process.pid + '/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch { return Infinity; }
};
let last = -1;
let since = Date.now();
let cpuSince = mainCpuMs();
setInterval(() => {
  const now = Date.now();
  const current = Atomics.load(cell, 0);
  if (current !== last || Atomics.load(cell, 1) === 0) { last = current; since = now; cpuSince = mainCpuMs(); return; }
  if (now - since < workerData.afterMs) return;
  // A loop that blocks the event loop burns CPU; a process starved by a busy machine (or niced) does not:
  // it is only reported when its main thread ran for a quarter of the time at least.
  const cpu = mainCpuMs() - cpuSince;
  if (cpu < workerData.afterMs / 4) return;
  writeSync(2, '\\nfuzz ' + workerData.target + ': case ' + current + ' (fast-check path "' + (current - 1) + '") of seed ' + workerData.seed +
    ' has not finished in ' + Math.round((now - since) / 1000) + ' s, ' + Math.round(cpu / 1000) + ' s of them on the CPU, and the event loop is blocked (no timer of the process runs): a synchronous hang.' +
    ' Replay it alone: FUZZ_SEED=' + workerData.seed + ' FUZZ_PATH=' + (current - 1) + ' (or bench/fuzz.mjs --only ' + workerData.target + ' --seed ' + workerData.seed + ' --path ' + (current - 1) + ').\\n');
  process.kill(process.pid, 'SIGKILL');
}, workerData.pollMs);
`;

export class FuzzWatchdog {
  private readonly cell = new Int32Array(new SharedArrayBuffer(8));
  private readonly worker: Worker;

  constructor(target: string, seed: number, afterMs: number) {
    this.worker = new Worker(WATCHDOG_SOURCE, {
      eval: true,
      // The source is CommonJS: the parent's flags (e.g. --input-type=module) must not apply to it.
      execArgv: [],
      workerData: { shared: this.cell.buffer, target, seed, afterMs, pollMs: Math.max(100, Math.min(1000, afterMs / 10)) },
    });
    // The watchdog never keeps the process alive; it only matters while the fuzz loop runs.
    this.worker.unref();
    this.worker.on('error', (err) => process.emitWarning(`the fuzz watchdog thread failed: ${err.message}`));
  }

  /** Called as case `n` (1-based) starts. */
  caseStarted(n: number): void {
    Atomics.store(this.cell, 0, n);
    Atomics.store(this.cell, 1, 1);
  }

  /** Between runs (setup, teardown, the heap measurements): nothing is watched. */
  pause(): void {
    Atomics.store(this.cell, 1, 0);
  }

  async stop(): Promise<void> {
    this.pause();
    await this.worker.terminate();
  }
}
