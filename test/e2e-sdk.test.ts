/**
 * End to end with the official OpenTelemetry JS SDK exporters as clients: logs, traces and metrics over
 * http/protobuf, http/json and grpc into gateway A, which forwards through both its `otlp` (gRPC) and
 * `otlphttp` exporters into gateway B, whose `file` exporters write what arrived. Every item must arrive
 * once per path with identical content, ids and attributes.
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTLPLogExporter as LogsHttpJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogsHttpProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as LogsGrpc } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPTraceExporter as TracesHttpJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TracesHttpProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as TracesGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPMetricExporter as MetricsHttpJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as MetricsHttpProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as MetricsGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { Service } from '../src/service/service.js';
import type { Signal } from '../src/core/signal.js';
import { startGateway, receiverAddress } from './helpers/gateway.js';
import { makeLogs, makeMetrics, makeSpans, sdkBytes } from './helpers/sdk-data.js';
import { itemsOf, splitLengthPrefixed } from './helpers/otlp-items.js';
import { gatewayYaml, otlpReceiver } from './helpers/configs.js';

type Protocol = 'http/protobuf' | 'http/json' | 'grpc';
const PROTOCOLS: Protocol[] = ['http/protobuf', 'http/json', 'grpc'];
const SIGNALS: Signal[] = ['logs', 'traces', 'metrics'];

let dir: string;
let gatewayA: Service;
let gatewayB: Service;
const expected: Record<Signal, string[]> = { logs: [], traces: [], metrics: [] };

/** Gateway B: one otlp receiver per protocol, each signal from each into its own proto file under `out`. */
function bConfig(out: string): string {
  const byPath = SIGNALS.flatMap((sig) => (['grpc', 'http'] as const).map((via) => ({ sig, via, id: `file/${sig}-${via}` })));
  return gatewayYaml({
    receivers: { 'otlp/grpc': otlpReceiver(['grpc']), 'otlp/http': otlpReceiver(['http']) },
    exporters: Object.fromEntries(byPath.map(({ sig, via, id }) => [id, { path: join(out, `${sig}-via-${via}.pb`), format: 'proto' }])),
    pipelines: Object.fromEntries(byPath.map(({ sig, via, id }) => [`${sig}/${via}`, { receivers: [`otlp/${via}`], exporters: [id] }])),
  });
}

/** Gateway A: OTLP/gRPC and OTLP/HTTP in, batch, out to B by both otlp (gRPC) and otlphttp. */
function aConfig(bGrpc: string, bHttp: string): string {
  return gatewayYaml({
    receivers: { otlp: otlpReceiver(['grpc', 'http']) },
    processors: { batch: { timeout: '20ms' } },
    exporters: { otlp: { endpoint: bGrpc, tls: { insecure: true } }, otlphttp: { endpoint: `http://${bHttp}` } },
    pipelines: Object.fromEntries(SIGNALS.map((sig) => [sig, { processors: ['batch'], exporters: ['otlp', 'otlphttp'] }])),
  });
}

function exportWith(exporter: { export(items: any, cb: (r: ExportResult) => void): void }, items: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    exporter.export(items, (r) => (r.code === ExportResultCode.SUCCESS ? resolve() : reject(r.error ?? new Error('export failed'))));
  });
}

function makeExporter(signal: Signal, protocol: Protocol, a: Service): { export(items: any, cb: (r: ExportResult) => void): void; shutdown(): Promise<void> } {
  const http = `http://${receiverAddress(a, 'otlp', 'http')}`;
  const grpc = `http://${receiverAddress(a, 'otlp', 'grpc')}`;
  const path = { logs: '/v1/logs', traces: '/v1/traces', metrics: '/v1/metrics' }[signal];
  const byProtocol = {
    logs: { 'http/json': LogsHttpJson, 'http/protobuf': LogsHttpProto, grpc: LogsGrpc },
    traces: { 'http/json': TracesHttpJson, 'http/protobuf': TracesHttpProto, grpc: TracesGrpc },
    metrics: { 'http/json': MetricsHttpJson, 'http/protobuf': MetricsHttpProto, grpc: MetricsGrpc },
  }[signal][protocol] as unknown as new (cfg: object) => { export(items: any, cb: (r: ExportResult) => void): void; shutdown(): Promise<void> };
  return new byProtocol(protocol === 'grpc' ? { url: grpc } : { url: http + path });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-e2e-'));
  gatewayB = await startGateway(bConfig(dir));
  gatewayA = await startGateway(aConfig(receiverAddress(gatewayB, 'otlp/grpc', 'grpc'), receiverAddress(gatewayB, 'otlp/http', 'http')));
});

afterAll(async () => {
  await gatewayA?.shutdown(5000);
  await gatewayB?.shutdown(5000);
  await rm(dir, { recursive: true, force: true });
});

describe('SDK exporters -> gateway A -> otlp + otlphttp -> gateway B -> file', () => {
  for (const protocol of PROTOCOLS) {
    for (const signal of SIGNALS) {
      it(`${signal} over ${protocol} is acknowledged`, async () => {
        const tag = `${signal}-${protocol}`;
        const exporter = makeExporter(signal, protocol, gatewayA);
        if (signal === 'logs') {
          const items = await makeLogs(tag);
          await exportWith(exporter, items);
          expected.logs.push(...itemsOf('logs', sdkBytes.logs(items)));
        } else if (signal === 'traces') {
          const items = await makeSpans(tag);
          await exportWith(exporter, items);
          expected.traces.push(...itemsOf('traces', sdkBytes.traces(items)));
        } else {
          const rm = await makeMetrics(tag);
          await exportWith(exporter, rm);
          expected.metrics.push(...itemsOf('metrics', sdkBytes.metrics(rm)));
        }
        await exporter.shutdown();
      });
    }
  }

  it('every item arrives at B through each exporter, identical to what the SDK sent', async () => {
    // The receivers answered only after both exporters were acknowledged by B, and B's file exporter
    // has written by then; shutting B down fsyncs and closes the files.
    await gatewayA.shutdown(5000);
    await gatewayB.shutdown(5000);
    for (const via of ['grpc', 'http']) {
      for (const signal of SIGNALS) {
        const requests = splitLengthPrefixed(await readFile(join(dir, `${signal}-via-${via}.pb`)));
        const got = requests.flatMap((req) => itemsOf(signal, req));
        expect(expected[signal].length, `${signal} items sent`).toBeGreaterThan(0);
        expect(got.sort(), `${signal} via ${via}`).toEqual(expected[signal].slice().sort());
      }
    }
  });
});
