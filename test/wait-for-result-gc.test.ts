/**
 * The memory sending queue with wait_for_result in a real gateway: a request is answered once the sink
 * accepted it, so no more bodies are alive than requests in flight, and they must die young. When the
 * queue's settling function closed over its entry (and so the body), nearly every body reached the old
 * generation: ~15 full GCs per GiB against ~1 with the queue off (bench/RESULTS.md, 2026-12-07 03:20).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoadgen } from '../src/tools/loadgen/index.js';
import { startSink, type Sink } from '../src/tools/sink/index.js';
import { killGatewayChild, scrapeMetric, startGatewayChild, type GatewayChild } from './helpers/gateway-child.js';
import { gatewayYaml, SELF_METRICS } from './helpers/configs.js';

let dir: string;
let sink: Sink;
let gateway: GatewayChild | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-wait-gc-'));
  sink = await startSink({ grpc: false, track: false });
});

afterAll(async () => {
  await killGatewayChild(gateway);
  await sink.close();
  await rm(dir, { recursive: true, force: true });
});

/** Full (major) GCs per GiB of requests through a fresh gateway child whose exporter has `sendingQueue`. */
async function majorGcsPerGiB(sendingQueue: Record<string, unknown>, name: string): Promise<{ perGiB: number; text: string }> {
  const yaml = gatewayYaml({
    processors: { batch: {} },
    exporters: { otlphttp: { endpoint: sink.httpUrl, compression: 'none', sending_queue: sendingQueue } },
    pipelines: { logs: { processors: ['batch'], exporters: ['otlphttp'] } },
    service: SELF_METRICS,
  });
  gateway = await startGatewayChild(yaml, join(dir, `${name}.yaml`));
  const g = gateway;
  const majors = () => scrapeMetric(g.metrics, 'gophership_nodejs_gc_duration_seconds_count', { kind: 'major' });
  const load = { endpoint: `http://${g.http}`, batch: 1000, workers: 8, bodySize: 246, timeoutMs: 30_000 };
  await runLoadgen({ ...load, count: 100_000 }); // warm-up: JIT, sockets, the governor's first readings
  const before = await majors();
  const r = await runLoadgen({ ...load, count: 2_000_000 });
  const after = await majors();
  await killGatewayChild(gateway);
  gateway = undefined;
  expect(r.failed).toBe(0);
  const perGiB = (after - before) / (r.bytes / 2 ** 30);
  return { perGiB, text: `${name}: ${after - before} full GCs for ${(r.bytes / 2 ** 20).toFixed(0)} MiB (${perGiB.toFixed(1)} per GiB)` };
}

describe('memory sending queue with wait_for_result', () => {
  it('lets request bodies die young: no more full GCs than without the queue', async () => {
    // Both answer a request once the sink accepted it, so both hold no more bodies than requests in flight.
    const waiting = await majorGcsPerGiB({ wait_for_result: true }, 'wait-for-result');
    const off = await majorGcsPerGiB({ enabled: false }, 'queue-off');
    // Measured on a loaded 2-core machine (830 MiB each): 13.6 per GiB with the entry in the settling
    // closure against 0.0 with the queue off; 4.9 against 1.2 without it. Light-mode client with batch
    // (bench/paced-ab.mjs): 15-17 against 0.5, the queue off 0-1.
    expect(waiting.perGiB, `${waiting.text}; ${off.text}`).toBeLessThan(off.perGiB + 7);
  }, 240_000);
});
