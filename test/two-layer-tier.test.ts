/**
 * The two-layer gateway tier on 127.0.0.1 (issue 22): one GopherShip with the loadbalancing exporter in
 * front of three GopherShip processes that derive RED metrics from every span (the spanmetrics connector)
 * and keep the error traces (tail_sampling, status_code ERROR). Traces come from three application
 * processes using the official JS SDK and its OTLP/gRPC exporter (whole traces of 8 spans, every 4th an
 * error). Each second-layer gateway forwards the sampled spans (through a WAL queue) and its metrics to
 * its own sink. Mid-run one second-layer gateway is killed (SIGKILL) and restarted behind the same
 * address: every acknowledged span of a sampled trace reaches a sink, whole, at the member the ring names;
 * no span of an unsampled trace does; and each gateway's call counts match the spans it took.
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
import { gatewayYaml, otlpReceiver, SELF_METRICS } from './helpers/configs.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Both layers receive OTLP/gRPC (and HTTP, which the child-process helper waits for); self-metrics on. */
const layer = { receivers: { otlp: otlpReceiver(['grpc', 'http']) }, service: SELF_METRICS };

/** Durations the sender makes (sdk-trace-sender.mjs), and the default bucket (unit ms) each falls in. */
const BUCKET_OF: Record<string, number> = { 'GET /orders': 7 /* 120ms <= 200 */, 'SELECT orders': 2 /* 5ms <= 6 */, render: 5 /* 30ms <= 50 */ };

/** Traces wait this long for their decision on the second layer. */
const DECISION_WAIT_MS = 500;

function secondLayerConfig(sink: string, walDir: string): string {
  const retry_on_failure = { initial_interval: '50ms', max_interval: '200ms' };
  return gatewayYaml({
    ...layer,
    processors: {
      tail_sampling: {
        decision_wait: `${DECISION_WAIT_MS}ms`,
        decision_cache: { sampled_cache_size: 10_000, non_sampled_cache_size: 10_000 },
        policies: [{ name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } }],
      },
    },
    exporters: {
      otlp: { endpoint: sink, tls: { insecure: true }, compression: 'none', sending_queue: { storage: 'wal', directory: walDir }, retry_on_failure },
      'otlp/metrics': { endpoint: sink, tls: { insecure: true }, compression: 'none' },
    },
    connectors: {
      forward: null,
      spanmetrics: { aggregation_temporality: 'AGGREGATION_TEMPORALITY_DELTA', metrics_flush_interval: '250ms' },
    },
    pipelines: {
      traces: { exporters: ['spanmetrics', 'forward'] },
      'traces/sampled': { receivers: ['forward'], processors: ['tail_sampling'], exporters: ['otlp'] },
      metrics: { receivers: ['spanmetrics'], exporters: ['otlp/metrics'] },
    },
  });
}

