/**
 * End to end: metrics made by the official OpenTelemetry JS SDK, sent by its OTLP metrics exporters
 * (http/protobuf and grpc) into a gateway whose transform processor runs the collector's metrics-only
 * functions, and written by the file exporter. What arrives is what the SDK sent, converted.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTLPMetricExporter as MetricsHttpProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as MetricsGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Service } from '../src/service/service.js';
import { requestToJson } from '../src/pdata/codec.js';
import { startGateway, receiverAddress } from './helpers/gateway.js';
import { makeMetrics, sdkBytes } from './helpers/sdk-data.js';
import { gatewayYaml, otlpReceiver } from './helpers/configs.js';

const STATEMENTS = [
  'convert_sum_to_gauge() where metric.name == "e2e.requests"',
  'extract_sum_metric(true) where metric.name == "e2e.latency"',
  'extract_count_metric(true, ".count") where metric.name == "e2e.latency"',
  'scale_metric(0.001, "s") where metric.name == "e2e.latency"',
  'convert_gauge_to_sum("delta", false) where metric.name == "e2e.temperature"',
];

let dir: string;
let gateway: Service;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-transform-metrics-'));
  gateway = await startGateway(
    gatewayYaml({
      receivers: { otlp: otlpReceiver(['grpc', 'http']) },
      processors: { transform: { error_mode: 'propagate', metric_statements: STATEMENTS } },
      exporters: { file: { path: join(dir, 'metrics.jsonl') } },
      pipelines: { metrics: { processors: ['transform'], exporters: ['file'] } },
    }),
  );
});

afterAll(async () => {
  await gateway?.shutdown(5000);
  await rm(dir, { recursive: true, force: true });
});

function send(exporter: { export(items: ResourceMetrics, cb: (r: ExportResult) => void): void }, rm: ResourceMetrics): Promise<void> {
  return new Promise((resolve, reject) =>
    exporter.export(rm, (r) => (r.code === ExportResultCode.SUCCESS ? resolve() : reject(r.error ?? new Error('export failed')))),
  );
}

/** What the transform should make of the SDK's own request (as OTLP/JSON): built by hand from the input. */
function expectedFrom(sent: any): any {
  const scope = sent.resourceMetrics[0].scopeMetrics[0];
  const byName = Object.fromEntries(scope.metrics.map((m: any) => [m.name, m]));
  const requests = byName['e2e.requests'];
  const latency = byName['e2e.latency'];
  const temperature = byName['e2e.temperature'];
  const { sum: requestsSum, ...requestsRest } = requests;
  const { gauge: temperatureGauge, ...temperatureRest } = temperature;
  const lp = latency.histogram.dataPoints[0];
  const point = (value: object) => ({ attributes: lp.attributes, startTimeUnixNano: lp.startTimeUnixNano, timeUnixNano: lp.timeUnixNano, ...value });
  const converted = scope.metrics.map((m: any) => {
    if (m === requests) return { ...requestsRest, gauge: { dataPoints: requestsSum.dataPoints } };
    if (m === temperature) return { ...temperatureRest, sum: { aggregationTemporality: 1, dataPoints: temperatureGauge.dataPoints } };
    return {
      ...latency,
      unit: 's',
      histogram: {
        ...latency.histogram,
        dataPoints: [{ ...lp, sum: lp.sum * 0.001, min: lp.min * 0.001, max: lp.max * 0.001, explicitBounds: lp.explicitBounds.map((b: number) => b * 0.001) }],
      },
    };
  });
  const extracted = (name: string, value: object) => ({
    name,
    ...(latency.description ? { description: latency.description } : {}),
    unit: 'ms',
    sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [point(value)] },
  });
  return {
    ...sent,
    resourceMetrics: [
      {
        ...sent.resourceMetrics[0],
        scopeMetrics: [
          {
            ...scope,
            metrics: [...converted, extracted('e2e.latency_sum', { asDouble: lp.sum }), extracted('e2e.latency.count', { asInt: lp.count })],
          },
        ],
      },
    ],
  };
}

describe('SDK metrics exporters -> gateway transform (metrics-only functions) -> file', () => {
  it('over http/protobuf and grpc, every metric arrives converted, extracted and scaled as configured', async () => {
    const sent: any[] = [];
    const exporters = [
      new MetricsHttpProto({ url: `http://${receiverAddress(gateway, 'otlp', 'http')}/v1/metrics` }),
      new MetricsGrpc({ url: `http://${receiverAddress(gateway, 'otlp', 'grpc')}` }),
    ];
    for (const [i, exporter] of exporters.entries()) {
      const rm = await makeMetrics(`transform-${i}`);
      await send(exporter, rm);
      await exporter.shutdown();
      sent.push(JSON.parse(requestToJson('metrics', sdkBytes.metrics(rm))));
    }
    // The file exporter has written each request once it was acknowledged; shutdown closes the file.
    await gateway.shutdown(5000);
    const lines = (await readFile(join(dir, 'metrics.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(2);
    const got = lines.map((l) => JSON.parse(l));
    // The SDK's metrics: a monotonic cumulative counter, a histogram of three values, a gauge.
    expect(
      sent[0].resourceMetrics[0].scopeMetrics[0].metrics.map((m: any) => [
        m.name,
        Object.keys(m).find((k) => k !== 'name' && k !== 'unit' && k !== 'description'),
      ]),
    ).toEqual([
      ['e2e.requests', 'sum'],
      ['e2e.latency', 'histogram'],
      ['e2e.temperature', 'gauge'],
    ]);
    for (let i = 0; i < 2; i++) expect(got[i]).toEqual(expectedFrom(sent[i]));
    const metrics = got[0].resourceMetrics[0].scopeMetrics[0].metrics;
    expect(metrics.map((m: any) => m.name)).toEqual(['e2e.requests', 'e2e.latency', 'e2e.temperature', 'e2e.latency_sum', 'e2e.latency.count']);
    expect(metrics[3].sum.dataPoints[0].asDouble).toBe(31.5);
    expect(metrics[4].sum.dataPoints[0].asInt).toBe('3');
  });
});
