/**
 * Fuzzing in `npm test`, the in-process parsers: OTLP/JSON codec, wire validator, wire editor, WAL reader,
 * config loader, decompressors, 10,000 cases each (FUZZ_RUNS overrides; bench/fuzz.mjs does long runs). A failure
 * prints fast-check's smallest failing input and the seed that replays it (FUZZ_SEED).
 * test/fuzz-receivers.test.ts does the receivers over the network.
 */
import { describe } from 'vitest';
import { localTargets } from '../src/tools/fuzz/index.js';
import { exampleConfigs, fuzzSeeds, fuzzTest } from './helpers/fuzz.js';

describe('fuzz: in-process parsers', () => {
  for (const t of localTargets(fuzzSeeds, exampleConfigs())) fuzzTest(t);
});
