// Benchmark: the loadbalancing exporter's wire split against a plain otlp exporter, in the same run.
// Exporter rows: one process drives exporter.consume() with `inflight` requests outstanding (sending_queue
// disabled, so a request resolves when the backends answered) for `seconds`; a child process is the sink
// (three listeners: 127.0.0.1-3). Reported: spans/s and spans per CPU-second of the exporter process.
// Gateway rows: a real gateway process (bin/gophership.js) with an OTLP/gRPC receiver and either the
// loadbalancing exporter (3 backends) or a plain otlp exporter, fed by the light client (bench/lib) over
// gRPC; reported: the gateway process's CPU seconds per million spans and spans/s per core (the wire path:
// receive, validate, split, send).
//   node bench/loadbalancing.mjs [seconds=6] [spansPerRequest=1000] [--baseline DIR] [--gateway-only]
//   node bench/loadbalancing.mjs --metrics [seconds=6]
// --metrics: exporter rows for metrics only: a plain otlp exporter, loadbalancing with routing_key metric
// (whole metrics by resource and name) and with streamID (each data point by its stream, a metric split
// between backends), alternating over two rounds; requests of 100 sums x 10 points (1000 points, 10
// streams a metric). Reported: points/s and points per CPU-second of the exporter process.
// --baseline DIR: another build (a directory with bin/ and dist/, e.g. a checkout of main after `npm ci`)
// adds gateway rows of its loadbalancing exporter, alternating with this build's in the same run (A/B).
// --gateway-only: skips the exporter rows.
// Requests: 1000 spans of 100 traces (10 spans each), ~200 bytes per span. Needs `npm run build` (dist/).
import { fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { freePort, startGateway } from './lib/procs.mjs';
import { cpuOf } from './lib/measure.mjs';
import { Telemetry } from '../dist/src/telemetry/telemetry.js';
import { silentLogger } from '../dist/src/telemetry/logger.js';
import { Payload } from '../dist/src/pdata/payload.js';
import { metricsRequest, tracesRequest } from './lib/lb-requests.mjs';
import { otlpExporterFactory } from '../dist/exporters/otlp/factory.js';
import { loadBalancingExporterFactory } from '../dist/exporters/loadbalancing/factory.js';

const flags = process.argv.slice(2);
const baselineAt = flags.indexOf('--baseline');
const baselineRoot = baselineAt >= 0 ? flags.splice(baselineAt, 2)[1] : undefined;
const gatewayOnly = flags.includes('--gateway-only');
const metricsOnly = flags.includes('--metrics');
const positional = flags.filter((f) => !f.startsWith('--'));
const seconds = Number(positional[0] ?? 6);
const spansPerRequest = Number(positional[1] ?? 1000);
const inflight = 8;

const sink = fork(new URL('./lib/grpc-count-sink.mjs', import.meta.url));
const { port } = await new Promise((r) => sink.once('message', r));
const stats = () => new Promise((r) => (sink.once('message', r), sink.send({ cmd: 'stats' })));

const otlpCommon = { tls: { insecure: true }, compression: 'none', sending_queue: { enabled: false } };
const variants = [
  ['otlp', otlpExporterFactory, { endpoint: `127.0.0.1:${port}`, ...otlpCommon }],
  [
    'loadbalancing (traceID, 3 backends)',
    loadBalancingExporterFactory,
    { protocol: { otlp: otlpCommon }, resolver: { static: { hostnames: [1, 2, 3].map((h) => `127.0.0.${h}:${port}`) } } },
  ],
];
const requests = Array.from({ length: 16 }, (_, i) => tracesRequest(i, spansPerRequest));
const rows = [];
if (metricsOnly) {
  await metricsRows();
  sink.disconnect();
  process.exit(0);
}
/**
 * One exporter row: `factory` with config `raw` consumes `reqs` (cycled, `items` each) with `inflight`
 * requests outstanding for `seconds`; its process's CPU and the sink's counts.
 */
async function exporterRow(factory, raw, signal, reqs, items) {
  const issues = [];
  const cfg = factory.config.parse(raw, [], issues);
  if (issues.length) throw new Error(JSON.stringify(issues));
  const telemetry = new Telemetry();
  const exp = factory.create({ id: { type: factory.type, name: '', id: factory.type }, kind: 'exporter', logger: silentLogger, telemetry }, cfg);
  await exp.start();
  const before = await stats();
  let n = 0;
  let stop = false;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async (w) => {
    for (let i = w; !stop; i += inflight) {
      await exp.consume(new Payload(signal, reqs[i % reqs.length]));
      n += items;
    }
  };
  const timer = setTimeout(() => (stop = true), seconds * 1000);
  await Promise.all(Array.from({ length: inflight }, (_, w) => worker(w)));
  clearTimeout(timer);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  const after = await stats();
  await exp.shutdown();
  telemetry.close();
  return {
    perSec: n / wall,
    perCpuSec: n / cpuSec,
    cores: cpuSec / wall,
    sinkRequests: after.requests - before.requests,
    sinkMB: (after.bytes - before.bytes) / 1e6,
  };
}

// Two rounds, alternating, so both variants see the same machine load.
for (let round = 0; round < (gatewayOnly ? 0 : 2); round++) {
  for (const [name, factory, raw] of variants) {
    const r = await exporterRow(factory, raw, 'traces', requests, spansPerRequest);
    rows.push({ round, name, spansPerSec: r.perSec, spansPerCpuSec: r.perCpuSec, cores: r.cores, sinkRequests: r.sinkRequests, sinkMB: r.sinkMB });
  }
}

// Gateway rows: the same requests through a gateway process, the receiver's wire path included.
const dir = await mkdtemp(join(os.tmpdir(), 'gs-bench-lb-'));
const bodyFile = join(dir, 'traces.pb');
await writeFile(bodyFile, requests[0]);
const lbExporters = {
  loadbalancing: { protocol: { otlp: otlpCommon }, resolver: { static: { hostnames: [1, 2, 3].map((h) => `127.0.0.${h}:${port}`) } } },
};
const gatewayVariants = [
  ['otlp', { otlp: { endpoint: `127.0.0.1:${port}`, ...otlpCommon } }, undefined],
  ['loadbalancing (traceID, 3 backends)', lbExporters, undefined],
  ...(baselineRoot ? [[`loadbalancing, baseline build (${baselineRoot})`, lbExporters, baselineRoot]] : []),
];
const gatewayRows = [];
for (let round = 0; round < 2; round++) {
  for (const [name, exporters, root] of gatewayVariants) {
    const grpc = await freePort();
    const gw = await startGateway(
      {
        receivers: { otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${grpc}` } } } },
        exporters,
        service: { telemetry: { metrics: { level: 'none' } }, pipelines: { traces: { receivers: ['otlp'], exporters: Object.keys(exporters) } } },
      },
      root ? { root } : {},
    );
    const before = await stats();
    const client = fork(new URL('./lib/light-client.mjs', import.meta.url), [
      JSON.stringify({
        url: `http://127.0.0.1:${grpc}`,
        protocol: 'grpc',
        grpcPath: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        bodyFile,
        records: spansPerRequest,
        connections: inflight,
        durationMs: seconds * 1000,
        warmupMs: 1000,
      }),
    ]);
    let cpu0 = 0;
    const res = await new Promise((resolve, reject) => {
      client.on('message', (m) => {
        if (m.measuring) cpu0 = cpuOf(gw.pid);
        else resolve(m);
      });
      client.once('exit', (code) => code !== 0 && reject(new Error(`light client exited ${code}`)));
    });
    const gwCpu = cpuOf(gw.pid) - cpu0;
    const after = await stats();
    await gw.stop();
    if (res.failed > 0) process.stderr.write(`${name}: ${res.failed} requests refused\n`);
    gatewayRows.push({
      round,
      name,
      spansPerSec: res.records / res.seconds,
      cpuPerM: gwCpu / (res.records / 1e6),
      spansPerCpuSec: res.records / gwCpu,
      cores: gwCpu / res.seconds,
      clientCores: res.cpuSeconds / res.seconds,
      sinkRequests: after.requests - before.requests,
      sinkMB: (after.bytes - before.bytes) / 1e6,
    });
  }
}
await rm(dir, { recursive: true, force: true });
sink.disconnect();

