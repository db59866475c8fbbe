#!/usr/bin/env node
// Long fuzz runs: every target of the npm-test fuzz harness (OTLP/JSON codec, wire validator, wire editor,
// WAL reader, config loader, decompressors, and the otlp receiver over HTTP and gRPC on the network) fed random and
// mutated input, 1,000,000 cases per target by default. `npm test` runs the same targets with 10,000.
//
//   nice -n 19 node bench/fuzz.mjs [--cases N] [--only name,name] [--parallel P] [--until HH:MM | --minutes M]
//                                  [--chunk-cases C] [--chunk-seconds S] [--state FILE] [--fresh] [--seed S] [--no-append]
//   node bench/fuzz.mjs --only grpc-receiver --seed S --path K --cases 1   (replays one case a row names)
//
// Each target runs in chunks, each chunk in its own child process with its own seed (the run's base seed
// + the chunk's number), so a chunk that crashes or hangs is reported with the seed and case that replay
// it and the run goes on; a watchdog thread in the child names a case that blocks the event loop. The
// chunks of all targets take turns (round robin), at most P children at once (default 1: the machine is
// shared), so with a deadline every target gets its share. Progress is saved after every chunk in the state
// file (default bench/out/fuzz-state.json): the same command run again resumes where it stopped (--fresh
// starts over). At the end (or the deadline) one row per target is printed and appended to
// bench/RESULTS.md: cases, time, rate, crashes, hangs, broken promises (acknowledged bytes no decoder
// reads, wrong item counts, bad refusals), heap growth, peak RSS. Needs dist/ (npx tsc -p .).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_DIR } from './lib/procs.mjs';
import { loadavg } from './lib/measure.mjs';
import { appendResults, commandLine, fmt, machineBlock, stamp, table } from './lib/report.mjs';
import { localTargets, networkTargets, runFuzz, seedsFromJson } from '../dist/src/tools/fuzz/index.js';

const { values } = parseArgs({
  options: {
    cases: { type: 'string' },
    runs: { type: 'string' }, // the old name of --cases
    seed: { type: 'string' },
    path: { type: 'string' },
    only: { type: 'string' },
    parallel: { type: 'string', default: '1' },
    until: { type: 'string' },
    minutes: { type: 'string' },
    'chunk-cases': { type: 'string', default: '50000' },
    'chunk-seconds': { type: 'string', default: '300' },
    state: { type: 'string', default: join(BENCH_DIR, 'out', 'fuzz-state.json') },
    fresh: { type: 'boolean', default: false },
    'no-append': { type: 'boolean', default: false },
    child: { type: 'string' },
    'time-limit-ms': { type: 'string' },
  },
});
const ROOT = join(BENCH_DIR, '..');
const RESULT_MARK = 'FUZZ_RESULT ';

