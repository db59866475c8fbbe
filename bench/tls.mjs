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
//   node bench/tls.mjs [--duration 6s] [--warmup 2s] [--rounds 2] [--workers 8] [--batch 1000] [--equal-rate 50000] [--record] [--profile]
import crypto from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { parseArgs } from 'node:util';
import { CertFactory } from '../dist/src/tools/certs.js';
import { gatewayConfig, lossCheck, lossText, measure } from './lib/throughput.mjs';
import { startGateway, startSinkProc } from './lib/procs.mjs';
import { loadavg } from './lib/measure.mjs';
import { appendResults, commandLine, fmt, machineBlock, stamp, table } from './lib/report.mjs';
import { zoneProcessors } from './scenarios/zones.mjs';
import { profileMarkdown, summariseProfile } from './lib/cpuprofile.mjs';
import { durationFlag } from './lib/flags.mjs';

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
    record: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
  },
});
const opts = {
  durationMs: durationFlag('duration', values.duration),
  warmupMs: durationFlag('warmup', values.warmup),
  workers: Number(values.workers),
  batch: Number(values.batch),
  bodySize: Number(values['body-size']),
};

const certs = new CertFactory();
const ca = certs.ca('bench-ca');
const server = certs.server('bench-server', ca);
// The load generator (a child process) trusts the run's CA through Node's extra-CA variable.
process.env.NODE_EXTRA_CA_CERTS = ca.certFile;

const sinkTls = { tls: { cert: server.cert.toString(), key: server.key.toString() } };

/** The receive ceiling: the client straight into the sink (count only), plain or HTTPS. */
async function ceiling(secure) {
  const sink = await startSinkProc({ track: false, ...(secure ? sinkTls : {}) });
  try {
    return await measure({ opts, protocol: 'http/protobuf', endpoint: sink.httpUrl, pids: { sink: sink.pid }, sink, verify: false });
  } finally {
    await sink.stop();
  }
}

/** This process's AES-GCM rate (bytes of CPU time per second) through Node's OpenSSL: what TLS records cost. */
function cipherRate(alg) {
  const key = crypto.randomBytes(alg === 'aes-128-gcm' ? 16 : 32);
  const c = crypto.createCipheriv(alg, key, crypto.randomBytes(12));
  const buf = Buffer.alloc(1 << 20, 1);
  const t0 = process.cpuUsage();
  let n = 0;
  for (let i = 0; i < 400; i++) n += c.update(buf).length;
  const u = process.cpuUsage(t0);
  return n / ((u.user + u.system) / 1e6);
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
      g.config.receivers.otlp.protocols.http.tls = { cert_file: server.certFile, key_file: server.keyFile };
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

const before = loadavg();
const rows = [];
const equalRate = Number(values['equal-rate']);
try {
  for (let round = 1; round <= Number(values.rounds); round++) {
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
} finally {
  certs.cleanup();
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
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
  `## ${stamp()} TLS: Yellow passthrough, HTTPS in and out vs plaintext\n\n` +
  `Command: \`${commandLine()}\`. ${opts.workers} connections x ${opts.batch} records, ${opts.warmupMs / 1000}s warm-up + ${opts.durationMs / 1000}s measured per run, ` +
  `rounds alternate plaintext and TLS (TLS 1.3, EC P-256 certificates from openssl; the client trusts the CA).\n\n${machineBlock(before, loadavg())}\n\n${md}\n\n` +
  `- HTTPS / plaintext = ${fmt.ratio(q)} (medians ${fmt.int(tls)} vs ${fmt.int(plain)} records/s; target >= ${TARGET}) — ${q >= TARGET ? 'meets the target' : '**below the target**'}.\n` +
  `- Node's own TLS, no gateway: the receive ceiling over HTTPS / plaintext = ${fmt.ratio(ceilingRatio)}.\n` +
  `- The gateway's CPU per record, plaintext / TLS = ${fmt.ratio(gatewayCostRatio)} (what the gateway alone would keep with TLS where it is the bottleneck; here the client and the sink pay their own TLS on the same two cores).\n` +
  `- Where the gateway's TLS CPU goes: +${fmt.ms(tlsExtraUs)} µs per record over plaintext (medians); the cipher alone: ${fmt.ms(cipherUs)} µs (${fmt.int(bytesPerRecord)} bytes per record decrypted in and encrypted out, ${suite}, at this Node's ${(suiteRate / 1e9).toFixed(2)} GB/s of CPU; aes-128-gcm ${(rates['aes-128-gcm'] / 1e9).toFixed(2)}, aes-256-gcm ${(rates['aes-256-gcm'] / 1e9).toFixed(2)} GB/s, Node's bundled OpenSSL ${process.versions.openssl}); beyond the cipher: ${fmt.ms(tlsExtraUs - cipherUs)} µs per record at full speed${equalRate > 0 ? `, ${fmt.ms(equalExtraUs - cipherUs)} µs at an equal offered load of ${fmt.int(equalRate)} records/s (TLS +${fmt.ms(equalExtraUs)} µs per record there: the figure to read, as the gateway's fixed costs per second weigh alike on both sides${equalHeld ? '' : '; **not equal: a mode did not take the offered load, lower --equal-rate**'})` : ''}. The best ratio this gateway can reach where it is the bottleneck, with this Node's cipher: ${fmt.ratio(perRecord(false) / (perRecord(false) + cipherUs / 1e6))}.\n`;
process.stdout.write(text);
if (values.record) await appendResults(text);