function firstLayerConfig(backends: string[]): string {
  return gatewayYaml({
    ...layer,
    exporters: {
      loadbalancing: {
        routing_key: 'traceID',
        protocol: {
          otlp: {
            tls: { insecure: true },
            compression: 'none',
            timeout: '2s',
            retry_on_failure: { initial_interval: '50ms', max_interval: '250ms', max_elapsed_time: '2m' },
          },
        },
        resolver: { static: { hostnames: backends } },
      },
    },
    pipelines: { traces: { exporters: ['loadbalancing'] } },
  });
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

type SentSpan = [spanId: string, traceId: string, name: string, status: number];

/** An application process sending whole traces with the official SDK; send(round) resolves with the spans it sent and whether they were acknowledged. */
interface App {
  child: ChildProcess;
  send(round: number): Promise<{ ok: boolean; spans: SentSpan[] }>;
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
        const on = (m: { round: number; ok: boolean; spans: SentSpan[] }) => {
          if (m.round !== round) return;
          child.off('message', on);
          resolve(m);
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
  // A metrics export the sink took but whose answer came too late for the exporter (its timeout, on a
  // loaded machine) is sent again: the same bytes, since each delta flush has its own timestamps. Counted
  // once: the counts below are of flushes, delivered at least once.
  const metricsSeen = new Set<string>();
  for (const r of sink.requests) {
    if (r.path.includes('MetricsService')) {
      const key = Buffer.from(r.message).toString('base64');
      if (metricsSeen.has(key)) continue;
      metricsSeen.add(key);
    }
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
      proxy.setTarget(gw.grpc!);
      cleanups.push(() => proxy.close());
      proxies.push(proxy);
    }
    cleanups.push(async () => {
      for (const g of second) await killGatewayChild(g);
    });
    const first = await startGatewayChild(firstLayerConfig(backends), join(dir, 'l1.yaml'));
    cleanups.push(() => killGatewayChild(first));

    const apps = await Promise.all([0, 1, 2].map((a) => startApp(`http://${first.grpc!}`, `p${a}`)));
    cleanups.push(() => {
      for (const a of apps) a.child.disconnect();
    });
    const acked = new Map<string, { traceId: string; name: string }>();
    // Error traces of every span sent, acknowledged or not: an export that timed out at the client on a
    // loaded machine may still have been taken and sampled.
    const errorTraces = new Set<string>();
    const send = async (round: number) => {
      await Promise.all(
        apps.map(async (app) => {
          // A round whose export failed (a client timeout on a loaded machine) is sent again, as an
          // application's next export would be: up to three times.
          for (let attempt = 1; attempt <= 3; attempt++) {
            const { ok, spans } = await app.send(round);
            for (const [spanId, traceId, name, status] of spans) {
              if (ok) acked.set(spanId, { traceId, name });
              if (status === 2) errorTraces.add(traceId); // SpanStatusCode.ERROR
            }
            if (ok) return;
          }
        }),
      );
    };

    const received = () => new Map(sinks.flatMap((sink, i) => sinkContents(sink).spans.map((s) => [s.spanId, { traceId: s.traceId, sink: i }] as const)));
    const sampledSpans = () => [...acked].filter(([, s]) => errorTraces.has(s.traceId)).map(([id]) => id);
    /** Waits (a generous deadline: a loaded machine is slow) until every acknowledged span of an error trace reached a sink. */
    const untilSampledArrived = async () => {
      const deadline = Date.now() + 60_000;
      while (sampledSpans().some((id) => !received().has(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    };

    for (let round = 0; round < 4; round++) await send(round);
    // Kill one second-layer gateway mid-run, once what it held has been decided (a crash loses the traces
    // still waiting for their decision: docs/deployment.md): once every sampled span sent so far arrived,
    // rather than after a fixed wait. The first layer keeps its share queued and retries.
    await untilSampledArrived();
    second[1]!.child.kill('SIGKILL');
    await second[1]!.exited;
    proxies[1]!.setTarget(undefined);
    for (let round = 4; round < 8; round++) await send(round);
    second[1] = await startGatewayChild(secondLayerConfig(sinks[1]!.endpoint, join(dir, 'wal-1')), join(dir, 'l2-1.yaml'));
    proxies[1]!.setTarget(second[1]!.grpc!);
    for (let round = 8; round < 10; round++) await send(round);

    await untilSampledArrived();
    const sampled = sampledSpans();
    // Decisions on the last traces are due DECISION_WAIT_MS after they came: nothing more may arrive.
    await new Promise((r) => setTimeout(r, DECISION_WAIT_MS * 3));

    const got = received();
    expect(acked.size).toBeGreaterThanOrEqual(3 * 5 * 8 * 8); // most rounds acknowledged
    expect(errorTraces.size).toBeGreaterThan(20);
    // Sampled traces arrive whole (every acknowledged span of an error trace), unsampled ones not at all.
    expect(sampled.filter((id) => !got.has(id))).toEqual([]);
    expect([...got.values()].filter((s) => !errorTraces.has(s.traceId))).toEqual([]);
    // Every span of a trace at one sink: the member the consistent-hash ring names for its trace ID.
    const ring = new HashRing(backends);
    const memberOf = (traceId: string) => backends.indexOf(ring.endpoints[ring.backendFor(Buffer.from(traceId, 'hex'), 0, 16)]!);
    for (const { traceId, sink } of got.values()) expect(sink).toBe(memberOf(traceId));
    expect(new Set([...got.values()].map((s) => s.sink)).size).toBe(3);
    // Had member 1 left the ring, only its own traces would have moved.
    const without1 = new HashRing([backends[0]!, backends[2]!]);
    for (const { traceId } of acked.values()) {
      const home = memberOf(traceId);
      if (home !== 1) expect(without1.endpoints[without1.backendFor(Buffer.from(traceId, 'hex'), 0, 16)]).toBe(backends[home]);
    }

    // spanmetrics (before sampling: every span): the members never killed counted every span they took
    // (their receiver's accepted spans; at least each acknowledged span the ring sent them, by name), each
    // duration in its hand-computed bucket. The killed member lost the counts it had not flushed (kept in
    // memory only), so its counts are at least what its restart took.
    const expected = [0, 1, 2].map(() => new Map<string, number>());
    for (const { traceId, name } of acked.values()) {
      const m = expected[memberOf(traceId)]!;
      m.set(name, (m.get(name) ?? 0) + 1);
    }
    const counted = async () =>
      Promise.all(
        sinks.map(async (sink, i) => ({ ...sinkContents(sink), accepted: await scrapeMetric(second[i]!.metrics, 'otelcol_receiver_accepted_spans') })),
      );
    let m = await counted();
    const settle = Date.now() + 60_000;
    while ([0, 2].some((i) => total(m[i]!.calls) !== m[i]!.accepted) && Date.now() < settle) {
      await new Promise((r) => setTimeout(r, 250));
      m = await counted();
    }
    for (const i of [0, 2]) {
      expect(m[i]!.accepted).toBeGreaterThan(100);
      expect(total(m[i]!.calls)).toBe(m[i]!.accepted);
      expect([...m[i]!.buckets.keys()].sort()).toEqual(['GET /orders', 'SELECT orders', 'render']);
      for (const [name, n] of expected[i]!) expect(m[i]!.calls.get(name), name).toBeGreaterThanOrEqual(n);
      for (const [name, counts] of m[i]!.buckets) {
        const want = new Array<number>(17).fill(0);
        want[BUCKET_OF[name]!] = m[i]!.calls.get(name)!;
        expect(counts, name).toEqual(want);
      }
    }
    expect(m[1]!.accepted).toBeGreaterThan(0);
    expect(total(m[1]!.calls)).toBeGreaterThanOrEqual(m[1]!.accepted);
  }, 300_000);
});
