// The light load mode (`npm run bench -- --light`): the server is measured, not the client. One
// pre-encoded request (no per-record ids) posted over and over by bench/lib/light-client.mjs into the
// server under test, whose downstream is a counting, non-tracking sink; loss is checked by counts (records
// the client saw acknowledged, warm-up included, against records the sink received after the gateway
// drained and stopped). Every row reports the server's CPU seconds per million records beside records/s:
// the efficiency figure that survives a loaded machine. A verdict against a target is printed only when
// the client used less than half a core (otherwise the client, not the server, may have set the pace).
// Rows run in rounds, every row once per round in order, so bursts of other load hit them alike.
import { fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { TemplateParts, RequestTemplate } from '../../dist/src/tools/loadgen/templates.js';
import { BENCH_DIR, startForwarder, startGateway, startSinkProc } from '../lib/procs.mjs';
import { cpuOf, loadavg, memOf } from '../lib/measure.mjs';
import { gatewayConfig } from '../lib/throughput.mjs';
import { fmt, table } from '../lib/report.mjs';
import { greenProcessorsConfig } from './green-processors.mjs';
import { PASSTHROUGH_BATCH } from './passthrough.mjs';

/** Throughput ratio to the forwarder, and the gateway's CPU per record at most this many times the forwarder's. */
export const LIGHT_TARGETS = { 'passthrough-http': 0.8, 'zone-yellow': 0.8, 'zone-red': 0.6, 'passthrough-grpc': 0.8 };
export const CPU_PER_RECORD_TARGET = 1.3;
/** A client busier than this may be what bounds the row: no verdict then. */
const CLIENT_CORES_LIMIT = 0.5;
/** Above this 1-minute load average per core other jobs, not the server, set the pace: no verdict then. */
const LOAD_PER_CORE_LIMIT = 2;

/** The exporter settings of the --ack-after-export rows: no sending queue, so a request is answered after export. */
const SYNC_EXPORT = { sending_queue: { enabled: false } };

/** A row's name without its variant (`@baseline`, `@ack-after-export`): the row its targets are read for. */
const rowKind = (name) => name.replace(/@.*$/, '');

/** Somatic forced into `zone` in front of the three processors Yellow skips, then batch; the WAL fsyncs every 10 ms. */
function forcedZone(zone) {
  const p = greenProcessorsConfig();
  p.somatic = {
    force_zone: zone,
    memory_limit_mib: 1024,
    wal: { directory: './data/somatic', max_size_mib: 65536, fsync: 'interval', fsync_interval: '10ms' },
  };
  return p;
}

export const LIGHT_ROWS = [
  { name: 'forwarder-http', protocol: 'http', path: 'light client -> forwarder.mjs -> sink (http)' },
  { name: 'passthrough-http', protocol: 'http', processors: PASSTHROUGH_BATCH, path: 'light client -> gateway [batch] -> otlphttp -> sink' },
  {
    name: 'zone-yellow',
    protocol: 'http',
    processors: forcedZone('yellow'),
    path: 'light client -> gateway [somatic(yellow), resourcedetection, resource, attributes (skipped), batch] -> sink',
  },
  {
    name: 'forwarder-durable',
    protocol: 'http',
    durable: true,
    path: "light client -> forwarder.mjs --durable (O_DIRECT group commit, fdatasync per 10 ms or 1 MiB: Red's durability, no gateway)",
    red: true,
  },
  {
    name: 'zone-red',
    protocol: 'http',
    processors: forcedZone('red'),
    path: 'light client -> gateway [somatic(red) -> WAL, fsync 10 ms] (nothing reaches the sink while Red)',
    red: true,
  },
  { name: 'forwarder-grpc', protocol: 'grpc', path: 'light client -> forwarder.mjs (h2c) -> sink (grpc)' },
  { name: 'passthrough-grpc', protocol: 'grpc', processors: PASSTHROUGH_BATCH, path: 'light client -> gateway [batch] -> otlp exporter -> sink (grpc)' },
];

function runClient(options, onMeasuring) {
  const child = fork(join(BENCH_DIR, 'lib', 'light-client.mjs'), [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.on('message', (m) => (m.measuring ? onMeasuring() : resolve(m)));
    child.once('exit', (code) => code !== 0 && reject(new Error(`light client exited ${code}`)));
  });
}

/**
 * Counts the full GCs (mark-compacts) a gateway started with --trace-gc reports on its stdout. Request bodies
 * that outlive the young generation are freed only by a full GC, which their external memory then triggers:
 * full GCs per GiB moved is the figure that shows a hot path holding bodies too long (bench/RESULTS.md,
 * 2026-12-06: the memory queue's consumers woken in turn, 17 per GiB instead of ~1).
 */
export function fullGcCounter(stdout) {
  const counter = { count: 0 };
  let tail = '';
  stdout.on('data', (d) => {
    const lines = (tail + d.toString()).split('\n');
    tail = lines.pop();
    for (const l of lines) if (l.includes('Mark-Compact')) counter.count++;
  });
  return counter;
}

/** One row, one round: server up, client run, server stopped (drained), counts compared. */
async function runRow(row, { bodyFile, bodyBytes, records, opts }) {
  const sink = await startSinkProc({ track: false });
  let server;
  let url;
  let fullGcs;
  let durableDir;
  try {
    if (row.processors) {
      const g = await gatewayConfig({ protocol: row.protocol, sink, processors: row.processors });
      g.config.service.telemetry = { logs: { level: 'info' }, metrics: { level: 'none' } };
      for (const exporter of Object.values(row.exporter ? g.config.exporters : {})) Object.assign(exporter, row.exporter);
      server = await startGateway(g.config, { cpuProf: opts.cpuProf, profileDir: opts.profileDir, root: row.root, nodeArgs: ['--trace-gc'] });
      fullGcs = fullGcCounter(server.child.stdout);
      url = row.protocol === 'grpc' ? `http://${g.endpoint}` : `${g.endpoint}/v1/logs`;
    } else if (row.durable) {
      durableDir = await mkdtemp(join(os.tmpdir(), 'gs-bench-durable-'));
      server = await startForwarder(undefined, 'http', { durableDir });
      url = `http://${server.address}/v1/logs`;
    } else {
      server = await startForwarder(row.protocol === 'grpc' ? sink.grpcTarget : sink.httpUrl, row.protocol);
      url = row.protocol === 'grpc' ? `http://${server.address}` : `http://${server.address}/v1/logs`;
    }
    const before = (await sink.stats()).totals.records;
    let cpu0;
    const t = {};
    const r = await runClient(
      { url, bodyFile, records, connections: opts.workers, durationMs: opts.durationMs, warmupMs: opts.warmupMs, protocol: row.protocol },
      () => {
        cpu0 = { server: cpuOf(server.pid), sink: cpuOf(sink.pid), fullGcs: fullGcs?.count };
        t.load = loadavg();
      },
    );
    const serverCpu = cpuOf(server.pid) - cpu0.server;
    const sinkCpu = cpuOf(sink.pid) - cpu0.sink;
    const gcs = fullGcs ? fullGcs.count - cpu0.fullGcs : undefined;
    const hwm = memOf(server.pid).hwm;
    const stopped = await server.stop();
    if (row.processors && stopped.code !== 0) throw new Error(`gateway exited with code ${stopped.code} after SIGTERM`);
    const delivered = (await sink.stats()).totals.records - before;
    const rate = r.records / r.seconds;
    return {
      recordsPerSec: rate,
      cpuPerM: serverCpu / (r.records / 1e6),
      fullGcsPerGiB: gcs === undefined ? undefined : gcs / ((r.requests * bodyBytes) / 2 ** 30),
      serverCores: serverCpu / r.seconds,
      clientCores: r.cpuSeconds / r.seconds,
      sinkCores: sinkCpu / r.seconds,
      p50: r.latenciesMs[0],
      p99: r.latenciesMs[1],
      failed: r.failed,
      refused: r.refused,
      unanswered: r.unanswered,
      hwm,
      acked: r.ackedTotal,
      // Red keeps what it acknowledged in its WAL (replayed once the zone falls, which a forced zone never does).
      lost: row.red ? undefined : Math.max(0, r.ackedTotal - delivered),
      load: t.load,
      profiles: stopped?.profiles,
    };
  } finally {
    await server?.stop().catch(() => {});
    await sink.stop();
    if (durableDir) await rm(durableDir, { recursive: true, force: true });
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Runs the light rows (all, or those named plus their forwarder) in rounds; returns {markdown, failed}. */
export async function runLight(names, opts, log) {
  const wanted = new Set(names.length ? names : LIGHT_ROWS.map((r) => r.name));
  for (const n of wanted)
    if (!LIGHT_ROWS.some((r) => r.name === n)) throw new Error(`unknown light row "${n}"; known: ${LIGHT_ROWS.map((r) => r.name).join(', ')}`);
  for (const r of LIGHT_ROWS) if (wanted.has(r.name)) wanted.add(`forwarder-${r.protocol}`);
  // Red is also read against the minimal forwarder with its durability.
  if (wanted.has('zone-red')) wanted.add('forwarder-durable');
  // --baseline DIR: every gateway row also runs on that build, right after this one (same round, same sink
  // setup), so a change is A/B'd side by side; its ratios are against the same round's forwarder.
  // --ack-after-export: every gateway row that exports also runs with its exporter's sending queue off, so
  // it answers its client once the sink answered, as the forwarder does (the queue answers once queued).
  const rows = LIGHT_ROWS.filter((r) => wanted.has(r.name)).flatMap((r) => [
    r,
    ...(opts.baseline && r.processors ? [{ ...r, name: `${r.name}@baseline`, root: opts.baseline, path: `${r.path} (build in ${opts.baseline})` }] : []),
    ...(opts.ackAfterExport && r.processors && !r.red
      ? [{ ...r, name: `${r.name}@ack-after-export`, exporter: SYNC_EXPORT, path: `${r.path} (exporter's sending queue off: answered once the sink answered)` }]
      : []),
  ]);
  const dir = await mkdtemp(join(os.tmpdir(), 'gs-bench-light-'));
  const bodyFile = join(dir, 'body.pb');
  // The workload of the verifying mode (same record size), encoded once; the sequence attribute stays in
  // every record but is never read (the sink does not track).
  const parts = new TemplateParts({ signal: 'logs', encoding: 'proto', runId: 'bench-light', bodySize: opts.bodySize, attributes: 4 });
  const body = new RequestTemplate(parts, 0, opts.batch).buf;
  await writeFile(bodyFile, body);
  const runs = new Map(rows.map((r) => [r.name, []]));
  const errors = [];
  try {
    for (let round = 1; round <= opts.repeat; round++) {
      for (const row of rows) {
        log(`${row.name} (light, round ${round}/${opts.repeat}, load ${loadavg()})`);
        try {
          const res = await runRow(row, { bodyFile, bodyBytes: body.length, records: opts.batch, opts });
          runs.get(row.name).push(res);
          log(
            `  -> ${fmt.rate(res.recordsPerSec)} records/s, server ${res.cpuPerM.toFixed(3)} CPU s/M, client ${fmt.cores(res.clientCores)} cores${res.lost ? `, ${res.lost} LOST` : ''}`,
          );
        } catch (e) {
          errors.push(`${row.name} round ${round}: ${e.message}`);
          log(`  -> FAILED: ${e.stack ?? e.message}`);
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const sum = new Map();
  for (const row of rows) {
    const rs = runs.get(row.name);
    if (!rs.length) continue;
    const fwd = runs.get(`forwarder-${row.protocol}`) ?? [];
    // Per-round ratios against the same round's forwarder, then their median.
    const pairs = rs.map((x, i) => [x, fwd[i]]).filter(([, f]) => f);
    sum.set(row.name, {
      row,
      rounds: rs.length,
      recordsPerSec: median(rs.map((x) => x.recordsPerSec)),
      bytesPerSec: (median(rs.map((x) => x.recordsPerSec)) * body.length) / opts.batch,
      range: [Math.min(...rs.map((x) => x.recordsPerSec)), Math.max(...rs.map((x) => x.recordsPerSec))],
      cpuPerM: median(rs.map((x) => x.cpuPerM)),
      fullGcsPerGiB: row.processors ? median(rs.map((x) => x.fullGcsPerGiB)) : undefined,
      serverCores: median(rs.map((x) => x.serverCores)),
      clientCores: median(rs.map((x) => x.clientCores)),
      clientMax: Math.max(...rs.map((x) => x.clientCores)),
      sinkCores: median(rs.map((x) => x.sinkCores)),
      p50: median(rs.map((x) => x.p50)),
      p99: median(rs.map((x) => x.p99)),
      hwm: Math.max(...rs.map((x) => x.hwm)),
      failed: rs.reduce((a, x) => a + x.failed, 0),
      refused: rs.reduce((a, x) => a + x.refused, 0),
      unanswered: rs.reduce((a, x) => a + x.unanswered, 0),
      acked: rs.reduce((a, x) => a + x.acked, 0),
      lost: row.red ? undefined : rs.reduce((a, x) => a + x.lost, 0),
      vsFwd: median(pairs.map(([x, f]) => x.recordsPerSec / f.recordsPerSec)),
      cpuVsFwd: median(pairs.map(([x, f]) => x.cpuPerM / f.cpuPerM)),
      perRound: pairs.map(([x, f]) => x.recordsPerSec / f.recordsPerSec),
      load: rs[0].load,
      loadMax: Math.max(...rs.map((x) => Number.parseFloat(x.load))),
      profiles: rs.flatMap((x) => x.profiles ?? []),
    });
  }
  const md = [
    `Light mode: one pre-encoded request of ${opts.batch} records (${fmt.int(body.length)} bytes, no per-record ids), bench/lib/light-client.mjs from ${opts.workers} connections (closed loop), ` +
      `${opts.warmupMs / 1000}s warm-up + ${opts.durationMs / 1000}s measured, ${opts.repeat} round(s), medians; a counting sink (no tracking); loss by counts after the gateway drained and stopped. ` +
      `"server CPU s / M records" = user+system seconds of the forwarder or gateway process (/proc/<pid>/stat) per million records acknowledged; ` +
      `"full GCs / GiB" = the gateway's mark-compacts (--trace-gc) per GiB of request bodies acknowledged. ` +
      `A verdict is given only where the client used less than ${CLIENT_CORES_LIMIT} cores in every round and the 1-minute load average stayed under ${LOAD_PER_CORE_LIMIT} per core.`,
    '',
    table(
      [
        ['row', (s) => `\`${s.row.name}\``, 'l'],
        ['path', (s) => s.row.path, 'l'],
        ['records/s (median)', (s) => fmt.int(s.recordsPerSec)],
        ['range', (s) => `${fmt.rate(s.range[0])}–${fmt.rate(s.range[1])} (${s.rounds})`],
        ['server CPU s / M records', (s) => s.cpuPerM.toFixed(3)],
        ['server full GCs / GiB', (s) => (s.fullGcsPerGiB === undefined ? 'n/a' : s.fullGcsPerGiB.toFixed(1))],
        ['vs forwarder (records/s)', (s) => fmt.ratio(s.vsFwd)],
        ['vs forwarder (CPU / record)', (s) => fmt.ratio(s.cpuVsFwd)],
        ['cores: server / client / sink', (s) => `${fmt.cores(s.serverCores)} / ${fmt.cores(s.clientCores)} / ${fmt.cores(s.sinkCores)}`],
        ['p50 / p99 ms', (s) => `${fmt.ms(s.p50)} / ${fmt.ms(s.p99)}`],
        ['server peak RSS', (s) => fmt.mib(s.hwm)],
        [
          'loss (by counts)',
          (s) => (s.lost === undefined ? 'n/a (kept in the WAL)' : `${s.lost ? `**${fmt.int(s.lost)} LOST**` : '0 lost'} of ${fmt.int(s.acked)}`),
        ],
        ['refused / unanswered', (s) => `${fmt.int(s.refused)} / ${fmt.int(s.unanswered)}`],
        ['load avg', (s) => s.load, 'l'],
      ],
      [...sum.values()],
    ),
    '',
    ...[...sum.values()]
      .filter((s) => LIGHT_TARGETS[rowKind(s.row.name)])
      .map((s) => {
        const target = LIGHT_TARGETS[rowKind(s.row.name)];
        const head = `${s.row.name}: ${fmt.ratio(s.vsFwd)} of forwarder-${s.row.protocol} (per round ${s.perRound.map(fmt.ratio).join(', ')}; target >= ${target}), CPU per record ${fmt.ratio(s.cpuVsFwd)}x the forwarder's (target <= ${CPU_PER_RECORD_TARGET}x)`;
        if (s.clientMax >= CLIENT_CORES_LIMIT) return `${head} — no verdict: the client used up to ${fmt.cores(s.clientMax)} cores.`;
        if (s.loadMax > LOAD_PER_CORE_LIMIT * os.availableParallelism())
          return `${head} — no verdict: the machine was loaded by other jobs (1-minute load average up to ${s.loadMax.toFixed(1)} on ${os.availableParallelism()} cores).`;
        const short = [];
        if (s.vsFwd < target) short.push('throughput');
        if (!s.row.red && s.cpuVsFwd > CPU_PER_RECORD_TARGET) short.push('CPU per record');
        return `${head} — ${short.length ? `**below the target** (${short.join(', ')})` : 'meets the target'}.`;
      }),
    ...[...sum.values()]
      .filter((s) => rowKind(s.row.name) === 'zone-red' && sum.has('forwarder-durable'))
      .map((s) => {
        const d = runs.get('forwarder-durable');
        const pairs = runs
          .get(s.row.name)
          .map((x, i) => [x, d[i]])
          .filter(([, f]) => f);
        const per = pairs.map(([x, f]) => x.recordsPerSec / f.recordsPerSec);
        const cpu = median(pairs.map(([x, f]) => x.cpuPerM / f.cpuPerM));
        return `${s.row.name}: ${fmt.ratio(median(per))} of forwarder-durable, the minimal forwarder with Red's durability (per round ${per.map(fmt.ratio).join(', ')}), CPU per record ${fmt.ratio(cpu)}x its.`;
      }),
    ...(errors.length ? ['', 'Failed: ' + errors.join('; ')] : []),
  ].join('\n');
  return { markdown: md, failed: errors.length, summary: sum };
}
