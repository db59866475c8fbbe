/**
 * The gateway as a child process (`node bin/gophership.js --config F`, built dist), for tests that kill it,
 * restart it, or measure its memory; plus a TCP proxy with a stable port in front of it (a restarted
 * gateway binds a new ephemeral port, while the load generator keeps one endpoint).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { allocatorEnv } from '../../src/core/allocator.js';
import { startSink, type Sink } from '../../src/tools/sink/index.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'gophership.js');

export interface GatewayChild {
  child: ChildProcess;
  pid: number;
  /** host:port of the OTLP/HTTP receiver. */
  http: string;
  /** host:port of the OTLP/gRPC receiver, when the config enables it. */
  grpc: string | undefined;
  /** host:port of the self-metrics endpoint. */
  metrics: string;
  stderr(): string;
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/**
 * Writes `yaml` to `file` and starts the gateway on it (with `nodeArgs` before the script, e.g. V8 flags,
 * and `args` after it, e.g. `--shutdown-timeout 3s`, in `cwd`); resolves once the receiver and metrics listen.
 */
export async function startGatewayChild(
  yaml: string,
  file: string,
  nodeArgs: readonly string[] = [],
  args: readonly string[] = [],
  /** The child's working directory (default: this process's), against which relative defaults such as ./data resolve. */
  cwd?: string,
  /** Variables on top of this process's; the child starts with the allocator setting `npm start` gives it unless `env` overrides it. */
  env: NodeJS.ProcessEnv = {},
): Promise<GatewayChild> {
  await writeFile(file, yaml);
  const child = spawn(process.execPath, [...nodeArgs, BIN, '--config', file, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    cwd,
    env: { ...process.env, ...allocatorEnv(), ...env },
  });
  let stderr = '';
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    // Keep the head and the tail: enough to diagnose, bounded under heavy logging.
    stderr = stderr.length > 200_000 ? stderr.slice(0, 100_000) + stderr.slice(-50_000) + d : stderr + d;
  });
  const addrs = await new Promise<{ http: string; grpc: string | undefined; metrics: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in 20 s:\n${stderr}`)), 20_000);
    const check = (): void => {
      const h = /"msg":"OTLP receiver listening".*?"http":"([^"]+)"/.exec(stderr);
      const g = /"msg":"OTLP receiver listening".*?"grpc":"([^"]+)"/.exec(stderr);
      const m = /"msg":"gateway started".*?"metrics":"([^"]+)"/.exec(stderr);
      if (h && m) {
        clearTimeout(timer);
        child.stderr!.off('data', check);
        resolve({ http: h[1]!, grpc: g?.[1], metrics: m[1]! });
      }
    };
    child.stderr!.on('data', check);
    void exited.then(([code, sig]) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code ?? sig}) before it started:\n${stderr}`));
    });
  });
  return { child, pid: child.pid!, ...addrs, stderr: () => stderr, exited };
}

/** Resident set size of a process in bytes, from /proc/<pid>/status (`field` VmHWM: its peak since start). */
export async function rssOf(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** Scrapes the gateway's /metrics and sums the samples of `name` whose labels include `labels`. */
export async function scrapeMetric(metricsAddress: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
  let sum = 0;
  const re = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const lbl = m[1] ?? '';
    if (Object.entries(labels).every(([k, v]) => lbl.includes(`${k}="${v}"`))) sum += Number(m[2]);
  }
  return sum;
}

/** One histogram series as scraped: its cumulative bucket counts by `le`, its sum and its count. */
export interface ScrapedHistogram {
  buckets: Record<string, number>;
  sum: number;
  count: number;
}

/**
 * The histogram `name` in Prometheus text (`_bucket`, `_sum`, `_count` samples), adding up the series whose
 * labels include `labels` (all-zero when none is there yet).
 */
