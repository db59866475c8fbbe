/**
 * fast-check arbitraries for OTLP Export requests (protobuf-es messages): random resources, scopes,
 * records and attributes of every AnyValue kind, for property tests of wire-level processors.
 */
import fc from 'fast-check';
import { create } from '@bufbuild/protobuf';
import {
  AnyValueSchema,
  InstrumentationScopeSchema,
  KeyValueSchema,
  type AnyValue,
  type KeyValue,
} from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';
import { ResourceSchema } from '../../proto/gen/opentelemetry/proto/resource/v1/resource_pb.js';
import { LogRecordSchema, ResourceLogsSchema, ScopeLogsSchema } from '../../proto/gen/opentelemetry/proto/logs/v1/logs_pb.js';
import { ResourceSpansSchema, ScopeSpansSchema, SpanSchema, Span_EventSchema } from '../../proto/gen/opentelemetry/proto/trace/v1/trace_pb.js';
import {
  ExemplarSchema,
  ExponentialHistogramDataPointSchema,
  HistogramDataPointSchema,
  MetricSchema,
  NumberDataPointSchema,
  ResourceMetricsSchema,
  ScopeMetricsSchema,
  SummaryDataPointSchema,
} from '../../proto/gen/opentelemetry/proto/metrics/v1/metrics_pb.js';
import { ExportLogsServiceRequestSchema } from '../../proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';
import { ExportTraceServiceRequestSchema } from '../../proto/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';
import { ExportMetricsServiceRequestSchema } from '../../proto/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import type { RequestMessage } from '../../src/pdata/codec.js';
import type { Signal } from '../../src/core/signal.js';

/** A small key pool so that actions and matches hit existing keys often. */
export const KEY_POOL = ['a', 'b', 'k1', 'k2', 'http.method', 'user.email', 'ü-key', ''];
export const arbKey = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...KEY_POOL) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) });

const arbString = fc.oneof(
  fc.constantFrom('', 'GET', 'abc-123', '12', '-7', '3.25', '1e3', 'true', 'x@y.z', 'héllo wörld', ' 5'),
  fc.string({ maxLength: 12 }),
);

export const arbAnyValue: fc.Arbitrary<AnyValue> = fc.letrec<{ v: AnyValue; kv: KeyValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    arbString.map((s) => create(AnyValueSchema, { value: { case: 'stringValue', value: s } })),
    fc.boolean().map((b) => create(AnyValueSchema, { value: { case: 'boolValue', value: b } })),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => create(AnyValueSchema, { value: { case: 'intValue', value: n } })),
    fc.integer({ min: -1000, max: 1000 }).map((n) => create(AnyValueSchema, { value: { case: 'intValue', value: BigInt(n) } })),
    fc.double({ noNaN: true }).map((d) => create(AnyValueSchema, { value: { case: 'doubleValue', value: d } })),
    fc.uint8Array({ maxLength: 8 }).map((b) => create(AnyValueSchema, { value: { case: 'bytesValue', value: b } })),
    fc.constant(create(AnyValueSchema)),
    fc
      .array(tie('v') as fc.Arbitrary<AnyValue>, { maxLength: 3 })
      .map((values) => create(AnyValueSchema, { value: { case: 'arrayValue', value: { values } } })),
    fc
      .array(tie('kv') as fc.Arbitrary<KeyValue>, { maxLength: 3 })
      .map((values) => create(AnyValueSchema, { value: { case: 'kvlistValue', value: { values } } })),
  ),
  kv: fc.record({ key: arbKey, value: fc.option(tie('v') as fc.Arbitrary<AnyValue>, { nil: undefined, freq: 10 }) }).map((r) => create(KeyValueSchema, r)),
})).v;

export const arbKeyValue: fc.Arbitrary<KeyValue> = fc
  .record({ key: arbKey, value: fc.option(arbAnyValue, { nil: undefined, freq: 12 }) })
  .map((r) => create(KeyValueSchema, r));

export const arbAttributes = fc.array(arbKeyValue, { maxLength: 5 });

const arbResource = fc.option(
  arbAttributes.map((attributes) => create(ResourceSchema, { attributes })),
  { nil: undefined, freq: 5 },
);
const arbScope = fc.option(
  fc
    .record({ name: fc.constantFrom('', 'lib-a', 'lib-b'), version: fc.constantFrom('', '1.0'), attributes: arbAttributes })
    .map((s) => create(InstrumentationScopeSchema, s)),
  { nil: undefined, freq: 5 },
);

const arbLogRecord = fc
  .record({
    timeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    severityNumber: fc.integer({ min: 0, max: 24 }),
    severityText: fc.constantFrom('', 'INFO', 'ERROR'),
    body: fc.option(arbAnyValue, { nil: undefined }),
    attributes: arbAttributes,
    droppedAttributesCount: fc.nat(3),
    traceId: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 16, maxLength: 16 })),
    eventName: fc.constantFrom('', 'ev'),
  })
  .map((r) => create(LogRecordSchema, r));

const arbSpan = fc
  .record({
    name: fc.constantFrom('', 'GET /', 'db.query'),
    kind: fc.integer({ min: 0, max: 5 }),
    attributes: arbAttributes,
    events: fc.array(
      fc.record({ name: fc.constantFrom('e1', 'e2'), attributes: arbAttributes }).map((e) => create(Span_EventSchema, e)),
      { maxLength: 2 },
    ),
    spanId: fc.uint8Array({ minLength: 8, maxLength: 8 }),
  })
  .map((s) => create(SpanSchema, s));

