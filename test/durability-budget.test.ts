/**
 * A WAL queue whose disk budget fills while the downstream is down: clients get retryable refusals
 * (503 + Retry-After, counted in otelcol_exporter_enqueue_failed), the gateway keeps running, and once
 * the downstream is back everything that was acknowledged is delivered.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runLoadgen } from '../src/tools/loadgen/index.js';
import { childScene, scrapeMetric, startGatewayChild } from './helpers/gateway-child.js';
import { walQueueGatewayConfig } from './helpers/configs.js';

const scene = childScene('gs-budget-');

describe('WAL disk budget', () => {
  it('refuses retryably when max_size_mib is full, never crashes, and delivers everything acked afterwards', async () => {
    const { dir, sink } = scene;
    const g = (scene.gateway = await startGatewayChild(
      walQueueGatewayConfig(sink.httpUrl, join(dir, 'wal'), { queue: { max_size_mib: 1, queue_size: 100_000 } }),
      join(dir, 'gateway.yaml'),
    ));
    sink.setDown(true);
    let refusedSeen = 0;
    const load = runLoadgen({
      endpoint: `http://${g.http}`,
      rate: 4000,
      batch: 50,
      workers: 4,
      bodySize: 100,
      durationMs: 6000,
      maxAttempts: 1000,
      maxElapsedMs: 40_000,
      initialBackoffMs: 100,
      maxBackoffMs: 1000,
      onProgress: (p) => (refusedSeen = p.refused),
      progressIntervalMs: 100,
    });
    // ~1.6 MB/s of requests against a 1 MiB budget: it fills within a second or two.
    const until = Date.now() + 15_000;
    while (refusedSeen === 0 && Date.now() < until) await sleep(100);
    expect(refusedSeen).toBeGreaterThan(0);
    const enqueueFailed = await scrapeMetric(g.metrics, 'otelcol_exporter_enqueue_failed_log_records', { exporter: 'otlphttp' });
    expect(enqueueFailed).toBeGreaterThan(0);
    const bytes = await scrapeMetric(g.metrics, 'gophership_exporter_queue_bytes', { exporter: 'otlphttp' });
    expect(bytes).toBeGreaterThan(512 * 1024);
    expect(bytes).toBeLessThanOrEqual(1024 * 1024);
    await sleep(1500);
    expect(g.child.exitCode).toBeNull();
    sink.setDown(false);

    const result = await load;
    // The clients were refused and retried; none gave up.
    expect(result.refused).toBeGreaterThan(0);
    expect(result.retried).toBeGreaterThan(0);
    expect(result.failed, JSON.stringify(result.failures)).toBe(0);
    expect(result.acked).toBe(result.sent);

    const deadline = Date.now() + 20_000;
    let report = sink.verify([result]);
    while (!report.ok && Date.now() < deadline) {
      await sleep(200);
      report = sink.verify([result]);
    }
    expect(report.lost, JSON.stringify(report.runs[0]?.lostRanges)).toBe(0);
    expect(report.runs[0]!.delivered).toBe(result.acked);
    expect(g.stderr()).not.toMatch(/"level":"fatal"|Dropping data/);
    console.log(`budget: acked ${result.acked}, refused attempts ${result.refused}, enqueue_failed ${enqueueFailed}, duplicates ${report.duplicates}`);

    g.child.kill('SIGTERM');
    const [code] = await g.exited;
    expect(code).toBe(0);
  }, 58_000);
});
