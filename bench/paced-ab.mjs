#!/usr/bin/env node
// Paced A/B of gateway builds: the gateway's CPU seconds per million records at a FIXED request rate, builds
// alternated within each round. The light mode's closed loop lets each build run as fast as a loaded machine
// lets it, and the rate it reaches changes what it does per record (how many requests a batch joins, how
// many exporter requests per record), so its CPU per record moves with the machine's other load. At a fixed
// rate every build does the same work per second and only its cost differs.
//
//   node bench/paced-ab.mjs --rate 150 --seconds 10 --rounds 3 [--rows passthrough-http,zone-yellow] DIR_A DIR_B ...
//
// DIR: a build (bin/ + dist/ + node_modules); the first is the reference. `DIR::FLAGS` runs that build with
// node command-line flags (space-separated), e.g. `.::--max-semi-space-size=64` beside `.` for an A/B of V8
// flags. --rate: requests per second of the light mode's 1000-record request (~434 KB), from 8 keep-alive
// connections (open loop; a request that would pass 32 in flight is counted as skipped, and a row with skips
// says so: the build did not keep up).
// --closed N: instead of a fixed rate, N connections each with one request in flight (the light mode's closed
// loop), records/s printed beside CPU per record: for a change to a path whose acknowledgement waits on
// something (Red's group commit), where latency, not CPU, sets the rate. Builds alternate as above.
// --rows forwarder-durable: bench/forwarder.mjs --durable (the minimal forwarder with Red's durability) as a row,
// run for each build with its node flags, beside zone-red in the same rounds.
// A Red request's timeline: `DIR::--import=bench/lib/red-trace.mjs` (see that file).
// --cpu-prof DIR: the gateways run under --cpu-prof (profiles in DIR, named by pid; warm-up included).
// `DIR::FLAGS::KEY=VALUE,...` also sets gateway config keys (dotted paths, JSON values), e.g.
// `.::::exporters.otlphttp.sending_queue.enabled=false` beside `.`. A fourth part sets environment variables for
// that gateway: every gateway starts with the allocator setting `npm start` gives it (src/core/allocator.ts),
// and `.::::::GLIBC_TUNABLES=` beside `.` runs one without it. "minor faults / request": pages the gateway
// took from the kernel anew per request (what unmapping freed blocks costs).
// Every gateway runs with --trace-gc: the table's "full GCs / GiB" are its mark-compacts per GiB of request
// bodies acknowledged in the measured seconds (as the light mode counts them).
import { parseArgs } from 'node:util';
import { TemplateParts, RequestTemplate } from '../dist/src/tools/loadgen/templates.js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { startForwarder, startGateway, startSinkProc } from './lib/procs.mjs';
import { cpuOf, loadavg, memOf, minorFaultsOf } from './lib/measure.mjs';
import { gatewayConfig } from './lib/throughput.mjs';
import { closedLoop, pace } from './lib/pace.mjs';
import { LIGHT_ROWS, fullGcCounter } from './scenarios/light.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rate: { type: 'string', default: '150' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    rows: { type: 'string', default: 'passthrough-http,zone-yellow' },
    'cpu-prof': { type: 'string' },
    closed: { type: 'string' },
  },
});
// Absolute: the gateway runs in a temporary directory. A build is a directory and the node flags it runs with.
const roots = positionals.map((d) => {
  const [dir, flags = '', keys = '', vars = ''] = d.split('::');
  const env = Object.fromEntries(
    vars
      .split(',')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  const overrides = keys
    .split(',')
    .filter(Boolean)
    .map((kv) => {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new Error(`config override "${kv}" in "${d}": expected KEY=VALUE (a dotted path of the gateway config)`);
      const raw = kv.slice(eq + 1);
      let value = raw;
      try {
        value = JSON.parse(raw);
      } catch {
        // A plain string.
      }
      return { path: kv.slice(0, eq).split('.'), value };
    });
  const label = [resolve(dir), flags, keys, vars].filter(Boolean).join(' ');
  return { dir: resolve(dir), nodeArgs: flags.split(' ').filter(Boolean), overrides, label, env };
});

/** Sets `value` at the dotted `path` of `config`, creating objects on the way. */
function setPath(config, path, value) {
  let o = config;
  for (const k of path.slice(0, -1)) o = o[k] ??= {};
  o[path.at(-1)] = value;
}
if (roots.length < 1) {
  process.stderr.write('usage: node bench/paced-ab.mjs [--rate N] [--seconds S] [--rounds R] [--rows a,b] DIR_A [DIR_B ...]\n');
  process.exit(2);
}
const rate = Number(values.rate);
const closed = Number(values.closed ?? 0);
const profileDir = values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const rows = values.rows.split(',').map((n) => {
  // The minimal forwarder with Red's durability (bench/forwarder.mjs --durable), beside zone-red in the
  // same rounds: what the gateway adds to Red's latency. It runs once per build (with that build's node flags).
  if (n === 'forwarder-durable') return { name: n, durableFloor: true };
  const r = LIGHT_ROWS.find((x) => x.name === n && x.processors && x.protocol === 'http');
  if (!r) throw new Error(`no HTTP gateway row ${n} (rows: passthrough-http, zone-yellow, zone-red, forwarder-durable)`);
  return r;
});
const records = 1000;
const body = Buffer.from(
  new RequestTemplate(new TemplateParts({ signal: 'logs', encoding: 'proto', runId: 'paced-ab', bodySize: 246, attributes: 4 }), 0, records).buf,
);

/** Drives `url` (warm-up, then the measured seconds); the CPU per record, rate and peak RSS of process `pid`. */
async function measure(url, pid, fullGcs) {
  const drive = (ms) => (closed > 0 ? closedLoop({ url, body, ms, connections: closed }) : pace({ url, body, rate, ms }));
  await drive(warmup * 1000);
  const c0 = cpuOf(pid);
  const f0 = minorFaultsOf(pid);
  const gc0 = fullGcs?.count ?? 0;
  const t0 = performance.now();
  const r = await drive(seconds * 1000);
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuOf(pid) - c0;
  // Pages the gateway took from the kernel anew per request: what an allocator setting that unmaps freed blocks costs.
  const faultsPerRequest = (minorFaultsOf(pid) - f0) / r.acked;
  const fullGcsPerGiB = fullGcs ? (fullGcs.count - gc0) / ((r.acked * body.length) / 2 ** 30) : NaN;
  return { cpuPerM: cpu / ((r.acked * records) / 1e6), recordsPerSec: (r.acked * records) / wall, hwm: memOf(pid).hwm, fullGcsPerGiB, faultsPerRequest, ...r };
}

/** forwarder-durable: the forwarder's CPU and rate under the same client. */
async function durableFloor(root) {
  const dir = await mkdtemp(join(os.tmpdir(), 'paced-ab-durable-'));
  const fw = await startForwarder(undefined, 'http', { durableDir: dir, nodeArgs: root.nodeArgs });
  try {
    return await measure(`http://${fw.address}/v1/logs`, fw.pid);
  } finally {
    await fw.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function one(row, root) {
  if (row.durableFloor) return durableFloor(root);
  const sink = await startSinkProc({ track: false });
  let gw;
  try {
    const g = await gatewayConfig({ protocol: 'http', sink, processors: row.processors });
    g.config.service.telemetry = { logs: { level: 'info' }, metrics: { level: 'none' } };
    for (const o of root.overrides) setPath(g.config, o.path, o.value);
    gw = await startGateway(g.config, {
      root: root.dir,
      nodeArgs: ['--trace-gc', ...root.nodeArgs],
      cpuProf: profileDir !== undefined,
      profileDir,
      env: root.env,
    });
    return await measure(`${g.endpoint}/v1/logs`, gw.pid, fullGcCounter(gw.child.stdout));
  } finally {
    const stopped = await gw?.stop().catch(() => undefined);
    for (const f of (stopped?.profiles ?? []).filter((f) => f.includes(`.${gw.pid}.`))) process.stderr.write(`[paced-ab] profile of ${root.label}: ${f}\n`);
    await sink.stop();
  }
}

const rounds = Number(values.rounds);
const results = new Map();
const load = [loadavg()];
for (let round = 1; round <= rounds; round++) {
  for (const row of rows) {
    // Alternate the order each round so neither build always runs first.
    const order = round % 2 ? roots : [...roots].reverse();
    for (const root of order) {
      const r = await one(row, root);
      const key = `${row.name}\t${root.label}`;
      if (!results.has(key)) results.set(key, []);
      results.get(key).push(r);
      process.stderr.write(
        `[paced-ab] round ${round} ${row.name} ${root.label}: ${r.cpuPerM.toFixed(3)} CPU s/M, ${Math.round(r.recordsPerSec)} records/s, ${Number.isNaN(r.fullGcsPerGiB) ? 'n/a' : r.fullGcsPerGiB.toFixed(1)} full GCs/GiB, peak RSS ${(r.hwm / 2 ** 20).toFixed(0)} MiB (acked ${r.acked}, skipped ${r.skipped}, failed ${r.failed})\n`,
      );
    }
  }
}
load.push(loadavg());
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const lines = [
  `Command: \`node bench/paced-ab.mjs ${process.argv.slice(2).join(' ')}\``,
  '',
  `${closed > 0 ? `closed loop: ${closed} connections each with one request in flight` : `${rate} requests/s from 8 connections`} of ${records} records (${body.length} bytes), ${warmup} s warm-up + ${seconds} s measured, ${rounds} round(s), builds alternated; load average ${load.join(' -> ')}.`,
  '',
  '| row | build | gateway CPU s / M records (median) | per round | vs first build | records/s (median) | per round | vs first build | full GCs / GiB (median) | minor faults / request (median) | peak RSS (max of rounds) | skipped / failed |',
  '| --- | --- | ---: | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
];
for (const row of rows) {
  const ref = median(results.get(`${row.name}\t${roots[0].label}`).map((r) => r.cpuPerM));
  const refRate = median(results.get(`${row.name}\t${roots[0].label}`).map((r) => r.recordsPerSec));
  for (const root of roots) {
    const rs = results.get(`${row.name}\t${root.label}`);
    const m = median(rs.map((r) => r.cpuPerM));
    const rate_ = median(rs.map((r) => r.recordsPerSec));
    const skipped = rs.reduce((a, r) => a + r.skipped, 0);
    const failed = rs.reduce((a, r) => a + r.failed, 0);
    lines.push(
      `| \`${row.name}\` | ${root.label} | ${m.toFixed(3)} | ${rs.map((r) => r.cpuPerM.toFixed(3)).join(', ')} | ${(m / ref).toFixed(3)} | ` +
        `${Math.round(rate_).toLocaleString('en-US')} | ${rs.map((r) => Math.round(r.recordsPerSec / 1000) + 'k').join(', ')} | ${(rate_ / refRate).toFixed(3)} | ${rs.some((r) => Number.isNaN(r.fullGcsPerGiB)) ? 'n/a' : median(rs.map((r) => r.fullGcsPerGiB)).toFixed(1)} | ${median(rs.map((r) => r.faultsPerRequest)).toFixed(0)} | ${(Math.max(...rs.map((r) => r.hwm)) / 2 ** 20).toFixed(0)} MiB | ${skipped} / ${failed} |`,
    );
  }
}
process.stdout.write(lines.join('\n') + '\n');
