// An application process for the tier tests: makes whole traces with the official OpenTelemetry JS SDK
// (a SERVER root with CLIENT and INTERNAL children, parents set, durations fixed so tests can compute the
// expected histograms) and exports them with the official OTLP/gRPC exporter. Forked by a test:
// argv[2] = JSON {url, tag, tracesPerRound, spansPerTrace}. On {round: n} it sends one round and answers
// {round, ok, spans: [[spanId, traceId, name, status], ...]}: every span it sent, acknowledged or not (an
// export that timed out at the client may still have been taken: a test must know those spans too).
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

const o = JSON.parse(process.argv[2]);
const memory = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': `app-${o.tag}`, 'process.pid': process.pid }),
  spanProcessors: [new SimpleSpanProcessor(memory)],
});
const tracer = provider.getTracer('tier.app', '1.0.0');
const exporter = new OTLPTraceExporter({ url: o.url });
const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);

/** One trace: a 120 ms SERVER root; children alternate a 5 ms CLIENT call and a 30 ms INTERNAL step. Every 4th trace ends in an error. */
function makeTrace(round, t) {
  const start = T0 + round * 1000 + t;
  const error = t % 4 === 3;
  const root = tracer.startSpan('GET /orders', { kind: SpanKind.SERVER, startTime: start, attributes: { 'tier.round': round, 'http.method': 'GET' } });
  const parent = trace.setSpan(context.active(), root);
  for (let i = 0; i < o.spansPerTrace - 1; i++) {
    const client = i % 2 === 0;
    const child = tracer.startSpan(client ? 'SELECT orders' : 'render', { kind: client ? SpanKind.CLIENT : SpanKind.INTERNAL, startTime: start + 1 }, parent);
    child.end(start + 1 + (client ? 5 : 30));
  }
  if (error) root.setStatus({ code: SpanStatusCode.ERROR, message: 'failed' });
  root.end(start + 120);
}

process.on('message', async (m) => {
  if (m.round === undefined) return;
  memory.reset();
  for (let t = 0; t < o.tracesPerRound; t++) makeTrace(m.round, t);
  const spans = memory.getFinishedSpans().slice();
  const result = await new Promise((resolve) => exporter.export(spans, resolve));
  const sent = spans.map((s) => [s.spanContext().spanId, s.spanContext().traceId, s.name, s.status.code]);
  process.send({ round: m.round, ok: result.code === ExportResultCode.SUCCESS, spans: sent });
});
process.on('disconnect', async () => {
  await exporter.shutdown();
  await provider.shutdown();
  process.exit(0);
});
process.send({ ready: true });
