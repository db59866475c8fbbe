/**
 * Full GCs of a real gateway. The heap-growth governor (src/core/heap-growth.ts): the same OTLP/HTTP load
 * through a gateway child with the governor and through one started with --heap-growing-percent=0 (the
 * user's flag wins, so that child runs on V8's own limit). Request bodies churning through a small JS heap
 * made V8 run a full mark-compact every few dozen MB; with the governor those must become rare. And the
 * memory sending queue with wait_for_result against no queue: neither may keep bodies into the old generation.
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
  dir = await mkdtemp(join(tmpdir(), 'gs-heap-growth-'));
  sink = await startSink({ grpc: false, track: false });
});

afterAll(async () => {
  await killGatewayChild(gateway);
  await sink.close();
  await rm(dir, { recursive: true, force: true });
});

const config = (sinkUrl: string, sendingQueue?: Record<string, unknown>): string =>
  gatewayYaml({
    processors: { batch: {} },
    exporters: { otlphttp: { endpoint: sinkUrl, compression: 'none', ...(sendingQueue ? { sending_queue: sendingQueue } : {}) } },
    pipelines: { logs: { processors: ['batch'], exporters: ['otlphttp'] } },
    service: SELF_METRICS,
  });

/**
 * Full (major) GCs per GiB of request bodies through a fresh gateway child started with `nodeArgs`, its
 * exporter with `sendingQueue` (the default queue without), for `count` records after a warm-up.
 */
async function majorGcsPerGiB(
  nodeArgs: string[],
  sendingQueue?: Record<string, unknown>,
  count = 2_500_000,
): Promise<{ perGiB: number; majors: number; bytes: number }> {
  gateway = await startGatewayChild(config(sink.httpUrl, sendingQueue), join(dir, `gateway-${nodeArgs.length}.yaml`), nodeArgs);
  const g = gateway;
  const majors = () => scrapeMetric(g.metrics, 'gophership_nodejs_gc_duration_seconds_count', { kind: 'major' });
  const load = { endpoint: `http://${g.http}`, batch: 1000, workers: 8, bodySize: 246, timeoutMs: 30_000 };
  await runLoadgen({ ...load, count: 200_000 }); // warm-up: JIT, sockets, the first limit recomputations
  const before = await majors();
  const r = await runLoadgen({ ...load, count });
  const after = await majors();
  await killGatewayChild(gateway);
  gateway = undefined;
  expect(r.failed).toBe(0);
  return { perGiB: (after - before) / (r.bytes / 2 ** 30), majors: after - before, bytes: r.bytes };
}

describe('heap growth governor', () => {
  it('keeps full GCs rare while request bodies churn through the gateway', async () => {
    // Measured here: 52-68 per GiB on V8's own limit, 12-14 with the governor; after the second wave 13-19
    // governed and 30-36 on V8's own limit (a 2.4x run failed this bar). On 2026-12-06 with the memory queue's
    // consumers woken last-parked-first again (src/exporterhelper/memory-queue.ts): 3.0 governed, 16.8 on
    // V8's own limit (38.5 without that change; the governed rate did not move, so this bar alone would not
    // have caught it; src/exporterhelper/sending-queue.test.ts checks that idle consumers hold no batch).
    // Later that day on a machine loaded 17-20 on 2 cores (bench/heap-growth.mjs, 4 pairs): 2.0-6.9 governed,
    // 16.8-43.4 on V8's own limit, and 1.0-1.2 vs 1.4-1.9 gateway CPU seconds per million records.
    // A GiB holds only a handful of full GCs, and V8's own limit moves with how busy the machine is (a
    // clean-clone CI run once read 10.9 governed vs 4.9): so pairs are measured, in alternating order, until
    // the totals over all pairs so far show the gain (up to four pairs); one odd pair cannot fail the test
    // alone, and the governed total must stay under the absolute bar. In a clean-clone CI run of the tenth
    // session the totals over four pairs were 31 governed vs 68 on V8's own limit (2.2x; pairs 2.0-5.4x
    // and one of 10 vs 3): the gain asked is 2x, the magnitude is bench/heap-growth.mjs's to measure.
    const readings: string[] = [];
    const total = { governed: { majors: 0, bytes: 0 }, v8Default: { majors: 0, bytes: 0 } };
    const perGiB = (t: { majors: number; bytes: number }) => t.majors / (t.bytes / 2 ** 30);
    for (let pair = 1; pair <= 4; pair++) {
      const run = { governed: () => majorGcsPerGiB([]), v8Default: () => majorGcsPerGiB(['--heap-growing-percent=0']) };
      const order = pair % 2 === 1 ? (['v8Default', 'governed'] as const) : (['governed', 'v8Default'] as const);
      const got: Partial<Record<'governed' | 'v8Default', Awaited<ReturnType<typeof majorGcsPerGiB>>>> = {};
      for (const k of order) {
        got[k] = await run[k]();
        total[k].majors += got[k].majors;
        total[k].bytes += got[k].bytes;
      }
      readings.push(`governed ${JSON.stringify(got.governed)} vs V8 default ${JSON.stringify(got.v8Default)}`);
      const detail = `totals over ${pair} pair(s): governed ${perGiB(total.governed).toFixed(1)} vs V8 default ${perGiB(total.v8Default).toFixed(1)} per GiB; ${readings.join('; ')}`;
      expect(total.v8Default.majors, detail).toBeGreaterThan(0);
      if (perGiB(total.governed) * 2 < perGiB(total.v8Default)) {
        expect(perGiB(total.governed), detail).toBeLessThan(22);
        return;
      }
    }
    expect.fail(`the governor never kept 2x fewer full GCs than V8's own limit over 4 pairs: ${readings.join('; ')}`);
  }, 420_000);
});

describe('memory sending queue with wait_for_result', () => {
  it('lets request bodies die young: no more full GCs than without the queue', async () => {
    // Both answer a request once the sink accepted it, so neither holds more bodies than requests in flight.
    // When the queue's settling function closed over its entry (and so the body), nearly every body reached
    // the old generation (src/exporterhelper/memory-queue.ts; bench/RESULTS.md, 2026-12-07 02:55).
    // Measured on a loaded 2-core machine (830 MiB each): 13.6 per GiB with the entry in the settling
    // closure against 0.0 with the queue off; 4.9 against 1.2 without it. Light-mode client with batch
    // (bench/paced-ab.mjs): 15-17 against 0.5, the queue off 0-1.
    const waiting = await majorGcsPerGiB([], { wait_for_result: true }, 2_000_000);
    const off = await majorGcsPerGiB([], { enabled: false }, 2_000_000);
    const detail = `wait_for_result ${JSON.stringify(waiting)}; queue off ${JSON.stringify(off)}`;
    expect(waiting.perGiB, detail).toBeLessThan(off.perGiB + 7);
  }, 240_000);
});
