import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { AnyValueSchema, InstrumentationScopeSchema, KeyValueSchema, type KeyValue } from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';
import { ExportTraceServiceRequestSchema } from '../../proto/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';
import type { ExportMetricsServiceRequest } from '../../proto/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import { AggregationTemporality, type Metric } from '../../proto/gen/opentelemetry/proto/metrics/v1/metrics_pb.js';
import {
  ResourceSpansSchema,
  ScopeSpansSchema,
  SpanSchema,
  Span_EventSchema,
  Span_SpanKind,
  StatusSchema,
  Status_StatusCode,
} from '../../proto/gen/opentelemetry/proto/trace/v1/trace_pb.js';
import { ResourceSchema } from '../../proto/gen/opentelemetry/proto/resource/v1/resource_pb.js';
import { encodeRequest } from '../../src/pdata/codec.js';
import { Payload } from '../../src/pdata/payload.js';
import { fromKeyValues } from '../../src/ottl/values.js';
import { RecordingConsumer, testSettings } from '../../test/helpers/otlp-test-servers.js';
import { spanMetricsConnectorFactory } from './factory.js';
import type { SpanMetricsConnector } from './spanmetrics-connector.js';
import { bucketIndex } from './histograms.js';
import { testSomaticSettings } from '../../test/helpers/somatic.js';
import { silentLogger } from '../../src/telemetry/logger.js';

type Attr = string | number | boolean;
const kv = (key: string, v: Attr): KeyValue =>
  create(KeyValueSchema, {
    key,
    value: create(AnyValueSchema, {
      value:
        typeof v === 'string'
          ? { case: 'stringValue', value: v }
          : typeof v === 'boolean'
            ? { case: 'boolValue', value: v }
            : { case: 'intValue', value: BigInt(v) },
    }),
  });
const kvs = (a: Record<string, Attr>) => Object.entries(a).map(([k, v]) => kv(k, v));

interface SpanSpec {
  name: string;
  /** Duration in ms (negative: end before start). */
  ms: number;
  kind?: Span_SpanKind;
  status?: Status_StatusCode;
  attrs?: Record<string, Attr>;
  traceId?: number;
  traceState?: string;
  events?: { name: string; attrs?: Record<string, Attr> }[];
}

const T0 = 1_700_000_000_000_000_000n;
const id = (n: number, len: number) => {
  const b = new Uint8Array(len);
  b[len - 1] = n;
  return b;
};

function request(resources: { attrs: Record<string, Attr>; spans: SpanSpec[]; scope?: { name: string; version?: string } }[]): Payload {
  let spanNo = 0;
  const msg = create(ExportTraceServiceRequestSchema, {
    resourceSpans: resources.map((r) =>
      create(ResourceSpansSchema, {
        resource: create(ResourceSchema, { attributes: kvs(r.attrs) }),
        scopeSpans: [
          create(ScopeSpansSchema, {
            scope: r.scope ? create(InstrumentationScopeSchema, r.scope) : undefined,
            spans: r.spans.map((s) =>
              create(SpanSchema, {
                traceId: id(s.traceId ?? 1, 16),
                spanId: id(++spanNo, 8),
                name: s.name,
                kind: s.kind ?? Span_SpanKind.SERVER,
                startTimeUnixNano: T0,
                endTimeUnixNano: T0 + BigInt(Math.round(s.ms * 1e6)),
                attributes: kvs(s.attrs ?? {}),
                status: create(StatusSchema, { code: s.status ?? Status_StatusCode.UNSET }),
                traceState: s.traceState ?? '',
                events: (s.events ?? []).map((e) => create(Span_EventSchema, { name: e.name, timeUnixNano: T0, attributes: kvs(e.attrs ?? {}) })),
              }),
            ),
          }),
        ],
      }),
    ),
  });
  return new Payload('traces', encodeRequest('traces', msg));
}

function make(raw: Record<string, unknown>) {
  const issues: { path: string[]; message: string }[] = [];
  const cfg = spanMetricsConnectorFactory.config.parse(raw, [], issues);
  const sink = new RecordingConsumer();
  const settings = testSettings('spanmetrics', 'connector');
  settings.telemetry.close();
  const conn = issues.length
    ? undefined
    : (spanMetricsConnectorFactory.create(
        settings,
        cfg,
        { from: 'traces', to: 'metrics', pipelines: ['metrics'] },
        new Map([['metrics', sink]]),
      ) as SpanMetricsConnector);
  return { issues, conn: conn!, sink };
}

