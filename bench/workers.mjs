// Worker processes (service.workers): the same gateway with 1 and with 2 workers, side by side in one run,
// under two kinds of peers:
//   - light peers: `wrk` posting one prepared request (bench/lib/wrk-otlp.lua) into the gateway, which
//     exports to bench/lib/count-sink.c (built here with gcc): both cost almost nothing per request, so on
//     a 2-core machine the gateway gets nearly both cores, and 1 vs 2 workers measures the workers;
//   - Node peers (for comparison): bench/lib/light-client.mjs into the count-only Node sink (src/tools/sink).
// The peers are pinned to one core (`--peer-cpus`, default the last core; taskset) and the gateway is left
// unpinned, so the workers can have all of the other core and that core's slack. The figure that survives
// a shared machine is the gateway's CPU per million records (the primary and every worker counted, from
// /proc/<pid>/stat); the throughput ratio says what a second worker bought. The client's, the sink's and
// other processes' cores are printed beside it. A last row runs 2 workers without the machine-wide
// zone published to the workers (GOPHERSHIP_GLOBAL_VIEW=off) to show what the global view costs.
// Loss is checked by counts: records in 2xx answers (warm-up included) against records the sink counted
// after the gateway drained and stopped.
//
//   npx tsc -p . && node bench/workers.mjs [--seconds 8] [--rounds 3] [--connections 8] [--peers both|light|node]
//                                          [--peer-cpus 1|none]
import { fork } from 'node:child_process';
import { writeFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TemplateParts, RequestTemplate } from '../dist/src/tools/loadgen/templates.js';
import { globalViewOf } from '../dist/src/service/workers/global-view.js';
import { BENCH_DIR, freePort, startForwarder, startGateway, startSinkProc } from './lib/procs.mjs';
import { cpuOf, loadavg, machineBusySeconds } from './lib/measure.mjs';
import { canPin, deliveredSince, gatewayCpu, missingLightPeerTools, pinProcess, startCountSink, wrkWithWarmup } from './lib/light-peers.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '8' },
    peers: { type: 'string', default: 'both' },
    'peer-cpus': { type: 'string', default: String(os.cpus().length - 1) },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const WARMUP_SECONDS = 2;
const RECORDS = 1000;
if (!['both', 'light', 'node'].includes(values.peers)) throw new Error(`--peers ${values.peers}: expected both, light or node`);
const kinds = values.peers === 'both' ? ['light', 'node'] : [values.peers];

if (kinds.includes('light')) {
  const missing = missingLightPeerTools();
  if (missing.length) {
    console.error(
      `bench/workers.mjs: the light-peer rows (wrk client, C counting sink) need ${missing.join(' and ')}, missing on this machine.\n` +
        `Install them, or run only the Node-peer rows: node bench/workers.mjs --peers node`,
    );
    process.exit(1);
  }
}
let peerCpus = values['peer-cpus'] === 'none' || os.cpus().length < 2 ? undefined : values['peer-cpus'];
if (peerCpus && !canPin()) {
  console.error('bench/workers.mjs: taskset (util-linux) is missing: the peers run unpinned.');
  peerCpus = undefined;
}

const dir = await mkdtemp(join(os.tmpdir(), 'gs-bench-workers-'));
const bodyFile = join(dir, 'body.pb');
const parts = new TemplateParts({ signal: 'logs', encoding: 'proto', runId: 'bench-workers', bodySize: 380, attributes: 2 });
await writeFile(bodyFile, new RequestTemplate(parts, 0, RECORDS).buf);

/** The Node client for one scenario: warm-up and measurement in one process (bench/lib/light-client.mjs). */
function driveNode(url, onMeasureStart) {
  const pin = peerCpus ? { execPath: 'taskset', execArgv: ['-c', peerCpus, process.execPath] } : {};
  const client = fork(
    join(BENCH_DIR, 'lib', 'light-client.mjs'),
    [JSON.stringify({ url, bodyFile, records: RECORDS, connections, durationMs: seconds * 1000, warmupMs: WARMUP_SECONDS * 1000 })],
    pin,
  );
  return new Promise((resolve, reject) => {
    client.on('message', (m) => {
      if (m.measuring) return onMeasureStart();
      resolve({ okRequests: m.requests, ackedRecords: m.ackedTotal, failed: m.failed, seconds: m.seconds, p99Ms: m.latenciesMs[1], clientCpu: m.cpuSeconds });
    });
    client.once('exit', (code) => code !== 0 && reject(new Error(`light client exited ${code}`)));
  });
}

