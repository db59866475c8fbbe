#!/usr/bin/env node
// TLS cost benchmark: the Yellow passthrough (somatic forced Yellow -> resource (bypassed) -> batch ->
// otlphttp -> sink) in plaintext and with HTTPS in and out (client -> gateway over TLS, gateway -> sink over
// TLS), in alternating rounds of the same run with the same client. Target: TLS keeps >= 0.75 of the
// plaintext throughput (issue 18). Baseline beside it: the receive ceiling (loadgen -> sink, count only,
// no gateway) in plaintext and over HTTPS, i.e. what Node's own TLS costs this client and machine.
// Certificates are made with openssl for the run. Build first (npx tsc -p .).
// Beside the rates: the gateway's CPU per record in each mode, and what the cipher alone costs it (this
// Node's AES-GCM rate, measured in the run, times the bytes it decrypts and encrypts per record), so the
// TLS cost beyond the cipher is a figure of every run, robust to a busy machine (CPU time, not rates).
//
// The CPU comparison is made at an equal offered load too (--equal-rate records/s, both modes, the same
// fixed rate): the gateway's fixed costs per second (timers, sampling) then weigh the same on both sides,
// where at full speed the slower mode spreads them over fewer records; 0 skips those runs.
//
// Light peers (--peers light or both, the default): the same two modes with `wrk` as the client (the
// system's OpenSSL) and bench/lib/count-sink.c as the sink (HTTPS through the system's OpenSSL too), pinned
// to one core (--peer-cpus), so the gateway, not its Node peers' own TLS, sets the pace; beside them
// bench/forwarder.mjs (the least a Node process can do to pass a request on) with the same peers in both
// modes: Node's own HTTPS/plaintext ratio on this machine, the floor the gateway's ratio is read against.
//
//   node bench/tls.mjs [--duration 6s] [--warmup 2s] [--rounds 2] [--workers 8] [--batch 1000] [--equal-rate 50000]
//                      [--peers both|node|light] [--peer-cpus 1|none] [--record] [--profile]
import crypto from 'node:crypto';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { parseArgs } from 'node:util';
import { CertFactory } from '../dist/src/tools/certs.js';
import { gatewayConfig, lossCheck, lossText, measure } from './lib/throughput.mjs';
import { startForwarder, startGateway, startSinkProc } from './lib/procs.mjs';
import { cpuOf, loadavg } from './lib/measure.mjs';
import { canPin, deliveredSince, gatewayCpu, missingLightPeerTools, startCountSink, wrkWithWarmup } from './lib/light-peers.mjs';
import { TemplateParts, RequestTemplate } from '../dist/src/tools/loadgen/templates.js';
import { appendResults, commandLine, fmt, machineBlock, stamp, table } from './lib/report.mjs';
import { zoneProcessors } from './scenarios/zones.mjs';
import { profileMarkdown, summariseProfile } from './lib/cpuprofile.mjs';

const TARGET = 0.75;

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '6s' },
    warmup: { type: 'string', default: '2s' },
    rounds: { type: 'string', default: '2' },
    workers: { type: 'string', default: '8' },
    batch: { type: 'string', default: '1000' },
    'body-size': { type: 'string', default: '246' },
    'equal-rate': { type: 'string', default: '50000' },
    peers: { type: 'string', default: 'both' },
    'peer-cpus': { type: 'string', default: String(os.cpus().length - 1) },
    record: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
  },
});
if (!['both', 'light', 'node'].includes(values.peers)) throw new Error(`--peers ${values.peers}: expected both, light or node`);
const nodePeers = values.peers !== 'light';
const lightPeers = values.peers !== 'node';
if (lightPeers) {
  const missing = missingLightPeerTools({ tls: true });
  if (missing.length) {
    console.error(`bench/tls.mjs: the light-peer rows need ${missing.join(' and ')}, missing here. Install them, or run: node bench/tls.mjs --peers node`);
    process.exit(1);
  }
}
const peerCpus = values['peer-cpus'] === 'none' || os.cpus().length < 2 || !canPin() ? undefined : values['peer-cpus'];
const dur = (v) => Number(/^(\d+(?:\.\d+)?)/.exec(v)[1]) * (v.endsWith('ms') ? 1 : v.endsWith('m') ? 60_000 : 1000);
const opts = {
  durationMs: dur(values.duration),
  warmupMs: dur(values.warmup),
  workers: Number(values.workers),
  batch: Number(values.batch),
  bodySize: Number(values['body-size']),
};