/** One flushed request's metrics by resource service.name then metric name. */
function flushed(p: Payload): Map<string, Map<string, Metric>> {
  const out = new Map<string, Map<string, Metric>>();
  for (const rm of p.decode<ExportMetricsServiceRequest>().resourceMetrics) {
    expect(rm.scopeMetrics[0]!.scope!.name).toBe('spanmetricsconnector');
    const svc = String(fromKeyValues(rm.resource!.attributes).get('service.name'));
    out.set(svc, new Map(rm.scopeMetrics[0]!.metrics.map((m) => [m.name, m])));
  }
  return out;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Attributes as a plain object. */
const plainAttrs = (a: readonly KeyValue[]) => Object.fromEntries([...fromKeyValues(a)].map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]));
/**
 * A data point's attributes as a plain object, without the collector.instance.id every series carries (checked
 * to be there, a UUID, unless it is the overflow series; its own test checks its value and exclusion).
 */
const attrsOf = (a: readonly KeyValue[]) => {
  const all = plainAttrs(a);
  const { 'collector.instance.id': instance, ...rest } = all;
  if (!('otel.metric.overflow' in all)) expect(instance).toMatch(UUID);
  return rest;
};
const instanceOf = (m: Metric) =>
  (m.data.case === 'sum' || m.data.case === 'histogram' ? m.data.value.dataPoints : []).map((p) => fromKeyValues(p.attributes).get('collector.instance.id'));
const callsOf = (m: Metric) => {
  if (m.data.case !== 'sum') throw new Error(`calls is a ${m.data.case}`);
  return m.data.value.dataPoints.map((p) => ({
    attrs: attrsOf(p.attributes),
    calls: Number(p.value.value),
    start: p.startTimeUnixNano,
    time: p.timeUnixNano,
    exemplars: p.exemplars,
  }));
};

const FLUSH_1 = 1_800_000_000_000;

