/**
 * A first-layer gateway routing metrics by stream (loadbalancing, routing_key streamID) to three OTLP/gRPC
 * backends on 127.0.0.1, with a WAL front queue: the official JS SDK's metrics exporter sends a meter's
 * cumulative counters, histograms and gauges every round; every point of a stream reaches one backend in
 * every round, streams spread over the backends, and nothing acknowledged is missing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, MeterProvider } from '@opentelemetry/sdk-metrics';
import { decodeRequest } from '../src/pdata/codec.js';
import { startGateway, receiverAddress } from './helpers/gateway.js';
import { startRawGrpcServer, type TestGrpcServer } from './helpers/otlp-test-servers.js';
import { ManualReader } from './helpers/sdk-data.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The stream of every data point a backend received: metric name and sorted attributes. */
function pointsAt(server: TestGrpcServer): string[] {
  const out: string[] = [];
  for (const r of server.requests)
    for (const rm of decodeRequest('metrics', r.message).resourceMetrics)
      for (const m of rm.scopeMetrics.flatMap((sm) => sm.metrics)) {
        const points = m.data.value?.dataPoints ?? [];
        for (const p of points) {
          const attrs = p.attributes.map((a) => `${a.key}=${String(a.value?.value.value)}`).sort();
          out.push(`${m.name}{${attrs.join(',')}}`);
        }
      }
  return out;
}

describe('loadbalancing streamID in a gateway', () => {
  it('routes every point of a stream from the SDK to one backend, round after round, through a WAL front queue', async () => {
    const backends = await Promise.all([0, 1, 2].map(() => startRawGrpcServer()));
    for (const b of backends) cleanups.push(() => b.close());
    const wal = await mkdtemp(join(tmpdir(), 'gs-lb-streams-'));
    cleanups.push(() => rm(wal, { recursive: true, force: true }));
    const gw = await startGateway(`
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
exporters:
  loadbalancing:
    routing_key: streamID
    protocol:
      otlp:
        tls:
          insecure: true
        compression: none
        sending_queue:
          enabled: false
        retry_on_failure:
          enabled: false
    resolver:
      static:
        hostnames: [${backends.map((b) => b.endpoint).join(', ')}]
    sending_queue:
      enabled: true
      storage: wal
      directory: ${wal}
    retry_on_failure:
      enabled: true
      initial_interval: 50ms
      max_interval: 200ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [loadbalancing]
`);
    cleanups.push(() => gw.shutdown());
    const exporter = new OTLPMetricExporter({ url: `http://${receiverAddress(gw, 'otlp', 'grpc')}`, temporalityPreference: AggregationTemporality.CUMULATIVE });
    cleanups.push(() => exporter.shutdown());

    const reader = new ManualReader();
    const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'checkout' }), readers: [reader] });
    cleanups.push(() => provider.shutdown());
    const meter = provider.getMeter('shop', '1.0.0');
    const requests = meter.createCounter('http.server.requests');
    const latency = meter.createHistogram('http.server.duration', { unit: 'ms' });
    const queue = meter.createGauge('queue.depth');
    const rounds = 4;
    let sentPoints = 0;
    for (let round = 0; round < rounds; round++) {
      for (let route = 0; route < 8; route++)
        for (const code of [200, 404, 500]) {
          requests.add(1 + route, { route: `/r${route}`, code });
          latency.record(route * 3.5 + code / 100, { route: `/r${route}`, code });
        }
      for (let shard = 0; shard < 6; shard++) queue.record(round * 10 + shard, { shard });
      const { resourceMetrics } = await reader.collect();
      sentPoints += resourceMetrics.scopeMetrics.flatMap((sm) => sm.metrics).reduce((n, m) => n + m.dataPoints.length, 0);
      const result = await new Promise<ExportResult>((resolve) => exporter.export(resourceMetrics, resolve));
      expect(result.code, String(result.error)).toBe(ExportResultCode.SUCCESS);
    }
    // Acknowledged once in the front WAL; delivered by its consumers.
    const delivered = () => backends.reduce((n, b) => n + pointsAt(b).length, 0);
    const until = Date.now() + 15_000;
    while (delivered() < sentPoints && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(delivered()).toBe(sentPoints);

    const home = new Map<string, number>();
    backends.forEach((b, i) =>
      pointsAt(b).forEach((stream) => {
        expect(home.get(stream) ?? i, stream).toBe(i);
        home.set(stream, i);
      }),
    );
    // 24 counter streams, 24 histogram streams, 6 gauge streams, each sent every round.
    expect(home.size).toBe(24 + 24 + 6);
    expect(new Set(home.values()).size).toBe(3);
  });
});