/** wrk for one scenario: a warm-up run, then the measured run. */
function driveWrk(url, onMeasureStart) {
  return wrkWithWarmup({ url, bodyFile, connections, seconds, warmupSeconds: WARMUP_SECONDS, cpus: peerCpus, records: RECORDS }, onMeasureStart);
}

const peers = {};
if (kinds.includes('light')) {
  const sink = await startCountSink(peerCpus);
  peers.light = { label: 'wrk + C sink', sink, records: async () => (await sink.stats()).records, drive: driveWrk };
}
if (kinds.includes('node')) {
  const sink = await startSinkProc({ grpc: false, track: false });
  pinProcess(sink.pid, peerCpus);
  peers.node = { label: 'Node client + Node sink', sink, records: async () => (await sink.stats()).totals.records, drive: driveNode };
}

/** The minimal forwarder (bench/forwarder.mjs) with 1 or N processes, started like the gateway. */
async function startForwarderUnderTest(peer, processes) {
  const fwd = await startForwarder(peer.sink.httpUrl, 'http', { processes });
  return { pid: fwd.pid, url: `http://${fwd.address}/v1/logs`, stop: fwd.stop, log: () => '' };
}

async function scenario(workers, peer, env, forwarder = false) {
  if (forwarder) {
    const fwd = await startForwarderUnderTest(peer, workers);
    return measure(fwd, fwd.url, peer);
  }
  const http = await freePort();
  const config = {
    receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${http}` } } } },
    processors: { somatic: { memory_limit_mib: 2048 }, batch: { timeout: '20ms' } },
    exporters: { otlphttp: { endpoint: peer.sink.httpUrl, compression: 'none' } },
    service: {
      workers: String(workers),
      telemetry: { metrics: { level: 'none' } },
      pipelines: { logs: { receivers: ['otlp'], processors: ['somatic', 'batch'], exporters: ['otlphttp'] } },
    },
  };
  Object.assign(process.env, env);
  const gw = await startGateway(config);
  for (const k of Object.keys(env)) delete process.env[k];
  return measure(gw, `http://127.0.0.1:${http}/v1/logs`, peer);
}

/** Drives one process under test (gateway or forwarder) with the peer's client; CPU of it and its children. */
async function measure(gw, url, peer) {
  const snap = () => ({ gw: gatewayCpu(gw.pid), sink: cpuOf(peer.sink.pid), machine: machineBusySeconds(), t: performance.now() });
  const before = await peer.records();
  let s0;
  let load;
  try {
    load = await peer.drive(url, () => (s0 = snap()));
  } catch (e) {
    await gw.stop();
    throw e;
  }
  const s1 = snap();
  // Wait for the gateway to deliver what it acknowledged before stopping it (SIGTERM drains the rest).
  await deliveredSince(peer.records, before, load.ackedRecords);
  await gw.stop();
  const delivered = (await peer.records()) - before;
  if (delivered < load.ackedRecords)
    process.stderr.write(
      `LOST ${load.ackedRecords - delivered}; gateway log tail:\n${gw
        .log()
        .split('\n')
        .filter((l) => /warn|error/.test(l))
        .slice(-8)
        .join('\n')}\n`,
    );
  const wall = (s1.t - s0.t) / 1000;
  const gwCpu = s1.gw.total - s0.gw.total;
  const sinkCpu = s1.sink - s0.sink;
  return {
    rate: (load.okRequests * RECORDS) / load.seconds,
    cpuPerM: gwCpu / ((load.okRequests * RECORDS) / 1e6),
    gwCores: gwCpu / wall,
    primaryCores: (s1.gw.primary - s0.gw.primary) / wall,
    clientCores: load.clientCpu / load.seconds,
    clientPerM: load.clientCpu / ((load.okRequests * RECORDS) / 1e6),
    sinkPerM: sinkCpu / ((load.okRequests * RECORDS) / 1e6),
    sinkCores: sinkCpu / wall,
    restCores: (s1.machine - s0.machine - gwCpu - sinkCpu - load.clientCpu) / wall,
    p99: load.p99Ms,
    failed: load.failed,
    lost: Math.max(0, load.ackedRecords - delivered),
  };
}

const plan = [];
for (const kind of kinds) {
  plan.push({ kind, label: '1 worker', workers: 1, env: {} });
  plan.push({ kind, label: '2 workers', workers: 2, env: {} });
}
plan.push({ kind: kinds[0], label: '2 workers, global view off', workers: 2, env: { GOPHERSHIP_GLOBAL_VIEW: 'off' } });
// What a second process buys on this machine with the same peers when it has nothing to do but forward:
// the ceiling the gateway's ratio is read against.
plan.push({ kind: kinds[0], label: 'minimal forwarder, 1 process', workers: 1, env: {}, forwarder: true });
plan.push({ kind: kinds[0], label: 'minimal forwarder, 2 processes', workers: 2, env: {}, forwarder: true });

const loadBefore = loadavg();
const rows = [];
try {
  for (let r = 0; r < rounds; r++) {
    for (const p of plan) {
      const res = await scenario(p.workers, peers[p.kind], p.env, p.forwarder);
      rows.push({ ...p, round: r + 1, ...res });
      process.stderr.write(
        `round ${r + 1} ${peers[p.kind].label}, ${p.label}: ${(res.rate / 1e6).toFixed(2)}M rec/s, gateway ${res.cpuPerM.toFixed(3)} CPU s/M on ${res.gwCores.toFixed(2)} cores, ` +
          `client ${res.clientCores.toFixed(2)}, sink ${res.sinkCores.toFixed(2)}, rest ${res.restCores.toFixed(2)} cores\n`,
      );
    }
  }
} finally {
  for (const p of Object.values(peers)) await p.sink.stop();
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x, d = 2) => x.toFixed(d);
console.log(
  `\nnode bench/workers.mjs --seconds ${seconds} --rounds ${rounds} --connections ${connections} --peers ${values.peers} --peer-cpus ${peerCpus ?? 'none'}` +
    `   (${os.cpus().length} cores, ${new Date().toISOString()}; load average before ${loadBefore}, after ${loadavg()})`,
);
console.log(
  `peers pinned to cpu ${peerCpus ?? '(none)'}, gateway unpinned; cores = CPU seconds / wall seconds from /proc/<pid>/stat; other processes = /proc/stat user+nice+system+steal less ours`,
);
console.log(
  '| peers | gateway | records/s (median) | / 1 worker | per-round ratios | gateway CPU s per M records | gateway cores (of which primary) | client cores | sink cores | client + sink CPU s per M records | other processes cores | p99 ms | failed | lost |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
const ratios = {};
const forwarderRatio = {};
for (const p of plan) {
  const rs = rows.filter((x) => x.kind === p.kind && x.label === p.label);
  const ones = rows.filter((x) => x.kind === p.kind && x.workers === 1 && Boolean(x.forwarder) === Boolean(p.forwarder));
  const m = (k) => median(rs.map((x) => x[k]));
  const perRound = rs.map((x) => x.rate / ones.find((o) => o.round === x.round).rate);
  const ratio = m('rate') / median(ones.map((x) => x.rate));
  if (p.forwarder) {
    if (p.workers === 2) forwarderRatio[p.kind] = { ratio, perRound };
  } else if (p.workers === 2 && !p.env.GOPHERSHIP_GLOBAL_VIEW)
    ratios[p.kind] = { ratio, perRound, rest: Math.max(...rows.filter((x) => x.kind === p.kind).map((x) => x.restCores)) };
  console.log(
    `| ${peers[p.kind].label} | ${p.label} | ${fmt(m('rate') / 1e6)}M | ${fmt(ratio)} | ${p.workers === 1 ? '' : perRound.map((x) => fmt(x)).join(', ')} | ${fmt(m('cpuPerM'), 3)} | ` +
      `${fmt(m('gwCores'))}${p.workers > 1 ? ` (${fmt(m('primaryCores'))})` : ''} | ${fmt(m('clientCores'))} | ${fmt(m('sinkCores'))} | ${fmt(m('clientPerM'), 3)} + ${fmt(m('sinkPerM'), 3)} | ${fmt(m('restCores'))} | ${fmt(m('p99'), 1)} | ` +
      `${rs.reduce((s, x) => s + x.failed, 0)} | ${rs.reduce((s, x) => s + x.lost, 0)} |`,
  );
}
// A verdict only when the cores were the gateway's and its peers': others' work on the machine (beyond
// 0.2 of a core in any row of that kind) takes cores the second worker would have had.
for (const [kind, { ratio, perRound, rest }] of Object.entries(ratios)) {
  const verdict = rest > 0.2 ? `no verdict: other processes used up to ${fmt(rest)} cores; run on a quiet machine` : ratio >= 1.6 ? 'met' : 'not met';
  console.log(`\n${peers[kind].label}: 2 workers / 1 worker = ${fmt(ratio)}x (per round ${perRound.map((x) => fmt(x)).join(', ')}; goal >= 1.6x: ${verdict})`);
  const f = forwarderRatio[kind];
  if (f)
    console.log(
      `${peers[kind].label}: the minimal forwarder, 2 processes / 1 process = ${fmt(f.ratio)}x (per round ${f.perRound.map((x) => fmt(x)).join(', ')}): ` +
        `what a second process buys on this machine beside these peers; the gateway's ${fmt(ratio)}x is ${fmt(ratio / f.ratio)} of it`,
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
