/**
 * The two-layer gateway tier on 127.0.0.1 (issue 22): one GopherShip with the loadbalancing exporter in
 * front of three GopherShip processes that derive RED metrics (the spanmetrics connector) and forward the
 * spans. Traces come from three application processes using the official JS SDK and its OTLP/gRPC
 * exporter (whole traces of 8 spans). Each second-layer gateway forwards spans (through a WAL queue) and
 * its metrics to its own sink. Mid-run one second-layer gateway is killed (SIGKILL) and restarted behind
 * the same address: every span the SDK had acknowledged reaches a sink, every span of a trace reaches the
 * sink of the member the ring names, and each gateway's call counts match the spans it took.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeRequest } from '../src/pdata/codec.js';
import { HashRing } from '../exporters/loadbalancing/ring.js';
import { killGatewayChild, scrapeMetric, startGatewayChild, TcpProxy, type GatewayChild } from './helpers/gateway-child.js';
import { startRawGrpcServer, type TestGrpcServer } from './helpers/otlp-test-servers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Both layers receive OTLP/gRPC (and HTTP, which the child-process helper waits for). */
const receivers = `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
      http:
        endpoint: 127.0.0.1:0
`;

const telemetry = `
  telemetry:
    logs:
      level: info
    metrics:
      address: 127.0.0.1:0`;

/** Durations the sender makes (sdk-trace-sender.mjs), and the default bucket (unit s) each falls in. */
const BUCKET_OF: Record<string, number> = { 'GET /orders': 7 /* 120ms <= 0.2 */, 'SELECT orders': 2 /* 5ms <= 0.006 */, render: 5 /* 30ms <= 0.05 */ };

function secondLayerConfig(sink: string, walDir: string): string {
  return `${receivers}exporters:
  otlp:
    endpoint: ${sink}
    tls:
      insecure: true
    compression: none
    sending_queue:
      storage: wal
      directory: ${walDir}
    retry_on_failure:
      initial_interval: 50ms
      max_interval: 200ms
  otlp/metrics:
    endpoint: ${sink}
    tls:
      insecure: true
    compression: none
connectors:
  spanmetrics:
    aggregation_temporality: AGGREGATION_TEMPORALITY_DELTA
    metrics_flush_interval: 250ms
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp, spanmetrics]
    metrics:
      receivers: [spanmetrics]
      exporters: [otlp/metrics]
${telemetry}
`;
}

function firstLayerConfig(backends: string[]): string {
  return `${receivers}exporters:
  loadbalancing:
    routing_key: traceID
    protocol:
      otlp:
        tls:
          insecure: true
        compression: none
        timeout: 2s
        retry_on_failure:
          initial_interval: 50ms
          max_interval: 250ms
          max_elapsed_time: 2m
    resolver:
      static:
        hostnames: [${backends.join(', ')}]
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [loadbalancing]
${telemetry}
`;
}

const grpcAddress = (g: GatewayChild) => /"msg":"OTLP receiver listening".*?"grpc":"([^"]+)"/.exec(g.stderr())![1]!;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** An application process sending whole traces with the official SDK; send(round) resolves with the spans it got acknowledged. */
interface App {
  child: ChildProcess;
  send(round: number): Promise<[spanId: string, traceId: string, name: string, status: number][]>;
}

async function startApp(url: string, tag: string): Promise<App> {
  const child = fork(join(import.meta.dirname, 'helpers', 'sdk-trace-sender.mjs'), [JSON.stringify({ url, tag, tracesPerRound: 5, spansPerTrace: 8 })], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`sender ${tag} exited (${code})`)));
  });
  return {
    child,
    send: (round) =>
      new Promise((resolve) => {
        const on = (m: { round: number; acked: [string, string, string, number][] }) => {
          if (m.round !== round) return;
          child.off('message', on);
          resolve(m.acked);
        };
        child.on('message', on);
        child.send({ round });
      }),
  };
}

/** What one sink holds: span deliveries (duplicates counted) by span ID, and the calls and duration points of the metrics. */
function sinkContents(sink: TestGrpcServer) {
  const spans: { spanId: string; traceId: string; name: string }[] = [];
  const calls = new Map<string, number>(); // span.name -> calls
  const buckets = new Map<string, number[]>(); // span.name -> summed bucket counts
  for (const r of sink.requests) {
    if (r.path.includes('TraceService')) {
      for (const rs of decodeRequest('traces', r.message).resourceSpans)
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ spanId: hex(s.spanId), traceId: hex(s.traceId), name: s.name });
    } else if (r.path.includes('MetricsService')) {
      for (const rm of decodeRequest('metrics', r.message).resourceMetrics)
        for (const m of rm.scopeMetrics.flatMap((sm) => sm.metrics)) {
          const points = m.data.case === 'sum' || m.data.case === 'histogram' ? m.data.value.dataPoints : [];
          for (const p of points) {
            const name = String(p.attributes.find((a) => a.key === 'span.name')?.value?.value.value);
            if (m.name === 'traces.span.metrics.calls' && 'value' in p) calls.set(name, (calls.get(name) ?? 0) + Number(p.value.value));
            if (m.name === 'traces.span.metrics.duration' && 'bucketCounts' in p) {
              const sum = buckets.get(name) ?? new Array<number>(17).fill(0);
              p.bucketCounts.forEach((c, k) => (sum[k]! += Number(c)));
              buckets.set(name, sum);
            }
          }
        }
    }
  }
  return { spans, calls, buckets };
}

const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

