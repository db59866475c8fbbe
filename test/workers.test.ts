/**
 * service.workers: a primary process forks worker processes that share the receiver port (Node's cluster)
 * and each run every pipeline with their own WAL directory. Shown on the real command in child processes:
 * both workers take requests, one /metrics sums them and shows each worker, a worker killed with SIGKILL
 * mid-load is replaced and its successor replays its WAL (no acknowledged record lost, counted at a real
 * sink), and SIGTERM drains every worker and exits 0. The sink refuses everything until after the kill, so
 * the killed worker provably held acknowledged records on disk that only its successor could deliver; the
 * config file is changed before the kill, and the successor still runs the config the gateway started with.
 */
import { execFileSync } from 'node:child_process';
import { get as httpGet, request as httpRequest } from 'node:http';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MMAP_THRESHOLD_TUNABLE } from '../src/core/allocator.js';
import { runLoadgen } from '../src/tools/loadgen/index.js';
import { startSink, type Sink } from '../src/tools/sink/index.js';
import { killGatewayChild, scrapeHistogram, scrapeMetric, startGatewayChild, type GatewayChild } from './helpers/gateway-child.js';
import { makeLogsRequest } from './helpers/otlp-test-servers.js';
import { gatewayYaml, SELF_METRICS, walQueueGatewayConfig } from './helpers/configs.js';
import { freePort } from './helpers/nats-server.js';
import type { StatusSnapshot } from '../src/telemetry/status/index.js';

/** The worker processes of a primary, by the primary's pid. */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

/** The WAL directories under `root` whose LOCK names `pid`, with the bytes of their other files. */
async function walHeldBy(root: string, pid: number): Promise<{ dirs: string[]; bytes: number }> {
  const out = { dirs: [] as string[], bytes: 0 };
  for (const e of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || e.name !== 'LOCK') continue;
    const holder = await readFile(join(e.parentPath, 'LOCK'), 'utf8').catch(() => '');
    if (!holder.startsWith(`${pid}@`)) continue;
    out.dirs.push(e.parentPath);
    for (const f of await readdir(e.parentPath, { withFileTypes: true }))
      if (f.isFile() && f.name !== 'LOCK') out.bytes += (await stat(join(e.parentPath, f.name))).size;
  }
  return out;
}

/** POSTs OTLP/HTTP logs on a connection of its own (the primary hands each new connection to the next worker). */
function postOnNewConnection(http: string, body: Uint8Array): Promise<number | undefined> {
  const [host, port] = http.split(':') as [string, string];
  return new Promise<number | undefined>((resolve) => {
    const req = httpRequest(
      { host, port: Number(port), path: '/v1/logs', method: 'POST', agent: false, headers: { 'content-type': 'application/x-protobuf' } },
      (res) => {
        res.resume();
        resolve(res.statusCode);
      },
    );
    req.on('error', () => resolve(undefined));
    req.end(body);
  });
}

let dir: string;
let sink: Sink;
let gateway: GatewayChild | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-workers-'));
  sink = await startSink({ grpc: false });
});
afterAll(async () => {
  if (gateway) for (const pid of childrenOf(gateway.pid)) process.kill(pid, 'SIGKILL');
  await killGatewayChild(gateway);
  await sink.close();
  await rm(dir, { recursive: true, force: true });
});

