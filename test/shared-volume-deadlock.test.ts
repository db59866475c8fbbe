/**
 * Issue 17 item 2: the somatic debt WAL and the exporter's WAL queue on one full volume must not wait on
 * each other. A gateway child runs logs through somatic -> batch -> otlphttp/main with a WAL queue, both
 * WALs on one 20 MiB tmpfs (the layout of examples/gateway-durable.yaml). A second exporter, on a traces
 * pipeline, has a small memory queue towards a sink that is down: its full queue takes the zone to Red
 * while the logs exporter's own queue is empty. Logs debt then fills the volume until clients are refused
 * (503). The traces sink comes back, the zone falls and the debt replays: the logs exporter's WAL has no
 * room for it, and the somatic WAL frees room only once its debt is accepted (on today's code nothing
 * moves). The exporter sends replayed debt it cannot queue directly, so every acknowledged record reaches
 * the sink with no restart (the sink checks every id).
 *
 * The volume is a real tmpfs (test/helpers/small-volume.ts: `mount -t tmpfs -o size=20m`), which needs root:
 * as here and in CI (CI=true makes it mandatory). Elsewhere the test prints why and does not run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { runLoadgen } from '../src/tools/loadgen/index.js';
import { startSink, type Sink } from '../src/tools/sink/index.js';
import { killGatewayChild, scrapeMetric, startGatewayChild, type GatewayChild } from './helpers/gateway-child.js';
import { mountTmpfs } from './helpers/small-volume.js';
import { gatewayYaml, SELF_METRICS } from './helpers/configs.js';

const MiB = 1024 * 1024;
// A gateway child writes through node:fs, so only a real tmpfs will do (not the WAL's emulating seam).
const volume = await mountTmpfs(20, 'shared-volume deadlock test');
if (!volume) console.log('shared-volume deadlock test not run here: mounting a tmpfs needs root (it runs as root, and is mandatory with CI=true)');

let sink: Sink | undefined;
let side: Sink | undefined;
let gateway: GatewayChild | undefined;
let configDir: string | undefined;
afterAll(async () => {
  await killGatewayChild(gateway);
  await sink?.close();
  await side?.close();
  await volume?.dispose();
  if (configDir) await rm(configDir, { recursive: true, force: true });
});

function config(vol: string, sinkUrl: string, sideUrl: string): string {
  const retry_on_failure = { initial_interval: '100ms', max_interval: '300ms', max_elapsed_time: 0 };
  return gatewayYaml({
    processors: {
      somatic: {
        memory_limit_mib: 512,
        check_interval: '50ms',
        min_dwell: '300ms',
        // Only the exporter queue moves the zone here: on a busy machine the event-loop sensors would hold
        // it in Red (no replay at all) for reasons this test is not about.
        thresholds: { event_loop_delay: { yellow: 0, red: 0 }, event_loop_utilization: { yellow: 0, red: 0 } },
        wal: { directory: `${vol}/somatic`, max_size_mib: 1024 },
      },
      batch: { timeout: '50ms' },
    },
    exporters: {
      'otlphttp/main': {
        endpoint: sinkUrl,
        compression: 'none',
        sending_queue: { storage: 'wal', directory: `${vol}/queue`, max_size_mib: 1024 },
        retry_on_failure,
      },
      'otlphttp/side': { endpoint: sideUrl, compression: 'none', sending_queue: { queue_size: 4, num_consumers: 1 }, retry_on_failure },
    },
    pipelines: {
      logs: { processors: ['somatic', 'batch'], exporters: ['otlphttp/main'] },
      traces: { exporters: ['otlphttp/side'] },
    },
    service: SELF_METRICS,
  });
}

describe.runIf(volume !== undefined)('somatic debt WAL and exporter WAL queue on one full volume', () => {
  it('deliver all the acknowledged debt once the sink is back, with no restart', async () => {
    const vol = volume!.dir;
    sink = await startSink({ grpc: false, retryAfterSec: 1 });
    side = await startSink({ grpc: false, retryAfterSec: 1 });
    side.setDown(true);
    configDir = await mkdtemp(join(tmpdir(), 'gs-shared-vol-cfg-'));
    gateway = await startGatewayChild(config(vol, sink.httpUrl, side.httpUrl), join(configDir, 'gateway.yaml'));
    const g = gateway;

    // The traces exporter's queue fills against its refusing sink: the zone goes Red.
    await runLoadgen({ endpoint: `http://${g.http}`, signal: 'traces', count: 10 * 10, batch: 10, workers: 1, maxAttempts: 1 });
    const until = Date.now() + 10_000;
    while ((await scrapeMetric(g.metrics, 'gophership_somatic_zone')) !== 2 && Date.now() < until) await sleep(50);
    expect(await scrapeMetric(g.metrics, 'gophership_somatic_zone')).toBe(2);

    // ~150 KB logs requests until the volume is full: Red spills them as debt, then refuses for want of room.
    const result = await runLoadgen({ endpoint: `http://${g.http}`, count: 300_000, batch: 1000, workers: 4, bodySize: 64, maxAttempts: 1, timeoutMs: 10_000 });
    const free = await volume!.freeBytes();
    console.log(`shared volume: ${result.acked} records acknowledged, ${result.failed} refused; ${(free / MiB).toFixed(1)} MiB free`);
    expect(result.acked).toBeGreaterThan(50_000);
    expect(result.failed).toBeGreaterThan(0);
    expect(await scrapeMetric(g.metrics, 'gophership_somatic_debt_records')).toBeGreaterThan(0);
    expect(sink.stats().totals.records).toBe(0);
    expect(free).toBeLessThan(2 * MiB);

    side.setDown(false);
    const deadline = Date.now() + 60_000;
    let report = sink.verify([result]);
    while (!report.ok && Date.now() < deadline) {
      await sleep(250);
      report = sink.verify([result]);
    }
    expect(report.lost, `${JSON.stringify(report.runs[0]?.lostRanges)}\n${g.stderr().slice(-4000)}`).toBe(0);
    expect(report.runs[0]!.delivered).toBe(result.acked);
    // Same process throughout.
    expect(g.child.exitCode).toBeNull();
    expect(await scrapeMetric(g.metrics, 'gophership_somatic_debt_records')).toBe(0);
    g.child.kill('SIGTERM');
    expect((await g.exited)[0]).toBe(0);
  }, 120_000);
});
