#!/usr/bin/env node
// Where the server's CPU goes per request, by kind of work, for the light mode's HTTP rows side by side:
// the minimal forwarder, passthrough-http and zone-yellow (or any of them), each under `perf record` (all of
// its threads, user and kernel) while the light mode's closed loop drives it. The samples of each row are
// put in buckets by symbol (the wire validator, V8's young and full GCs, memcpy, malloc, the kernel's copies
// to and from sockets, other kernel work, JIT compiling, other JavaScript and Node) and printed as
// microseconds of CPU per request: what the gateway spends beyond the forwarder, and on what. The gateways
// run with --perf-basic-prof-only-functions (JavaScript functions by name) and --trace-gc (scavenges and
// mark-compacts per request beside the samples).
//
//   npx tsc -p . && node bench/perf-breakdown.mjs [--rows forwarder-http,passthrough-http,zone-yellow] [--seconds 8] [--freq 999] [--set KEY=VALUE] [--node-args="..."] [--keep DIR] [DIR]
//
// DIR: the gateway build (bin/ + dist/ + node_modules; default this checkout). Needs `perf` and the right to
// profile one's own processes (kernel.perf_event_paranoid <= 1 for kernel samples; at 2 the kernel buckets
// read 0). Per-request figures scale with the machine's other load (a preempted copy takes longer): read
// the rows of one run against each other.
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { TemplateParts, RequestTemplate } from '../dist/src/tools/loadgen/templates.js';
import { startForwarder, startGateway, startSinkProc } from './lib/procs.mjs';
import { gatewayConfig } from './lib/throughput.mjs';
import { closedLoop } from './lib/pace.mjs';
import { LIGHT_ROWS } from './scenarios/light.mjs';
import { loadavg } from './lib/measure.mjs';

const run = promisify(execFile);
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rows: { type: 'string', default: 'forwarder-http,passthrough-http,zone-yellow' },
    seconds: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '3' },
    freq: { type: 'string', default: '999' },
    keep: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
    'node-args': { type: 'string', default: '' },
  },
});
// --set KEY=VALUE (repeatable): a gateway config key (dotted path, JSON value), e.g. exporters.otlphttp.sending_queue.enabled=false.
const overrides = values.set.map((kv) => {
  const eq = kv.indexOf('=');
  if (eq <= 0) throw new Error(`--set ${kv}: expected KEY=VALUE (a dotted path of the gateway config)`);
  let value = kv.slice(eq + 1);
  try {
    value = JSON.parse(value);
  } catch {
    // a plain string
  }
  return { path: kv.slice(0, eq).split('.'), value };
});
const root = resolve(positionals[0] ?? '.');
const seconds = Number(values.seconds);
const rows = values.rows.split(',').map((name) => {
  const r = LIGHT_ROWS.find((x) => x.name === name && x.protocol === 'http' && !x.red && !x.durable);
  if (!r) throw new Error(`no HTTP row ${name} (rows: forwarder-http, passthrough-http, zone-yellow)`);
  return r;
});
const body = Buffer.from(
  new RequestTemplate(new TemplateParts({ signal: 'logs', encoding: 'proto', runId: 'perf-breakdown', bodySize: 246, attributes: 4 }), 0, 1000).buf,
);

