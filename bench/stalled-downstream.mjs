#!/usr/bin/env node
// Where a flood's surplus at the sink comes from (issue 17, test/rss-flood.test.ts): the gRPC flood of that
// test (32 connections posting 2400-record ~1 MiB requests, somatic at memory_limit_mib 256 -> otlphttp with
// its default 5 s timeout) into a counting sink in a process of its own, with one process stopped
// (SIGSTOP) mid-flood for --stop-for and then continued: `sink` (a stalled downstream), `gateway` (a stalled
// gateway), or `none`. Each row counts the flood's three boundaries: what the client saw (acked, refused,
// unanswered), what the gateway counted (receiver accepted, exporter sent, exporter resent:
// gophership_exporter_resent_log_records) and what the sink holds, after the gateway drained. The sink's
// surplus over the acknowledged records must be at most the resent records (the test's bound).
//
//   node bench/stalled-downstream.mjs [--stop none,sink,gateway] [--stop-for 7s] [--duration 12s] [--no-results]
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadavg, scrape } from './lib/measure.mjs';
import { freePort, ROOT, startGateway, startSinkProc } from './lib/procs.mjs';
import { appendResults, commandLine, fmt, machineBlock, stamp, table } from './lib/report.mjs';

const { floodBody, runFlood } = await import(join(ROOT, 'dist/src/tools/loadgen/index.js'));

const { values } = parseArgs({
  options: {
    stop: { type: 'string', default: 'none,sink,gateway' },
    'stop-for': { type: 'string', default: '7s' },
    duration: { type: 'string', default: '12s' },
    'no-results': { type: 'boolean', default: false },
  },
});
const seconds = (v) => Number(v.replace(/s$/, '')) * 1000;
const RECORDS = 2400;
const STOP_AFTER_MS = 3000;
const stopForMs = seconds(values['stop-for']);
const durationMs = seconds(values.duration);

async function runOne(stop) {
  const sink = await startSinkProc({ grpc: false, track: false });
  const dir = await mkdtemp(join(os.tmpdir(), 'gophership-stalled-'));
  const grpcPort = await freePort();
  const metricsPort = await freePort();
  const config = {
    receivers: { otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${grpcPort}` } } } },
    processors: { somatic: { memory_limit_mib: 256, wal: { directory: join(dir, 'somatic') } } },
    exporters: { otlphttp: { endpoint: sink.httpUrl, compression: 'none' } },
    service: {
      pipelines: { logs: { receivers: ['otlp'], processors: ['somatic'], exporters: ['otlphttp'] } },
      telemetry: { logs: { level: 'info' }, metrics: { address: `127.0.0.1:${metricsPort}` } },
    },
  };
  const gw = await startGateway(config);
  const victim = stop === 'sink' ? sink.pid : stop === 'gateway' ? gw.pid : undefined;
  const pause = (async () => {
    if (victim === undefined) return;
    await sleep(STOP_AFTER_MS);
    process.kill(victim, 'SIGSTOP');
    await sleep(stopForMs);
    process.kill(victim, 'SIGCONT');
  })();
  const r = await runFlood({ url: `grpc://127.0.0.1:${grpcPort}`, body: floodBody(RECORDS), records: RECORDS, connections: 32, durationMs });
  await pause;
  const metrics = () => scrape(`http://127.0.0.1:${metricsPort}/metrics`, 5000);
  const sinkRecords = async () => (await sink.stats()).totals.records;
  // Drained: every record the receiver took sent, the queue empty, the sink's count steady for 2 s.
  let last = -1;
  for (let steady = 0, end = Date.now() + 90_000; Date.now() < end && steady < 2; await sleep(1000)) {
    const n = await sinkRecords();
    const m = await metrics();
    const idle = m.get('otelcol_exporter_queue_size') === 0 && m.get('otelcol_exporter_sent_log_records') >= m.get('otelcol_receiver_accepted_log_records');
    steady = n === last && idle ? steady + 1 : 0;
    last = n;
  }
  const m = await metrics();
  const delivered = await sinkRecords();
  await gw.stop();
  await sink.stop();
  await rm(dir, { recursive: true, force: true });
  return {
    stop: victim === undefined ? 'none' : `${stop} for ${values['stop-for']}`,
    acked: r.ackedRecords,
    refused: r.refusedRecords,
    unanswered: r.unansweredRecords,
    accepted: m.get('otelcol_receiver_accepted_log_records') ?? 0,
    sent: m.get('otelcol_exporter_sent_log_records') ?? 0,
    resent: m.get('gophership_exporter_resent_log_records') ?? 0,
    resentRequests: m.get('gophership_exporter_resent_requests') ?? 0,
    delivered,
    surplus: delivered - r.ackedRecords,
  };
}

const loadBefore = loadavg();
const rows = [];
for (const stop of values.stop.split(',')) {
  const row = await runOne(stop);
  console.error(`[stalled-downstream] ${row.stop}: acked ${row.acked}, resent ${row.resent}, sink surplus ${row.surplus}`);
  rows.push(row);
}
const md = [
  `## ${stamp()} — stalled-downstream: the flood's surplus at the sink against the exporter's counted resends`,
  '',
  `Command: \`${commandLine()}\``,
  '',
  machineBlock(loadBefore, loadavg()),
  '',
  `The gRPC flood of test/rss-flood.test.ts for ${values.duration} (somatic -> otlphttp, timeout 5 s) into a sink process; the named process ` +
    `is stopped ${STOP_AFTER_MS / 1000} s in, for ${values['stop-for']}. Surplus = sink records - acknowledged records; it must not exceed the resent records.`,
  '',
  table(
    [
      ['stopped', 'stop', 'l'],
      ['client acked', (x) => fmt.int(x.acked)],
      ['client refused', (x) => fmt.int(x.refused)],
      ['client unanswered', (x) => fmt.int(x.unanswered)],
      ['receiver accepted', (x) => fmt.int(x.accepted)],
      ['exporter sent', (x) => fmt.int(x.sent)],
      ['exporter resent (requests)', (x) => `${fmt.int(x.resent)} (${x.resentRequests})`],
      ['sink', (x) => fmt.int(x.delivered)],
      ['surplus', (x) => fmt.int(x.surplus)],
      ['surplus within resent', (x) => (x.surplus >= 0 && x.surplus <= x.resent + x.unanswered ? 'yes' : '**NO**')],
    ],
    rows,
  ),
  '',
].join('\n');
console.log(md);
if (!values['no-results']) await appendResults(md);
