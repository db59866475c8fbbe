/**
 * Checks the hand-written .proto files and the JSON rules against an independent OTLP implementation: the
 * OpenTelemetry JS SDK's own serializers (@opentelemetry/otlp-transformer). Same data through the SDK's
 * protobuf and JSON encoders must decode to the same message here, with the values the SDK was given.
 */
import { equals } from '@bufbuild/protobuf';
import { SpanKind, context, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import {
  JsonLogsSerializer,
  JsonMetricsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { countItems } from './wire.js';
import { REQUEST_SCHEMA, decodeRequest, encodeExportResponse, requestFromJson } from './codec.js';

const resource = resourceFromAttributes({ 'service.name': 'interop', 'service.instance.id': 'i-1' });

describe('interop with the OpenTelemetry JS SDK serializers', () => {
  it('logs: SDK protobuf and SDK JSON decode to the same message with the values given', async () => {
    const exporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter })] });
    provider.getLogger('lib', '2.0').emit({
      severityNumber: SeverityNumber.WARN,
      severityText: 'WARN',
      body: { msg: 'hello', n: 3 },
      eventName: 'my.event',
      timestamp: [1_700_000_000, 123_456_789],
      attributes: { s: 'x', i: 42, d: 1.5, b: true, arr: ['a', 'b'] },
    });
    await provider.forceFlush();
    const records = exporter.getFinishedLogRecords();
    expect(records).toHaveLength(1);

    const bytes = ProtobufLogsSerializer.serializeRequest(records)!;
    const msg = decodeRequest('logs', bytes);
    const rec = msg.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
    expect(msg.resourceLogs[0]!.scopeLogs[0]!.scope!.name).toBe('lib');
    expect(rec.severityNumber).toBe(13);
    expect(rec.severityText).toBe('WARN');
    expect(rec.eventName).toBe('my.event');
    expect(rec.timeUnixNano).toBe(1_700_000_000_123_456_789n);
    expect(rec.body?.value.case).toBe('kvlistValue');
    expect(rec.attributes.map((a) => [a.key, a.value?.value.case])).toEqual([
      ['s', 'stringValue'],
      ['i', 'intValue'],
      ['d', 'doubleValue'],
      ['b', 'boolValue'],
      ['arr', 'arrayValue'],
    ]);
    expect(countItems('logs', bytes)).toBe(1);

    const json = Buffer.from(JsonLogsSerializer.serializeRequest(records)!).toString('utf8');
    expect(equals(REQUEST_SCHEMA.logs, decodeRequest('logs', requestFromJson('logs', json)), msg)).toBe(true);
    await provider.shutdown();
  });

  it('traces: ids, links, kinds and timestamps agree between SDK protobuf and SDK JSON', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer('lib');
    const parent = tracer.startSpan('parent');
    const link = { context: { traceId: 'ABCDEF0123456789abcdef0123456789'.toLowerCase(), spanId: '0102030405060708', traceFlags: 1 }, attributes: { l: 1 } };
    const child = tracer.startSpan('child', { kind: SpanKind.CLIENT, links: [link], attributes: { big: 2 ** 40 } }, trace.setSpan(context.active(), parent));
    child.addEvent('ev', { k: 'v' });
    child.end();
    parent.end();
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(2);

    const bytes = ProtobufTraceSerializer.serializeRequest(spans)!;
    const msg = decodeRequest('traces', bytes);
    const all = msg.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    const c = all.find((s) => s.name === 'child')!;
    const p = all.find((s) => s.name === 'parent')!;
    expect(Buffer.from(c.traceId).toString('hex')).toBe(child.spanContext().traceId);
    expect(Buffer.from(c.spanId).toString('hex')).toBe(child.spanContext().spanId);
    expect(Buffer.from(c.parentSpanId).toString('hex')).toBe(parent.spanContext().spanId);
    expect(Buffer.from(p.spanId).toString('hex')).toBe(parent.spanContext().spanId);
    expect(c.kind).toBe(3); // OTLP SPAN_KIND_CLIENT (the API enum is one lower)
    expect(Buffer.from(c.links[0]!.traceId).toString('hex')).toBe(link.context.traceId);
    expect(c.events[0]!.name).toBe('ev');
    expect(c.endTimeUnixNano).toBeGreaterThanOrEqual(c.startTimeUnixNano);
    expect(countItems('traces', bytes)).toBe(2);

    const json = Buffer.from(JsonTraceSerializer.serializeRequest(spans)!).toString('utf8');
    expect(equals(REQUEST_SCHEMA.traces, decodeRequest('traces', requestFromJson('traces', json)), msg)).toBe(true);
    await provider.shutdown();
  });

  it('metrics: data point counts and values agree between SDK protobuf and SDK JSON', async () => {
    class Reader extends MetricReader {
      constructor() {
        super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
      }
      protected async onForceFlush(): Promise<void> {}
      protected async onShutdown(): Promise<void> {}
    }
    const reader = new Reader();
    const provider = new MeterProvider({ resource, readers: [reader] });
    const meter = provider.getMeter('lib');
    const counter = meter.createCounter('requests');
    counter.add(2, { route: '/a' });
    counter.add(5, { route: '/b' });
    meter.createHistogram('latency').record(12.5);
    meter.createUpDownCounter('inflight').add(-3);
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);

    const bytes = ProtobufMetricsSerializer.serializeRequest(resourceMetrics)!;
    const msg = decodeRequest('metrics', bytes);
    const metrics = msg.resourceMetrics[0]!.scopeMetrics[0]!.metrics;
    const byName = new Map(metrics.map((m) => [m.name, m]));
    const requests = byName.get('requests')!.data;
    expect(requests.case).toBe('sum');
    if (requests.case === 'sum') {
      expect(requests.value.isMonotonic).toBe(true);
      expect(requests.value.aggregationTemporality).toBe(2);
      expect(requests.value.dataPoints.map((d) => d.value.value).sort()).toEqual([2, 5]);
    }
    const latency = byName.get('latency')!.data;
    expect(latency.case).toBe('histogram');
    if (latency.case === 'histogram') {
      expect(latency.value.dataPoints[0]!.count).toBe(1n);
      expect(latency.value.dataPoints[0]!.sum).toBe(12.5);
    }
    expect(countItems('metrics', bytes)).toBe(4);

    const json = Buffer.from(JsonMetricsSerializer.serializeRequest(resourceMetrics)!).toString('utf8');
    expect(equals(REQUEST_SCHEMA.metrics, decodeRequest('metrics', requestFromJson('metrics', json)), msg)).toBe(true);
    await provider.shutdown();
  });

  it('the SDK reads our Export responses (partial success included)', () => {
    const logs = ProtobufLogsSerializer.deserializeResponse(encodeExportResponse('logs', 'proto', { rejected: 3, errorMessage: 'too big' }));
    expect(Number(logs.partialSuccess?.rejectedLogRecords)).toBe(3);
    expect(logs.partialSuccess?.errorMessage).toBe('too big');
    const traces = JsonTraceSerializer.deserializeResponse(encodeExportResponse('traces', 'json', { rejected: 1, errorMessage: 'x' }));
    expect(Number(traces.partialSuccess?.rejectedSpans)).toBe(1);
    const metrics = ProtobufMetricsSerializer.deserializeResponse(encodeExportResponse('metrics', 'proto'));
    expect(metrics.partialSuccess).toBeUndefined();
  });
});