/** Buckets, first match wins: [name, test on "dso symbol"]. */
const BUCKETS = [
  ['wire validator (JS)', (s) => /dist\/src\/pdata\/validate/.test(s)],
  ['UTF-8 check (simdutf)', (s) => /simdutf/.test(s)],
  ['memcpy', (s) => /libc\.so\S*\s+\[\.\]\s+__mem(move|cpy)/.test(s)],
  [
    'malloc / free',
    (s) =>
      /libc\.so\S*\s+\[\.\]\s+(_int_malloc|_int_free|malloc|free|cfree|unlink_chunk|malloc_consolidate|__libc_\w*alloc|realloc|calloc|_int_realloc|tcache)/.test(
        s,
      ),
  ],
  [
    'V8 full GC (marking, sweeping, compaction)',
    (s) =>
      /v8::internal::(ConcurrentMarking|MarkCompact|MarkingVisitor|MarkingBarrier|IncrementalMarking|Sweeper|BodyDescriptorBase::IteratePointers<v8::internal::(Concurrent|Main)Marking|MainMarkingVisitor|ConcurrentMarkingVisitor|MarkingWorklist|EvacuateVisitor|Evacuator|RecordMigratedSlot|FullEvacuator|PointersUpdating|HeapObject::SizeFromMap|LiveObjectRange|MarkBit)/.test(
        s,
      ) || /_Map_base<v8::internal::MemoryChunk/.test(s),
  ],
  [
    'V8 young GC (scavenges, ArrayBuffer sweeping)',
    (s) =>
      /v8::internal::(Scaveng|SemiSpace|NewSpace|ArrayBufferSweeper|ArrayBufferList|RootScavengeVisitor|Heap::|RememberedSet|SlotSet|TypedSlot|MemoryAllocator|BasicMemoryChunk|MemoryChunk)/.test(
        s,
      ),
  ],
  ['V8 compiler (TurboFan, lazy compile)', (s) => /v8::internal::(compiler|maglev|baseline|interpreter|Parser|Compiler|Scanner)|Builtins_CompileLazy/.test(s)],
  ['kernel: copy to sockets (send)', (s) => /\[k\]\s+_copy_from_iter/.test(s)],
  ['kernel: copy from sockets (receive)', (s) => /\[k\]\s+_copy_to_iter/.test(s)],
  ['kernel: other', (s) => /\[k\]/.test(s)],
  ['JavaScript (JIT code)', (s) => /\[JIT\]/.test(s)],
  ['Node and V8 runtime (builtins, ICs, C++)', () => true],
];