const certs = new CertFactory();
const ca = certs.ca('bench-ca');
const serverCert = certs.server('bench-server', ca);
// The load generator (a child process) trusts the run's CA through Node's extra-CA variable.
process.env.NODE_EXTRA_CA_CERTS = ca.certFile;

const sinkTls = { tls: { cert: serverCert.cert.toString(), key: serverCert.key.toString() } };

/** The receive ceiling: the client straight into the sink (count only), plain or HTTPS. */
async function ceiling(secure) {
  const sink = await startSinkProc({ track: false, ...(secure ? sinkTls : {}) });
  try {
    return await measure({ opts, protocol: 'http/protobuf', endpoint: sink.httpUrl, pids: { sink: sink.pid }, sink, verify: false });
  } finally {
    await sink.stop();
  }
}

/**
 * This process's AES-GCM rate (bytes per CPU second) through Node's OpenSSL, on 16 KiB updates as TLS seals
 * its records (1 MiB updates measured slower here: 1.5 against 3.5 GB/s); the best of three passes.
 */
function cipherRate(alg) {
  const key = crypto.randomBytes(alg === 'aes-128-gcm' ? 16 : 32);
  const c = crypto.createCipheriv(alg, key, crypto.randomBytes(12));
  const buf = Buffer.alloc(16 * 1024, 1);
  let best = 0;
  for (let pass = 0; pass < 3; pass++) {
    const t0 = process.cpuUsage();
    let n = 0;
    for (let i = 0; i < 16_000; i++) n += c.update(buf).length;
    const u = process.cpuUsage(t0);
    best = Math.max(best, n / ((u.user + u.system) / 1e6));
  }
  return best;
}

/** The TLS version and cipher suite a client of `port` negotiates (what the bench's clients get). */
function negotiated(port) {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: ca.cert }, () => {
      const c = s.getCipher();
      s.end();
      resolve(`${s.getProtocol()} ${c.standardName ?? c.name}`);
    });
    s.on('error', (e) => resolve(`unknown (${e.message})`));
  });
}
let suite = 'unknown';

/** One measured run: sink (plain or HTTPS) + gateway (receiver and exporter plain or TLS) + the client. */
async function run(secure, runOpts = opts) {
  const sink = await startSinkProc({ track: true, ...(secure ? sinkTls : {}) });
  let gw;
  try {
    const g = await gatewayConfig({ protocol: 'http', sink, processors: zoneProcessors('yellow') });
    if (secure) {
      g.config.receivers.otlp.protocols.http.tls = { cert_file: serverCert.certFile, key_file: serverCert.keyFile };
      g.config.exporters.otlphttp.tls = { ca_file: ca.certFile };
      g.endpoint = g.endpoint.replace('http://', 'https://');
    }
    gw = await startGateway(g.config, { cpuProf: values.profile });
    if (secure) suite = await negotiated(Number(new URL(g.endpoint).port));
    const res = await measure({
      opts: runOpts,
      protocol: 'http/protobuf',
      endpoint: g.endpoint,
      pids: { gateway: gw.pid, sink: sink.pid },
      sink,
      verify: 'after-stop',
    });
    const stopped = await gw.stop();
    gw = undefined;
    if (stopped.code !== 0) throw new Error(`gateway exited with code ${stopped.code}`);
    if (values.profile)
      for (const f of stopped.profiles ?? [])
        process.stderr.write(profileMarkdown(await summariseProfile(f, 25), `${secure ? 'TLS' : 'plaintext'} gateway`) + '\n');
    res.loss = await lossCheck(sink, res.ackedRuns);
    delete res.ackedRuns;
    return res;
  } finally {
    if (gw) await gw.stop();
    await sink.stop();
  }
}

