/**
 * Telemetry made by the official OpenTelemetry JS SDK (logs, spans, metrics), captured in memory so the
 * same items can be pushed through each official OTLP exporter and compared with what arrives downstream.
 */
import { SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, MetricReader, MeterProvider, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ProtobufLogsSerializer, ProtobufMetricsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';

const resource = resourceFromAttributes({ 'service.name': 'e2e-app', 'deployment.environment': 'test', 'host.cores': 2 });

export async function makeLogs(tag: string, n = 5): Promise<ReadableLogRecord[]> {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: memory })] });
  const logger = provider.getLogger('e2e.logger', '1.2.3');
  for (let i = 0; i < n; i++) {
    logger.emit({
      severityNumber: i % 2 ? SeverityNumber.WARN : SeverityNumber.INFO,
      severityText: i % 2 ? 'WARN' : 'INFO',
      body: i === 3 ? { structured: true, n: i, list: ['a', 1, false] } : `hello ${tag} #${i} — ünïcode`,
      attributes: { 'e2e.tag': tag, 'e2e.i': i, 'e2e.ratio': i / 3, 'e2e.flag': i % 2 === 0, 'e2e.list': ['x', 'y'] },
      timestamp: Date.UTC(2026, 10, 27, 3, 0, 0) + i,
      context: undefined,
    });
  }
  await provider.forceFlush();
  const out = memory.getFinishedLogRecords().slice();
  await provider.shutdown();
  return out;
}

export async function makeSpans(tag: string, n = 4): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('e2e.tracer', '0.1.0');
  tracer.startActiveSpan(`root ${tag}`, { attributes: { 'e2e.tag': tag } }, (root) => {
    for (let i = 0; i < n - 1; i++) {
      const child = tracer.startSpan(`child ${i}`, { attributes: { 'e2e.i': i, 'http.method': 'GET' } });
      child.addEvent('checkpoint', { 'e2e.step': i });
      child.end();
    }
    root.end();
  });
  await provider.forceFlush();
  const out = memory.getFinishedSpans().slice();
  await provider.shutdown();
  return out;
}

/** A reader collected by hand (cumulative temporality). */
export class ManualReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

export async function makeMetrics(tag: string): Promise<ResourceMetrics> {
  const reader = new ManualReader();
  const provider = new MeterProvider({ resource, readers: [reader] });
  const meter = provider.getMeter('e2e.meter', '2.0.0');
  const counter = meter.createCounter('e2e.requests', { description: 'requests', unit: '1' });
  const histogram = meter.createHistogram('e2e.latency', { unit: 'ms' });
  const gauge = meter.createGauge('e2e.temperature');
  for (let i = 0; i < 3; i++) {
    counter.add(i + 1, { 'e2e.tag': tag, route: `/r${i}` });
    histogram.record(i * 10.5, { 'e2e.tag': tag });
  }
  gauge.record(21.5, { 'e2e.tag': tag });
  const { resourceMetrics } = await reader.collect();
  await provider.shutdown();
  return resourceMetrics;
}

/** What the SDK itself would put on the wire for these items (protobuf bytes). */
export const sdkBytes = {
  logs: (items: ReadableLogRecord[]) => ProtobufLogsSerializer.serializeRequest(items)!,
  traces: (items: ReadableSpan[]) => ProtobufTraceSerializer.serializeRequest(items)!,
  metrics: (rm: ResourceMetrics) => ProtobufMetricsSerializer.serializeRequest(rm)!,
};
