/** What both fuzz test files share: the seeds (opentelemetry-proto's examples), the run count, one test per target. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runFuzz, seedsFromJson, type FuzzTarget } from '../../src/tools/fuzz/index.js';
import { EXAMPLES_DIR } from './examples.js';

export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/** With FUZZ_SEED, replays from one case (the path a failure or the watchdog printed). */
const PATH = process.env.FUZZ_PATH;
const ROOT = join(import.meta.dirname, '..', '..');

export const fuzzSeeds = seedsFromJson({
  logs: [readFileSync(join(EXAMPLES_DIR, 'logs.json'), 'utf8')],
  traces: [readFileSync(join(EXAMPLES_DIR, 'trace.json'), 'utf8')],
  metrics: [readFileSync(join(EXAMPLES_DIR, 'metrics.json'), 'utf8')],
});

/** The example configs: the config loader's seeds. */
export function exampleConfigs(): string[] {
  return readdirSync(join(ROOT, 'examples'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readFileSync(join(ROOT, 'examples', f), 'utf8'));
}

export function fuzzTest(target: FuzzTarget): void {
  it(`${target.name}: ${FUZZ_RUNS} cases, no crash, no hang, no heap growth, nothing accepted unreadable`, async () => {
    const result = await runFuzz(target, {
      runs: FUZZ_RUNS,
      seed: SEED,
      path: PATH,
      // Printed first: a run that never returns can still be replayed.
      onStart: (seed) => console.log(`fuzz ${target.name}: seed ${seed}`),
    });
    console.log(
      `fuzz ${result.target}: ${result.runs} cases (${result.accepted} accepted) in ${(result.ms / 1000).toFixed(1)} s, heap ${(result.heapGrowthBytes / 1048576).toFixed(1)} MiB, seed ${result.seed}`,
    );
    expect(result.failure, `${result.failureKind} at seed ${result.seed}`).toBeUndefined();
    // Some inputs must get through, or the harness only ever tested the first refusal.
    expect(result.accepted).toBeGreaterThan(FUZZ_RUNS / 100);
  }, 600_000);
}
