// The lightest peers a gateway benchmark can have on a small machine: `wrk` (Debian package) posting one
// prepared OTLP/HTTP protobuf body (bench/lib/wrk-otlp.lua) as the client, and bench/lib/count-sink.c
// (compiled here with gcc) as the downstream, counting records by skipping the protobuf's outer messages.
// Both cost a few instructions per request where a Node peer pays an event loop, a GC and JS per request,
// so on a 2-core machine the gateway gets the cores. Loss is still checked by counts: records in 2xx
// answers to wrk against records the C sink counted.
//
// `cpus` (a taskset list such as "1", or undefined) pins a peer process to those cores.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR } from './procs.mjs';
import { cpuOf } from './measure.mjs';

const LIB = join(BENCH_DIR, 'lib');
const CLK_TCK = 100;

function onPath(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !(r.error && r.error.code === 'ENOENT');
}

/** What the light peers need and is missing here, each with the Debian package that provides it (`tls`: HTTPS peers too). */
export function missingLightPeerTools({ tls = false } = {}) {
  const missing = [];
  if (!onPath('wrk', ['--version'])) missing.push('wrk (apt-get install wrk)');
  if (!onPath('gcc', ['--version'])) missing.push('gcc (apt-get install gcc), to build bench/lib/count-sink.c');
  if (tls && !existsSync('/usr/include/openssl/ssl.h')) missing.push('libssl-dev (apt-get install libssl-dev), for the HTTPS count-sink');
  return missing;
}

/** True when `taskset` (util-linux) can pin processes here. */
export function canPin() {
  return onPath('taskset', ['--version']);
}

/** argv for running `cmd args` pinned to `cpus` (or unpinned). */
function pinned(cpus, cmd, args) {
  return cpus ? ['taskset', ['-c', cpus, cmd, ...args]] : [cmd, args];
}

/** Pins a running process and all its threads to `cpus` (no-op when cpus is undefined). */
export function pinProcess(pid, cpus) {
  if (cpus) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/**
 * Compiles and starts the counting C sink; resolves when it listens. `tls: {certFile, keyFile, ca}`: it
 * serves HTTPS with that certificate (the system's OpenSSL), and its /stats is read trusting `ca`.
 */
export async function startCountSink(cpus, tls) {
  const dir = await mkdtemp(join(os.tmpdir(), 'gs-count-sink-'));
  const bin = join(dir, 'count-sink');
  const build = tls ? ['-DWITH_TLS', '-o', bin, join(LIB, 'count-sink.c'), '-lssl', '-lcrypto'] : ['-o', bin, join(LIB, 'count-sink.c')];
  execFileSync('gcc', ['-O2', ...build], { stdio: ['ignore', 'ignore', 'inherit'] });
  const [cmd, args] = pinned(cpus, bin, tls ? ['0', tls.certFile, tls.keyFile] : ['0']);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening (\d+)/);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`count-sink exited with code ${code} before listening`)));
  });
  const httpUrl = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    pid: child.pid,
    httpUrl,
    /** {requests, records, bytes, refused} since the sink started. */
    async stats() {
      if (!tls) return (await fetch(`${httpUrl}/stats`)).json();
      return new Promise((resolve, reject) => {
        https
          .get(`${httpUrl}/stats`, { ca: tls.ca, agent: false }, (res) => {
            let text = '';
            res.on('data', (d) => (text += d));
            res.on('end', () => resolve(JSON.parse(text)));
          })
          .on('error', reject);
      });
    },
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}

/**
 * One wrk run: `connections` keep-alive connections on one thread posting `bodyFile` to `url` for
 * `seconds`. Resolves with {requests, ok, non2xx, socketErrors, seconds, p50Ms, p99Ms, cpuSeconds}.
 */
export function runWrk({ url, bodyFile, connections, seconds, cpus }) {
  const [cmd, args] = pinned(cpus, 'wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '30s', '-s', join(LIB, 'wrk-otlp.lua'), url]);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, GS_BODY_FILE: bodyFile } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      const m = out.match(/GSRESULT (.*)/);
      if (code !== 0 || !m) return reject(new Error(`wrk exited with code ${code} without a result; output:\n${out.slice(-2000)}`));
      const f = Object.fromEntries(m[1].split(' ').map((kv) => kv.split('=').map((x, i) => (i ? Number(x) : x))));
      resolve({
        requests: f.requests,
        ok: f.requests - f.non2xx,
        non2xx: f.non2xx,
        socketErrors: f.connect + f.read + f.write + f.timeout,
        seconds: f.duration_us / 1e6,
        p50Ms: f.p50_us / 1000,
        p99Ms: f.p99_us / 1000,
        cpuSeconds: f.cpu_ticks / CLK_TCK,
      });
    });
  });
}

/**
 * wrk for one scenario: a warm-up run, then the measured run (wrk has no warm-up of its own); `onMeasureStart`
 * is called between them. Records acknowledged count the warm-up too (for the loss check by counts).
 */
export async function wrkWithWarmup({ url, bodyFile, connections, seconds, warmupSeconds, cpus, records }, onMeasureStart) {
  const warm = await runWrk({ url, bodyFile, connections, seconds: warmupSeconds, cpus });
  onMeasureStart();
  const run = await runWrk({ url, bodyFile, connections, seconds, cpus });
  return {
    okRequests: run.ok,
    ackedRecords: (warm.ok + run.ok) * records,
    failed: warm.non2xx + warm.socketErrors + run.non2xx + run.socketErrors,
    seconds: run.seconds,
    p99Ms: run.p99Ms,
    clientCpu: run.cpuSeconds,
  };
}

/**
 * Records the sink counted since `before` once they stop growing (3 s without a change) or reach `acked`:
 * what a gateway delivered of what it acknowledged, before it is stopped (SIGTERM drains the rest).
 */
export async function deliveredSince(records, before, acked) {
  let delivered = (await records()) - before;
  for (let still = 0; delivered < acked && still < 15;) {
    await new Promise((r) => setTimeout(r, 200));
    const now = (await records()) - before;
    still = now === delivered ? still + 1 : 0;
    delivered = now;
  }
  return delivered;
}

/** The gateway process and its worker children: {total, primary} CPU seconds so far. */
export function gatewayCpu(pid) {
  let kids = [];
  try {
    kids = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map(Number)
      .filter((n) => n > 0);
  } catch {
    /* no children */
  }
  const primary = cpuOf(pid);
  return { primary, total: primary + kids.reduce((s, k) => s + cpuOf(k), 0) };
}