export function histogramIn(text: string, name: string, labels: Record<string, string> = {}): ScrapedHistogram {
  const out: ScrapedHistogram = { buckets: {}, sum: 0, count: 0 };
  const re = new RegExp(`^${name}_(bucket|sum|count)(\\{[^}]*\\})? (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const lbl = m[2] ?? '';
    if (!Object.entries(labels).every(([k, v]) => lbl.includes(`${k}="${v}"`))) continue;
    const v = Number(m[3]);
    if (m[1] === 'sum') out.sum += v;
    else if (m[1] === 'count') out.count += v;
    else {
      const le = /le="([^"]*)"/.exec(lbl)![1]!;
      out.buckets[le] = (out.buckets[le] ?? 0) + v;
    }
  }
  return out;
}

/** Scrapes the gateway's /metrics for the histogram `name` (see histogramIn). */
export async function scrapeHistogram(metricsAddress: string, name: string, labels: Record<string, string> = {}): Promise<ScrapedHistogram> {
  return histogramIn(await (await fetch(`http://${metricsAddress}/metrics`)).text(), name, labels);
}

/** A TCP proxy on 127.0.0.1:<ephemeral> forwarding to a target that can change (or be absent: refuse). */
export class TcpProxy {
  target: { host: string; port: number } | undefined;
  private readonly server = net.createServer((client) => this.onConnection(client));
  private readonly sockets = new Set<net.Socket>();

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  setTarget(hostPort: string | undefined): void {
    if (!hostPort) {
      this.target = undefined;
      return;
    }
    const i = hostPort.lastIndexOf(':');
    this.target = { host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) };
  }

  private onConnection(client: net.Socket): void {
    const t = this.target;
    if (!t) {
      client.destroy();
      return;
    }
    const upstream = net.connect(t.port, t.host);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** What a durability test file's tests share: a temp directory, a sink, and the gateway child a test started. */
export interface ChildScene {
  readonly dir: string;
  readonly sink: Sink;
  /** Set by the test that starts it: killed after the file's tests if still running. */
  gateway: GatewayChild | undefined;
}

/**
 * Before the file's tests: a temp directory named from `prefix` and a sink (OTLP/HTTP only, Retry-After
 * 1 s); after them: the gateway child killed, the sink closed, the directory removed.
 */
export function childScene(prefix: string): ChildScene {
  const scene = { gateway: undefined } as { dir: string; sink: Sink; gateway: GatewayChild | undefined };
  beforeAll(async () => {
    scene.dir = await mkdtemp(join(tmpdir(), prefix));
    scene.sink = await startSink({ grpc: false, retryAfterSec: 1 });
  });
  afterAll(async () => {
    await killGatewayChild(scene.gateway);
    await scene.sink?.close();
    if (scene.dir) await rm(scene.dir, { recursive: true, force: true });
  });
  return scene;
}

/** SIGKILLs a gateway child still running (test cleanup). */
export async function killGatewayChild(gateway: GatewayChild | undefined): Promise<void> {
  if (gateway && gateway.child.exitCode === null && gateway.child.signalCode === null) {
    gateway.child.kill('SIGKILL');
    await gateway.exited;
  }
}

/** What sampleRss saw near the bar: the gateway's own account of its memory at that moment. */
export interface RssSnapshot {
  /** The VmRSS sample (bytes) that started the snapshot. */
  rss: number;
  /** /proc status: anonymous, file-backed and shared resident bytes, and the thread count. */
  status: string;
  /** The gateway's gate and heap gauges (gophership_somatic_*_bytes, gophership_nodejs_*), one per line. */
  metrics: string;
}

/** The gauges a snapshot keeps: where the gate thought memory was, and where V8 says it is. */
const SNAPSHOT_METRICS =
  /^gophership_(somatic_(inflight|held|admission_cap)_bytes|somatic_zone |nodejs_(heap_size_used|heap_size_total|external_memory)_bytes)/;

/**
 * Samples a process's VmRSS every `intervalMs` from a separate small process, so that a busy test process
 * (a flood's client runs in it) does not thin the samples out. `stop()` ends it and returns the samples
 * in bytes, in order. With `watch`, every sample over `watch.aboveBytes` also takes a snapshot (at most one
 * in flight, one per 500 ms): RssAnon/RssFile/RssShmem/Threads and the gateway's memory gauges scraped from
 * `watch.metrics` (host:port), so that a sample over a memory bar says where the memory was.
 */
export function sampleRss(
  pid: number,
  intervalMs: number,
  watch?: { aboveBytes: number; metrics: string },
): { stop(): Promise<{ samples: number[]; snapshots: RssSnapshot[] }> } {
  const script = `
const { readFileSync } = require('node:fs');
const http = require('node:http');
const above = ${watch ? watch.aboveBytes : Infinity};
const url = ${JSON.stringify(watch ? `http://${watch.metrics}/metrics` : '')};
const keep = ${SNAPSHOT_METRICS.toString()};
let scraping = false;
let lastScrape = 0;
const field = (text, name) => {
  const line = text.split('\\n').find((l) => l.startsWith(name + ':'));
  return line && line.slice(name.length + 1).trim().split(' ')[0];
};
const snapshot = (rss, text) => {
  scraping = true;
  lastScrape = Date.now();
  const status = ['RssAnon', 'RssFile', 'RssShmem', 'Threads'].map((n) => n + ' ' + field(text, n) + (n === 'Threads' ? '' : ' kB')).join(', ');
  http.get(url, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d) => (body += d));
    res.on('end', () => {
      scraping = false;
      const metrics = body.split('\\n').filter((l) => keep.test(l)).join('\\n');
      process.stdout.write('#' + JSON.stringify({ rss, status, metrics }) + '\\n');
    });
  }).on('error', () => (scraping = false));
};
const tick = () => {
  try {
    const text = readFileSync('/proc/${pid}/status', 'utf8');
    const kb = field(text, 'VmRSS');
    if (kb === undefined) return;
    process.stdout.write(kb + '\\n');
    const rss = Number(kb) * 1024;
    if (rss > above && !scraping && Date.now() - lastScrape >= 500) snapshot(rss, text);
  } catch { process.exit(0); }
};
tick();
setInterval(tick, ${intervalMs});`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (out += d));
  const exited = once(child, 'exit');
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
      const lines = out.split('\n').filter((l) => l !== '');
      return {
        samples: lines.filter((l) => !l.startsWith('#')).map((kb) => Number(kb) * 1024),
        snapshots: lines.filter((l) => l.startsWith('#')).map((l) => JSON.parse(l.slice(1)) as RssSnapshot),
      };
    },
  };
}
