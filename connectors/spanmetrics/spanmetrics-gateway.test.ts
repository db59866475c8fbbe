/**
 * spanmetrics in a real gateway: spans posted over OTLP/HTTP, the connector's metrics exported by the
 * otlphttp exporter to a real HTTP sink. The keys that shape the series are set as a collector config
 * writes them (calls_dimensions, histogram.dimensions, events, include_instrumentation_scope), and the
 * metrics that reach the sink carry exactly the dimensions each metric asks for.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ExportMetricsServiceRequest } from '../../proto/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import type { Metric } from '../../proto/gen/opentelemetry/proto/metrics/v1/metrics_pb.js';
import { decodeRequest } from '../../src/pdata/codec.js';
import { fromKeyValues } from '../../src/ottl/values.js';
import type { Service } from '../../src/service/service.js';
import { gatewayYaml } from '../../test/helpers/configs.js';
import { receiverAddress, startGateway } from '../../test/helpers/gateway.js';
import { startHttpServer, type TestHttpServer } from '../../test/helpers/otlp-test-servers.js';
import { spansRequest } from '../../test/helpers/trace-builder.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function gateway(): Promise<{ svc: Service; sink: TestHttpServer; http: string }> {
  const sink = await startHttpServer();
  const svc = await startGateway(
    gatewayYaml({
      connectors: {
        spanmetrics: {
          metrics_flush_interval: '100ms',
          aggregation_temporality: 'AGGREGATION_TEMPORALITY_DELTA',
          dimensions: [{ name: 'http.request.method' }],
          calls_dimensions: [{ name: 'http.route' }],
          histogram: { unit: 'ms', dimensions: [{ name: 'http.response.status_code', default: 'unknown' }] },
          events: { enabled: true, dimensions: [{ name: 'exception.type' }] },
          include_instrumentation_scope: ['scope-0'],
          // A collector config's way to drop the per-instance dimension (one gateway here).
          exclude_dimensions: ['collector.instance.id'],
        },
      },
      exporters: { otlphttp: { endpoint: sink.url, compression: 'none' } },
      pipelines: { traces: { exporters: ['spanmetrics'] }, metrics: { receivers: ['spanmetrics'], exporters: ['otlphttp'] } },
    }),
  );
  cleanups.push(async () => {
    await svc.shutdown(5000);
    await sink.close();
  });
  return { svc, sink, http: receiverAddress(svc, 'otlp', 'http') };
}

type Point = { attrs: Record<string, unknown>; value: number };

/** Every point of every flushed request, per metric name (calls and events: the sum; duration: the count). */
function pointsByMetric(sink: TestHttpServer): Map<string, Point[]> {
  const out = new Map<string, Point[]>();
  const add = (m: Metric, p: Point) => out.set(m.name, [...(out.get(m.name) ?? []), p]);
  for (const r of sink.requests) {
    const req = decodeRequest('metrics', r.body) as ExportMetricsServiceRequest;
    for (const rm of req.resourceMetrics)
      for (const sm of rm.scopeMetrics)
        for (const m of sm.metrics) {
          const attrs = (a: Parameters<typeof fromKeyValues>[0]) =>
            Object.fromEntries([...fromKeyValues(a)].map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]));
          if (m.data.case === 'sum') for (const p of m.data.value.dataPoints) add(m, { attrs: attrs(p.attributes), value: Number(p.value.value) });
          if (m.data.case === 'histogram') for (const p of m.data.value.dataPoints) add(m, { attrs: attrs(p.attributes), value: Number(p.count) });
        }
  }
  return out;
}

/** Points with equal attributes added up (delta points of several flushes), sorted for comparison. */
function totals(points: Point[] | undefined): [Record<string, unknown>, number][] {
  const sums = new Map<string, number>();
  for (const p of points ?? []) sums.set(JSON.stringify(p.attrs), (sums.get(JSON.stringify(p.attrs)) ?? 0) + p.value);
  return [...sums]
    .map(([k, v]) => [JSON.parse(k) as Record<string, unknown>, v] as [Record<string, unknown>, number])
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

describe('spanmetrics in a gateway', () => {
  it('emits calls by calls_dimensions, durations by histogram.dimensions and span events by event dimensions', async () => {
    const { sink, http } = await gateway();
    const body = spansRequest(
      [
        { trace: 1, name: 'GET /a', attrs: { 'http.request.method': 'GET', 'http.route': '/a', 'http.response.status_code': 200 } },
        {
          trace: 2,
          name: 'GET /a',
          attrs: { 'http.request.method': 'GET', 'http.route': '/a' },
          events: [
            { name: 'exception', attrs: { 'exception.type': 'Timeout' } },
            { name: 'exception', attrs: { 'exception.type': 'Timeout' } },
          ],
        },
      ],
      { 'service.name': 'shop' },
    );
    const res = await fetch(`http://${http}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from(body) });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    const end = Date.now() + 10_000;
    while (!pointsByMetric(sink).has('traces.span.metrics.events')) {
      if (Date.now() > end) throw new Error('no events metric reached the sink');
      await sleep(20);
    }
    await sleep(250); // a later flush of nothing adds nothing (delta)
    const got = pointsByMetric(sink);
    const base = {
      'service.name': 'shop',
      'span.name': 'GET /a',
      'span.kind': 'SPAN_KIND_SERVER',
      'status.code': 'STATUS_CODE_UNSET',
      'http.request.method': 'GET',
      'span.instrumentation.scope.name': 'scope-0',
    };
    expect(totals(got.get('traces.span.metrics.calls'))).toEqual([[{ ...base, 'http.route': '/a' }, 2]]);
    expect(totals(got.get('traces.span.metrics.duration'))).toEqual(
      totals([
        { attrs: { ...base, 'http.response.status_code': 200 }, value: 1 },
        { attrs: { ...base, 'http.response.status_code': 'unknown' }, value: 1 },
      ]),
    );
    expect(totals(got.get('traces.span.metrics.events'))).toEqual([[{ ...base, 'exception.type': 'Timeout' }, 2]]);
  });
});