describe('two-layer tier: loadbalancing in front of three gateways', () => {
  it('keeps every trace on the member the ring names, counts RED metrics per member, and loses nothing acknowledged when one is killed and restarted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gs-tier-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const sinks: TestGrpcServer[] = [];
    const proxies: TcpProxy[] = [];
    const second: GatewayChild[] = [];
    const backends: string[] = [];
    for (let i = 0; i < 3; i++) {
      const sink = await startRawGrpcServer();
      cleanups.push(() => sink.close());
      sinks.push(sink);
      const gw = await startGatewayChild(secondLayerConfig(sink.endpoint, join(dir, `wal-${i}`)), join(dir, `l2-${i}.yaml`));
      second.push(gw);
      const proxy = new TcpProxy();
      backends.push(await proxy.listen());
      proxy.setTarget(grpcAddress(gw));
      cleanups.push(() => proxy.close());
      proxies.push(proxy);
    }
    cleanups.push(async () => {
      for (const g of second) await killGatewayChild(g);
    });
    const first = await startGatewayChild(firstLayerConfig(backends), join(dir, 'l1.yaml'));
    cleanups.push(() => killGatewayChild(first));

    const apps = await Promise.all([0, 1, 2].map((a) => startApp(`http://${grpcAddress(first)}`, `p${a}`)));
    cleanups.push(() => {
      for (const a of apps) a.child.disconnect();
    });
    const acked = new Map<string, string>(); // spanId -> traceId
    const send = async (round: number) => {
      for (const spans of await Promise.all(apps.map((a) => a.send(round)))) for (const [spanId, traceId] of spans) acked.set(spanId, traceId);
    };

    for (let round = 0; round < 4; round++) await send(round);
    // Kill one second-layer gateway mid-run; the first layer keeps its share queued and retries.
    second[1]!.child.kill('SIGKILL');
    await second[1]!.exited;
    proxies[1]!.setTarget(undefined);
    for (let round = 4; round < 8; round++) await send(round);
    second[1] = await startGatewayChild(secondLayerConfig(sinks[1]!.endpoint, join(dir, 'wal-1')), join(dir, 'l2-1.yaml'));
    proxies[1]!.setTarget(grpcAddress(second[1]!));
    for (let round = 8; round < 10; round++) await send(round);

    const received = () => new Map(sinks.flatMap((sink, i) => sinkContents(sink).spans.map((s) => [s.spanId, { traceId: s.traceId, sink: i }] as const)));
    const deadline = Date.now() + 60_000;
    while ([...acked.keys()].some((id) => !received().has(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));

    const got = received();
    const missing = [...acked.keys()].filter((id) => !got.has(id));
    expect(acked.size).toBeGreaterThanOrEqual(3 * 5 * 8 * 8); // most rounds acknowledged
    expect(missing).toEqual([]);
    // Every span of a trace at one sink: the member the consistent-hash ring names for its trace ID.
    const ring = new HashRing(backends);
    const home = new Map<string, number>();
    for (const { traceId, sink } of got.values()) {
      expect(home.get(traceId) ?? sink).toBe(sink);
      home.set(traceId, sink);
      expect(ring.endpoints[ring.backendFor(Buffer.from(traceId, 'hex'), 0, 16)]).toBe(backends[sink]);
    }
    expect(new Set(home.values()).size).toBe(3);
    // Had member 1 left the ring, only its own traces would have moved.
    const without1 = new HashRing([backends[0]!, backends[2]!]);
    for (const [traceId, sink] of home) {
      if (sink !== 1) expect(without1.endpoints[without1.backendFor(Buffer.from(traceId, 'hex'), 0, 16)]).toBe(backends[sink]);
    }

    // spanmetrics: the members never killed counted every span they took (their receiver's accepted
    // spans, which their sink received), by span name, each duration in its hand-computed bucket. The
    // killed member lost the counts it had not flushed (kept in memory only; the spans themselves were in
    // its WAL queue), so its counts are at most what it delivered and at least what its restart took.
    const counted = async () => {
      const out: { calls: Map<string, number>; buckets: Map<string, number[]>; delivered: Map<string, number>; accepted: number }[] = [];
      for (let i = 0; i < 3; i++) {
        const c = sinkContents(sinks[i]!);
        const delivered = new Map<string, number>();
        for (const s of c.spans) delivered.set(s.name, (delivered.get(s.name) ?? 0) + 1);
        out.push({ ...c, delivered, accepted: await scrapeMetric(second[i]!.metrics, 'otelcol_receiver_accepted_spans') });
      }
      return out;
    };
    let m = await counted();
    const settle = Date.now() + 20_000;
    while ([0, 2].some((i) => total(m[i]!.calls) !== m[i]!.accepted || total(m[i]!.calls) !== total(m[i]!.delivered)) && Date.now() < settle) {
      await new Promise((r) => setTimeout(r, 250));
      m = await counted();
    }
    for (const i of [0, 2]) {
      expect(total(m[i]!.calls)).toBe(m[i]!.accepted);
      expect(m[i]!.calls).toEqual(m[i]!.delivered);
      for (const [name, counts] of m[i]!.buckets) {
        const expected = new Array<number>(17).fill(0);
        expected[BUCKET_OF[name]!] = m[i]!.calls.get(name)!;
        expect(counts, name).toEqual(expected);
      }
    }
    expect(total(m[1]!.calls)).toBeLessThanOrEqual(total(m[1]!.delivered));
    expect(total(m[1]!.calls)).toBeGreaterThanOrEqual(m[1]!.accepted);
    expect(m[1]!.accepted).toBeGreaterThan(0);
  }, 180_000);
});
