#!/usr/bin/env node
// The heap-growth governor (src/core/heap-growth.ts) A/B on test/heap-growth.test.ts's workload: the same
// OTLP/HTTP load (loadgen, 1000 records of 246-character bodies a request, 8 workers) through a gateway
// child with the governor and through one started with --heap-growing-percent=0 (the user's flag wins, so
// that child runs on V8's own limit), alternated round by round. Prints per pair the full GCs per GiB of
// request bodies and the gateway's CPU seconds per million records. Needs dist/ (npx tsc -p .).
//   node bench/heap-growth.mjs [--rounds 5] [--count 2500000]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runLoadgen } from '../dist/src/tools/loadgen/index.js';
import { startSink } from '../dist/src/tools/sink/index.js';
import { cpuOf, loadavg } from './lib/measure.mjs';
import { commandLine, table } from './lib/report.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, count: { type: 'string', default: '2500000' } } });
const rounds = Number(values.rounds);
const count = Number(values.count);
const BIN = join(import.meta.dirname, '..', 'bin', 'gophership.js');

// test/heap-growth.test.ts's config, written again: this script runs on dist/ without vitest, and a bench that
// measures a test's workload keeps its own copy of it (change both together).
const config = (sinkUrl) => `
receivers:
  otlp:
    protocols:
      http: { endpoint: 127.0.0.1:0 }
processors:
  batch: {}
exporters:
  otlphttp: { endpoint: ${sinkUrl}, compression: none }
service:
  telemetry: { metrics: { address: 127.0.0.1:0 } }
  pipelines:
    logs: { receivers: [otlp], processors: [batch], exporters: [otlphttp] }
`;

async function startGateway(file, nodeArgs) {
  const child = spawn(process.execPath, [...nodeArgs, BIN, '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => (stderr += d));
  for (const until = Date.now() + 30_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
    const h = /"msg":"OTLP receiver listening".*?"http":"([^"]+)"/.exec(stderr);
    const m = /"msg":"gateway started".*?"metrics":"([^"]+)"/.exec(stderr);
    if (h && m) return { child, http: h[1], metrics: m[1] };
    if (child.exitCode !== null) break;
  }
  child.kill('SIGKILL');
  throw new Error(`gateway did not start:\n${stderr}`);
}

async function majorGcs(metrics) {
  const text = await (await fetch(`http://${metrics}/metrics`)).text();
  const m = /^gophership_nodejs_gc_duration_seconds_count\{[^}]*kind="major"[^}]*\} (\S+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/** One run of the test's workload through a fresh gateway child started with `nodeArgs`. */
async function run(sink, dir, nodeArgs) {
  const file = join(dir, 'gateway.yaml');
  await writeFile(file, config(sink.httpUrl));
  const g = await startGateway(file, nodeArgs);
  try {
    const load = { endpoint: `http://${g.http}`, batch: 1000, workers: 8, bodySize: 246, timeoutMs: 30_000 };
    await runLoadgen({ ...load, count: 200_000 }); // warm-up, as the test
    const gc0 = await majorGcs(g.metrics);
    const cpu0 = cpuOf(g.child.pid);
    const r = await runLoadgen({ ...load, count });
    const cpu = cpuOf(g.child.pid) - cpu0;
    const gcs = (await majorGcs(g.metrics)) - gc0;
    if (r.failed !== 0) throw new Error(`${r.failed} records failed`);
    return { perGiB: gcs / (r.bytes / 2 ** 30), majors: gcs, cpuPerM: cpu / (r.acked / 1e6) };
  } finally {
    g.child.kill('SIGKILL');
    await once(g.child, 'exit').catch(() => {});
  }
}

const dir = await mkdtemp(join(tmpdir(), 'gs-bench-heap-growth-'));
const sink = await startSink({ grpc: false, track: false });
const rows = [];
try {
  for (let i = 1; i <= rounds; i++) {
    const load = loadavg();
    const v8 = await run(sink, dir, ['--heap-growing-percent=0']);
    const gov = await run(sink, dir, []);
    console.error(`[heap-growth] round ${i}/${rounds}: governed ${JSON.stringify(gov)} v8 ${JSON.stringify(v8)}`);
    rows.push([i, gov.perGiB.toFixed(1), v8.perGiB.toFixed(1), gov.cpuPerM.toFixed(2), v8.cpuPerM.toFixed(2), load]);
  }
} finally {
  await sink.close();
  await rm(dir, { recursive: true, force: true });
}
console.log(`\`${commandLine()}\`\n`);
console.log(
  table(
    [
      ['round', 0],
      ['full GCs / GiB, governed', 1],
      ['full GCs / GiB, V8 default', 2],
      ['gateway CPU s / M records, governed', 3],
      ['gateway CPU s / M records, V8 default', 4],
      ['load before', 5, 'l'],
    ],
    rows,
  ),
);
