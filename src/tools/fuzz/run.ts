/**
 * Runs a fuzz target with fast-check: `runs` cases, each bounded in time (a hang fails the run), with the
 * heap measured after a full collection before and after (growth past `maxHeapGrowthBytes` fails it: a
 * parser that keeps something per input grows without bound over a long run). A case that blocks the
 * event loop is caught by a watchdog thread (./watchdog.ts), which names the case and ends the process.
 */
import fc from 'fast-check';
import { collectGarbage } from '../../core/gc.js';
import { BrokenPromise, type FuzzTarget } from './local-targets.js';
import { FuzzWatchdog } from './watchdog.js';
import { runnableDeadline } from './deadline.js';

export interface FuzzOptions {
  runs: number;
  seed?: number;
  /** Replays from one case of `seed` (fast-check's path, e.g. "1234" for the case after 1,234 others). */
  path?: string;
  /** Longest one case may take (ms, of time the process could run: see ./deadline.ts) before it counts as a hang. */
  caseTimeoutMs?: number;
  /** How long the event loop may stay blocked in one case before the watchdog reports it and ends the process. */
  blockedLoopMs?: number;
  /** Stop after this long (ms) with the cases run so far (a long run's time budget); not a failure. */
  timeLimitMs?: number;
  maxHeapGrowthBytes?: number;
  /** Called with the seed before the first case, so a run that never returns can still be replayed. */
  onStart?: (seed: number) => void;
}

/** What broke: a promise of the target (e.g. acknowledged bytes no decoder reads), a case without an answer, or a crash. */
export type FuzzFailureKind = 'broken' | 'hang' | 'crash' | 'heap';

export interface FuzzResult {
  target: string;
  /** Cases run (fewer than asked when one failed or the time limit passed). */
  runs: number;
  /** Inputs past the first refusal (see FuzzTarget.accepted). */
  accepted: number;
  seed: number;
  ms: number;
  heapGrowthBytes: number;
  peakRssBytes: number;
  /** fast-check's report of the failing input (with the seed and path that replay it), when a promise broke. */
  failure: string | undefined;
  failureKind: FuzzFailureKind | undefined;
}

/** A case that got no answer in time (a request never answered, a stream never ended): counted as a hang. */
export class CaseHang extends BrokenPromise {}

function heapAfterGc(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

function kindOf(err: unknown, message: string): FuzzFailureKind {
  if (err instanceof CaseHang || /Property timeout|exceeded limit of \d+ milliseconds/i.test(message)) return 'hang';
  return err instanceof BrokenPromise ? 'broken' : 'crash';
}

export async function runFuzz(target: FuzzTarget, opts: FuzzOptions): Promise<FuzzResult> {
  const seed = opts.seed ?? Date.now() ^ (Math.random() * 0x7fffffff);
  opts.onStart?.(seed);
  await target.setup?.();
  const heapBefore = heapAfterGc();
  const firstCase = opts.path === undefined ? 0 : Number(opts.path.split(':')[0]);
  const watchdog = new FuzzWatchdog(target.name, seed, opts.blockedLoopMs ?? 60_000);
  const caseTimeoutMs = opts.caseTimeoutMs ?? 30_000;
  let peakRss = process.memoryUsage().rss;
  let n = 0;
  const started = performance.now();
  let failure: string | undefined;
  let failureKind: FuzzFailureKind | undefined;
  let done: number;
  try {
    const details = await fc.check(
      fc.asyncProperty(target.arbitrary, async (input) => {
        watchdog.caseStarted(firstCase + ++n);
        if (n % 1000 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
        const pending = target.check(input);
        // Synchronous checks need no deadline (the watchdog covers a loop that never returns).
        if (!pending) return;
        let cancel = (): void => {};
        const expired = new Promise<never>((_, reject) => {
          cancel = runnableDeadline(caseTimeoutMs, () =>
            reject(new CaseHang(`case ${firstCase + n} got no answer within ${caseTimeoutMs} ms (time the process could run; starved time excluded)`)),
          );
        });
        try {
          await Promise.race([pending, expired]);
        } finally {
          cancel();
        }
      }),
      {
        numRuns: opts.runs,
        seed,
        ...(opts.path === undefined ? {} : { path: opts.path }),
        endOnFailure: true,
        ...(opts.timeLimitMs ? { interruptAfterTimeLimit: opts.timeLimitMs, markInterruptAsFailure: false } : {}),
      },
    );
    done = details.numRuns;
    if (details.failed) {
      const why = details.errorInstance instanceof Error ? details.errorInstance.message : '';
      failure = `${fc.defaultReportMessage(details) ?? 'failed'}\n${why}`;
      failureKind = kindOf(details.errorInstance, failure);
    }
  } finally {
    await watchdog.stop();
    // A teardown that fails (e.g. a timed-out case still writing into the directory being removed) must
    // not hide the run's own report: it is added to it.
    try {
      await target.teardown?.();
    } catch (err) {
      const text = `teardown failed after ${n} cases: ${err instanceof Error ? err.message : String(err)}`;
      failure = failure ? `${failure}\n${text}` : text;
      failureKind ??= 'crash';
    }
  }
  const ms = performance.now() - started;
  const heapGrowthBytes = heapAfterGc() - heapBefore;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const limit = opts.maxHeapGrowthBytes ?? 64 * 1024 * 1024;
  if (!failure && heapGrowthBytes > limit) {
    failure = `the heap grew by ${(heapGrowthBytes / 1048576).toFixed(1)} MiB over ${done} cases (limit ${limit / 1048576} MiB)`;
    failureKind = 'heap';
  }
  return { target: target.name, runs: done, accepted: target.accepted(), seed, ms, heapGrowthBytes, peakRssBytes: peakRss, failure, failureKind };
}
