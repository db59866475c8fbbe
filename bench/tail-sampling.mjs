#!/usr/bin/env node
// Benchmark: tail_sampling at 100k spans/s with a 10 s decision_wait through a real gateway (OTLP/HTTP
// receiver, somatic processor with a memory limit, otlphttp exporter to a counting sink), beside the same
// pipeline without tail_sampling in the same run. Reported per variant: spans/s offered and accepted,
// gateway CPU s per million spans, RSS sampled every 250 ms against the memory limit (peak, samples over),
// the most bytes tail_sampling held, traces sampled, and how late each trace reached the sink after
// first send + decision_wait (p50 / p99 / max; for the baseline: plain delivery delay).
// Traces: 10 spans, split over two consecutive requests of 1000 spans; 1 % have an ERROR span.
// Policies: status_code ERROR, probabilistic 10 %.
//   npm run build && node bench/tail-sampling.mjs [--duration 30s] [--rate 100000] [--wait 10s] [--memory-mib 1024] [--baseline DIR]
// --baseline DIR: another build (a directory with bin/ and dist/, e.g. a checkout of main after `npm ci`)
// adds a tail_sampling row of that build in the same run (A/B).
import { fork } from 'node:child_process';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { BENCH_DIR, freePort, startGateway } from './lib/procs.mjs';
import { cpuOf, loadavg, memOf, scrape } from './lib/measure.mjs';
import { appendResults, commandLine, fmt, machineBlock, stamp, table } from './lib/report.mjs';
import { durationFlag } from './lib/flags.mjs';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '30s' },
    rate: { type: 'string', default: '100000' },
    wait: { type: 'string', default: '10s' },
    'memory-mib': { type: 'string', default: '1024' },
    'no-append': { type: 'boolean', default: false },
    baseline: { type: 'string' },
  },
});
const durationMs = durationFlag('duration', values.duration);
const waitMs = durationFlag('wait', values.wait);
const rate = Number(values.rate);
const memoryMib = Number(values['memory-mib']);
const spansPerRequest = 1000;

function child(script, args) {
  const c = fork(join(BENCH_DIR, 'lib', script), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () => new Promise((resolve, reject) => (c.once('message', resolve), c.once('exit', (code) => reject(new Error(`${script} exited (${code})`)))));
  return { c, next };
}

async function run(variant) {
  const sinkProc = child('trace-sink.mjs', []);
  const { url: sinkUrl } = await sinkProc.next();
  const httpPort = await freePort();
  const metricsPort = await freePort();
  const processors = { somatic: { memory_limit_mib: memoryMib } };
  if (variant.tail) {
    processors.tail_sampling = {
      decision_wait: `${waitMs}ms`,
      num_traces: Math.ceil((rate / 10) * (waitMs / 1000) * 2),
      policies: [
        { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
        { name: 'some', type: 'probabilistic', probabilistic: { sampling_percentage: 10 } },
      ],
    };
  }
  processors.batch = { send_batch_size: 8192, timeout: '200ms' };
  const gw = await startGateway(
    {
      receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${httpPort}` } } } },
      processors,
      exporters: { otlphttp: { endpoint: sinkUrl, compression: 'none' } },
      service: {
        telemetry: { metrics: { address: `127.0.0.1:${metricsPort}` } },
        pipelines: { traces: { receivers: ['otlp'], processors: Object.keys(processors), exporters: ['otlphttp'] } },
      },
    },
    variant.root ? { root: variant.root } : {},
  );
  const limit = memoryMib * 2 ** 20;
  const rss = [];
  let heldMax = 0;
  const zones = new Set();
  let sampler;
  let client;
  let cpu;
  let sink;
  let decided;
  try {
    sampler = setInterval(async () => {
      rss.push(memOf(gw.pid).rss);
      try {
        const m = await scrape(`http://127.0.0.1:${metricsPort}/metrics`, 1000);
        heldMax = Math.max(heldMax, m.get('gophership_processor_tail_sampling_held_bytes') ?? 0);
        zones.add(m.get('gophership_somatic_zone') ?? 0);
      } catch {
        /* a slow scrape is skipped */
      }
    }, 250);
    const cpu0 = cpuOf(gw.pid);
    const clientProc = child('trace-client.mjs', [
      JSON.stringify({ url: `http://127.0.0.1:${httpPort}`, rate, spans: spansPerRequest, spansPerTrace: 10, errorPercent: 1, durationMs, connections: 8 }),
    ]);
    client = await clientProc.next();
    // Every held trace is decided decision_wait after its first span: wait that long, and a little more.
    await new Promise((r) => setTimeout(r, (variant.tail ? waitMs : 0) + 3000));
    cpu = cpuOf(gw.pid) - cpu0;
    sinkProc.c.send({ cmd: 'stats', waitMs: variant.tail ? waitMs : 0 });
    sink = await sinkProc.next();
    if (variant.tail) {
      const m = await scrape(`http://127.0.0.1:${metricsPort}/metrics`, 5000);
      const at = (name, labels) => m.get(`${name}{${labels}}`) ?? 0;
      decided = {
        sampled: at('otelcol_processor_tail_sampling_global_count_traces_sampled', 'processor="tail_sampling",sampled="true"'),
        all: m.get('otelcol_processor_tail_sampling_global_count_traces_sampled') ?? 0,
        early: m.get('gophership_processor_tail_sampling_early_decisions') ?? 0,
        held: m.get('otelcol_processor_tail_sampling_sampling_traces_on_memory') ?? 0,
      };
    }
  } finally {
    clearInterval(sampler);
    await gw.stop();
    sinkProc.c.send({ cmd: 'close' });
  }
  return {
    name: variant.name,
    offered: client.spans / client.seconds,
    failed: client.failed,
    cpuPerM: cpu / (client.spans / 1e6),
    peakRss: Math.max(...rss),
    over: rss.filter((r) => r > limit).length,
    samples: rss.length,
    heldMax: variant.tail ? heldMax : NaN,
    spansOut: sink.spans,
    traces: sink.traces,
    late: sink.lateMs,
    decided,
    zones: [...zones]
      .sort()
      .map((z) => ['green', 'yellow', 'red'][z] ?? z)
      .join(', '),
  };
}