const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(
  `Command: \`node bench/loadbalancing.mjs ${process.argv.slice(2).join(' ')}\` — ${spansPerRequest} spans/request (100 traces), ${inflight} in flight, sending_queue disabled, compression none, ${seconds}s per variant per round\n`,
);
if (!gatewayOnly) printExporterRows();
function printExporterRows() {
  console.log('| round | exporter | spans/s | spans per CPU-second (exporter process) | exporter cores | sink requests | sink MB |');
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows)
    console.log(
      `| ${r.round + 1} | ${r.name} | ${fmt(r.spansPerSec)} | ${fmt(r.spansPerCpuSec)} | ${r.cores.toFixed(2)} | ${fmt(r.sinkRequests)} | ${r.sinkMB.toFixed(1)} |`,
    );
  const per = (name, key) => rows.filter((r) => r.name.startsWith(name)).reduce((a, r) => a + r[key], 0);
  const ratioCpu = per('loadbalancing', 'spansPerCpuSec') / per('otlp', 'spansPerCpuSec');
  const ratioRate = per('loadbalancing', 'spansPerSec') / per('otlp', 'spansPerSec');
  console.log(`\nloadbalancing / otlp: ${ratioCpu.toFixed(2)} in spans per CPU-second, ${ratioRate.toFixed(2)} in spans/s (goal >= 0.7)`);
}