const RECORDS = 1000;
const tmp = lightPeers ? await mkdtemp(join(os.tmpdir(), 'gs-bench-tls-')) : undefined;
const bodyFile = tmp && join(tmp, 'body.pb');
if (bodyFile)
  await writeFile(
    bodyFile,
    new RequestTemplate(new TemplateParts({ signal: 'logs', encoding: 'proto', runId: 'bench-tls', bodySize: opts.bodySize, attributes: 4 }), 0, RECORDS).buf,
  );
/** The light peers' sinks, one plaintext and one HTTPS, for the whole run (their counts are read as deltas). */
const lightSinks = {};

/**
 * One light-peer run: wrk -> gateway (Yellow) or forwarder.mjs -> C sink, plaintext or HTTPS in and out.
 * The figures: records/s, the server's CPU per record (all its processes), the peers' CPU per record, loss by counts.
 */
async function lightRun(server, secure) {
  const sink = (lightSinks[secure] ??= await startCountSink(
    peerCpus,
    secure ? { certFile: serverCert.certFile, keyFile: serverCert.keyFile, ca: ca.cert } : undefined,
  ));
  let proc;
  let url;
  if (server === 'forwarder') {
    proc = await startForwarder(sink.httpUrl, 'http', secure ? { tls: { certFile: serverCert.certFile, keyFile: serverCert.keyFile } } : {});
    proc.log = () => '';
    url = `${secure ? 'https' : 'http'}://${proc.address}/v1/logs`;
  } else {
    const g = await gatewayConfig({ protocol: 'http', sink, processors: zoneProcessors('yellow') });
    if (secure) {
      g.config.receivers.otlp.protocols.http.tls = { cert_file: serverCert.certFile, key_file: serverCert.keyFile };
      g.config.exporters.otlphttp.tls = { ca_file: ca.certFile };
    }
    proc = await startGateway(g.config);
    url = `${secure ? g.endpoint.replace('http://', 'https://') : g.endpoint}/v1/logs`;
  }
  const records = async () => (await sink.stats()).records;
  const snap = () => ({ server: gatewayCpu(proc.pid).total, sink: cpuOf(sink.pid), t: performance.now() });
  let s0;
  let load;
  const before = await records();
  try {
    load = await wrkWithWarmup(
      { url, bodyFile, connections: opts.workers, seconds: opts.durationMs / 1000, warmupSeconds: opts.warmupMs / 1000, cpus: peerCpus, records: RECORDS },
      () => (s0 = snap()),
    );
  } catch (e) {
    await proc.stop();
    throw e;
  }
  const s1 = snap();
  await deliveredSince(records, before, load.ackedRecords);
  await proc.stop();
  const delivered = (await records()) - before;
  const done = load.okRequests * RECORDS;
  const wall = (s1.t - s0.t) / 1000;
  return {
    recordsPerSec: done / load.seconds,
    serverUs: ((s1.server - s0.server) / done) * 1e6,
    serverCores: (s1.server - s0.server) / wall,
    clientUs: (load.clientCpu / done) * 1e6,
    sinkUs: ((s1.sink - s0.sink) / done) * 1e6,
    clientCores: load.clientCpu / load.seconds,
    sinkCores: (s1.sink - s0.sink) / wall,
    p99: load.p99Ms,
    failed: load.failed,
    lost: Math.max(0, load.ackedRecords - delivered),
    acked: load.ackedRecords,
  };
}
const lightRows = [];