function allTargets() {
  const examples = join(ROOT, 'test', 'fixtures', 'otlp-examples');
  const seeds = seedsFromJson({
    logs: [readFileSync(join(examples, 'logs.json'), 'utf8')],
    traces: [readFileSync(join(examples, 'trace.json'), 'utf8')],
    metrics: [readFileSync(join(examples, 'metrics.json'), 'utf8')],
  });
  const configs = readdirSync(join(ROOT, 'examples'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readFileSync(join(ROOT, 'examples', f), 'utf8'));
  return [...localTargets(seeds, configs), ...networkTargets(seeds)];
}

// ---- child: one chunk of one target, its result as one JSON line on stdout ----
if (values.child) {
  const target = allTargets().find((t) => t.name === values.child);
  if (!target) throw new Error(`no fuzz target ${values.child}`);
  const r = await runFuzz(target, {
    runs: Number(values.cases),
    seed: Number(values.seed),
    path: values.path,
    timeLimitMs: values['time-limit-ms'] ? Number(values['time-limit-ms']) : undefined,
    maxHeapGrowthBytes: 128 * 1024 * 1024,
  });
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(r)}\n`, () => process.exit(0));
} else {
  await parent();
}

// ---- parent: chunks in child processes, round robin, resumable ----
async function parent() {
  const cases = Number(values.cases ?? values.runs ?? 1_000_000);
  const names = allTargets().map((t) => t.name);
  const chosen = values.only ? values.only.split(',') : names;
  for (const n of chosen) if (!names.includes(n)) throw new Error(`no fuzz target ${n}; the targets: ${names.join(', ')}`);

  if (values.path !== undefined) {
    // Replay: one chunk of one target in this terminal, from the given case of the given seed.
    if (chosen.length !== 1 || values.seed === undefined) throw new Error('--path replays one case: give --only <target> and --seed');
    const r = await runChunk(chosen[0], Math.max(1, Number(values.cases ?? 1)), Number(values.seed), undefined, values.path);
    console.log(r.failure ? `FAILED (${r.failureKind}):\n${r.failure}` : `case passed: ${JSON.stringify({ runs: r.runs, accepted: r.accepted })}`);
    process.exit(r.failure ? 1 : 0);
  }

  const deadline = deadlineOf(values.until, values.minutes);
  const chunkCases = Number(values['chunk-cases']);
  const chunkMs = Number(values['chunk-seconds']) * 1000;
  const statePath = values.state;
  let state = !values.fresh && existsSync(statePath) ? JSON.parse(readFileSync(statePath, 'utf8')) : undefined;
  if (state && (state.cases !== cases || (values.seed !== undefined && state.baseSeed !== Number(values.seed)))) state = undefined;
  if (!state) state = { cases, baseSeed: values.seed === undefined ? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0 : Number(values.seed), targets: {} };
  for (const n of chosen)
    state.targets[n] ??= { chunks: 0, runs: 0, ms: 0, accepted: 0, peakRss: 0, heapGrowthMax: 0, crashes: 0, hangs: 0, broken: 0, failures: [] };
  const save = () => {
    mkdirSync(dirname(statePath), { recursive: true });
    writeFileSync(statePath, JSON.stringify(state, null, 1));
  };
  save();
  console.log(
    `fuzz: ${fmt.int(cases)} cases per target, base seed ${state.baseSeed}, state ${statePath}${deadline ? `, until ${new Date(deadline).toISOString()}` : ''}`,
  );

  const loadBefore = loadavg();
  const started = new Date();
  const parallel = Math.max(1, Number(values.parallel));
  const busy = new Set();
  const timeLeft = () => (deadline ? deadline - Date.now() : Infinity);
  // Round robin over the targets that still have cases to run.
  let turn = 0;
  const nextTarget = () => {
    for (let i = 0; i < chosen.length; i++) {
      const n = chosen[(turn + i) % chosen.length];
      if (!busy.has(n) && state.targets[n].runs < cases && (state.targets[n].dead ?? 0) < 3) {
        turn = (turn + i + 1) % chosen.length;
        return n;
      }
    }
    return undefined;
  };
  const running = new Set();
  const launch = (name) => {
    const t = state.targets[name];
    const seed = (state.baseSeed + t.chunks) >>> 0;
    const want = Math.min(chunkCases, cases - t.runs);
    const limit = Math.min(chunkMs, Math.max(1000, timeLeft() - 5000));
    busy.add(name);
    const p = runChunk(name, want, seed, limit).then((r) => {
      busy.delete(name);
      running.delete(p);
      t.chunks++;
      // A target whose chunks die before running a case (three times) is not started again.
      t.dead = r.runs === 0 ? (t.dead ?? 0) + 1 : 0;
      t.runs += r.runs;
      t.ms += r.ms;
      t.accepted += r.accepted;
      t.peakRss = Math.max(t.peakRss, r.peakRssBytes);
      t.heapGrowthMax = Math.max(t.heapGrowthMax, r.heapGrowthBytes);
      if (r.failure) {
        t[r.failureKind === 'hang' ? 'hangs' : r.failureKind === 'crash' ? 'crashes' : 'broken']++;
        t.failures.push({ kind: r.failureKind, seed, report: r.failure.slice(0, 4000) });
        // The failing case itself is not counted twice on resume: the chunk's seed is spent.
        console.log(`${name}: ${r.failureKind.toUpperCase()} in the chunk of seed ${seed}:\n${r.failure}`);
      }
      console.log(
        `${name}: ${fmt.int(t.runs)} / ${fmt.int(cases)} cases, ${fmt.rate(t.runs / (t.ms / 1000))}/s, peak RSS ${fmt.mib(t.peakRss)}, failures ${t.crashes + t.hangs + t.broken}`,
      );
      save();
    });
    running.add(p);
  };
  while (true) {
    while (running.size < parallel && timeLeft() > 15_000) {
      const n = nextTarget();
      if (!n) break;
      launch(n);
    }
    if (running.size === 0) break;
    await Promise.race(running);
  }

  const rows = chosen.map((name) => ({ name, ...state.targets[name] }));
  const md = [
    `### Fuzzing: ${fmt.int(cases)} cases per target asked (bench/fuzz.mjs), ${stamp(started)}`,
    '',
    `Command: \`${commandLine()}\` (base seed ${state.baseSeed}; chunk n of a target uses seed ${state.baseSeed} + n; totals since the state file was started, resumable)`,
    machineBlock(loadBefore, loadavg()),
    '',
    table(
      [
        ['target', 'name', 'l'],
        ['cases', (r) => `${fmt.int(r.runs)}${r.runs < cases ? ` (of ${fmt.int(cases)})` : ''}`],
        ['past the first refusal', (r) => fmt.int(r.accepted)],
        ['seconds', (r) => (r.ms / 1000).toFixed(0)],
        ['cases/s', (r) => fmt.rate(r.runs / (r.ms / 1000))],
        ['crashes', 'crashes'],
        ['hangs', 'hangs'],
        ['broken promises', 'broken'],
        ['heap growth after GC (max of chunks)', (r) => `${(r.heapGrowthMax / 2 ** 20).toFixed(1)} MiB`],
        ['peak RSS', (r) => fmt.mib(r.peakRss)],
        ['chunks', 'chunks'],
        [
          'result',
          (r) =>
            r.crashes + r.hangs + r.broken > 0
              ? 'FAILED (reports in the state file)'
              : `${r.runs < cases ? 'partial: ' : ''}no crash, no hang, nothing acknowledged undecodable`,
        ],
      ],
      rows,
    ),
  ].join('\n');
  console.log(`\n${md}`);
  if (!values['no-append']) await appendResults(md);
  process.exit(rows.some((r) => r.crashes + r.hangs + r.broken > 0) ? 1 : 0);
}

