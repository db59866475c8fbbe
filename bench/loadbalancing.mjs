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
import { requestFromJson } from '../dist/src/pdata/codec.js';
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

function request(seed) {
  const spans = [];
  for (let i = 0; i < spansPerRequest; i++) {
    const trace = (seed * 1_000_003 + Math.floor(i / 10)) >>> 0;
    spans.push({
      traceId: trace.toString(16).padStart(8, '0').repeat(4),
      spanId: (i + 1).toString(16).padStart(16, '0'),
      name: `GET /api/v1/items/${i % 50}`,
      kind: 2,
      startTimeUnixNano: '1700000000000000000',
      endTimeUnixNano: '1700000000001000000',
      attributes: [
        { key: 'http.method', value: { stringValue: 'GET' } },
        { key: 'http.route', value: { stringValue: '/api/v1/items/:id' } },
        { key: 'http.status_code', value: { intValue: '200' } },
      ],
    });
  }
  const json = {
    resourceSpans: [
      { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bench' } }] }, scopeSpans: [{ scope: { name: 'bench' }, spans }] },
    ],
  };
  return requestFromJson('traces', JSON.stringify(json));
}

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
const requests = Array.from({ length: 16 }, (_, i) => request(i));
const rows = [];
if (metricsOnly) {
  await metricsRows();
  sink.disconnect();
  process.exit(0);
}
// Two rounds, alternating, so both variants see the same machine load.
for (let round = 0; round < (gatewayOnly ? 0 : 2); round++) {
  for (const [name, factory, raw] of variants) {
    const issues = [];
    const cfg = factory.config.parse(raw, [], issues);
    if (issues.length) throw new Error(JSON.stringify(issues));
    const telemetry = new Telemetry();
    const id = { type: factory.type, name: '', id: factory.type };
    const exp = factory.create({ id, kind: 'exporter', logger: silentLogger, telemetry }, cfg);
    await exp.start();
    const before = await stats();
    let spans = 0;
    let stop = false;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const worker = async (w) => {
      for (let i = w; !stop; i += inflight) {
        await exp.consume(new Payload('traces', requests[i % requests.length]));
        spans += spansPerRequest;
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
    rows.push({
      round,
      name,
      spansPerSec: spans / wall,
      spansPerCpuSec: spans / cpuSec,
      cores: cpuSec / wall,
      sinkRequests: after.requests - before.requests,
      sinkMB: (after.bytes - before.bytes) / 1e6,
    });
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

/** A metrics request: one resource and scope, 100 monotonic sums of 10 points (host x code attributes). */
function metricsRequest(seed) {
  const metrics = [];
  for (let m = 0; m < 100; m++) {
    const dataPoints = [];
    for (let p = 0; p < 10; p++)
      dataPoints.push({
        attributes: [
          { key: 'host', value: { stringValue: `host-${p % 5}` } },
          { key: 'http.status_code', value: { intValue: String(200 + (p >> 2)) } },
        ],
        startTimeUnixNano: '1700000000000000000',
        timeUnixNano: String(1700000000000000000n + BigInt(seed)),
        asInt: String(seed * 10 + p),
      });
    metrics.push({ name: `http.server.requests.${m}`, unit: '{request}', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints } });
  }
  const json = {
    resourceMetrics: [
      { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bench' } }] }, scopeMetrics: [{ scope: { name: 'bench' }, metrics }] },
    ],
  };
  return requestFromJson('metrics', JSON.stringify(json));
}

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
    for (const [name, factory, raw] of metricVariants) {
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
          await exp.consume(new Payload('metrics', reqs[i % reqs.length]));
          n += points;
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
      out.push({
        round,
        name,
        perSec: n / wall,
        perCpuSec: n / cpuSec,
        cores: cpuSec / wall,
        sinkRequests: after.requests - before.requests,
        sinkMB: (after.bytes - before.bytes) / 1e6,
      });
    }
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
