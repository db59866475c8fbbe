// Instruction counts of the receive-path validator (src/pdata/validate.ts) per record, one build or several,
// under valgrind's callgrind: a figure a loaded machine does not move (bench/validate-ab.mjs measures CPU
// time, which swings by 2x while other jobs run). Each build runs in its own node process under valgrind:
// instrumentation is off through start-up and `--warm` validations (JIT warm-up to optimised code), on for
// the next `--requests`, off again. The request is the light bench's (1000 log records, ~434 KB) for
// `--signal logs`, or loadgen's traces/metrics request of 1000 items; shapes: one buffer (validateRequest,
// as the gRPC receiver's single-chunk message) and 64 KiB pieces (validateRequestParts, an HTTP body).
//
//   npx tsc -p . && node bench/validate-callgrind.mjs [--requests 100] [--warm 400] [--signal logs] [--no-utf8] DIR [DIR ...]
//
// --no-utf8: validate with { utf8: false }. For instruction-level reading: --keep (keeps the callgrind
// files, with per-instruction counts, and prints their folder) and --node-args="--perf-basic-prof
// --print-opt-code --print-opt-code-filter=NAME --redirect-code-traces --redirect-code-traces-to=FILE"
// (the map names the JIT code's addresses; the trace holds its disassembly).
//
// DIR: a build's root (holding dist/), e.g. a copy of main's dist made with `cp -r dist /tmp/a/` and `.`.
// The builds run at once (valgrind is single-threaded per process). V8 compiles on the main thread
// (--no-concurrent-recompilation ...) so the measured window runs the same optimised code every time.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    requests: { type: 'string', default: '100' },
    warm: { type: 'string', default: '400' },
    signal: { type: 'string', default: 'logs' },
    'no-utf8': { type: 'boolean', default: false },
    'node-args': { type: 'string', default: '' },
    keep: { type: 'boolean', default: false },
    child: { type: 'boolean', default: false },
  },
});
const N = Number(values.requests);
const WARM = Number(values.warm);
const SHAPES = ['one buffer', '64 KiB pieces'];
// Windows per shape: the least of them is reported (a window can catch a late recompilation or a GC).
const WINDOWS = 3;
const V8_FLAGS = ['--no-concurrent-recompilation', '--no-concurrent-sparkplug', '--single-threaded-gc', ...values['node-args'].split(' ').filter(Boolean)];

if (values.child) {
  // In the valgrind'd process: prepare, warm, then run each shape between two lines from the parent.
  const root = resolve(positionals[0]);
  const { validateRequest, validateRequestParts } = await import(join(root, 'dist/src/pdata/validate.js'));
  const { TemplateParts, RequestTemplate } = await import(join(root, 'dist/src/tools/loadgen/templates.js'));
  const signal = values.signal;
  const body = new RequestTemplate(new TemplateParts({ signal, encoding: 'proto', runId: 'ab', bodySize: 246, attributes: 4 }), 0, 1000).buf;
  const pieces = [];
  for (let at = 0; at < body.length; at += 65536) pieces.push(body.subarray(at, Math.min(body.length, at + 65536)));
  const opts = values['no-utf8'] ? { utf8: false } : {};
  const runs = [() => validateRequest(signal, body, opts), () => validateRequestParts(signal, pieces, body.length, opts)];
  const lines = (async function* () {
    let buf = '';
    for await (const chunk of process.stdin) {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        yield buf.slice(0, i);
        buf = buf.slice(i + 1);
      }
    }
  })();
  let items = 0;
  for (let k = 0; k < WARM; k++) for (const run of runs) items += run();
  for (const run of runs) {
    // Warmed again alone, so the window runs code shaped by this shape's calls last.
    for (let k = 0; k < WARM; k++) items += run();
    for (let w = 0; w < WINDOWS; w++) {
      process.stdout.write(`ready ${items}\n`);
      await lines.next(); // instrumentation on
      items = 0;
      for (let k = 0; k < N; k++) items += run();
      process.stdout.write(`done ${items}\n`);
      await lines.next(); // instrumentation off
    }
  }
  process.exit(0);
}