describe('spanmetrics connector', () => {
  it('defaults: cumulative calls and an explicit histogram in milliseconds with the collector buckets, per service, span name, kind and status', async () => {
    const { conn, sink } = make({});
    await conn.consume(
      request([
        {
          attrs: { 'service.name': 'a', 'host.name': 'h1' },
          spans: [
            { name: 'GET /x', ms: 1 },
            { name: 'GET /x', ms: 3 },
            { name: 'GET /x', ms: 20 },
            { name: 'GET /x', ms: 5, status: Status_StatusCode.ERROR },
          ],
        },
        { attrs: { 'service.name': 'b' }, spans: [{ name: 'call', ms: 2000, kind: Span_SpanKind.CLIENT, status: Status_StatusCode.OK }] },
        // No service.name: the collector skips the resource.
        { attrs: { 'host.name': 'h2' }, spans: [{ name: 'lost', ms: 1 }] },
      ]),
    );
    await conn.flush(FLUSH_1);
    const m = flushed(sink.got[0]!);
    expect([...m.keys()]).toEqual(['a', 'b']);
    const a = m.get('a')!;
    expect([...a.keys()]).toEqual(['traces.span.metrics.calls', 'traces.span.metrics.duration']);
    const calls = a.get('traces.span.metrics.calls')!;
    expect(calls.data.case === 'sum' && calls.data.value.isMonotonic && calls.data.value.aggregationTemporality).toBe(AggregationTemporality.CUMULATIVE);
    expect(callsOf(calls).map((p) => [p.attrs, p.calls])).toEqual([
      [{ 'service.name': 'a', 'span.name': 'GET /x', 'span.kind': 'SPAN_KIND_SERVER', 'status.code': 'STATUS_CODE_UNSET' }, 3],
      [{ 'service.name': 'a', 'span.name': 'GET /x', 'span.kind': 'SPAN_KIND_SERVER', 'status.code': 'STATUS_CODE_ERROR' }, 1],
    ]);
    const dur = a.get('traces.span.metrics.duration')!;
    // The collector's default unit is ms (seconds only behind its alpha gate connector.spanmetrics.useSecondAsDefaultMetricsUnit).
    expect(dur.unit).toBe('ms');
    if (dur.data.case !== 'histogram') throw new Error(dur.data.case);
    const p0 = dur.data.value.dataPoints[0]!;
    expect(p0.explicitBounds).toEqual([2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10_000, 15_000]);
    // 1ms <= 2; 3ms <= 4; 20ms <= 50.
    expect(p0.bucketCounts.map(Number)).toEqual([1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(p0.count).toBe(3n);
    expect(p0.sum).toBeCloseTo(24, 9);
    // Exactly 2 s lands in the bucket whose bound is 2000 (a bound is inclusive).
    const b = m.get('b')!.get('traces.span.metrics.duration')!;
    if (b.data.case !== 'histogram') throw new Error(b.data.case);
    expect(b.data.value.dataPoints[0]!.bucketCounts.map(Number)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(callsOf(m.get('b')!.get('traces.span.metrics.calls')!)[0]!.attrs['status.code']).toBe('STATUS_CODE_OK');

    // Cumulative: the next flush carries the totals, from the same start time.
    const first = callsOf(calls)[0]!;
    await conn.consume(request([{ attrs: { 'service.name': 'a', 'host.name': 'h1' }, spans: [{ name: 'GET /x', ms: 7 }] }]));
    await conn.flush(FLUSH_1 + 60_000);
    const again = callsOf(flushed(sink.got[1]!).get('a')!.get('traces.span.metrics.calls')!)[0]!;
    expect(again.calls).toBe(4);
    expect(again.start).toBe(first.start);
    expect(again.time).toBe(BigInt(FLUSH_1 + 60_000) * 1_000_000n);
  });

  it('collector.instance.id: one random ID per connector on every series, as the collector; exclude_dimensions drops it', async () => {
    const spans = {
      attrs: { 'service.name': 'i' },
      spans: [
        { name: 'a', ms: 1 },
        { name: 'b', ms: 2 },
      ],
    };
    const one = make({});
    const two = make({});
    const none = make({ exclude_dimensions: ['collector.instance.id'] });
    for (const c of [one, two, none]) {
      await c.conn.consume(request([spans]));
      await c.conn.flush(FLUSH_1);
    }
    const ids = (c: typeof one) => [...flushed(c.sink.got[0]!).get('i')!.values()].flatMap(instanceOf);
    const first = ids(one);
    // Two series, each on calls and duration: one ID.
    expect(first).toHaveLength(4);
    expect(new Set(first).size).toBe(1);
    expect(first[0]).toMatch(UUID);
    // Another gateway (or connector) writes its own series.
    expect(new Set(ids(two)).size).toBe(1);
    expect(ids(two)[0]).not.toBe(first[0]);
    expect(ids(none)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('delta: each flush counts only what came since the last, starting where the last ended; nothing new, nothing sent', async () => {
    const { conn, sink } = make({
      aggregation_temporality: 'AGGREGATION_TEMPORALITY_DELTA',
      histogram: { unit: 'ms', explicit: { buckets: ['10ms', '100ms'] } },
    });
    const spans = (n: number) => ({ attrs: { 'service.name': 'd' }, spans: Array.from({ length: n }, (_, i) => ({ name: 'op', ms: i % 2 === 0 ? 5 : 50 })) });
    await conn.consume(request([spans(3)]));
    await conn.flush(FLUSH_1);
    await conn.flush(FLUSH_1 + 1000);
    expect(sink.got).toHaveLength(1);
    await conn.consume(request([spans(2)]));
    await conn.flush(FLUSH_1 + 2000);
    const [one, two] = sink.got.map((p) => flushed(p).get('d')!);
    const c1 = callsOf(one!.get('traces.span.metrics.calls')!)[0]!;
    const c2 = callsOf(two!.get('traces.span.metrics.calls')!)[0]!;
    expect([c1.calls, c2.calls]).toEqual([3, 2]);
    expect(c2.start).toBe(c1.time);
    const h = two!.get('traces.span.metrics.duration')!;
    if (h.data.case !== 'histogram') throw new Error(h.data.case);
    expect(h.data.value.aggregationTemporality).toBe(AggregationTemporality.DELTA);
    expect(h.unit).toBe('ms');
    // 5ms <= 10; 50ms <= 100.
    expect(h.data.value.dataPoints[0]!.bucketCounts.map(Number)).toEqual([1, 1, 0]);
  });

  it('exponential histogram: hand-computed scale, offset and bucket counts', async () => {
    // 1, 2, 4, 8, 16 s in at most 4 buckets: scale -1 (base 4) holds them in (1/4,1], (1,4], (4,16]; a
    // span ending before it starts counts as 0 in zero_count.
    const { conn, sink } = make({ histogram: { unit: 's', exponential: { max_size: 4 } } });
    const spans = [1000, 2000, 4000, 8000, 16000, -5].map((ms) => ({ name: 'e', ms }));
    await conn.consume(request([{ attrs: { 'service.name': 'x' }, spans }]));
    await conn.flush(FLUSH_1);
    const m = flushed(sink.got[0]!).get('x')!.get('traces.span.metrics.duration')!;
    if (m.data.case !== 'exponentialHistogram') throw new Error(m.data.case);
    const p = m.data.value.dataPoints[0]!;
    expect({
      scale: p.scale,
      offset: p.positive!.offset,
      counts: p.positive!.bucketCounts.map(Number),
      zero: p.zeroCount,
      count: p.count,
      sum: p.sum,
      min: p.min,
      max: p.max,
    }).toEqual({
      scale: -1,
      offset: -1,
      counts: [1, 2, 2],
      zero: 1n,
      count: 6n,
      sum: 31,
      min: 0,
      max: 16,
    });

    // 1.5 s and 3 s with the default 160 buckets: at scale 20 their indexes are ceil(log2(v)*2^20)-1 =
    // 613377 and 1661953, 1048577 buckets apart; 13 halvings (scale 7) are the fewest that fit: 74..202.
    expect(bucketIndex(1.5, 20)).toBe(613377);
    expect(bucketIndex(3, 20)).toBe(1661953);
    const d = make({ histogram: { unit: 's', exponential: {} } });
    await d.conn.consume(request([{ attrs: { 'service.name': 'y' }, spans: [{ name: 'e', ms: 1500 }] }]));
    await d.conn.flush(FLUSH_1);
    const single = flushed(d.sink.got[0]!).get('y')!.get('traces.span.metrics.duration')!;
    if (single.data.case !== 'exponentialHistogram') throw new Error(single.data.case);
    expect([single.data.value.dataPoints[0]!.scale, single.data.value.dataPoints[0]!.positive!.offset]).toEqual([20, 613377]);
    await d.conn.consume(request([{ attrs: { 'service.name': 'y' }, spans: [{ name: 'e', ms: 3000 }] }]));
    await d.conn.flush(FLUSH_1 + 1);
    const two = flushed(d.sink.got[1]!).get('y')!.get('traces.span.metrics.duration')!;
    if (two.data.case !== 'exponentialHistogram') throw new Error(two.data.case);
    const q = two.data.value.dataPoints[0]!;
    const counts = q.positive!.bucketCounts.map(Number);
    expect([q.scale, q.positive!.offset, counts.length, counts[0], counts[128], counts.reduce((x, y) => x + y)]).toEqual([7, 74, 129, 1, 1, 2]);
  });

  it('dimensions: span attribute first, then resource, then default, else left out; values keep their type', async () => {
    const { conn, sink } = make({
      dimensions: [{ name: 'http.method', default: 'GET' }, { name: 'region' }, { name: 'http.status_code' }],
      exclude_dimensions: ['span.kind'],
    });
    await conn.consume(
      request([
        {
          attrs: { 'service.name': 's', region: 'eu' },
          spans: [
            { name: 'a', ms: 1, attrs: { 'http.method': 'POST', 'http.status_code': 200 } },
            { name: 'a', ms: 1, attrs: { region: 'us', 'http.status_code': 200 } },
            { name: 'a', ms: 1, kind: Span_SpanKind.CLIENT, attrs: { region: 'us', 'http.status_code': 200 } },
          ],
        },
        { attrs: { 'service.name': 't' }, spans: [{ name: 'b', ms: 1 }] },
      ]),
    );
    await conn.flush(FLUSH_1);
    const m = flushed(sink.got[0]!);
    expect(callsOf(m.get('s')!.get('traces.span.metrics.calls')!).map((p) => [p.attrs, p.calls])).toEqual([
      [{ 'service.name': 's', 'span.name': 'a', 'status.code': 'STATUS_CODE_UNSET', 'http.method': 'POST', region: 'eu', 'http.status_code': 200 }, 1],
      // span.kind excluded: SERVER and CLIENT spans share a series.
      [{ 'service.name': 's', 'span.name': 'a', 'status.code': 'STATUS_CODE_UNSET', 'http.method': 'GET', region: 'us', 'http.status_code': 200 }, 2],
    ]);
    expect(callsOf(m.get('t')!.get('traces.span.metrics.calls')!)[0]!.attrs).toEqual({
      'service.name': 't',
      'span.name': 'b',
      'status.code': 'STATUS_CODE_UNSET',
      'http.method': 'GET',
    });
  });

  it('aggregation_cardinality_limit: past the limit, new series of a resource count in one otel.metric.overflow series', async () => {
    const { conn, sink } = make({ aggregation_cardinality_limit: 2 });
    const names = ['n1', 'n2', 'n3', 'n1', 'n4', 'n3'];
    await conn.consume(
      request([
        { attrs: { 'service.name': 'o' }, spans: names.map((name) => ({ name, ms: 1 })) },
        { attrs: { 'service.name': 'p' }, spans: [{ name: 'n9', ms: 1 }] },
      ]),
    );
    await conn.flush(FLUSH_1);
    const m = flushed(sink.got[0]!);
    const o = callsOf(m.get('o')!.get('traces.span.metrics.calls')!).map((p) => [p.attrs['span.name'] ?? p.attrs, p.calls]);
    expect(o).toEqual([
      ['n1', 2],
      ['n2', 1],
      [{ 'otel.metric.overflow': true }, 3],
    ]);
    const dur = m.get('o')!.get('traces.span.metrics.duration')!;
    if (dur.data.case !== 'histogram') throw new Error(dur.data.case);
    expect(dur.data.value.dataPoints.map((p) => Number(p.count))).toEqual([2, 1, 3]);
    // Another resource has its own limit.
    expect(callsOf(m.get('p')!.get('traces.span.metrics.calls')!).map((p) => p.calls)).toEqual([1]);
  });

  it('counts its series, histograms and exemplars in the memory ledger, and releases them as they go', async () => {
    const issues: { path: string[]; message: string }[] = [];
    const cfg = spanMetricsConnectorFactory.config.parse({ series_expiration: '50ms', exemplars: { enabled: true, max_per_data_point: 1 } }, [], issues);
    expect(issues).toEqual([]);
    const settings = testSettings('spanmetrics', 'connector');
    // A somatic processor provides the service's ledger (its admission gate) before components start.
    const gate = settings.pressure.provide(testSomaticSettings({ memoryLimitBytes: 2 ** 30, inflightBudgetBytes: 2 ** 28 }), silentLogger, 'somatic').gate;
    const conn = spanMetricsConnectorFactory.create(
      settings,
      cfg,
      { from: 'traces', to: 'metrics', pipelines: ['metrics'] },
      new Map([['metrics', new RecordingConsumer()]]),
    ) as SpanMetricsConnector;
    const before = gate.held;
    await conn.start();
    const spans = (names: string[]) => request([{ attrs: { 'service.name': 'svc' }, spans: names.map((name) => ({ name, ms: 2 })) }]);
    await conn.consume(spans(['a', 'b']));
    const two = gate.held - before;
    expect(two).toBe(conn.aggregator.held.total);
    // Two series, each with 17 explicit buckets (136 bytes of counts) and one exemplar, and their resource.
    expect(two).toBeGreaterThan(2 * (17 * 8 + 240));
    // A span of a known series adds nothing (its exemplar slot is full); a new series adds about as much as one did.
    await conn.consume(spans(['a']));
    expect(gate.held - before).toBe(two);
    await conn.consume(spans(['c-with-a-longer-name']));
    const three = gate.held - before;
    expect(three - two).toBeGreaterThan(17 * 8 + 240);
    // A flush drops the interval's exemplars; one after series_expiration drops the series, keeping the resource.
    await conn.flush(Date.now());
    expect(gate.held - before).toBe(three - 3 * 240);
    await conn.flush(Date.now() + 1000);
    const resourceOnly = gate.held - before;
    expect(resourceOnly).toBeGreaterThan(0);
    expect(resourceOnly).toBeLessThan(three - 3 * (17 * 8 + 240));
    expect(conn.aggregator.resources.get([...conn.aggregator.resources.keys()][0]!)!.series.size).toBe(0);
    // Shut down, it holds nothing.
    await conn.consume(spans(['d']));
    await conn.shutdown();
    expect(gate.held).toBe(before);
    expect(conn.aggregator.held.total).toBe(0);
    settings.telemetry.close();
  });

  it('exemplars: the trace and span IDs of the first spans of each point, at most max_per_data_point, cleared each flush', async () => {
    const { conn, sink } = make({ histogram: { unit: 's' }, exemplars: { enabled: true, max_per_data_point: 2 } });
    await conn.consume(
      request([
        {
          attrs: { 'service.name': 'e' },
          spans: [
            { name: 'x', ms: 3, traceId: 7 },
            { name: 'x', ms: 4, traceId: 8 },
            { name: 'x', ms: 5, traceId: 9 },
            { name: 'zero-trace', ms: 1, traceId: 0 },
          ],
        },
      ]),
    );
    await conn.flush(FLUSH_1);
    const m = flushed(sink.got[0]!).get('e')!;
    const dur = m.get('traces.span.metrics.duration')!;
    if (dur.data.case !== 'histogram') throw new Error(dur.data.case);
    const ex = dur.data.value.dataPoints[0]!.exemplars.map((e) => ({
      trace: Buffer.from(e.traceId).toString('hex'),
      span: Buffer.from(e.spanId).toString('hex'),
      v: e.value.value,
      t: e.timeUnixNano,
    }));
    expect(ex).toEqual([
      { trace: `${'0'.repeat(30)}07`, span: '0000000000000001', v: 0.003, t: BigInt(FLUSH_1) * 1_000_000n },
      { trace: `${'0'.repeat(30)}08`, span: '0000000000000002', v: 0.004, t: BigInt(FLUSH_1) * 1_000_000n },
    ]);
    expect(callsOf(m.get('traces.span.metrics.calls')!).map((p) => p.exemplars.length)).toEqual([2, 0]);
    await conn.flush(FLUSH_1 + 1);
    const later = flushed(sink.got[1]!).get('e')!.get('traces.span.metrics.duration')!;
    if (later.data.case !== 'histogram') throw new Error(later.data.case);
    expect(later.data.value.dataPoints.map((p) => [Number(p.count), p.exemplars.length])).toEqual([
      [3, 0],
      [1, 0],
    ]);
  });

  it('resource_metrics_key_attributes: resources equal on those keys share their series; expiration drops what went quiet', async () => {
    const { conn, sink } = make({ resource_metrics_key_attributes: ['service.name'], metrics_expiration: '5m', namespace: '' });
    await conn.consume(
      request([
        { attrs: { 'service.name': 'k', 'process.pid': 1 }, spans: [{ name: 'x', ms: 1 }] },
        { attrs: { 'service.name': 'k', 'process.pid': 2 }, spans: [{ name: 'x', ms: 1 }] },
      ]),
      // nowMs of the aggregation is Date.now(): the expiration below is measured from it.
    );
    const now = Date.now();
    await conn.flush(now);
    const rms = sink.got[0]!.decode<ExportMetricsServiceRequest>().resourceMetrics;
    expect(rms).toHaveLength(1);
    // The first resource seen names the group; the metric names have no namespace.
    expect(plainAttrs(rms[0]!.resource!.attributes)).toEqual({ 'service.name': 'k', 'process.pid': 1 });
    expect(callsOf(rms[0]!.scopeMetrics[0]!.metrics.find((m) => m.name === 'calls')!)[0]!.calls).toBe(2);
    await conn.flush(now + 5 * 60_000 + 1000);
    await conn.flush(now + 10 * 60_000);
    expect(sink.got).toHaveLength(2);
  });

  it('config: the collector keys, one histogram kind, no duplicate dimensions, event dimensions required', () => {
    const d = make({}).conn;
    expect(d).toBeDefined();
    expect(spanMetricsConnectorFactory.config.defaults()).toMatchObject({
      namespace: 'traces.span.metrics',
      metrics_flush_interval: 60_000,
      aggregation_temporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
      histogram: { unit: 'ms', disable: false },
      exemplars: { enabled: false, max_per_data_point: 5 },
      aggregation_cardinality_limit: 0,
    });
    expect(make({ histogram: { explicit: {}, exponential: {} } }).issues).toEqual([
      { path: ['histogram'], message: 'use either explicit or exponential buckets, not both' },
    ]);
    expect(make({ dimensions: [{ name: 'span.name' }] }).issues).toEqual([
      { path: ['dimensions', '0', 'name'], message: 'duplicate dimension name span.name' },
    ]);
    expect(make({ events: { enabled: true } }).issues).toEqual([
      { path: ['events', 'dimensions'], message: 'no dimensions configured for events: list the event attributes to count by' },
    ]);
    expect(make({ calls_dimensions: [{ name: 'a' }, { name: 'a' }], histogram: { dimensions: [{ name: 'status.code' }] } }).issues).toEqual([
      { path: ['calls_dimensions', '1', 'name'], message: 'duplicate dimension name a' },
      { path: ['histogram', 'dimensions', '0', 'name'], message: 'duplicate dimension name status.code' },
    ]);
    expect(make({ histogram: { unit: 'us' } }).issues[0]!.path).toEqual(['histogram', 'unit']);
    expect(spanMetricsConnectorFactory.supports('traces', 'metrics')).toBe(true);
    expect(spanMetricsConnectorFactory.supports('logs', 'metrics')).toBe(false);
  });

  it('histogram.disable: calls only', async () => {
    const { conn, sink } = make({ histogram: { disable: true } });
    await conn.consume(request([{ attrs: { 'service.name': 'h' }, spans: [{ name: 'x', ms: 1 }] }]));
    await conn.flush(FLUSH_1);
    expect([...flushed(sink.got[0]!).get('h')!.keys()]).toEqual(['traces.span.metrics.calls']);
  });

  it('calls_dimensions and histogram.dimensions: each metric keyed by dimensions plus its own; delta starts per metric', async () => {
    const { conn, sink } = make({
      dimensions: [{ name: 'http.method' }],
      calls_dimensions: [{ name: 'http.route' }, { name: 'http.method' }],
      histogram: { unit: 's', dimensions: [{ name: 'http.status_code', default: 'none' }] },
      aggregation_temporality: 'AGGREGATION_TEMPORALITY_DELTA',
      exemplars: { enabled: true },
    });
    const spans: SpanSpec[] = [
      { name: 'a', ms: 1, attrs: { 'http.method': 'GET', 'http.route': '/x', 'http.status_code': 200 } },
      { name: 'a', ms: 3, attrs: { 'http.method': 'GET', 'http.route': '/y', 'http.status_code': 200 } },
      { name: 'a', ms: 5, attrs: { 'http.method': 'GET', 'http.route': '/y' } },
    ];
    await conn.consume(request([{ attrs: { 'service.name': 'c' }, spans }]));
    await conn.flush(FLUSH_1);
    const m = flushed(sink.got[0]!).get('c')!;
    const base = { 'service.name': 'c', 'span.name': 'a', 'span.kind': 'SPAN_KIND_SERVER', 'status.code': 'STATUS_CODE_UNSET', 'http.method': 'GET' };
    // http.method in both lists is read once.
    const calls = callsOf(m.get('traces.span.metrics.calls')!);
    expect(calls.map((p) => [p.attrs, p.calls, p.exemplars.length])).toEqual([
      [{ ...base, 'http.route': '/x' }, 1, 1],
      [{ ...base, 'http.route': '/y' }, 2, 2],
    ]);
    const dur = m.get('traces.span.metrics.duration')!;
    if (dur.data.case !== 'histogram') throw new Error(dur.data.case);
    expect(dur.data.value.dataPoints.map((p) => [attrsOf(p.attributes), Number(p.count), p.sum, p.exemplars.length])).toEqual([
      [{ ...base, 'http.status_code': 200 }, 2, 0.004, 2],
      [{ ...base, 'http.status_code': 'none' }, 1, 0.005, 1],
    ]);
    // The next delta flush: every point starts where the previous flush of its own metric ended.
    await conn.consume(request([{ attrs: { 'service.name': 'c' }, spans: spans.slice(0, 1) }]));
    await conn.flush(FLUSH_1 + 1000);
    const m2 = flushed(sink.got[1]!).get('c')!;
    const flush1Nanos = BigInt(FLUSH_1) * 1_000_000n;
    expect(callsOf(m2.get('traces.span.metrics.calls')!).map((p) => [p.calls, p.start])).toEqual([[1, flush1Nanos]]);
    const dur2 = m2.get('traces.span.metrics.duration')!;
    if (dur2.data.case !== 'histogram') throw new Error(dur2.data.case);
    expect(dur2.data.value.dataPoints.map((p) => [Number(p.count), p.startTimeUnixNano])).toEqual([[1, flush1Nanos]]);
  });

  it('events: span events counted per dimensions and event dimensions (span, then event, then resource attribute)', async () => {
    const { conn, sink } = make({
      dimensions: [{ name: 'region' }],
      events: { enabled: true, dimensions: [{ name: 'exception.type' }, { name: 'tier', default: 'std' }] },
      exemplars: { enabled: true, max_per_data_point: 1 },
    });
    const ex = (type: string, extra: Record<string, Attr> = {}) => ({ name: 'exception', attrs: { 'exception.type': type, ...extra } });
    await conn.consume(
      request([
        {
          attrs: { 'service.name': 'e', region: 'eu', tier: 'gold' },
          spans: [
            {
              name: 'a',
              ms: 1,
              events: [ex('Timeout'), ex('Timeout'), ex('IOError', { region: 'ignored: the span has none, the event wins over the resource' })],
            },
            { name: 'a', ms: 1, attrs: { region: 'us' }, events: [ex('Timeout', { region: 'ap' })] },
            { name: 'b', ms: 1 },
          ],
        },
      ]),
    );
    await conn.flush(FLUSH_1);
    const m = flushed(sink.got[0]!).get('e')!;
    const base = { 'service.name': 'e', 'span.name': 'a', 'span.kind': 'SPAN_KIND_SERVER', 'status.code': 'STATUS_CODE_UNSET' };
    expect(callsOf(m.get('traces.span.metrics.events')!).map((p) => [p.attrs, p.calls, p.exemplars.length])).toEqual([
      [{ ...base, region: 'eu', 'exception.type': 'Timeout', tier: 'gold' }, 2, 1],
      [{ ...base, region: 'ignored: the span has none, the event wins over the resource', 'exception.type': 'IOError', tier: 'gold' }, 1, 1],
      [{ ...base, region: 'us', 'exception.type': 'Timeout', tier: 'gold' }, 1, 1],
    ]);
    // The calls metric is untouched by events (one series per span here).
    expect(callsOf(m.get('traces.span.metrics.calls')!).map((p) => p.calls)).toEqual([1, 1, 1]);
    expect([...m.keys()]).toEqual(['traces.span.metrics.calls', 'traces.span.metrics.duration', 'traces.span.metrics.events']);
    // Counted in the ledger estimate, and released at shutdown.
    expect(conn.aggregator.held.total).toBeGreaterThan(0);
    await conn.shutdown();
    expect(conn.aggregator.held.total).toBe(0);
  });

  it('include_instrumentation_scope: spans of a listed scope carry its name and version, others do not', async () => {
    const { conn, sink } = make({ include_instrumentation_scope: ['@opentelemetry/instrumentation-http'], namespace: '' });
    const spans: SpanSpec[] = [{ name: 'GET', ms: 1 }];
    await conn.consume(
      request([
        { attrs: { 'service.name': 'i' }, scope: { name: '@opentelemetry/instrumentation-http', version: '0.52.0' }, spans },
        { attrs: { 'service.name': 'i' }, scope: { name: '@opentelemetry/instrumentation-http', version: '0.53.0' }, spans },
        { attrs: { 'service.name': 'i' }, scope: { name: 'custom' }, spans },
      ]),
    );
    await conn.flush(FLUSH_1);
    const calls = callsOf(flushed(sink.got[0]!).get('i')!.get('calls')!);
    expect(calls.map((p) => [p.attrs['span.instrumentation.scope.name'], p.attrs['span.instrumentation.scope.version'], p.calls])).toEqual([
      ['@opentelemetry/instrumentation-http', '0.52.0', 1],
      ['@opentelemetry/instrumentation-http', '0.53.0', 1],
      [undefined, undefined, 1],
    ]);
  });

  it("add_resource_attributes: resource attributes are on the metrics with either value, as the collector's default gates do", async () => {
    for (const add of [false, true]) {
      const { conn, sink, issues } = make({ add_resource_attributes: add });
      expect(issues).toEqual([]);
      await conn.consume(request([{ attrs: { 'service.name': 'r', 'k8s.pod.name': 'p-1' }, spans: [{ name: 'x', ms: 1 }] }]));
      await conn.flush(FLUSH_1);
      const rm = sink.got[0]!.decode<ExportMetricsServiceRequest>().resourceMetrics[0]!;
      expect(plainAttrs(rm.resource!.attributes)).toEqual({ 'service.name': 'r', 'k8s.pod.name': 'p-1' });
    }
  });

  it('adjusted counts: a span counts as 1 / its tracestate th probability; enable_metrics_sampling_method splits extrapolated from counted', async () => {
    const spans: SpanSpec[] = [
      { name: 'a', ms: 1, traceState: 'ot=th:8' }, // p = 1/2: 2 spans
      { name: 'a', ms: 1, traceState: 'vendor=x,ot=rv:abcdefabcdefab;th:c' }, // p = 1/4: 4 spans
      { name: 'a', ms: 1, traceState: 'ot=th:0' }, // p = 1: 1 span, extrapolated
      { name: 'a', ms: 1, traceState: 'ot=th:zz' }, // malformed: 1, counted
      { name: 'a', ms: 1 }, // no tracestate: 1, counted
    ];
    const plain = make({ namespace: '', histogram: { unit: 's' } });
    await plain.conn.consume(request([{ attrs: { 'service.name': 'w' }, spans }]));
    await plain.conn.flush(FLUSH_1);
    const m = flushed(plain.sink.got[0]!).get('w')!;
    expect(callsOf(m.get('calls')!).map((p) => p.calls)).toEqual([9]);
    const dur = m.get('duration')!;
    if (dur.data.case !== 'histogram') throw new Error(dur.data.case);
    expect(Number(dur.data.value.dataPoints[0]!.count)).toBe(9);
    expect(dur.data.value.dataPoints[0]!.sum).toBeCloseTo(0.009, 12);

    const split = make({ namespace: '', enable_metrics_sampling_method: true, events: { enabled: true, dimensions: [{ name: 'k' }] } });
    await split.conn.consume(
      request([{ attrs: { 'service.name': 'w' }, spans: [...spans, { name: 'a', ms: 1, traceState: 'ot=th:8', events: [{ name: 'e', attrs: { k: 'v' } }] }] }]),
    );
    await split.conn.flush(FLUSH_1);
    const m2 = flushed(split.sink.got[0]!).get('w')!;
    expect(callsOf(m2.get('calls')!).map((p) => [p.attrs['sampling.method'], p.calls])).toEqual([
      ['extrapolated', 9],
      ['counted', 2],
    ]);
    // An event of a span standing for 2 counts 2.
    expect(callsOf(m2.get('events')!).map((p) => [p.attrs['sampling.method'], p.attrs.k, p.calls])).toEqual([['extrapolated', 'v', 2]]);

    // A fraction rounds stochastically: th:6 is p = 0.625, a weight of 1.6, so 1,000 spans count about 1,600.
    const frac = make({ namespace: '', histogram: { disable: true } });
    await frac.conn.consume(
      request([{ attrs: { 'service.name': 'f' }, spans: Array.from({ length: 1000 }, () => ({ name: 'a', ms: 1, traceState: 'ot=th:6' })) }]),
    );
    await frac.conn.flush(FLUSH_1);
    const total = callsOf(flushed(frac.sink.got[0]!).get('f')!.get('calls')!)[0]!.calls;
    // Each span adds 1 or 2 (1 + Bernoulli(0.6)): the sum's standard deviation is about 15.
    expect(total).toBeGreaterThan(1500);
    expect(total).toBeLessThan(1700);
  });
});