function deadlineOf(until, minutes) {
  if (minutes) return Date.now() + Number(minutes) * 60_000;
  if (!until) return undefined;
  const [h, m] = until.split(':').map(Number);
  const d = new Date();
  d.setUTCHours(h, m, 0, 0);
  if (d.getTime() < Date.now()) d.setUTCDate(d.getUTCDate() + 1);
  return d.getTime();
}

/** One chunk in a child process; a child that dies without its result line is a crash or a hang (the watchdog). */
function runChunk(name, cases, seed, timeLimitMs, path) {
  const args = [process.argv[1], '--child', name, '--cases', String(cases), '--seed', String(seed)];
  if (timeLimitMs) args.push('--time-limit-ms', String(timeLimitMs));
  if (path !== undefined) args.push('--path', path);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => {
    err = (err + d).slice(-20_000);
    process.stderr.write(d);
  });
  const startedAt = performance.now();
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_MARK));
      if (line) {
        resolve(JSON.parse(line.slice(RESULT_MARK.length)));
        return;
      }
      const hang = /has not finished in .* a synchronous hang/s.test(err);
      resolve({
        target: name,
        runs: 0,
        accepted: 0,
        seed,
        ms: performance.now() - startedAt,
        heapGrowthBytes: 0,
        peakRssBytes: 0,
        failureKind: hang ? 'hang' : 'crash',
        failure: `the child for ${name} (seed ${seed}) ended with ${signal ?? `exit code ${code}`} and no result:\n${err.slice(-3000)}`,
      });
    });
  });
}