describe('worker processes (service.workers)', () => {
  it('share the port, sum their metrics, replace a killed worker with no acknowledged loss, drain on SIGTERM', async () => {
    const wal = join(dir, 'wal');
    const yaml = walQueueGatewayConfig(sink.httpUrl, wal, { queue: { num_consumers: 4 }, service: { workers: 2 } });
    // Started without the allocator setting: the primary gives it to the workers, which carry the data.
    gateway = await startGatewayChild(yaml, join(dir, 'gateway.yaml'), [], [], undefined, { GLIBC_TUNABLES: '' });
    const g = gateway;
    const workers = childrenOf(g.pid);
    expect(workers).toHaveLength(2);
    for (const pid of workers) expect((await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0')).toContain(`GLIBC_TUNABLES=${MMAP_THRESHOLD_TUNABLE}`);
    // Each worker has its own WAL directory under the configured one.
    expect((await readdir(wal)).sort()).toEqual(['worker-0', 'worker-1']);
    expect(await scrapeMetric(g.metrics, 'gophership_worker_up')).toBe(2);
    // The file changes under the running gateway (a ConfigMap update): the replacement must still run the
    // config the gateway started with, or it would look for its WAL in the new directory.
    const moved = join(dir, 'moved');
    await writeFile(join(dir, 'gateway.yaml'), walQueueGatewayConfig(sink.httpUrl, moved, { queue: { num_consumers: 4 }, service: { workers: 2 } }));

    // The downstream is down from now until after the kill: what the workers acknowledge meanwhile is held
    // in their WALs only.
    sink.setDown(true);
    const load = runLoadgen({
      endpoint: `http://${g.http}`,
      rate: 30_000,
      batch: 500,
      workers: 8,
      durationMs: 6000,
      timeoutMs: 5000,
      maxAttempts: 100,
      maxElapsedMs: 30_000,
    });
    await sleep(2000);
    const victim = workers[0]!;
    const held = await walHeldBy(wal, victim);
    expect(held.dirs).toHaveLength(1);
    // Records, not just a segment header or a checkpoint: 2 s at 30k records/s spread over two workers.
    expect(held.bytes).toBeGreaterThan(100_000);
    expect(sink.stats().totals.records).toBe(0);
    process.kill(victim, 'SIGKILL');
    await sleep(500);
    sink.setDown(false);
    const result = await load;
    expect(result.failed, JSON.stringify(result.failures)).toBe(0);
    // Enough load that the killed worker held acknowledged records; the test is about loss, not speed.
    expect(result.acked).toBeGreaterThan(5_000);

    // The replacement came up, as the same worker index, beside the survivor.
    let now = childrenOf(g.pid);
    for (let i = 0; i < 50 && (now.length < 2 || now.includes(victim)); i++) {
      await sleep(100);
      now = childrenOf(g.pid);
    }
    expect(now).toHaveLength(2);
    expect(now).not.toContain(victim);
    expect(await stat(moved).catch(() => undefined)).toBeUndefined();
    expect(await scrapeMetric(g.metrics, 'gophership_worker_restarts')).toBe(1);

    // Every acknowledged record reached the sink: what the killed worker had acknowledged was in its WAL,
    // and its successor replayed it.
    const deadline = Date.now() + 20_000;
    let report = sink.verify([result]);
    while (!report.ok && Date.now() < deadline) {
      await sleep(200);
      report = sink.verify([result]);
    }
    console.log(
      `workers: killed one of 2 mid-load holding ${held.bytes} WAL bytes; acked ${result.acked}, lost ${report.lost}, duplicates ${report.duplicates}`,
    );
    expect(report.lost, JSON.stringify(report.runs[0]?.lostRanges)).toBe(0);
    // One /metrics serves the sum over both workers: what they accepted since the restart at least.
    expect(await scrapeMetric(g.metrics, 'otelcol_receiver_accepted_log_records')).toBeGreaterThan(0);
    expect(await scrapeMetric(g.metrics, 'gophership_workers')).toBe(2);

    g.child.kill('SIGTERM');
    const [code] = await g.exited;
    expect(code).toBe(0);
    expect(childrenOf(g.pid)).toEqual([]);
  }, 60_000);

  it("shows each worker's zone on the status page, the gateway's zone as the worst worker's (never the sum), and names WALs it will not read", async () => {
    // Two Yellow workers: summed, the zone gauge read 2 and the status page and the Red alert said Red.
    const yaml = gatewayYaml({
      processors: { somatic: { memory_limit_mib: 1024, force_zone: 'yellow', wal: { directory: join(dir, 'zones-wal') } } },
      exporters: { debug: null },
      pipelines: { logs: { processors: ['somatic'], exporters: ['debug'] } },
      service: { ...SELF_METRICS, workers: 2 },
    });
    // A WAL that a run with 6 workers left: two workers never open worker-5, and the log says so.
    const stranded = join(dir, 'zones-wal', 'worker-5', 'logs');
    await mkdir(stranded, { recursive: true });
    await writeFile(join(stranded, '00000000000000000001.wal'), Buffer.alloc(64, 1));
    const g = await startGatewayChild(yaml, join(dir, 'zones.yaml'));
    try {
      expect(g.stderr()).toContain(
        `WAL directories written with another service.workers hold requests this gateway (service.workers: 2) will not read, so they are not sent: ${join(dir, 'zones-wal', 'worker-5')}. Start it with service.workers: 6 or more`,
      );
      expect(await scrapeMetric(g.metrics, 'gophership_worker_zone')).toBe(2); // 1 + 1: per-worker series
      expect(await scrapeMetric(g.metrics, 'gophership_somatic_zone')).toBe(1);
      // A sensor is a ratio of each worker's own limit: the worst worker's, under 1 for an idle gateway.
      expect(await scrapeMetric(g.metrics, 'gophership_somatic_sensor', { sensor: 'rss' })).toBeLessThan(0.5);
      let status: StatusSnapshot | undefined;
      for (let i = 0; i < 30 && (status?.workers?.each.length !== 2 || status.zone.name === null); i++) {
        await sleep(200);
        status = (await (await fetch(`http://${g.metrics}/status.json`)).json()) as StatusSnapshot;
      }
      expect(status!.zone.name).toBe('yellow');
      expect(status!.workers).toEqual({
        global: 'green',
        each: [
          { worker: '0', zone: 'yellow', up: true, rssBytes: expect.any(Number) },
          { worker: '1', zone: 'yellow', up: true, rssBytes: expect.any(Number) },
        ],
      });
      expect(status!.workers!.each.every((w) => w.rssBytes > 10 * 2 ** 20)).toBe(true);
      // The memory tile is the gateway's: the workers' RSS and the primary's, not the primary's alone.
      expect(status!.process.rssBytes).toBeGreaterThan(status!.workers!.each.reduce((a, w) => a + w.rssBytes, 0));
    } finally {
      g.child.kill('SIGTERM');
      await g.exited;
    }
  }, 30_000);

  it("spanmetrics keeps cumulative series per worker: each worker's carry its own collector.instance.id", async () => {
    // Validation lets cumulative spanmetrics run under several workers because of this: each worker counts
    // only its own connections' spans, so its series must be its own (as each replica's of a collector
    // tier), or cumulative totals from two writers would overwrite each other at the backend.
    const out = join(dir, 'spanmetrics.jsonl');
    const yaml = gatewayYaml({
      connectors: { spanmetrics: { metrics_flush_interval: '200ms' } },
      exporters: { file: { path: out } },
      pipelines: { traces: { exporters: ['spanmetrics'] }, metrics: { receivers: ['spanmetrics'], exporters: ['file'] } },
      service: { ...SELF_METRICS, workers: 2 },
    });
    const g = await startGatewayChild(yaml, join(dir, 'spanmetrics.yaml'));
    try {
      // Eight requests in flight, unpaced: eight connections, which the primary hands out in turn.
      const load = await runLoadgen({ endpoint: `http://${g.http}`, signal: 'traces', count: 20_000, batch: 50, workers: 8, durationMs: 5000 });
      expect(load.acked).toBeGreaterThan(0);
    } finally {
      g.child.kill('SIGTERM');
      await g.exited;
    }
    // Each worker writes its own file (path.worker-K); the ids in one file are one worker's.
    const idsOf = async (k: number) => {
      const text = await readFile(`${out}.worker-${k}`, 'utf8');
      return new Set([...text.matchAll(/"key":"collector\.instance\.id","value":\{"stringValue":"([^"]+)"/g)].map((m) => m[1]));
    };
    const [a, b] = [await idsOf(0), await idsOf(1)];
    expect(a.size).toBe(1);
    expect(b.size).toBe(1);
    expect([...a][0]).not.toBe([...b][0]);
  }, 60_000);

  it("sums the workers' histograms bucket by bucket into the primary's one /metrics", async () => {
    const yaml = gatewayYaml({
      processors: { batch: { send_batch_size: 10, timeout: '30s', flush_when_idle: false } },
      exporters: { debug: null },
      pipelines: { logs: { processors: ['batch'], exporters: ['debug'] } },
      // detailed: send_size_bytes is served at that level only, as in the collector.
      service: { telemetry: { metrics: { ...SELF_METRICS.telemetry.metrics, level: 'detailed' } }, workers: 2 },
    });
    const g = await startGatewayChild(yaml, join(dir, 'histograms.yaml'));
    try {
      // 20 requests of 10 log records, each on its own connection: the primary hands connections to the
      // workers in turn, so each worker sends 10 batches of 10 and the sum shows all 20.
      const body = makeLogsRequest(1, 10);
      for (let i = 0; i < 20; i++) expect(await postOnNewConnection(g.http, body)).toBe(200);
      const h = await scrapeHistogram(g.metrics, 'otelcol_processor_batch_batch_send_size', { processor: 'batch' });
      expect(h.count).toBe(20);
      expect(h.sum).toBe(200);
      expect(h.buckets['10']).toBe(20);
      expect(h.buckets['+Inf']).toBe(20);
      expect((await scrapeHistogram(g.metrics, 'otelcol_processor_batch_batch_send_size_bytes', { processor: 'batch' })).sum).toBe(20 * body.length);
      expect(await scrapeMetric(g.metrics, 'otelcol_processor_batch_batch_size_trigger_send', { processor: 'batch' })).toBe(20);
      // One series per bucket, not one per worker: the text has each bucket line once.
      const text = await (await fetch(`http://${g.metrics}/metrics`)).text();
      expect(text.match(/^otelcol_processor_batch_batch_send_size_bucket\{le="10",processor="batch"\} /gm) ?? []).toHaveLength(1);
    } finally {
      g.child.kill('SIGTERM');
      await g.exited;
    }
  }, 30_000);

  it('sums and shows the suffixed names a prometheus reader with without_type_suffix and without_units false serves (…_total, unit words), status page included', async () => {
    const yaml = gatewayYaml({
      processors: { batch: { send_batch_size: 10, timeout: '30s', flush_when_idle: false } },
      exporters: { debug: null },
      pipelines: { logs: { processors: ['batch'], exporters: ['debug'] } },
      service: {
        telemetry: {
          metrics: { readers: [{ pull: { exporter: { prometheus: { host: '127.0.0.1', port: 0, without_type_suffix: false, without_units: false } } } }] },
        },
        workers: 2,
      },
    });
    const g = await startGatewayChild(yaml, join(dir, 'suffixed.yaml'));
    try {
      const body = makeLogsRequest(1, 10);
      for (let i = 0; i < 20; i++) expect(await postOnNewConnection(g.http, body)).toBe(200);
      // Both workers' counters, under the one suffixed name: 200 records, not one worker's 100.
      expect(await scrapeMetric(g.metrics, 'otelcol_receiver_accepted_log_records_total')).toBe(200);
      expect(await scrapeMetric(g.metrics, 'otelcol_exporter_sent_log_records_total', { exporter: 'debug' })).toBe(200);
      expect(await scrapeMetric(g.metrics, 'otelcol_processor_batch_batch_size_trigger_send_total', { processor: 'batch' })).toBe(20);
      expect((await scrapeHistogram(g.metrics, 'otelcol_processor_batch_batch_send_size', { processor: 'batch' })).count).toBe(20);
      // The uptime is the oldest worker's (max), not the sum; the primary's own gauges keep their names.
      const uptime = await scrapeMetric(g.metrics, 'otelcol_process_uptime_seconds_total');
      expect(uptime).toBeGreaterThan(0);
      expect(uptime).toBeLessThan(60);
      expect(await scrapeMetric(g.metrics, 'gophership_worker_up')).toBe(2);
      const text = await (await fetch(`http://${g.metrics}/metrics`)).text();
      expect(text).not.toMatch(/^otelcol_receiver_accepted_log_records[{ ]/m);
      // The status page reads the summed figures under the same names.
      let status: StatusSnapshot | undefined;
      for (let i = 0; i < 30 && (status?.totals.accepted !== 200 || status.workers?.each.length !== 2); i++) {
        await sleep(200);
        status = (await (await fetch(`http://${g.metrics}/status.json`)).json()) as StatusSnapshot;
      }
      expect(status!.totals).toMatchObject({ accepted: 200, sent: 200 });
      expect(status!.workers!.each.map((w) => w.up)).toEqual([true, true]);
      expect(status!.process.heapUsedBytes).toBeGreaterThan(0);
    } finally {
      g.child.kill('SIGTERM');
      await g.exited;
    }
  }, 30_000);

  it('answers one health check for all workers: 503 from every worker while one is stuck, 200 once it reports again', async () => {
    const healthPort = await freePort();
    const yaml = gatewayYaml({
      extensions: { health_check: { endpoint: `127.0.0.1:${healthPort}` } },
      exporters: { debug: null },
      pipelines: { logs: { exporters: ['debug'] } },
      service: { ...SELF_METRICS, workers: 2 },
    });
    const g = await startGatewayChild(yaml, join(dir, 'health.yaml'));
    // A new connection per probe, each with a deadline: the stuck worker takes its share and never answers.
    const health = () =>
      new Promise<number | undefined>((resolve) => {
        const req = httpGet({ host: '127.0.0.1', port: healthPort, path: '/', agent: false, timeout: 500 }, (res) => {
          res.resume();
          resolve(res.statusCode);
        });
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve(undefined));
      });
    const until = async (wanted: number, ms: number): Promise<boolean> => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        if ((await health()) === wanted) return true;
        await sleep(50);
      }
      return false;
    };
    const [stuck] = childrenOf(g.pid);
    try {
      expect(await until(200, 5000)).toBe(true);
      // Stopped, the worker stops reporting: past REPORT_STALE_MS the machine-wide view counts it as not
      // serving, and the other worker answers the shared health check with 503.
      process.kill(stuck!, 'SIGSTOP');
      expect(await until(503, 10_000)).toBe(true);
      process.kill(stuck!, 'SIGCONT');
      expect(await until(200, 10_000)).toBe(true);
    } finally {
      process.kill(stuck!, 'SIGCONT');
      g.child.kill('SIGTERM');
      await g.exited;
    }
  }, 60_000);
});