/** Runs one build under callgrind; returns [Ir per record of each shape, items per request]. */
async function measure(root) {
  const dir = await mkdtemp(join(os.tmpdir(), 'gs-validate-cg-'));
  const self = fileURLToPath(import.meta.url);
  const perShape = [];
  const allWindows = [];
  let perRequest = 0;
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--smc-check=all-non-file',
      '--instr-atstart=no',
      `--callgrind-out-file=${join(dir, 'cg.%p.out')}`,
      values.keep ? '--dump-instr=yes' : '--dump-instr=no',
      process.execPath,
      ...V8_FLAGS,
      self,
      '--child',
      '--requests',
      String(N),
      '--warm',
      String(WARM),
      '--signal',
      values.signal,
      ...(values['no-utf8'] ? ['--no-utf8'] : []),
      root,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-20_000)));
  const exited = new Promise((r) => child.once('exit', r));
  let out = '';
  const waitFor = (word) =>
    new Promise((ok, fail) => {
      const check = () => {
        const i = out.indexOf(word);
        if (i < 0) return false;
        const end = out.indexOf('\n', i);
        if (end < 0) return false;
        const line = out.slice(i, end);
        out = out.slice(end + 1);
        child.stdout.off('data', onData);
        ok(line);
        return true;
      };
      const onData = (d) => {
        out += d;
        check();
      };
      if (!check()) child.stdout.on('data', onData);
      exited.then(() => fail(new Error(`${root}: child exited\n${err.slice(-3000)}`)));
    });
  const ctl = (onOff) => execFileSync('callgrind_control', ['-i', onOff, String(child.pid)], { stdio: 'ignore' });
  const zero = () => execFileSync('callgrind_control', ['-z', String(child.pid)], { stdio: 'ignore' });
  let dumps = 0;
  for (let s = 0; s < SHAPES.length; s++) {
    const windows = [];
    for (let w = 0; w < WINDOWS; w++) {
      await waitFor('ready');
      zero();
      ctl('on');
      child.stdin.write('go\n');
      const done = await waitFor('done');
      ctl('off');
      perRequest = Number(done.split(' ')[1]) / N;
      // A dump per shape: its totals are the counts since the last zeroing.
      execFileSync('callgrind_control', ['-d', `shape${s}`, String(child.pid)], { stdio: 'ignore' });
      dumps++;
      const files = readdirSync(dir).filter((f) => f.endsWith(`.out.${dumps}`));
      const file = files.length ? join(dir, files[0]) : undefined;
      // The dump's own summary line reads 0 after zeroing; callgrind_annotate sums its cost lines.
      const text = file ? execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', file], { encoding: 'utf8', maxBuffer: 64 << 20 }) : '';
      const total = Number(/^\s*([\d,]+)\s+\(100\.0%\)\s+PROGRAM TOTALS/m.exec(text)?.[1].replaceAll(',', ''));
      windows.push(total / N / perRequest);
      child.stdin.write('next\n');
    }
    perShape.push(Math.min(...windows));
    allWindows.push(windows);
  }
  await exited;
  if (!values.keep) await rm(dir, { recursive: true, force: true });
  else console.error(dir);
  return { root, perShape, perRequest, allWindows };
}

const results = await Promise.all(positionals.map((d) => measure(resolve(d))));
console.log(
  `Command: \`node bench/validate-callgrind.mjs --requests ${N} --warm ${WARM} --signal ${values.signal}${values['no-utf8'] ? ' --no-utf8' : ''} ${positionals.join(' ')}\`\n`,
);
console.log(`| build | items per request | ${SHAPES.map((s) => `Ir per item, ${s} (least of ${WINDOWS} windows)`).join(' | ')} | vs first | windows |`);
console.log(`| --- | ---: | ${SHAPES.map(() => '---:').join(' | ')} | ---: | --- |`);
for (const r of results)
  console.log(
    `| ${r.root} | ${r.perRequest} | ${r.perShape.map((x) => x.toFixed(0)).join(' | ')} | ${r.perShape.map((x, i) => (x / results[0].perShape[i]).toFixed(3)).join(' / ')} | ${r.allWindows.map((ws) => ws.map((x) => x.toFixed(0)).join(', ')).join(' / ')} |`,
  );
