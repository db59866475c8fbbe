/**
 * kill -9 under load: the gateway (a child process) forwards through an otlphttp exporter with a WAL queue
 * to a sink that refuses part of the requests (so the WAL always holds unsent data); it is SIGKILLed twice
 * mid-load and restarted on the same WAL directory. Every record the load generator saw acknowledged must
 * reach the sink (duplicates are allowed: at-least-once).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoadgen, type LoadgenResult } from '../src/tools/loadgen/index.js';
import { startSink, type Sink } from '../src/tools/sink/index.js';
import { killGatewayChild, scrapeMetric, startGatewayChild, TcpProxy, type GatewayChild } from './helpers/gateway-child.js';
import { walQueueGatewayConfig } from './helpers/configs.js';

let dir: string;
let sink: Sink;
let proxy: TcpProxy;
let gateway: GatewayChild | undefined;

function config(sinkUrl: string): string {
  return walQueueGatewayConfig(sinkUrl, join(dir, 'wal'), {
    queue: { queue_size: 100_000, num_consumers: 32, fsync: 'interval' },
    retry: { max_elapsed_time: 0 },
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-kill-'));
  // A fifth of the requests refused (Retry-After 1 s): records wait in the WAL when the kill comes.
  sink = await startSink({ grpc: false, failRate: 0.2, retryAfterSec: 1 });
  proxy = new TcpProxy();
});

afterAll(async () => {
  await killGatewayChild(gateway);
  await proxy.close();
  await sink.close();
  await rm(dir, { recursive: true, force: true });
});

describe('WAL queue survives kill -9 of the gateway', () => {
  it('loses nothing acknowledged across two SIGKILLs and restarts on the same WAL directory', async () => {
    const file = join(dir, 'gateway.yaml');
    const front = await proxy.listen();
    gateway = await startGatewayChild(config(sink.httpUrl), file);
    proxy.setTarget(gateway.http);

    const ackedAtKill: number[] = [];
    let acked = 0;
    const load: Promise<LoadgenResult> = runLoadgen({
      endpoint: `http://${front}`,
      rate: 15_000,
      batch: 250,
      workers: 4,
      bodySize: 200,
      durationMs: 7000,
      timeoutMs: 5000,
      maxAttempts: 10_000,
      maxElapsedMs: 40_000,
      initialBackoffMs: 100,
      maxBackoffMs: 1000,
      onProgress: (p) => (acked = p.acked),
      progressIntervalMs: 100,
    });

    const resentLogs: boolean[] = [];
    for (const at of [2000, 2000]) {
      await new Promise((r) => setTimeout(r, at));
      ackedAtKill.push(acked);
      gateway.child.kill('SIGKILL');
      const [, sig] = await gateway.exited;
      expect(sig).toBe('SIGKILL');
      proxy.setTarget(undefined);
      gateway = await startGatewayChild(config(sink.httpUrl), file);
      proxy.setTarget(gateway.http);
      resentLogs.push(/resending requests left in the WAL/.test(gateway.stderr()));
    }

    const result = await load;
    expect(result.failed, JSON.stringify(result.failures)).toBe(0);
    expect(result.acked).toBeGreaterThan(ackedAtKill[1]!);
    // Both kills came mid-load, with records acknowledged before each.
    expect(ackedAtKill[0]).toBeGreaterThan(0);
    expect(ackedAtKill[1]).toBeGreaterThan(ackedAtKill[0]!);
    // The refusing sink kept data in the WAL at the kills; the restarts found it and sent it again.
    expect(resentLogs).toContain(true);

    // The restarted gateway delivers the backlog; wait until the sink holds every acknowledged record.
    const deadline = Date.now() + 30_000;
    let report = sink.verify([result]);
    while (!report.ok && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      report = sink.verify([result]);
    }
    expect(report.lost, JSON.stringify(report.runs[0]?.lostRanges)).toBe(0);
    expect(report.ok).toBe(true);
    // ...and the queue empties (the last acks follow the sink's replies).
    let queued = -1;
    for (let i = 0; i < 50 && queued !== 0; i++) {
      queued = await scrapeMetric(gateway.metrics, 'otelcol_exporter_queue_size', { exporter: 'otlphttp' });
      if (queued !== 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(queued).toBe(0);
    expect(report.runs[0]!.delivered).toBe(result.acked);
    // Duplicates are allowed (at-least-once); they are counted, not hidden.
    expect(report.duplicates).toBeGreaterThanOrEqual(0);
    console.log(
      `kill -9 e2e: acked ${result.acked}, delivered ${report.runs[0]!.delivered}, duplicates ${report.duplicates}, refused by sink ${sink.stats().totals.refused}`,
    );

    gateway.child.kill('SIGTERM');
    const [code] = await gateway.exited;
    expect(code).toBe(0);
  }, 55_000);
});
