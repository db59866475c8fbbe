/**
 * Fuzzing in `npm test`, the otlp receiver over the network on HTTP and gRPC (test/fuzz-parsers.test.ts: in process): 10,000 cases per target (FUZZ_RUNS overrides; bench/fuzz.mjs does long runs).
 * A failure prints fast-check's smallest failing input and the seed to replay it (FUZZ_SEED).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { networkTargets, runFuzz, seedsFromJson, type FuzzTarget } from '../src/tools/fuzz/index.js';
import { EXAMPLES_DIR } from './helpers/examples.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

const seeds = seedsFromJson({
  logs: [readFileSync(join(EXAMPLES_DIR, 'logs.json'), 'utf8')],
  traces: [readFileSync(join(EXAMPLES_DIR, 'trace.json'), 'utf8')],
  metrics: [readFileSync(join(EXAMPLES_DIR, 'metrics.json'), 'utf8')],
});
function fuzz(target: FuzzTarget): void {
  it(`${target.name}: ${RUNS} cases, no crash, no hang, no heap growth, nothing accepted unreadable`, async () => {
    const result = await runFuzz(target, { runs: RUNS, seed: SEED });
    console.log(`fuzz ${result.target}: ${result.runs} cases (${result.accepted} accepted) in ${(result.ms / 1000).toFixed(1)} s, heap ${(result.heapGrowthBytes / 1048576).toFixed(1)} MiB, seed ${result.seed}`);
    expect(result.failure, `seed ${result.seed}`).toBeUndefined();
    // Some inputs must get through, or the harness only ever tested the first refusal.
    expect(result.accepted).toBeGreaterThan(RUNS / 100);
  }, 600_000);
}

describe('fuzz: receivers over the network', () => {
  for (const t of networkTargets(seeds)) fuzz(t);
});
