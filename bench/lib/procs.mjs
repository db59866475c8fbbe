// Child processes of a benchmark: the gateway, the sink, the forwarder and the load generator each run in
// their own Node process, so none of them shares an event loop (or a GC) with another. The orchestrator
// (run-all.mjs) only starts them, polls /proc and /metrics, and collects results over IPC.
import { fork, spawn } from 'node:child_process';
import { mkdtemp, writeFile, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { allocatorEnv } from '../../dist/src/core/allocator.js';

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
export const ROOT = dirname(BENCH_DIR);
const LIB = join(BENCH_DIR, 'lib');

/** A free loopback port. The gateway's config needs fixed ports; the tiny race is acceptable in a bench. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Waits for a child's stderr/stdout to show `pattern`, or fails when it exits first or after timeoutMs. */
function waitForLine(child, stream, pattern, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => done(new Error(`${what}: not ready after ${timeoutMs} ms; output so far:\n${buf.slice(-2000)}`)), timeoutMs);
    const onData = (d) => {
      buf += d.toString();
      const m = buf.match(pattern);
      if (m) done(undefined, m);
    };
    const onExit = (code) => done(new Error(`${what}: exited with code ${code} before it was ready; output:\n${buf.slice(-2000)}`));
    function done(err, m) {
      clearTimeout(t);
      stream.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m);
    }
    stream.on('data', onData);
    child.once('exit', onExit);
  });
}

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

function stopChild(child, signal = 'SIGTERM', graceMs = 15_000) {
  if (exited(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill(signal);
  });
}

/**
 * Starts the gateway (node bin/gophership.js) on a config object written to a temp YAML file.
 * `cpuProf: true` adds --cpu-prof; the .cpuprofile lands in `profileDir` when the gateway exits.
 * `root`: another build of the gateway (a directory with bin/ and dist/), for an A/B in one run.
 * `env`: variables set for the gateway on top of this process's and the allocator setting `npm start` gives it
 * (src/core/allocator.ts; `env` may override it).
 */
export async function startGateway(config, { cpuProf = false, profileDir, nodeArgs = [], root = ROOT, env = {} } = {}) {
  const dir = await mkdtemp(join(os.tmpdir(), 'gophership-bench-'));
  const file = join(dir, 'gateway.yaml');
  await writeFile(file, stringify(config));
  const args = [...nodeArgs];
  if (cpuProf) args.push('--cpu-prof', `--cpu-prof-dir=${profileDir ?? dir}`);
  args.push(join(root, 'bin', 'gophership.js'), '--config', file);
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...allocatorEnv(), ...env } });
  let log = '';
  const keep = (d) => {
    log += d.toString();
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  try {
    await waitForLine(child, child.stderr, /"gateway started"/, 20_000, 'gateway');
  } catch (e) {
    await stopChild(child, 'SIGKILL', 1000);
    throw e;
  }
  return {
    pid: child.pid,
    child,
    configFile: file,
    dir,
    log: () => log,
    /** SIGTERM (drains), then the profile directory's .cpuprofile files when profiling. */
    async stop() {
      await stopChild(child, 'SIGTERM', 40_000);
      const profiles = cpuProf ? (await readdir(profileDir ?? dir)).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profileDir ?? dir, f)) : [];
      if (!cpuProf) await rm(dir, { recursive: true, force: true });
      return { code: child.exitCode, profiles };
    },
  };
}

/** A forked helper that answers {id, cmd, ...} messages with {id, result|error}. */
function rpcChild(child) {
  let next = 1;
  const pending = new Map();
  child.on('message', (m) => {
    if (m && m.id && pending.has(m.id)) {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error) p.reject(new Error(m.error));
      else p.resolve(m.result);
    }
  });
  child.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`helper process exited (code ${code}) before answering`));
    pending.clear();
  });
  return (cmd, args = {}) =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      child.send({ id, cmd, ...args });
    });
}

function forkReady(script, args, what) {
  const child = fork(join(LIB, script), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`${what}: exited with code ${code} before it was ready`));
    child.once('exit', onExit);
    child.once('message', (m) => {
      child.off('exit', onExit);
      if (m?.error) reject(new Error(`${what}: ${m.error}`));
      else resolve({ child, ready: m });
    });
  });
}

/** The loss-checking sink (src/tools/sink) in its own process. `track: false` = count only. */
export async function startSinkProc(options = {}) {
  const { child, ready } = await forkReady('sink-proc.mjs', [JSON.stringify(options)], 'sink');
  const call = rpcChild(child);
  return {
    pid: child.pid,
    child,
    httpUrl: ready.httpUrl,
    grpcTarget: ready.grpcTarget,
    stats: () => call('stats'),
    verify: (acked) => call('verify', { acked }),
    async stop() {
      try {
        await call('close');
      } catch {
        /* already gone */
      }
      await stopChild(child);
    },
  };
}

/**
 * Runs the load generator (src/tools/loadgen runLoadgen) in its own process. `onProgress` gets the
 * loadgen's progress objects (every progressIntervalMs) over IPC. Resolves with the LoadgenResult.
 */
export async function runLoadgenProc(options, { onProgress, onMeasureStart } = {}) {
  const child = fork(join(LIB, 'loadgen-proc.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.on('message', (m) => {
      if (m.measuring) onMeasureStart?.();
      else if (m.progress) onProgress?.(m.progress);
      else if (m.result) resolve(m.result);
      else if (m.error) reject(new Error(`loadgen: ${m.error}`));
    });
    child.once('exit', (code) => reject(new Error(`loadgen exited with code ${code} without a result`)));
    child.send({ options, progress: Boolean(onProgress) });
  }).finally(() => stopChild(child, 'SIGTERM', 5_000));
}

/**
 * bench/forwarder.mjs as a process: `protocol` 'http' (node:http) or 'grpc' (node:http2 h2c); `durableDir`: http
 * into a group-commit file there instead of a target; `processes` > 1 (http only) forks that many forwarders
 * sharing the port (node:cluster). `tls: {certFile, keyFile}` (http only): it serves HTTPS. `nodeArgs`: Node's flags.
 */
export async function startForwarder(target, protocol = 'http', { durableDir, processes = 1, tls, nodeArgs = [] } = {}) {
  const args = [
    ...nodeArgs,
    join(BENCH_DIR, 'forwarder.mjs'),
    '--protocol',
    protocol,
    '--listen',
    '127.0.0.1:0',
    '--processes',
    String(processes),
    ...(durableDir ? ['--durable', durableDir] : ['--target', target]),
    ...(tls ? ['--cert', tls.certFile, '--key', tls.keyFile] : []),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.on('data', (d) => process.stderr.write(`[forwarder] ${d}`));
  const m = await waitForLine(child, child.stdout, /listening (\S+)/, 10_000, 'forwarder').catch(async (e) => {
    await stopChild(child, 'SIGKILL', 1000);
    throw e;
  });
  return { pid: child.pid, child, address: m[1], stop: () => stopChild(child) };
}