console.log(
  `\nGateway process (OTLP/gRPC receiver -> exporter, light client over gRPC, ${inflight} connections, sending_queue disabled, ${os.loadavg()[0].toFixed(2)} load average at the end)\n`,
);
console.log('| round | exporter | spans/s | gateway CPU s per M spans | spans/s per core (gateway) | gateway cores | client cores | sink requests | sink MB |');
console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of gatewayRows)
  console.log(
    `| ${r.round + 1} | ${r.name} | ${fmt(r.spansPerSec)} | ${r.cpuPerM.toFixed(2)} | ${fmt(r.spansPerCpuSec)} | ${r.cores.toFixed(2)} | ${r.clientCores.toFixed(2)} | ${fmt(r.sinkRequests)} | ${r.sinkMB.toFixed(1)} |`,
  );
const gsum = (name, key) => gatewayRows.filter((r) => r.name === name).reduce((a, r) => a + r[key], 0);
const [otlpName, lbName, baseName] = gatewayVariants.map((v) => v[0]);
const ratioOf = (name) =>
  `${(gsum(name, 'spansPerCpuSec') / gsum(otlpName, 'spansPerCpuSec')).toFixed(2)} in spans per CPU-second, ${(gsum(name, 'spansPerSec') / gsum(otlpName, 'spansPerSec')).toFixed(2)} in spans/s`;
console.log(`\ngateway, loadbalancing / otlp: ${ratioOf(lbName)} (goal >= 0.7)`);
if (baseName) console.log(`gateway, baseline build's loadbalancing / otlp: ${ratioOf(baseName)}`);

/** Exporter rows for metrics: otlp, loadbalancing metric, loadbalancing streamID, alternating (--metrics). */
async function metricsRows() {
  const points = 1000;
  const hostnames = [1, 2, 3].map((h) => `127.0.0.${h}:${port}`);
  const lb = (routing_key) => ({ routing_key, protocol: { otlp: otlpCommon }, resolver: { static: { hostnames } } });
  const metricVariants = [
    ['otlp', otlpExporterFactory, { endpoint: `127.0.0.1:${port}`, ...otlpCommon }],
    ['loadbalancing (metric, 3 backends)', loadBalancingExporterFactory, lb('metric')],
    ['loadbalancing (streamID, 3 backends)', loadBalancingExporterFactory, lb('streamID')],
  ];
  const reqs = Array.from({ length: 16 }, (_, i) => metricsRequest(i));
  const out = [];
  for (let round = 0; round < 2; round++) {
    for (const [name, factory, raw] of metricVariants) out.push({ round, name, ...(await exporterRow(factory, raw, 'metrics', reqs, points)) });
  }
  const fmt = (x) => Math.round(x).toLocaleString('en-US');
  console.log(
    `Command: \`node bench/loadbalancing.mjs ${process.argv.slice(2).join(' ')}\` — metrics: 100 sums x 10 points a request, ${inflight} in flight, sending_queue disabled, compression none, ${seconds}s per variant per round, ${os.loadavg()[0].toFixed(2)} load average at the end\n`,
  );
  console.log('| round | exporter | points/s | points per CPU-second (exporter process) | exporter cores | sink requests | sink MB |');
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of out)
    console.log(
      `| ${r.round + 1} | ${r.name} | ${fmt(r.perSec)} | ${fmt(r.perCpuSec)} | ${r.cores.toFixed(2)} | ${fmt(r.sinkRequests)} | ${r.sinkMB.toFixed(1)} |`,
    );
  const sum = (name, key) => out.filter((r) => r.name.startsWith(name)).reduce((a, r) => a + r[key], 0);
  const ratio = (a, b) =>
    `${(sum(a, 'perCpuSec') / sum(b, 'perCpuSec')).toFixed(2)} in points per CPU-second, ${(sum(a, 'perSec') / sum(b, 'perSec')).toFixed(2)} in points/s`;
  console.log(`\nstreamID / metric: ${ratio('loadbalancing (streamID', 'loadbalancing (metric')}`);
  console.log(`streamID / otlp: ${ratio('loadbalancing (streamID', 'otlp')}; metric / otlp: ${ratio('loadbalancing (metric', 'otlp')}`);
}
