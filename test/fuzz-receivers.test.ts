/**
 * Fuzzing in `npm test`, the otlp receiver over the network on HTTP and gRPC behind bearer auth: 10,000
 * cases each (FUZZ_RUNS overrides; bench/fuzz.mjs does long runs). A failure prints fast-check's smallest
 * failing input and the seed that replays it (FUZZ_SEED). test/fuzz-parsers.test.ts does the parsers.
 */
import { describe } from 'vitest';
import { networkTargets } from '../src/tools/fuzz/index.js';
import { fuzzSeeds, fuzzTest } from './helpers/fuzz.js';

describe('fuzz: receivers over the network', () => {
  for (const t of networkTargets(fuzzSeeds)) fuzzTest(t);
});