const loadBefore = loadavg();
const started = stamp();
const rows = [];
for (const variant of [
  { name: 'baseline: somatic + batch', tail: false },
  { name: `somatic + tail_sampling (wait ${values.wait}) + batch`, tail: true },
  ...(values.baseline ? [{ name: `the same, baseline build (${values.baseline})`, tail: true, root: values.baseline }] : []),
]) {
  process.stderr.write(`running ${variant.name}...\n`);
  rows.push(await run(variant));
}
const loadAfter = loadavg();

const out = table(
  [
    ['variant', 'name', 'l'],
    ['spans/s offered', (r) => fmt.rate(r.offered)],
    ['failed requests', (r) => fmt.int(r.failed)],
    ['zones seen', 'zones', 'l'],
    ['gateway CPU s / M spans', (r) => r.cpuPerM.toFixed(2)],
    ['peak RSS (limit ' + memoryMib + ' MiB)', (r) => fmt.mib(r.peakRss)],
    ['RSS samples over limit', (r) => `${r.over} / ${r.samples}`],
    ['tail_sampling held, max', (r) => (Number.isFinite(r.heldMax) ? fmt.mib(r.heldMax) : '-')],
    [
      'decided: sampled / all (early, still held)',
      (r) => (r.decided ? `${fmt.int(r.decided.sampled)} / ${fmt.int(r.decided.all)} (${fmt.int(r.decided.early)}, ${fmt.int(r.decided.held)})` : '-'),
    ],
    ['spans out', (r) => fmt.int(r.spansOut)],
    ['traces out', (r) => fmt.int(r.traces)],
    ['lateness ms p50 / p99 / max', (r) => r.late.map((x) => fmt.ms(x)).join(' / ')],
  ],
  rows,
);
const text = [
  `## tail_sampling at ${fmt.rate(rate)} spans/s, decision_wait ${values.wait} (issue 22), ${started}`,
  '',
  machineBlock(loadBefore, loadAfter),
  '',
  '```',
  `${commandLine()}`,
  '```',
  '',
  out,
  '',
  'Lateness: when a trace first reached the sink, after its first span was sent plus decision_wait (baseline: plain delivery delay, no wait).',
  'Expected: error traces (1 %) and a 10 % hash sample of the rest leave whole; nothing over the memory limit.',
  'A Red zone spills requests to the somatic WAL (acknowledged) and replays them later: their traces are decided decision_wait after the replay, so they show as late; traces still in the WAL or held at the end are not in "traces out".',
].join('\n');
console.log(text);
if (!values['no-append']) await appendResults(text);