/** Parses `perf report` lines ("  1.23%  456  dso  [.] symbol") into sample counts per bucket. */
async function buckets(file) {
  const { stdout } = await run('perf', ['report', '-i', file, '--sort', 'dso,sym', '--stdio', '-n', '--no-children'], { maxBuffer: 256 * 2 ** 20 });
  const out = new Map(BUCKETS.map(([n]) => [n, 0]));
  let total = 0;
  for (const line of stdout.split('\n')) {
    const m = /^\s*[\d.]+%\s+(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const n = Number(m[1]);
    const what = m[2];
    total += n;
    for (const [name, test] of BUCKETS)
      if (test(what)) {
        out.set(name, out.get(name) + n);
        break;
      }
  }
  return { out, total };
}

/** Counts scavenges and mark-compacts in --trace-gc output (with their pauses), from when `since` is set. */
function gcCounter(stream) {
  const c = { on: false, scavenges: 0, scavengeMs: 0, markCompacts: 0, markCompactMs: 0 };
  let tail = '';
  stream.on('data', (d) => {
    const lines = (tail + d.toString()).split('\n');
    tail = lines.pop();
    if (!c.on) return;
    for (const l of lines) {
      const m = /: (Scavenge|Mark-Compact) .*?MB, ([\d.]+) \//.exec(l);
      if (!m) continue;
      if (m[1] === 'Scavenge') {
        c.scavenges++;
        c.scavengeMs += Number(m[2]);
      } else {
        c.markCompacts++;
        c.markCompactMs += Number(m[2]);
      }
    }
  });
  return c;
}

async function measureRow(row, dir) {
  const sink = await startSinkProc({ track: false });
  const nodeArgs = ['--perf-basic-prof-only-functions', '--trace-gc'];
  let server;
  let url;
  try {
    if (!row.processors) {
      server = await startForwarder(sink.httpUrl, 'http', { nodeArgs });
      url = `http://${server.address}/v1/logs`;
    } else {
      const g = await gatewayConfig({ protocol: 'http', sink, processors: row.processors });
      g.config.service.telemetry = { logs: { level: 'info' }, metrics: { level: 'none' } };
      for (const { path, value } of overrides) {
        let o = g.config;
        for (const k of path.slice(0, -1)) o = o[k] ??= {};
        o[path.at(-1)] = value;
      }
      server = await startGateway(g.config, { root, nodeArgs: [...nodeArgs, ...values['node-args'].split(' ').filter(Boolean)] });
      url = `${g.endpoint}/v1/logs`;
    }
    const gc = gcCounter(server.child.stdout);
    await closedLoop({ url, body, ms: Number(values.warmup) * 1000, connections: 8 });
    const file = join(dir, `${row.name}.perf.data`);
    const perf = spawn('perf', ['record', '-q', '-F', values.freq, '-o', file, '-p', String(server.pid)], { stdio: ['ignore', 'ignore', 'inherit'] });
    await new Promise((r) => setTimeout(r, 300));
    gc.on = true;
    const t0 = performance.now();
    const r = await closedLoop({ url, body, ms: seconds * 1000, connections: 8 });
    const wall = (performance.now() - t0) / 1000;
    gc.on = false;
    perf.kill('SIGINT');
    await new Promise((res) => perf.once('exit', res));
    // perf's window is the measured seconds plus the 0.3 s before: requests are scaled to it.
    const requests = r.acked * ((wall + 0.3) / wall);
    return { row: row.name, requests, recordsPerSec: (r.acked * 1000) / wall, gc, samples: await buckets(file), acked: r.acked };
  } finally {
    await server?.stop();
    await sink.stop();
  }
}

const dir = values.keep ? resolve(values.keep) : await mkdtemp(join(os.tmpdir(), 'perf-breakdown-'));
const load = [loadavg()];
const results = [];
for (const row of rows) {
  results.push(await measureRow(row, dir));
  process.stderr.write(`[perf-breakdown] ${row.name}: ${results.at(-1).acked} requests\n`);
}
load.push(loadavg());
if (!values.keep) await rm(dir, { recursive: true, force: true });

const freq = Number(values.freq);
const us = (res, n) => (n / freq / res.requests) * 1e6;
const lines = [
  `Command: \`node bench/perf-breakdown.mjs ${process.argv.slice(2).join(' ')}\``,
  '',
  `The light mode's request (1000 records, ${body.length} bytes) from 8 connections in a closed loop, ${values.warmup} s warm-up + ${seconds} s under \`perf record -F ${freq}\` (all threads of the server); build ${root}${overrides.length ? ` with ${values.set.join(', ')}` : ''}${values['node-args'] ? ` (gateways run with node ${values['node-args']})` : ''}; load average ${load.join(' -> ')}. Microseconds of CPU per request (perf samples / frequency / requests).`,
  '',
  `| work | ${results.map((r) => `\`${r.row}\``).join(' | ')} |${
    results.length > 1
      ? ` ${results
          .slice(1)
          .map((r) => `\`${r.row}\` - \`${results[0].row}\``)
          .join(' | ')} |`
      : ''
  }`,
  `| --- | ${results.map(() => '---:').join(' | ')} |${
    results.length > 1
      ? ` ${results
          .slice(1)
          .map(() => '---:')
          .join(' | ')} |`
      : ''
  }`,
];
const row = (name, f) => {
  const v = results.map(f);
  lines.push(
    `| ${name} | ${v.map((x) => x.toFixed(1)).join(' | ')} |${
      results.length > 1
        ? ` ${v
            .slice(1)
            .map((x) => (x - v[0] >= 0 ? '+' : '') + (x - v[0]).toFixed(1))
            .join(' | ')} |`
        : ''
    }`,
  );
};
for (const [name] of BUCKETS) row(name, (r) => us(r, r.samples.out.get(name)));
row('**total**', (r) => us(r, r.samples.total));
lines.push(
  '',
  `| per request | ${results.map((r) => `\`${r.row}\``).join(' | ')} |`,
  `| --- | ${results.map(() => '---:').join(' | ')} |`,
  `| records/s (under perf) | ${results.map((r) => Math.round(r.recordsPerSec).toLocaleString('en-US')).join(' | ')} |`,
  `| scavenges per 1000 requests | ${results.map((r) => ((r.gc.scavenges / r.acked) * 1000).toFixed(1)).join(' | ')} |`,
  `| scavenge pause µs per request | ${results.map((r) => ((r.gc.scavengeMs / r.acked) * 1000).toFixed(1)).join(' | ')} |`,
  `| mark-compacts per 1000 requests | ${results.map((r) => ((r.gc.markCompacts / r.acked) * 1000).toFixed(1)).join(' | ')} |`,
  `| mark-compact pause µs per request (the concurrent marking is in the table above) | ${results.map((r) => ((r.gc.markCompactMs / r.acked) * 1000).toFixed(1)).join(' | ')} |`,
);
process.stdout.write(lines.join('\n') + '\n');
