/**
 * Runs a fuzz target with fast-check: `runs` cases, each bounded in time (a hang fails the run), with the
 * heap measured after a full collection before and after (growth past `maxHeapGrowthBytes` fails it: a
 * parser that keeps something per input grows without bound over a long run).
 */
import fc from 'fast-check';
import { collectGarbage } from '../../core/gc.js';
import type { FuzzTarget } from './local-targets.js';

export interface FuzzOptions {
  runs: number;
  seed?: number;
  /** Longest one case may take (ms). */
  caseTimeoutMs?: number;
  maxHeapGrowthBytes?: number;
}

export interface FuzzResult {
  target: string;
  /** Cases run (fewer than asked when one failed). */
  runs: number;
  /** Inputs past the first refusal (see FuzzTarget.accepted). */
  accepted: number;
  seed: number;
  ms: number;
  heapGrowthBytes: number;
  peakRssBytes: number;
  /** fast-check's report of the smallest failing input, when a promise broke. */
  failure: string | undefined;
}

function heapAfterGc(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

export async function runFuzz(target: FuzzTarget, opts: FuzzOptions): Promise<FuzzResult> {
  const seed = opts.seed ?? Date.now() ^ (Math.random() * 0x7fffffff);
  await target.setup?.();
  const heapBefore = heapAfterGc();
  let peakRss = process.memoryUsage().rss;
  let n = 0;
  const started = performance.now();
  let failure: string | undefined;
  let done: number;
  try {
    const details = await fc.check(
      fc.asyncProperty(target.arbitrary, async (input) => {
        if (++n % 1000 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
        await target.check(input);
      }),
      { numRuns: opts.runs, seed, timeout: opts.caseTimeoutMs ?? 10_000, endOnFailure: true },
    );
    done = details.numRuns;
    if (details.failed)
      failure = `${fc.defaultReportMessage(details) ?? 'failed'}\n${details.errorInstance instanceof Error ? details.errorInstance.message : ''}`;
  } finally {
    await target.teardown?.();
  }
  const ms = performance.now() - started;
  const heapGrowthBytes = heapAfterGc() - heapBefore;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const limit = opts.maxHeapGrowthBytes ?? 64 * 1024 * 1024;
  if (!failure && heapGrowthBytes > limit)
    failure = `the heap grew by ${(heapGrowthBytes / 1048576).toFixed(1)} MiB over ${opts.runs} cases (limit ${limit / 1048576} MiB)`;
  return { target: target.name, runs: done, accepted: target.accepted(), seed, ms, heapGrowthBytes, peakRssBytes: peakRss, failure };
}