const arbNumberPoint = fc
  .record({
    attributes: arbAttributes,
    timeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    v: fc.double({ noNaN: true }),
    ex: fc.array(arbAttributes, { maxLength: 1 }),
  })
  .map((p) =>
    create(NumberDataPointSchema, {
      attributes: p.attributes,
      timeUnixNano: p.timeUnixNano,
      value: { case: 'asDouble', value: p.v },
      exemplars: p.ex.map((a) => create(ExemplarSchema, { filteredAttributes: a })),
    }),
  );
const arbHistPoint = fc
  .record({ attributes: arbAttributes, count: fc.bigInt({ min: 0n, max: 1000n }) })
  .map((p) => create(HistogramDataPointSchema, { ...p, bucketCounts: [p.count], explicitBounds: [] }));
const arbExpPoint = fc.record({ attributes: arbAttributes, scale: fc.integer({ min: -5, max: 5 }) }).map((p) => create(ExponentialHistogramDataPointSchema, p));
const arbSummaryPoint = fc.record({ attributes: arbAttributes, sum: fc.double({ noNaN: true }) }).map((p) => create(SummaryDataPointSchema, p));

const arbMetric = fc
  .record({
    name: fc.constantFrom('m.a', 'm.b', 'http.duration'),
    data: fc.oneof(
      fc.array(arbNumberPoint, { maxLength: 3 }).map((dataPoints) => ({ case: 'gauge' as const, value: { dataPoints } })),
      fc
        .array(arbNumberPoint, { maxLength: 3 })
        .map((dataPoints) => ({ case: 'sum' as const, value: { dataPoints, isMonotonic: true, aggregationTemporality: 2 } })),
      fc.array(arbHistPoint, { maxLength: 3 }).map((dataPoints) => ({ case: 'histogram' as const, value: { dataPoints, aggregationTemporality: 1 } })),
      fc.array(arbExpPoint, { maxLength: 3 }).map((dataPoints) => ({ case: 'exponentialHistogram' as const, value: { dataPoints } })),
      fc.array(arbSummaryPoint, { maxLength: 3 }).map((dataPoints) => ({ case: 'summary' as const, value: { dataPoints } })),
      fc.constant({ case: undefined }),
    ),
  })
  .map((m) => create(MetricSchema, m as never));

export function arbRequest(signal: Signal): fc.Arbitrary<RequestMessage> {
  const max = { maxLength: 3 };
  if (signal === 'logs') {
    return fc
      .array(
        fc
          .record({
            resource: arbResource,
            scopeLogs: fc.array(
              fc.record({ scope: arbScope, logRecords: fc.array(arbLogRecord, max) }).map((s) => create(ScopeLogsSchema, s)),
              max,
            ),
          })
          .map((r) => create(ResourceLogsSchema, r)),
        max,
      )
      .map((resourceLogs) => create(ExportLogsServiceRequestSchema, { resourceLogs }));
  }
  if (signal === 'traces') {
    return fc
      .array(
        fc
          .record({
            resource: arbResource,
            scopeSpans: fc.array(
              fc.record({ scope: arbScope, spans: fc.array(arbSpan, max) }).map((s) => create(ScopeSpansSchema, s)),
              max,
            ),
          })
          .map((r) => create(ResourceSpansSchema, r)),
        max,
      )
      .map((resourceSpans) => create(ExportTraceServiceRequestSchema, { resourceSpans }));
  }
  return fc
    .array(
      fc
        .record({
          resource: arbResource,
          scopeMetrics: fc.array(
            fc.record({ scope: arbScope, metrics: fc.array(arbMetric, max) }).map((s) => create(ScopeMetricsSchema, s)),
            max,
          ),
        })
        .map((r) => create(ResourceMetricsSchema, r)),
      max,
    )
    .map((resourceMetrics) => create(ExportMetricsServiceRequestSchema, { resourceMetrics }));
}

/** Calls fn with each record-level attribute list of a decoded request (log records, spans, data points). */
export function forEachRecordAttributes(signal: Signal, req: RequestMessage, fn: (attrs: KeyValue[]) => void): void {
  if (signal === 'logs') {
    for (const rl of (req as { resourceLogs: { scopeLogs: { logRecords: { attributes: KeyValue[] }[] }[] }[] }).resourceLogs)
      for (const sl of rl.scopeLogs) for (const lr of sl.logRecords) fn(lr.attributes);
  } else if (signal === 'traces') {
    for (const rs of (req as { resourceSpans: { scopeSpans: { spans: { attributes: KeyValue[] }[] }[] }[] }).resourceSpans)
      for (const ss of rs.scopeSpans) for (const sp of ss.spans) fn(sp.attributes);
  } else {
    for (const rm of (
      req as { resourceMetrics: { scopeMetrics: { metrics: { data: { case?: string; value?: { dataPoints: { attributes: KeyValue[] }[] } } }[] }[] }[] }
    ).resourceMetrics)
      for (const sm of rm.scopeMetrics) for (const m of sm.metrics) if (m.data.case) for (const p of m.data.value!.dataPoints) fn(p.attributes);
  }
}

/** The ResourceX list of a decoded request. */
export function resourcesOf(signal: Signal, req: RequestMessage): { resource?: { attributes: KeyValue[] } }[] {
  const r = req as unknown as Record<string, { resource?: { attributes: KeyValue[] } }[]>;
  return signal === 'logs' ? r.resourceLogs! : signal === 'traces' ? r.resourceSpans! : r.resourceMetrics!;
}