const before = loadavg();
const rows = [];
const equalRate = Number(values['equal-rate']);
try {
  for (let round = 1; round <= Number(values.rounds); round++) {
    if (nodePeers) {
      for (const secure of [false, true]) {
        process.stderr.write(`[tls] ${stamp()} round ${round}: ceiling, ${secure ? 'HTTPS' : 'plaintext'}\n`);
        rows.push({ round, secure, ceiling: true, r: await ceiling(secure) });
      }
      for (const secure of [false, true]) {
        process.stderr.write(`[tls] ${stamp()} round ${round}: gateway, ${secure ? 'HTTPS in and out' : 'plaintext'}\n`);
        rows.push({ round, secure, ceiling: false, r: await run(secure) });
      }
      if (equalRate > 0)
        for (const secure of [false, true]) {
          process.stderr.write(`[tls] ${stamp()} round ${round}: gateway at ${equalRate} records/s, ${secure ? 'HTTPS in and out' : 'plaintext'}\n`);
          rows.push({ round, secure, ceiling: false, fixed: true, r: await run(secure, { ...opts, rate: equalRate }) });
        }
    }
    if (lightPeers)
      for (const server of ['gateway', 'forwarder'])
        for (const secure of round % 2 ? [false, true] : [true, false]) {
          process.stderr.write(`[tls] ${stamp()} round ${round}: light peers, ${server}, ${secure ? 'HTTPS in and out' : 'plaintext'}\n`);
          const r = await lightRun(server, secure);
          process.stderr.write(`[tls]   ${fmt.int(r.recordsPerSec)} records/s, ${server} ${fmt.ms(r.serverUs * 10)}/10 µs CPU/record, lost ${r.lost}\n`);
          lightRows.push({ round, server, secure, r });
        }
  }
} finally {
  for (const sink of Object.values(lightSinks)) await sink.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
  certs.cleanup();
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** The Node-peer section (loadgen client, Node sink): the end-to-end ratio as recorded since issue 18. */
function nodeSection() {
  const rate = (secure, isCeiling) => median(rows.filter((x) => x.secure === secure && x.ceiling === isCeiling && !x.fixed).map((x) => x.r.recordsPerSec));
  const plain = rate(false, false);
  const tls = rate(true, false);
  const ceilingRatio = rate(true, true) / rate(false, true);
  const q = tls / plain;
  // The gateway's own cost per record (its CPU time over what it moved): the client and the sink encrypt and
  // decrypt too in the TLS rounds, on the same two cores, so the end-to-end ratio also carries their cost.
  const perRecord = (secure, fixed = false) =>
    median(rows.filter((x) => x.secure === secure && !x.ceiling && !x.fixed === !fixed).map((x) => x.r.procs.gateway.cores / x.r.recordsPerSec));
  const gatewayCostRatio = perRecord(false) / perRecord(true);
  // The cipher's share: the gateway decrypts each record's bytes coming in and encrypts them going out.
  const bytesPerRecord = median(rows.filter((x) => x.secure && !x.ceiling).map((x) => x.r.bytesPerSec / x.r.recordsPerSec));
  const rates = { 'aes-256-gcm': cipherRate('aes-256-gcm'), 'aes-128-gcm': cipherRate('aes-128-gcm') };
  const suiteRate = /AES_128/.test(suite) ? rates['aes-128-gcm'] : rates['aes-256-gcm'];
  const cipherUs = ((2 * bytesPerRecord) / suiteRate) * 1e6;
  const tlsExtraUs = (perRecord(true) - perRecord(false)) * 1e6;
  const equalExtraUs = equalRate > 0 ? (perRecord(true, true) - perRecord(false, true)) * 1e6 : NaN;
  // Equal only if both modes took the offered load (within 10%); otherwise the slower one ran flat out.
  const equalHeld = rows.filter((x) => x.fixed).every((x) => x.r.recordsPerSec >= 0.9 * equalRate);
  const md = table(
    [
      ['round', (x) => String(x.round), 'l'],
      [
        'path',
        (x) =>
          (x.ceiling ? `ceiling (client -> sink), ${x.secure ? 'HTTPS' : 'plaintext'}` : x.secure ? 'gateway, HTTPS in and out' : 'gateway, plaintext') +
          (x.fixed ? `, offered ${fmt.int(equalRate)} records/s` : ''),
        'l',
      ],
      ['records/s', (x) => fmt.int(x.r.recordsPerSec)],
      ['MB/s', (x) => fmt.mb(x.r.bytesPerSec)],
      ['p50 ms', (x) => fmt.ms(x.r.p50)],
      ['p99 ms', (x) => fmt.ms(x.r.p99)],
      ['CPU cores: client / gateway / sink', (x) => [x.r.clientCores, x.r.procs?.gateway?.cores, x.r.procs?.sink?.cores].map(fmt.cores).join(' / ')],
      ['gateway µs CPU/record', (x) => (x.ceiling ? '' : fmt.ms((x.r.procs?.gateway?.cores / x.r.recordsPerSec) * 1e6))],
      ['gateway peak RSS', (x) => fmt.mib(x.r.gatewayHwm)],
      ['loss check', (x) => lossText(x.r.loss)],
      ['failed', (x) => fmt.int(x.r.failed)],
    ],
    rows,
  );
  const text =
    `### Node peers: loadgen (Node) -> gateway -> Node sink (count only), the receive ceiling without a gateway beside\n\n${md}\n\n` +
    `- HTTPS / plaintext = ${fmt.ratio(q)} (medians ${fmt.int(tls)} vs ${fmt.int(plain)} records/s; target >= ${TARGET}) — ${q >= TARGET ? 'meets the target' : '**below the target**'}.\n` +
    `- Node's own TLS, no gateway: the receive ceiling over HTTPS / plaintext = ${fmt.ratio(ceilingRatio)}.\n` +
    `- The gateway's CPU per record, plaintext / TLS = ${fmt.ratio(gatewayCostRatio)} (what the gateway alone would keep with TLS where it is the bottleneck; here the client and the sink pay their own TLS on the same two cores).\n` +
    `- Where the gateway's TLS CPU goes: +${fmt.ms(tlsExtraUs)} µs per record over plaintext (medians); the cipher alone, at most: ${fmt.ms(cipherUs)} µs (${fmt.int(bytesPerRecord)} bytes per record decrypted in and encrypted out, ${suite}, at this Node's ${(suiteRate / 1e9).toFixed(2)} GB/s of CPU through createCipheriv, which pays a JS call and an output Buffer per 16 KiB that TLS does not: inside TLS perf finds the cipher at ~0.15 µs per record, bench/tls-paced.mjs --perf; aes-128-gcm ${(rates['aes-128-gcm'] / 1e9).toFixed(2)}, aes-256-gcm ${(rates['aes-256-gcm'] / 1e9).toFixed(2)} GB/s, Node's bundled OpenSSL ${process.versions.openssl}); beyond the cipher: ${fmt.ms(tlsExtraUs - cipherUs)} µs per record at full speed${equalRate > 0 ? `, ${fmt.ms(equalExtraUs - cipherUs)} µs at an equal offered load of ${fmt.int(equalRate)} records/s (TLS +${fmt.ms(equalExtraUs)} µs per record there: the figure to read, as the gateway's fixed costs per second weigh alike on both sides${equalHeld ? '' : '; **not equal: a mode did not take the offered load, lower --equal-rate**'})` : ''}. The best ratio this gateway could reach where it is the bottleneck if the cipher (as bounded above) were all TLS cost it: ${fmt.ratio(perRecord(false) / (perRecord(false) + cipherUs / 1e6))}.\n`;
  return text;
}

/** The light-peer section: wrk and the C sink, the gateway beside forwarder.mjs, both modes. */
function lightSection() {
  const pick = (server, secure) => lightRows.filter((x) => x.server === server && x.secure === secure).map((x) => x.r);
  const m = (server, secure, k) => median(pick(server, secure).map((r) => r[k]));
  const ratio = (server) => m(server, true, 'recordsPerSec') / m(server, false, 'recordsPerSec');
  const extra = (server) => m(server, true, 'serverUs') - m(server, false, 'serverUs');
  const md = table(
    [
      ['round', (x) => String(x.round), 'l'],
      ['server', (x) => (x.server === 'gateway' ? 'gateway (Yellow passthrough)' : 'forwarder.mjs (Node floor)'), 'l'],
      ['mode', (x) => (x.secure ? 'HTTPS in and out' : 'plaintext'), 'l'],
      ['records/s', (x) => fmt.int(x.r.recordsPerSec)],
      ['server µs CPU/record', (x) => fmt.ratio(x.r.serverUs)],
      ['server cores', (x) => fmt.cores(x.r.serverCores)],
      ['wrk / sink µs CPU/record', (x) => `${fmt.ratio(x.r.clientUs)} / ${fmt.ratio(x.r.sinkUs)}`],
      ['wrk / sink cores', (x) => `${fmt.cores(x.r.clientCores)} / ${fmt.cores(x.r.sinkCores)}`],
      ['p99 ms', (x) => fmt.ms(x.r.p99)],
      ['failed', (x) => fmt.int(x.r.failed)],
      ['lost (by counts)', (x) => `${fmt.int(x.r.lost)} of ${fmt.int(x.r.acked)}`],
    ],
    lightRows,
  );
  const g = ratio('gateway');
  const f = ratio('forwarder');
  return (
    `### Light peers: wrk (system OpenSSL) -> server -> bench/lib/count-sink.c (system OpenSSL), peers pinned to cpu ${peerCpus ?? '(none)'}\n\n${md}\n\n` +
    `- Gateway HTTPS / plaintext = **${fmt.ratio(g)}** (medians ${fmt.int(m('gateway', true, 'recordsPerSec'))} vs ${fmt.int(m('gateway', false, 'recordsPerSec'))} records/s; target >= ${TARGET}) — ${g >= TARGET ? 'meets the target' : `**below the target by ${fmt.ratio(TARGET - g)}**`}.\n` +
    `- The floor with the same peers: forwarder.mjs HTTPS / plaintext = **${fmt.ratio(f)}** (medians ${fmt.int(m('forwarder', true, 'recordsPerSec'))} vs ${fmt.int(m('forwarder', false, 'recordsPerSec'))}); the gateway keeps ${fmt.ratio(g / f)} of Node's own ratio.\n` +
    `- Server CPU per record, plaintext -> HTTPS (medians): gateway ${fmt.ratio(m('gateway', false, 'serverUs'))} -> ${fmt.ratio(m('gateway', true, 'serverUs'))} µs (TLS +${fmt.ratio(extra('gateway'))} µs), ` +
    `forwarder ${fmt.ratio(m('forwarder', false, 'serverUs'))} -> ${fmt.ratio(m('forwarder', true, 'serverUs'))} µs (TLS +${fmt.ratio(extra('forwarder'))} µs): the gateway's TLS cost beyond Node's own, ${fmt.ratio(extra('gateway') - extra('forwarder'))} µs per record; ` +
    `the gateway's plaintext/HTTPS CPU per record = ${fmt.ratio(m('gateway', false, 'serverUs') / m('gateway', true, 'serverUs'))}, the ratio it can reach where it alone is the bottleneck.\n`
  );
}

const header =
  `## ${stamp()} TLS: Yellow passthrough, HTTPS in and out vs plaintext\n\n` +
  `Command: \`${commandLine()}\`. ${opts.workers} connections x ${opts.batch} records, ${opts.warmupMs / 1000}s warm-up + ${opts.durationMs / 1000}s measured per run, ` +
  `rounds alternate plaintext and TLS (TLS 1.3, EC P-256 certificates from openssl; the client trusts the CA).\n\n${machineBlock(before, loadavg())}\n\n`;
const text = header + (nodePeers ? nodeSection() + '\n' : '') + (lightPeers ? lightSection() : '');
process.stdout.write(text);
if (values.record) await appendResults(text);
