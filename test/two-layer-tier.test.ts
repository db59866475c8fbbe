/**
 * The two-layer gateway tier on 127.0.0.1 (issue 22): one GopherShip with the loadbalancing exporter in
 * front of three GopherShip processes, traces from the official JS SDK exporter (OTLP/gRPC). Each
 * second-layer gateway forwards to its own sink through a WAL queue. Mid-run one second-layer gateway is
 * killed (SIGKILL) and restarted behind the same address: every span the SDK had acknowledged reaches a
 * sink, and every span of a trace reaches the sink of one and the same second-layer gateway.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { decodeRequest } from '../src/pdata/codec.js';
import { killGatewayChild, startGatewayChild, TcpProxy, type GatewayChild } from './helpers/gateway-child.js';
import { startRawGrpcServer, type TestGrpcServer } from './helpers/otlp-test-servers.js';
import { makeSpans } from './helpers/sdk-data.js';

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
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp]
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

describe('two-layer tier: loadbalancing in front of three gateways', () => {
  it('keeps every span of a trace on one second-layer gateway, and loses nothing acknowledged when one is killed and restarted', async () => {
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

    const acked = new Map<string, string>(); // spanId -> traceId
    const exporters = Array.from({ length: 3 }, () => new OTLPTraceExporter({ url: `http://${grpcAddress(first)}` }));
    cleanups.push(async () => {
      for (const e of exporters) await e.shutdown();
    });
    const send = async (round: number) => {
      await Promise.all(
        exporters.map(async (exp, e) => {
          const spans = (await Promise.all(Array.from({ length: 5 }, (_, t) => makeSpans(`r${round}-e${e}-t${t}`, 8)))).flat();
          const result = await new Promise<ExportResult>((resolve) => exp.export(spans, resolve));
          if (result.code === ExportResultCode.SUCCESS) for (const s of spans) acked.set(s.spanContext().spanId, s.spanContext().traceId);
        }),
      );
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

    const received = () => {
      const bySpan = new Map<string, { traceId: string; sink: number }>();
      sinks.forEach((sink, i) => {
        for (const r of sink.requests) {
          for (const rs of decodeRequest('traces', r.message).resourceSpans) {
            for (const ss of rs.scopeSpans) for (const s of ss.spans) bySpan.set(hex(s.spanId), { traceId: hex(s.traceId), sink: i });
          }
        }
      });
      return bySpan;
    };
    const deadline = Date.now() + 60_000;
    while ([...acked.keys()].some((id) => !received().has(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));

    const got = received();
    const missing = [...acked.keys()].filter((id) => !got.has(id));
    expect(acked.size).toBeGreaterThanOrEqual(3 * 5 * 8 * 8); // most rounds acknowledged
    expect(missing).toEqual([]);
    // Every span of a trace at one sink (one second-layer gateway), and every sink got traces.
    const home = new Map<string, number>();
    for (const { traceId, sink } of got.values()) {
      expect(home.get(traceId) ?? sink).toBe(sink);
      home.set(traceId, sink);
    }
    expect(new Set(home.values()).size).toBe(3);
  }, 180_000);
});
