#!/usr/bin/env node
// Where a flood's memory goes (issue 17): the flood of test/rss-flood.test.ts (32 connections posting
// ~1 MiB requests at memory_limit_mib 256) against a gateway whose every thread reports its own isolate's
// memory every 50 ms (bench/lib/memory-probe.cjs), VmRSS sampled every 100 ms. Variants: `plain`
// (somatic -> otlphttp) and `processors` (somatic -> resourcedetection -> resource -> attributes -> batch
// -> otlphttp into a sink answering after 200 ms). With --baseline DIR each row also runs on the build in
// DIR (bin/ + dist/), right after the current one: an A/B in one run.
//
// At the peak VmRSS sample the row splits it: the V8 heaps of all threads (young generations included), the
// event loop's and the workers' external memory, and the rest (code, allocator, sockets). --node-args
// passes flags to the gateway's node (e.g. --max-semi-space-size=2); --worker-threads sets
// service.processing.worker_threads.
//
//   node bench/rss-breakdown.mjs [--rounds 2] [--duration 10s] [--variant plain,processors] [--baseline DIR]
//     [--node-args '--flag ...'] [--worker-threads auto|N] [--no-results]
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuOf, loadavg, memOf, scrape } from './lib/measure.mjs';
import { freePort, ROOT, BENCH_DIR, startGateway } from './lib/procs.mjs';
import { appendResults, commandLine, fmt, machineBlock, stamp, table } from './lib/report.mjs';

const { floodBody, runFlood } = await import(join(ROOT, 'dist/src/tools/loadgen/index.js'));
const { startSink } = await import(join(ROOT, 'dist/src/tools/sink/index.js'));

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    duration: { type: 'string', default: '10s' },
    variant: { type: 'string', default: 'plain,processors' },
    baseline: { type: 'string' },
    'node-args': { type: 'string', default: '' },
    'worker-threads': { type: 'string' },
    /** Prints each run's last second up to its peak sample, thread by thread (a diagnosis aid). */
    timeline: { type: 'boolean', default: false },
    'no-results': { type: 'boolean', default: false },
  },
});
const LIMIT_MIB = 256;
const RECORDS = 2400;
const durationMs = Number(values.duration.replace(/s$/, '')) * 1000;
const builds = [{ name: 'current', root: ROOT }, ...(values.baseline ? [{ name: `baseline (${values.baseline})`, root: values.baseline }] : [])];
const PROBE = join(BENCH_DIR, 'lib', 'memory-probe.cjs');
const PROCESSORS = {
  resourcedetection: { detectors: ['env', 'system'] },
  resource: { attributes: [{ key: 'deployment.environment', value: 'flood', action: 'upsert' }] },
  attributes: { actions: [{ key: 'gophership.flood', value: 'yes', action: 'insert' }] },
  batch: {},
};
/** RssAnon of a process (anonymous pages: heaps, buffers, allocator), bytes. */
function rssAnonOf(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^RssAnon:\s+(\d+)/m)?.[1] ?? NaN) * 1024;
  } catch {
    return NaN;
  }
}
/**
 * Resident MiB by kind of mapping (/proc/<pid>/smaps): the main allocator arena ([heap]), other
 * allocator arenas (64 MiB-aligned reservations), files, and other anonymous mappings (V8 pages,
 * mmapped allocations, thread stacks).
 */
function mapsOf(pid) {
  const out = { heap: 0, arenas: 0, file: 0, anon: 0, anonLarge: 0 };
  try {
    let kind = 'anon';
    for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
      const m = line.match(/^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \d+\s*(.*)$/);
      if (m) {
        const size = parseInt(m[2], 16) - parseInt(m[1], 16);
        const name = m[3];
        kind = name === '[heap]' ? 'heap' : name.startsWith('/') ? 'file' : size >= 32 * 2 ** 20 ? 'arenas' : size >= 1024 * 1024 ? 'anonLarge' : 'anon';
        continue;
      }
      const r = line.match(/^Rss:\s+(\d+) kB/);
      if (r) out[kind] += Number(r[1]) / 1024;
    }
  } catch {
    /* the process is gone */
  }
  for (const k of Object.keys(out)) out[k] = Math.round(out[k]);
  return out;
}

