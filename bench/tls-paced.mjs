#!/usr/bin/env node
// Where HTTPS costs the gateway CPU, at a FIXED request rate (issue 18): the Yellow passthrough (somatic
// forced Yellow -> resource (bypassed) -> batch -> otlphttp -> sink) in plaintext and with HTTPS in and out,
// alternated in each round, beside bench/forwarder.mjs (the least a Node process can do to pass a request
// on) in the same two modes with the same peers. At a fixed rate every server does the same work per second
// in both modes, so its CPU per record differs only by what TLS costs it; this figure survives a loaded
// machine where records/s do not. The client (in this process) and the sink (count only) pay their own TLS
// and are reported beside, not mixed in.
//
//   npx tsc -p . && node bench/tls-paced.mjs [--rate 100] [--seconds 8] [--warmup 2] [--rounds 3] [--no-forwarder] [--perf] [--record] [DIR ...]
//
// DIR: gateway builds (bin/ + dist/ + node_modules) to compare, the first is the reference (default: this
// checkout). --rate: requests/s of the light mode's 1000-record request (~434 KB) from 8 keep-alive
// connections. --perf: `perf record` each server's measured window (Node with --perf-basic-prof) and print
// the symbols whose share grows most with TLS (user space only; needs perf and perf_event_paranoid <= 2).
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CertFactory } from '../dist/src/tools/certs.js';
import { TemplateParts, RequestTemplate } from '../dist/src/tools/loadgen/templates.js';
import { ROOT, startForwarder, startGateway, startSinkProc } from './lib/procs.mjs';
import { cpuOf, loadavg } from './lib/measure.mjs';
import { gatewayConfig } from './lib/throughput.mjs';
import { zoneProcessors } from './scenarios/zones.mjs';
import { pace } from './lib/pace.mjs';
import { appendResults, machineBlock, stamp } from './lib/report.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    'no-forwarder': { type: 'boolean', default: false },
    perf: { type: 'boolean', default: false },
    record: { type: 'boolean', default: false },
  },
});
const roots = (positionals.length ? positionals : [ROOT]).map((d) => resolve(d));
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const records = 1000;
const body = Buffer.from(
  new RequestTemplate(new TemplateParts({ signal: 'logs', encoding: 'proto', runId: 'tls-paced', bodySize: 246, attributes: 4 }), 0, records).buf,
);

const certs = new CertFactory();
const ca = certs.ca('bench-ca');
const server = certs.server('bench-server', ca);
process.env.NODE_EXTRA_CA_CERTS = ca.certFile; // the forwarder's upstream client trusts the run's CA

