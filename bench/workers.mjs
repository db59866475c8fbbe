// Worker processes (service.workers): the same gateway with 1 and with 2 workers, side by side in one run,
// under the light client (bench/lib/light-client.mjs) into a counting, non-tracking sink. The figure that
// survives a shared machine is the gateway's CPU per million records (the primary and every worker
// counted); the throughput ratio says what a second core bought. A third row runs 2 workers without the
// machine-wide zone published to the workers (GOPHERSHIP_GLOBAL_VIEW=off) to show what the global view costs.
//
//   npm run build && node bench/workers.mjs [--seconds 8] [--rounds 3] [--connections 8]
import { fork } from 'node:child_process';
import { writeFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TemplateParts, RequestTemplate } from '../dist/src/tools/loadgen/templates.js';
import { globalViewOf } from '../dist/src/service/workers/global-view.js';
import { BENCH_DIR, freePort, startGateway, startSinkProc } from './lib/procs.mjs';
import { cpuOf } from './lib/measure.mjs';
import { execFileSync } from 'node:child_process';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '8' }, rounds: { type: 'string', default: '3' }, connections: { type: 'string', default: '8' } },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const RECORDS = 1000;

/** The gateway process and its worker children: their CPU together is the gateway's. */
function treeCpu(pid) {
  let kids = [];
  try {
    kids = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map(Number)
      .filter((n) => n > 0);
  } catch {
    /* none */
  }
  return cpuOf(pid) + kids.reduce((s, k) => s + cpuOf(k), 0);
}

async function scenario(workers, sink, bodyFile, env = {}) {
  const http = await freePort();
  const config = {
    receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${http}` } } } },
    processors: { somatic: { memory_limit_mib: 2048 }, batch: { timeout: '20ms' } },
    exporters: { otlphttp: { endpoint: sink.httpUrl, compression: 'none' } },
    service: {
      workers: String(workers),
      telemetry: { metrics: { level: 'none' } },
      pipelines: { logs: { receivers: ['otlp'], processors: ['somatic', 'batch'], exporters: ['otlphttp'] } },
    },
  };
  Object.assign(process.env, env);
  const gw = await startGateway(config);
  for (const k of Object.keys(env)) delete process.env[k];
  const before = (await sink.stats()).totals.records;
  const client = fork(join(BENCH_DIR, 'lib', 'light-client.mjs'), [
    JSON.stringify({ url: `http://127.0.0.1:${http}/v1/logs`, bodyFile, records: RECORDS, connections, durationMs: seconds * 1000, warmupMs: 2000 }),
  ]);
  let cpu0 = 0;
  const result = await new Promise((resolve, reject) => {
    client.on('message', (m) => {
      if (m.measuring) cpu0 = treeCpu(gw.pid);
      else resolve(m);
    });
    client.once('exit', (code) => code !== 0 && reject(new Error(`light client exited ${code}`)));
  });
  const gwCpu = treeCpu(gw.pid) - cpu0;
  // Wait for the gateway to deliver what it acknowledged (a Red zone's WAL debt replays once the load
  // stops) before stopping it: what a stopped gateway leaves in its WAL would be delivered at its next start.
  let delivered = (await sink.stats()).totals.records - before;
  for (let still = 0; delivered < result.ackedTotal && still < 15;) {
    await new Promise((r) => setTimeout(r, 200));
    const now = (await sink.stats()).totals.records - before;
    still = now === delivered ? still + 1 : 0;
    delivered = now;
  }
  await gw.stop();
  delivered = (await sink.stats()).totals.records - before;
  if (delivered < result.ackedTotal)
    process.stderr.write(
      `LOST ${result.ackedTotal - delivered}; gateway log tail:\n${gw
        .log()
        .split('\n')
        .filter((l) => /warn|error/.test(l))
        .slice(-8)
        .join('\n')}\n`,
    );
  return { workers, ...result, gwCpu, delivered };
}

const dir = await mkdtemp(join(os.tmpdir(), 'gs-bench-workers-'));
const bodyFile = join(dir, 'body.pb');
const parts = new TemplateParts({ signal: 'logs', encoding: 'proto', runId: 'bench-workers', bodySize: 380, attributes: 2 });
await writeFile(bodyFile, new RequestTemplate(parts, 0, RECORDS).buf);
const sink = await startSinkProc({ grpc: false, track: false });
const rows = [];
for (let r = 0; r < rounds; r++) {
  for (const [label, workers, env] of [
    ['1 worker', 1, {}],
    ['2 workers', 2, {}],
    ['2 workers, global view off', 2, { GOPHERSHIP_GLOBAL_VIEW: 'off' }],
  ]) {
    const res = await scenario(workers, sink, bodyFile, env);
    rows.push({ label, round: r + 1, ...res });
    process.stderr.write(
      `round ${r + 1} ${label}: ${(res.records / res.seconds / 1e6).toFixed(2)}M rec/s, gateway ${(res.gwCpu / (res.records / 1e6)).toFixed(2)} CPU s/M, client ${(res.cpuSeconds / res.seconds).toFixed(2)} cores\n`,
    );
  }
}
await sink.stop();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const labels = [...new Set(rows.map((r) => r.label))];
const summary = labels.map((label) => {
  const rs = rows.filter((r) => r.label === label);
  return {
    label,
    rate: median(rs.map((r) => r.records / r.seconds)),
    cpuPerM: median(rs.map((r) => r.gwCpu / (r.records / 1e6))),
    gwCores: median(rs.map((r) => r.gwCpu / r.seconds)),
    clientCores: median(rs.map((r) => r.cpuSeconds / r.seconds)),
    p99: median(rs.map((r) => r.latenciesMs[1])),
    failed: rs.reduce((s, r) => s + r.failed, 0),
    lost: rs.reduce((s, r) => s + Math.max(0, r.ackedTotal - r.delivered), 0),
  };
});
const base = summary[0].rate;
console.log(
  `\nnode bench/workers.mjs --seconds ${seconds} --rounds ${rounds} --connections ${connections}   (${os.cpus().length} cores, ${new Date().toISOString()})`,
);
console.log('| gateway | records/s (median) | / 1 worker | gateway CPU s per M records | gateway cores | client cores | p99 ms | failed | lost |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const s of summary) {
  console.log(
    `| ${s.label} | ${(s.rate / 1e6).toFixed(2)}M | ${(s.rate / base).toFixed(2)} | ${s.cpuPerM.toFixed(3)} | ${s.gwCores.toFixed(2)} | ${s.clientCores.toFixed(2)} | ${s.p99.toFixed(1)} | ${s.failed} | ${s.lost} |`,
  );
}

// What the primary's view costs per publish, for 2, 16 and 64 workers: the pure computation (the IPC
// message to each worker is one small structured-clone send per 250 ms).
console.log('\n| workers | globalViewOf per publish (µs) | publishes/s at 250 ms | primary CPU share |');
console.log('| --- | --- | --- | --- |');
for (const n of [2, 16, 64]) {
  const reports = Array.from({ length: n }, (_, i) => ({
    t: 'report',
    index: i,
    health: 'serving',
    zone: 0,
    rssBytes: 2e8 + i,
    memoryLimitBytes: 5e8,
    walFill: 0.1,
  }));
  const iters = 200_000;
  const t0 = performance.now();
  let z = 0;
  for (let i = 0; i < iters; i++) z += globalViewOf(reports, i).zone;
  const us = ((performance.now() - t0) * 1000) / iters;
  console.log(`| ${n} | ${us.toFixed(2)} | 4 | ${(((us * 4) / 1e6) * 100).toFixed(5)} %${z < 0 ? '' : ''} |`);
}
