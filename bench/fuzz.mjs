#!/usr/bin/env node
// Long fuzz runs: every parser of the gateway (OTLP/JSON codec, wire validator, wire editor, WAL reader,
// config loader, and the otlp receiver over HTTP and gRPC) fed random and mutated input, 1,000,000 cases
// per target by default. `npm test` runs the same targets with 10,000 cases (test/fuzz-*.test.ts).
//
//   node bench/fuzz.mjs [--runs N] [--seed S] [--only name,name] [--no-append]
//
// Prints one row per target (cases, cases past the first refusal, time, heap growth after a full GC,
// peak RSS) and appends the table to bench/RESULTS.md. A failure prints fast-check's smallest failing
// input and the seed that replays it, and the exit code is 1. Needs dist/ (npx tsc -p .).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_DIR } from './lib/procs.mjs';
import { loadavg } from './lib/measure.mjs';
import { appendResults, commandLine, fmt, machineBlock, stamp, table } from './lib/report.mjs';
import { localTargets, networkTargets, runFuzz, seedsFromJson } from '../dist/src/tools/fuzz/index.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000000' },
    seed: { type: 'string' },
    only: { type: 'string' },
    'no-append': { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const ROOT = join(BENCH_DIR, '..');
const examples = join(ROOT, 'test', 'fixtures', 'otlp-examples');
const seeds = seedsFromJson({
  logs: [readFileSync(join(examples, 'logs.json'), 'utf8')],
  traces: [readFileSync(join(examples, 'trace.json'), 'utf8')],
  metrics: [readFileSync(join(examples, 'metrics.json'), 'utf8')],
});
const configs = readdirSync(join(ROOT, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => readFileSync(join(ROOT, 'examples', f), 'utf8'));

let targets = [...localTargets(seeds, configs), ...networkTargets(seeds)];
if (values.only) {
  const names = values.only.split(',');
  targets = targets.filter((t) => names.includes(t.name));
}

const loadBefore = loadavg();
const started = new Date();
const rows = [];
let failed = false;
for (const target of targets) {
  const r = await runFuzz(target, { runs, seed: values.seed === undefined ? undefined : Number(values.seed), maxHeapGrowthBytes: 128 * 1024 * 1024 });
  rows.push(r);
  console.log(
    `${r.target}: ${fmt.int(r.runs)} cases, ${fmt.int(r.accepted)} past the first refusal, ${(r.ms / 1000).toFixed(1)} s, heap ${(r.heapGrowthBytes / 2 ** 20).toFixed(1)} MiB, seed ${r.seed}${r.failure ? `\nFAILED:\n${r.failure}` : ''}`,
  );
  if (r.failure) failed = true;
}

const md = [
  `### Fuzzing: ${fmt.int(runs)} cases per target (bench/fuzz.mjs), ${stamp(started)}`,
  '',
  `Command: \`${commandLine()}\``,
  machineBlock(loadBefore, loadavg()),
  '',
  table(
    [
      ['target', 'target', 'l'],
      ['cases', (r) => fmt.int(r.runs)],
      ['past the first refusal', (r) => fmt.int(r.accepted)],
      ['seconds', (r) => (r.ms / 1000).toFixed(1)],
      ['cases/s', (r) => fmt.rate(r.runs / (r.ms / 1000))],
      ['heap growth after GC', (r) => `${(r.heapGrowthBytes / 2 ** 20).toFixed(1)} MiB`],
      ['peak RSS', (r) => fmt.mib(r.peakRssBytes)],
      ['seed', 'seed'],
      ['result', (r) => (r.failure ? 'FAILED' : 'no crash, no hang, nothing accepted unreadable')],
    ],
    rows,
  ),
].join('\n');
console.log(`\n${md}`);
if (!values['no-append']) await appendResults(md);
process.exit(failed ? 1 : 0);
