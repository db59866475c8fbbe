#!/usr/bin/env node
// kill -9 soak of the WAL sending queue: repeated trials, each a gateway (otlphttp exporter, WAL queue)
// under load, SIGKILLed at a random moment and restarted on the same WAL directory and ports while the
// load generator keeps retrying. The sink refuses a fifth of the requests, so the WAL always holds unsent
// data when the kill comes. After each trial the sink's independent id check must find every record the
// load generator saw acknowledged (duplicates allowed: at-least-once). Prints one row per trial and a
// summary; appends them to bench/RESULTS.md (unless --no-results). Exits 1 on any loss.
//
// Usage: npx tsc -p . && node bench/soak.mjs [--trials 50] [--trial-ms 2000] [--rate 15000] [--no-results]
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadavg } from './lib/measure.mjs';
import { runLoadgenProc, startGateway, startSinkProc } from './lib/procs.mjs';
import { appendResults, commandLine, fmt, machineBlock, stamp, table } from './lib/report.mjs';
import { gatewayConfig } from './lib/throughput.mjs';

const { values: args } = parseArgs({
  options: {
    trials: { type: 'string', default: '50' },
    'trial-ms': { type: 'string', default: '2000' },
    rate: { type: 'string', default: '15000' },
    'no-results': { type: 'boolean', default: false },
  },
});
const trials = Number(args.trials);
const trialMs = Number(args['trial-ms']);
const rate = Number(args.rate);
if (!(trials >= 1 && trialMs >= 500 && rate > 0)) throw new Error('--trials >= 1, --trial-ms >= 500 and --rate > 0, please');

const loadBefore = loadavg();
const started = Date.now();
const walDir = await mkdtemp(join(os.tmpdir(), 'gophership-soak-'));
const sink = await startSinkProc({ grpc: false, failRate: 0.2, retryAfterSec: 1 });
const g = await gatewayConfig({ protocol: 'http', sink, processors: {} });
const exporter = g.config.exporters.otlphttp;
exporter.sending_queue = { storage: 'wal', directory: join(walDir, 'wal'), queue_size: 100_000, num_consumers: 16, fsync: 'interval' };
exporter.retry_on_failure = { initial_interval: '100ms', max_interval: '500ms', max_elapsed_time: 0 };
delete g.config.service.pipelines.logs.processors;

const rows = [];
let gw = await startGateway(g.config);
try {
  for (let t = 1; t <= trials; t++) {
    let acked = 0;
    let onFirstAck;
    const firstAck = new Promise((r) => (onFirstAck = r));
    const load = runLoadgenProc(
      {
        endpoint: g.endpoint,
        rate,
        batch: 250,
        workers: 4,
        bodySize: 200,
        durationMs: trialMs,
        timeoutMs: 5000,
        maxAttempts: 10_000,
        maxElapsedMs: 60_000,
        initialBackoffMs: 100,
        maxBackoffMs: 1000,
        runId: `soak-${process.pid}-${t}`,
        progressIntervalMs: 50,
      },
      {
        onProgress: (p) => {
          acked = p.acked;
          if (acked > 0) onFirstAck();
        },
      },
    );
    // Kill under load: after the first acknowledgement (the loadgen process takes a moment to start),
    // somewhere in the next 10-80 % of the trial.
    await Promise.race([firstAck, load]);
    const killAt = Math.round(trialMs * (0.1 + 0.7 * Math.random()));
    await sleep(killAt);
    const ackedAtKill = acked;
    gw.child.kill('SIGKILL');
    await new Promise((r) => (gw.child.exitCode !== null || gw.child.signalCode !== null ? r() : gw.child.once('exit', r)));
    const t0 = performance.now();
    gw = await startGateway(g.config);
    const restartMs = performance.now() - t0;
    const resent = /resending requests left in the WAL/.test(gw.log());
    const result = await load;
    // The backlog drains into the sink (a fifth of its requests refused and retried).
    const deadline = Date.now() + 60_000;
    let v = await sink.verify([result]);
    while (!v.ok && Date.now() < deadline) {
      await sleep(100);
      v = await sink.verify([result]);
    }
    const row = { t, killAt, ackedAtKill, acked: result.acked, failed: result.failed, lost: v.lost, duplicates: v.duplicates, restartMs, resent };
    rows.push(row);
    console.log(
      `trial ${t}/${trials}: kill at ${killAt} ms (${ackedAtKill} acked), restart ${restartMs.toFixed(0)} ms, acked ${result.acked}, failed ${result.failed}, lost ${v.lost}, duplicates ${v.duplicates}`,
    );
  }
} finally {
  await gw.stop();
  await sink.stop();
  await rm(walDir, { recursive: true, force: true });
}

const lost = rows.reduce((a, r) => a + r.lost, 0);
const failed = rows.reduce((a, r) => a + r.failed, 0);
const ackedTotal = rows.reduce((a, r) => a + r.acked, 0);
const dups = rows.reduce((a, r) => a + r.duplicates, 0);
const restarts = rows.map((r) => r.restartMs).sort((a, b) => a - b);
const median = restarts[Math.floor(restarts.length / 2)];
const perTrial = table(
  [
    ['trial', 't'],
    ['kill (ms after 1st ack)', 'killAt'],
    ['acked at kill', (r) => fmt.int(r.ackedAtKill)],
    ['acked', (r) => fmt.int(r.acked)],
    ['client gave up', 'failed'],
    ['lost at sink', 'lost'],
    ['duplicates', (r) => fmt.int(r.duplicates)],
    ['restart (ms)', (r) => r.restartMs.toFixed(0)],
    ['WAL resent at start', (r) => (r.resent ? 'yes' : 'no')],
  ],
  rows,
);
const summary = table(
  [
    ['trials', 'trials', 'l'],
    ['records acked', 'acked'],
    ['lost at sink', 'lost'],
    ['client gave up', 'failed'],
    ['duplicates', 'dups'],
    ['restart median / max (ms)', 'restart'],
    ['wall (s)', 'wall'],
  ],
  [
    {
      trials,
      acked: fmt.int(ackedTotal),
      lost,
      failed,
      dups: fmt.int(dups),
      restart: `${median.toFixed(0)} / ${restarts.at(-1).toFixed(0)}`,
      wall: ((Date.now() - started) / 1000).toFixed(0),
    },
  ],
);
const md = [
  `## ${stamp()} — kill -9 soak of the WAL sending queue`,
  '',
  `Command: \`${commandLine()}\``,
  '',
  machineBlock(loadBefore, loadavg()),
  '',
  `Workload: OTLP/HTTP logs, 250 records of ~300 bytes per request, ${fmt.int(rate)} records/s from 4 connections for ${trialMs} ms per trial; ` +
    'otlphttp exporter with `sending_queue.storage: wal` (fsync interval) into the sink, which refuses 20 % of requests (Retry-After 1 s); ' +
    'one SIGKILL per trial at a random moment 10-80 % of the trial length after its first acknowledgement, the gateway restarted on the same WAL directory and ports; ' +
    "the loss check is the sink's record of every acknowledged sequence id, per trial.",
  '',
  summary,
  '',
  '<details><summary>per trial</summary>',
  '',
  perTrial,
  '',
  '</details>',
].join('\n');
console.log(`\n${md}\n`);
if (!args['no-results']) await appendResults(md);
process.exit(lost === 0 && failed === 0 ? 0 : 1);