/** perf record of `pid` until stop(); stop() resolves with {symbol: samples}. */
async function perfRecord(pid) {
  const dir = await mkdtemp(join(os.tmpdir(), 'gs-tls-perf-'));
  const file = join(dir, 'perf.data');
  const child = spawn('perf', ['record', '-F', '999', '-p', String(pid), '-o', file], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  return {
    async stop() {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
      const text = execFileSync('perf', ['report', '-i', file, '--no-children', '--sort', 'dso,symbol', '--stdio', '-q', '-F', 'period,dso,symbol'], {
        maxBuffer: 64 << 20,
        stdio: ['ignore', 'pipe', 'ignore'],
      }).toString();
      await rm(dir, { recursive: true, force: true });
      const out = {};
      for (const line of text.split('\n')) {
        const m = /^\s*(\d+)\s+(.+?)\s+\[.\]\s+(.*?)(?:\s+-\s+-)?\s*$/.exec(line);
        if (!m) continue;
        // JIT code: one name for every tier and thread (its addresses and tid differ run to run).
        const dso = m[2].startsWith('[JIT]') ? '[JIT]' : m[2].replace(/^.*\//, '');
        const sym = `${dso} ${m[3].replace(/^(LazyCompile|Function|JS):[*~^+]?/, 'JS:')}`;
        out[sym] = (out[sym] ?? 0) + Number(m[1]);
      }
      return out;
    },
  };
}

/** One measured window of one server (gateway build or forwarder) in one mode. */
async function one(kind, root, secure) {
  const sink = await startSinkProc({ track: false, ...(secure ? { tls: { cert: server.cert.toString(), key: server.key.toString() } } : {}) });
  let proc;
  let url;
  try {
    const nodeArgs = values.perf ? ['--perf-basic-prof'] : [];
    if (kind === 'forwarder') {
      proc = await startForwarder(sink.httpUrl, 'http', secure ? { tls: { certFile: server.certFile, keyFile: server.keyFile }, nodeArgs } : { nodeArgs });
      url = `${secure ? 'https' : 'http'}://${proc.address}/v1/logs`;
    } else {
      const g = await gatewayConfig({ protocol: 'http', sink, processors: zoneProcessors('yellow') });
      g.config.service.telemetry = { logs: { level: 'info' }, metrics: { level: 'none' } };
      if (secure) {
        g.config.receivers.otlp.protocols.http.tls = { cert_file: server.certFile, key_file: server.keyFile };
        g.config.exporters.otlphttp.tls = { ca_file: ca.certFile };
      }
      proc = await startGateway(g.config, { root, nodeArgs });
      url = `${secure ? g.endpoint.replace('http://', 'https://') : g.endpoint}/v1/logs`;
    }
    await pace({ url, body, rate, ms: warmup * 1000, ca: ca.cert });
    const perf = values.perf ? await perfRecord(proc.pid) : undefined;
    const c0 = cpuOf(proc.pid);
    const s0 = cpuOf(sink.pid);
    const u0 = process.cpuUsage();
    const r = await pace({ url, body, rate, ms: seconds * 1000, ca: ca.cert });
    const cpu = cpuOf(proc.pid) - c0;
    const sinkCpu = cpuOf(sink.pid) - s0;
    const u = process.cpuUsage(u0);
    const perRecord = (s) => (s / (r.acked * records)) * 1e6;
    return {
      us: perRecord(cpu),
      sinkUs: perRecord(sinkCpu),
      clientUs: perRecord((u.user + u.system) / 1e6),
      symbols: perf ? await perf.stop() : undefined,
      ...r,
    };
  } finally {
    await proc?.stop().catch(() => {});
    await sink.stop();
  }
}

const servers = [...roots.map((root) => ({ kind: 'gateway', root, name: roots.length > 1 ? `gateway ${root}` : 'gateway' }))];
if (!values['no-forwarder']) servers.push({ kind: 'forwarder', root: ROOT, name: 'forwarder.mjs' });
const results = new Map();
const load = [loadavg()];
try {
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const s of round % 2 ? servers : [...servers].reverse()) {
      for (const secure of round % 2 ? [false, true] : [true, false]) {
        const r = await one(s.kind, s.root, secure);
        const key = `${s.name}\t${secure}`;
        if (!results.has(key)) results.set(key, []);
        results.get(key).push(r);
        process.stderr.write(
          `[tls-paced] round ${round} ${s.name} ${secure ? 'HTTPS' : 'plain'}: ${r.us.toFixed(3)} µs/record (sink ${r.sinkUs.toFixed(3)}, client ${r.clientUs.toFixed(3)}; acked ${r.acked}, skipped ${r.skipped}, failed ${r.failed})\n`,
        );
      }
    }
  }
} finally {
  certs.cleanup();
}
load.push(loadavg());

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
// What the cipher alone costs per record: this Node's AES-256-GCM (TLS 1.3's first suite) over 16 KiB
// updates, as TLS records are sealed, once to decrypt the request coming in and once to encrypt it going out.
function cipherUsPerRecord() {
  const c = crypto.createCipheriv('aes-256-gcm', crypto.randomBytes(32), crypto.randomBytes(12));
  const buf = Buffer.alloc(16384, 1);
  const t0 = process.cpuUsage();
  let n = 0;
  for (let i = 0; i < 40_000; i++) n += c.update(buf).length;
  const u = process.cpuUsage(t0);
  const bytesPerSec = n / ((u.user + u.system) / 1e6);
  return { us: ((2 * body.length) / records / bytesPerSec) * 1e6, gbps: bytesPerSec / 1e9 };
}
const cipher = cipherUsPerRecord();
const lines = [
  `Command: \`node bench/tls-paced.mjs ${process.argv.slice(2).join(' ')}\``,
  '',
  `${rate} requests/s of ${records} records (${body.length} bytes) from 8 keep-alive connections, ${warmup} s warm-up + ${seconds} s measured, ${values.rounds} round(s), modes and servers alternated; load average ${load.join(' -> ')}. ` +
    `CPU per record from /proc (user + system) over the measured window; medians of the rounds.`,
  '',
  '| server | µs CPU/record, plaintext | µs CPU/record, HTTPS in and out | TLS extra µs/record | plaintext / HTTPS | per round (plain; HTTPS) | sink µs/record plain / HTTPS | client µs/record plain / HTTPS | skipped / failed |',
  '| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |',
];
for (const s of servers) {
  const p = results.get(`${s.name}\tfalse`);
  const t = results.get(`${s.name}\ttrue`);
  const [mp, mt] = [median(p.map((r) => r.us)), median(t.map((r) => r.us))];
  const m = (rs, k) => median(rs.map((r) => r[k])).toFixed(3);
  const skipped = [...p, ...t].reduce((a, r) => a + r.skipped, 0);
  const failed = [...p, ...t].reduce((a, r) => a + r.failed, 0);
  lines.push(
    `| ${s.name} | ${mp.toFixed(3)} | ${mt.toFixed(3)} | ${(mt - mp).toFixed(3)} | ${(mp / mt).toFixed(2)} | ${p.map((r) => r.us.toFixed(2)).join(', ')}; ${t.map((r) => r.us.toFixed(2)).join(', ')} | ${m(p, 'sinkUs')} / ${m(t, 'sinkUs')} | ${m(p, 'clientUs')} / ${m(t, 'clientUs')} | ${skipped} / ${failed} |`,
  );
}
lines.push(
  '',
  `The cipher alone (AES-256-GCM, this Node's OpenSSL ${process.versions.openssl} at ${cipher.gbps.toFixed(2)} GB/s of CPU on 16 KiB updates, decrypt in + encrypt out of ${(body.length / records).toFixed(0)} bytes per record): ${cipher.us.toFixed(3)} µs per record.`,
);
/** A symbol's kind, for the breakdown: what TLS adds should land in a few of these. */
function kindOf(sym) {
  if (/aesni|_gcm_|ghash|aes_|chacha|poly1305/i.test(sym)) return 'cipher (AES-GCM)';
  if (/memmove|memcpy/.test(sym)) return 'memcpy';
  if (/^node (ssl|SSL|tls|ossl|OSSL|EVP|BIO|CRYPTO|OPENSSL|ERR_|RAND|dtls|do_ssl|ssl3)/.test(sym)) return 'OpenSSL (records, BIOs)';
  if (/TLSWrap|NodeBIO|crypto::/.test(sym)) return "node's TLSWrap";
  if (/^\[kernel/.test(sym)) return 'kernel';
  if (/v8::internal::(Heap|Mark|Scaveng|Sweep|Concurrent|Evacuat|MemoryChunk|Page|GC|.*Marking)/.test(sym)) return 'V8 GC';
  if (/v8::internal::compiler|v8::internal::maglev|Turbofan/.test(sym)) return 'V8 compiler';
  if (/^\[JIT\]|Builtins_/.test(sym)) return 'JS (JIT + builtins)';
  if (/malloc|free|_int_/.test(sym)) return 'malloc';
  if (/llhttp/.test(sym)) return 'llhttp';
  return 'other native';
}
if (values.perf) {
  for (const s of servers) {
    // Each mode's samples as shares of its CPU per record (median), so the two sides are in µs per record.
    const perRecord = (secure) => {
      const rs = results.get(`${s.name}\t${secure}`);
      const acc = {};
      for (const r of rs) for (const [k, v] of Object.entries(r.symbols)) acc[k] = (acc[k] ?? 0) + v;
      const total = Object.values(acc).reduce((a, b) => a + b, 0);
      const us = median(rs.map((r) => r.us));
      for (const k of Object.keys(acc)) acc[k] = (acc[k] / total) * us;
      return acc;
    };
    const p = perRecord(false);
    const t = perRecord(true);
    const grouped = (o) => {
      const g = {};
      for (const [k, v] of Object.entries(o)) g[kindOf(k)] = (g[kindOf(k)] ?? 0) + v;
      return g;
    };
    const table = (title, a, b, n) => {
      const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
      const rows = keys.map((k) => ({ k, plain: a[k] ?? 0, tls: b[k] ?? 0 })).sort((x, y) => y.tls - y.plain - (x.tls - x.plain));
      lines.push('', title, '', '| what | plaintext µs/record | HTTPS µs/record | growth |', '| --- | ---: | ---: | ---: |');
      for (const r of rows.slice(0, n))
        lines.push(`| \`${r.k.replace(/\|/g, '/')}\` | ${r.plain.toFixed(3)} | ${r.tls.toFixed(3)} | ${(r.tls - r.plain).toFixed(3)} |`);
    };
    table(`perf, ${s.name}: CPU per record by kind (perf samples as shares of each mode's CPU/record)`, grouped(p), grouped(t), 20);
    table(`perf, ${s.name}: the symbols that grow most with TLS`, p, t, 25);
  }
}
const text = `## ${stamp()} TLS at a fixed rate: where HTTPS costs the server CPU (bench/tls-paced.mjs)\n\n${machineBlock(load[0], load[1])}\n\n${lines.join('\n')}\n`;
process.stdout.write(text);
if (values.record) await appendResults(text);