async function runOne(build, variant, round) {
  const processors = variant === 'processors';
  const sink = await startSink({ grpc: false, track: false, replyDelayMs: processors ? 200 : 0 });
  const dir = await mkdtemp(join(os.tmpdir(), 'gophership-rss-breakdown-'));
  const port = await freePort();
  const metricsPort = await freePort();
  const config = {
    receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${port}` } } } },
    processors: { somatic: { memory_limit_mib: LIMIT_MIB, wal: { directory: join(dir, 'somatic') } }, ...(processors ? PROCESSORS : {}) },
    exporters: { otlphttp: { endpoint: sink.httpUrl, compression: 'none' } },
    service: {
      pipelines: { logs: { receivers: ['otlp'], processors: ['somatic', ...(processors ? Object.keys(PROCESSORS) : [])], exporters: ['otlphttp'] } },
      telemetry: { logs: { level: 'info' }, metrics: { address: `127.0.0.1:${metricsPort}` } },
      ...(values['worker-threads'] ? { processing: { worker_threads: values['worker-threads'] } } : {}),
    },
  };
  process.env.GOPHERSHIP_MEMORY_PROBE = join(dir, 'probe');
  const nodeArgs = ['--require', PROBE, ...values['node-args'].split(' ').filter(Boolean)];
  const gw = await startGateway(config, { nodeArgs, root: build.root });
  const samples = [];
  const times = [];
  const anon = [];
  let peakMaps;
  const timer = setInterval(() => {
    const rss = memOf(gw.pid).rss;
    if (values.timeline && rss > Math.max(0, ...samples)) peakMaps = mapsOf(gw.pid);
    samples.push(rss);
    if (values.timeline) anon.push(rssAnonOf(gw.pid));
    times.push(Date.now());
  }, 100);
  const cpu0 = cpuOf(gw.pid);
  const r = await runFlood({ url: `http://127.0.0.1:${port}/v1/logs`, body: floodBody(RECORDS), records: RECORDS, connections: 32, durationMs });
  for (const end = Date.now() + 60_000; sink.stats().totals.records < r.ackedRecords && Date.now() < end;) await sleep(200);
  clearInterval(timer);
  const cpu = cpuOf(gw.pid) - cpu0;
  const { hwm } = memOf(gw.pid);
  const m = await scrape(`http://127.0.0.1:${metricsPort}/metrics`, 2000);
  await gw.stop();
  const delivered = sink.stats().totals.records;
  await sink.close();
  const threads = [];
  for (const f of (await readdir(dir)).filter((n) => n.startsWith('probe.'))) {
    const lines = (await readFile(join(dir, f), 'utf8'))
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    // The thread's last report at or before `t` (its isolate's memory then).
    const at = (t) => lines.findLast((l) => l.t <= t) ?? lines[0] ?? {};
    threads.push({ id: Number(f.split('.')[1]), max: (k) => Math.max(0, ...lines.map((l) => l[k])), at });
  }
  await rm(dir, { recursive: true, force: true });
  const main = threads.find((t) => t.id === 0);
  const workers = threads.filter((t) => t.id !== 0);
  const over = samples.filter((s) => s > LIMIT_MIB * 2 ** 20).length;
  const peak = Math.max(...samples);
  const tPeak = times[samples.indexOf(peak)];
  const sumAt = (list, k) => list.reduce((a, t) => a + (t.at(tPeak)[k] ?? 0), 0);
  const atPeak = {
    heaps: sumAt(threads, 'heap'),
    young: sumAt(threads, 'young'),
    mainExternal: main ? (main.at(tPeak).external ?? 0) : 0,
    workerExternal: sumAt(workers, 'external'),
  };
  atPeak.rest = peak - atPeak.heaps - atPeak.mainExternal - atPeak.workerExternal;
  if (values.timeline) {
    const mib = (b) => (b / 2 ** 20).toFixed(0).padStart(4);
    console.error(`[timeline] ${variant} round ${round}: resident by mapping at the peak: ${JSON.stringify(peakMaps)}`);
    console.error(`[timeline] ${variant} round ${round}: t(ms) rss anon | main heap young ext ab | workers heap young ext`);
    for (let i = 0; i < samples.length; i++) {
      if (times[i] < tPeak - 1000 || times[i] > tPeak + 300) continue;
      const m = main ? main.at(times[i]) : {};
      const w = (k) => workers.reduce((a, t) => a + (t.at(times[i])[k] ?? 0), 0);
      console.error(
        `[timeline] ${String(times[i] - tPeak).padStart(6)} ${mib(samples[i])} ${mib(anon[i])} | ${mib(m.heap ?? 0)} ${mib(m.young ?? 0)} ${mib(m.external ?? 0)} ${mib(m.arrayBuffers ?? 0)} | ${mib(w('heap'))} ${mib(w('young'))} ${mib(w('external'))}`,
      );
    }
  }
  return {
    build: build.name,
    variant,
    round,
    acked: r.ackedRecords,
    lost: r.ackedRecords - delivered,
    // A negative "not delivered" (a surplus at the sink) is explained by these: records the exporter sent again after a
    // failed or timed-out attempt (a counter with no series yet reads 0; so does a build from before it existed).
    resent: m.get('gophership_exporter_resent_log_records') ?? 0,
    refused: r.refused,
    peak,
    atPeak,
    hwm,
    over: `${over} of ${samples.length}`,
    mainExternal: main?.max('external'),
    workerExternal: workers.length ? Math.max(...workers.map((w) => w.max('external'))) : NaN,
    young: threads.reduce((a, t) => a + t.max('young'), 0),
    cpuPerM: (cpu / r.ackedRecords) * 1e6,
    gcs: (m.get('gophership_somatic_garbage_collections_total') ?? 0) + (m.get('gophership_somatic_stall_collections_total') ?? 0),
  };
}

const loadBefore = loadavg();
const rows = [];
for (let round = 1; round <= Number(values.rounds); round++) {
  for (const variant of values.variant.split(',')) {
    for (const build of builds) {
      const row = await runOne(build, variant, round);
      console.error(`[rss-breakdown] ${row.build} ${variant} round ${round}: peak ${fmt.mib(row.peak)}, VmHWM ${fmt.mib(row.hwm)}, ${row.over} over`);
      rows.push(row);
    }
  }
}
const md = [
  `## ${stamp()} — rss-breakdown`,
  '',
  `Command: \`${commandLine()}\``,
  '',
  machineBlock(loadBefore, loadavg()),
  '',
  `Flood: 32 connections posting ${RECORDS}-record (~1 MiB) OTLP/HTTP requests for ${values.duration} at memory_limit_mib ${LIMIT_MIB}; VmRSS every 100 ms; ` +
    'each thread of the gateway reports its isolate every 50 ms (bench/lib/memory-probe.cjs). External = ArrayBuffers an isolate references, dead or alive (only its own GC frees them).',
  '',
  table(
    [
      [
        'build',
        (x) => x.build + (values['node-args'] ? ` ${values['node-args']}` : '') + (values['worker-threads'] ? ` threads ${values['worker-threads']}` : ''),
        'l',
      ],
      ['variant', 'variant', 'l'],
      ['round', 'round'],
      ['acked records', (x) => fmt.int(x.acked)],
      ['not delivered', (x) => fmt.int(x.lost)],
      ['exporter resent', (x) => fmt.int(x.resent)],
      ['refusals', (x) => fmt.int(x.refused)],
      ['peak VmRSS sample', (x) => fmt.mib(x.peak)],
      ['VmHWM', (x) => fmt.mib(x.hwm)],
      [`samples over ${LIMIT_MIB} MiB`, 'over', 'l'],
      ['event loop external max', (x) => fmt.mib(x.mainExternal)],
      ['worker external max', (x) => fmt.mib(x.workerExternal)],
      ['young generations (sum of max)', (x) => fmt.mib(x.young)],
      ['at peak: V8 heaps (young)', (x) => `${fmt.mib(x.atPeak.heaps)} (${fmt.mib(x.atPeak.young)})`],
      ['at peak: external loop / workers', (x) => `${fmt.mib(x.atPeak.mainExternal)} / ${fmt.mib(x.atPeak.workerExternal)}`],
      ['at peak: rest', (x) => fmt.mib(x.atPeak.rest)],
      ['gateway CPU s per M records', (x) => fmt.ms(x.cpuPerM)],
      ['forced GCs', 'gcs'],
    ],
    rows,
  ),
  '',
].join('\n');
console.log(md);
if (!values['no-results']) await appendResults(md);
