/**
 * Downstream outage under steady load: the sink refuses everything for a stretch while the load generator
 * keeps pushing through a gateway child whose otlphttp exporter queues on a WAL. The gateway keeps
 * acknowledging (the data waits on disk, not in memory: its RSS stays far below the backlog's size), and
 * once the sink is back the queue drains and every acknowledged record arrives.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runLoadgen } from '../src/tools/loadgen/index.js';
import { childScene, rssOf, scrapeMetric, startGatewayChild } from './helpers/gateway-child.js';
import { walQueueGatewayConfig } from './helpers/configs.js';

const MiB = 1024 * 1024;
const scene = childScene('gs-outage-');

describe('downstream outage with a WAL queue', () => {
  it('keeps accepting with bounded memory while the sink is down, then drains with zero loss', async () => {
    const { dir, sink } = scene;
    const g = (scene.gateway = await startGatewayChild(
      walQueueGatewayConfig(sink.httpUrl, join(dir, 'wal'), { queue: { queue_size: 1_000_000, num_consumers: 10 } }),
      join(dir, 'gateway.yaml'),
    ));
    const queueBytes = () => scrapeMetric(g.metrics, 'gophership_exporter_queue_bytes', { exporter: 'otlphttp' });

    let progress = { acked: 0, failed: 0 };
    const load = runLoadgen({
      endpoint: `http://${g.http}`,
      rate: 50_000,
      batch: 1000,
      workers: 6,
      bodySize: 900,
      durationMs: 11_000,
      timeoutMs: 10_000,
      maxAttempts: 1000,
      maxElapsedMs: 30_000,
      onProgress: (p) => (progress = p),
      progressIntervalMs: 200,
    });

    // Warm up with the sink up: the baseline includes buffers, JIT and the WAL's working set.
    await sleep(2000);
    const baseline = await rssOf(g.pid);
    const ackedBefore = progress.acked;

    sink.setDown(true);
    let peak = baseline;
    const outageEnd = Date.now() + 6000;
    while (Date.now() < outageEnd) {
      await sleep(200);
      peak = Math.max(peak, await rssOf(g.pid));
    }
    const backlog = await queueBytes();
    const ackedDuringOutage = progress.acked - ackedBefore;
    sink.setDown(false);

    // The gateway kept acknowledging while the sink refused: the data went to disk.
    console.log(
      `outage: backlog ${(backlog / MiB).toFixed(0)} MiB on disk, rss baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB, acked during outage ${ackedDuringOutage}`,
    );
    expect(ackedDuringOutage).toBeGreaterThan(100_000);
    expect(backlog).toBeGreaterThan(128 * MiB);
    // Memory stayed bounded: RSS grew by less than a third of the backlog (and under 96 MiB), where a
    // memory queue would have grown by all of it.
    expect(peak - baseline).toBeLessThan(Math.min(96 * MiB, backlog / 3));

    const result = await load;
    expect(result.failed, JSON.stringify(result.failures)).toBe(0);

    // Back up: the backlog drains and every acknowledged record arrives.
    const deadline = Date.now() + 25_000;
    let report = sink.verify([result]);
    while (!report.ok && Date.now() < deadline) {
      await sleep(250);
      report = sink.verify([result]);
    }
    expect(report.lost, JSON.stringify(report.runs[0]?.lostRanges)).toBe(0);
    expect(report.runs[0]!.delivered).toBe(result.acked);
    let queued = -1;
    for (let i = 0; i < 50 && queued !== 0; i++) {
      queued = await scrapeMetric(g.metrics, 'otelcol_exporter_queue_size', { exporter: 'otlphttp' });
      if (queued !== 0) await sleep(100);
    }
    expect(queued).toBe(0);
    expect(sink.stats().totals.refused).toBeGreaterThan(0);

    g.child.kill('SIGTERM');
    const [code] = await g.exited;
    expect(code).toBe(0);
  }, 58_000);
});
