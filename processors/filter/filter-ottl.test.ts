import { describe, expect, it } from 'vitest';
import { Payload } from '../../src/pdata/payload.js';
import { decodeRequest } from '../../src/pdata/codec.js';
import type { Signal } from '../../src/core/signal.js';
import { PermanentError } from '../../src/core/errors.js';
import { counterValue, makeLogsRequest, makeMetricsRequest, makeTracesRequest, RecordingConsumer } from '../../test/helpers/otlp-test-servers.js';
import { fromKeyValues, toKeyValues } from '../../src/ottl/values.js';
import { filterProcessorFactory } from './factory.js';
import { METRICS } from './metadata.js';
import type { ExportLogsServiceRequest } from '../../proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';
import type { ExportTraceServiceRequest } from '../../proto/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';
import type { ExportMetricsServiceRequest } from '../../proto/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import fc from 'fast-check';
import { create } from '@bufbuild/protobuf';
import { ExportTraceServiceRequestSchema } from '../../proto/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';
import { ResourceSpansSchema, ScopeSpansSchema, SpanSchema } from '../../proto/gen/opentelemetry/proto/trace/v1/trace_pb.js';
import { ExportMetricsServiceRequestSchema } from '../../proto/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import {
  GaugeSchema,
  MetricSchema,
  NumberDataPointSchema,
  ResourceMetricsSchema,
  ScopeMetricsSchema,
} from '../../proto/gen/opentelemetry/proto/metrics/v1/metrics_pb.js';
import { encodeRequest } from '../../src/pdata/codec.js';
import { arbRequest } from '../../test/helpers/otlp-arbitraries.js';
import { itemsOf } from '../../test/helpers/otlp-items.js';
import { compileConditions } from '../../src/ottl/config.js';
import { filterItems } from '../../src/ottl/run.js';
import { compileWireRecordFilter } from '../../src/ottl/wire-paths.js';
import { parseConfig, validConfig, settingsForTest } from '../../test/helpers/component-config.js';

function make(raw: Record<string, unknown>, signal: Signal) {
  const cfg = validConfig(filterProcessorFactory, raw);
  const settings = settingsForTest('filter/ottl', 'processor');
  const sink = new RecordingConsumer();
  return { proc: filterProcessorFactory.create(settings, cfg, signal, sink), sink, settings };
}

describe('filter processor: OTTL conditions', () => {
  it('logs.log_record: a record matching any condition is dropped; empty resources go too', async () => {
    const { proc, sink, settings } = make({ logs: { log_record: ['attributes["i"] == 1', 'IsMatch(body, "^r log 1\\\\.")'] } }, 'logs');
    await proc.consume(new Payload('logs', makeLogsRequest(2, 3)));
    const req = decodeRequest('logs', sink.got[0]!.bytes) as ExportLogsServiceRequest;
    // Resource 0 keeps records 0 and 2; resource 1 loses all three (its bodies are "r log 1.x").
    expect(req.resourceLogs.length).toBe(1);
    expect(req.resourceLogs[0]!.scopeLogs[0]!.logRecords.map((r) => fromKeyValues(r.attributes).get('i'))).toEqual([0n, 2n]);
    expect(sink.got[0]!.itemCount).toBe(2);
    expect(await counterValue(settings.telemetry, METRICS.filteredItems.name, { processor: 'filter/ottl' })).toBe(4);
  });

  it('traces.span with enums and resource paths; a request left empty resolves without going on', async () => {
    const { proc, sink } = make({ traces: { span: ['kind == SPAN_KIND_INTERNAL or resource.attributes["service.name"] == "nope"'] } }, 'traces');
    const bytes = makeTracesRequest(3);
    const kinds = (decodeRequest('traces', bytes) as ExportTraceServiceRequest).resourceSpans[0]!.scopeSpans[0]!.spans.map((s) => s.kind);
    await proc.consume(new Payload('traces', bytes));
    const left =
      sink.got.length === 0
        ? []
        : (decodeRequest('traces', sink.got[0]!.bytes) as ExportTraceServiceRequest).resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    expect(left.length).toBe(kinds.filter((k) => k !== 1).length);
    const all = make({ traces: { span: ['true'] } }, 'traces');
    await all.proc.consume(new Payload('traces', bytes));
    expect(all.sink.got.length).toBe(0);
  });

  it('traces.span keeps only root spans with parent_span_id != SpanID(0x0000000000000000) or not IsRootSpan()', async () => {
    const root = create(SpanSchema, { traceId: new Uint8Array(16).fill(1), spanId: new Uint8Array(8).fill(1), name: 'root' });
    const child = create(SpanSchema, {
      traceId: new Uint8Array(16).fill(1),
      spanId: new Uint8Array(8).fill(2),
      parentSpanId: new Uint8Array(8).fill(1),
      name: 'child',
    });
    const req = create(ExportTraceServiceRequestSchema, {
      resourceSpans: [create(ResourceSpansSchema, { scopeSpans: [create(ScopeSpansSchema, { spans: [root, child] })] })],
    });
    for (const condition of ['parent_span_id != SpanID(0x0000000000000000)', 'not IsRootSpan()']) {
      const { proc, sink } = make({ traces: { span: [condition] } }, 'traces');
      await proc.consume(new Payload('traces', encodeRequest('traces', req)));
      const out = decodeRequest('traces', sink.got[0]!.bytes) as ExportTraceServiceRequest;
      expect(out.resourceSpans[0]!.scopeSpans[0]!.spans.map((s) => s.name)).toEqual(['root']);
    }
    expect(parseConfig(filterProcessorFactory, { traces: { spanevent: ['IsRootSpan()'] } }).issues[0]!.message).toMatch(
      /column 1: IsRootSpan works in the span context only \(this is the spanevent context\)/,
    );
  });

  it('<signal>.resource: a resource matching a condition goes with everything under it, counted', async () => {
    const { proc, sink, settings } = make({ logs: { resource: ['attributes["service.name"] == "r-svc-1"'] } }, 'logs');
    await proc.consume(new Payload('logs', makeLogsRequest(2, 3)));
    const req = decodeRequest('logs', sink.got[0]!.bytes) as ExportLogsServiceRequest;
    expect(req.resourceLogs.map((r) => fromKeyValues(r.resource!.attributes).get('service.name'))).toEqual(['r-svc-0']);
    expect(sink.got[0]!.itemCount).toBe(3);
    expect(await counterValue(settings.telemetry, METRICS.filteredItems.name, { processor: 'filter/ottl' })).toBe(3);

    const traces = make({ traces: { resource: ['attributes["service.name"] == "s-svc"'], span: ['name == "nope"'] } }, 'traces');
    await traces.proc.consume(new Payload('traces', makeTracesRequest(3)));
    expect(traces.sink.got.length).toBe(0);
    expect(await counterValue(traces.settings.telemetry, METRICS.filteredItems.name, { processor: 'filter/ottl' })).toBe(3);

    const metrics = make({ metrics: { resource: ['attributes["service.name"] == "m-svc"'] } }, 'metrics');
    await metrics.proc.consume(new Payload('metrics', makeMetricsRequest(4)));
    expect(metrics.sink.got.length).toBe(0);
  });

  it('<signal>.resource with include/exclude for the same signal is refused, as the collector refuses it', () => {
    const { issues } = parseConfig(filterProcessorFactory, {
      logs: { resource: ['attributes["a"] == "b"'], exclude: { match_type: 'strict', bodies: ['x'] } },
    });
    expect(issues.map((i) => i.message)).toEqual(['use either include/exclude or OTTL conditions (logs.resource, logs.log_record) for one signal, not both']);
  });

  it('<signal>_conditions: flat lists infer their context; groups take context and error_mode, and run in order', async () => {
    const bySpan = make({ trace_conditions: ['span.name == "s-span-1"', 'resource.attributes["service.name"] == "nope"'] }, 'traces');
    await bySpan.proc.consume(new Payload('traces', makeTracesRequest(3)));
    const spans = (decodeRequest('traces', bySpan.sink.got[0]!.bytes) as ExportTraceServiceRequest).resourceSpans[0]!.scopeSpans[0]!.spans;
    expect(spans.map((x) => x.name)).toEqual(['s-span-0', 's-span-2']);

    const byResource = make({ log_conditions: ['resource.attributes["service.name"] == "r-svc-1"'] }, 'logs');
    await byResource.proc.consume(new Payload('logs', makeLogsRequest(2, 3)));
    const left = decodeRequest('logs', byResource.sink.got[0]!.bytes) as ExportLogsServiceRequest;
    expect(left.resourceLogs.map((r) => fromKeyValues(r.resource!.attributes).get('service.name'))).toEqual(['r-svc-0']);
    expect(byResource.sink.got[0]!.itemCount).toBe(3);

    // The third group fails on every record (the bodies are not JSON): its own error_mode ignore lets the
    // request through although the processor's is propagate.
    const groups = make(
      {
        log_conditions: [
          { context: 'log', conditions: ['attributes["i"] == 0'] },
          { context: 'scope', conditions: ['name == "other-scope"'] },
          { conditions: ['ParseJSON(log.body)["drop"] == true'], error_mode: 'ignore' },
        ],
      },
      'logs',
    );
    await groups.proc.consume(new Payload('logs', makeLogsRequest(1, 3)));
    const recs = (decodeRequest('logs', groups.sink.got[0]!.bytes) as ExportLogsServiceRequest).resourceLogs[0]!.scopeLogs[0]!.logRecords;
    expect(recs.map((r) => fromKeyValues(r.attributes).get('i'))).toEqual([1n, 2n]);

    const byScope = make({ log_conditions: [{ context: 'scope', conditions: ['name == "test-scope"'] }] }, 'logs');
    await byScope.proc.consume(new Payload('logs', makeLogsRequest(1, 3)));
    expect(byScope.sink.got.length).toBe(0);
  });

  it("<signal>_conditions: one context for the whole list; a path without a context is the record's (GopherShip accepts it)", async () => {
    // The collector refuses attributes["i"] without a context here; GopherShip reads it as the log record's,
    // so the list runs per log record (not per resource, as resource.attributes alone would).
    const { proc, sink } = make({ log_conditions: ['attributes["i"] == 1 and resource.attributes["service.name"] == "r-svc-0"'] }, 'logs');
    await proc.consume(new Payload('logs', makeLogsRequest(2, 3)));
    const left = decodeRequest('logs', sink.got[0]!.bytes) as ExportLogsServiceRequest;
    expect(left.resourceLogs.map((r) => r.scopeLogs[0]!.logRecords.map((x) => fromKeyValues(x.attributes).get('i')))).toEqual([
      [0n, 2n],
      [0n, 1n, 2n],
    ]);
    // A converter only the span context offers puts a resource-only list in the span context, as the collector's
    // inferrer falls back to the contexts below resource.
    const roots = make({ trace_conditions: ['IsRootSpan() and resource.attributes["service.name"] == "s-svc"'] }, 'traces');
    await roots.proc.consume(new Payload('traces', makeTracesRequest(2)));
    expect(roots.sink.got.length).toBe(0);
    // Inside the span (in a spanevent list) it would be ambiguous: refused, naming it.
    expect(parseConfig(filterProcessorFactory, { trace_conditions: ['span.name == "x"', 'attributes["k"] == "v"', 'spanevent.name == "e"'] }).issues).toEqual([
      {
        path: ['trace_conditions', '1'],
        message:
          'in "attributes["k"] == "v"": the path attributes has no context, and the list\'s conditions are read in the spanevent context (inferred from ' +
          "spanevent.name), where it would be the spanevent's, not the span's as on its own; write span.attributes or spanevent.attributes " +
          '(the collector refuses paths without a context in an inferred group)',
      },
    ]);
  });

  it('<signal>_conditions: what the collector refuses is refused, with the key path', () => {
    const issues = (raw: Record<string, unknown>) => parseConfig(filterProcessorFactory, raw).issues.map((i) => [i.path.join('.'), i.message]);
    expect(issues({ log_conditions: ['log.body == "x"', { context: 'log', conditions: ['true'] }] })).toEqual([
      ['log_conditions', 'use either condition strings or {context, conditions} groups in one list, not both (as the collector)'],
    ]);
    expect(issues({ trace_conditions: ['span.name == "x"'], traces: { span: ['true'] } })).toEqual([
      ['trace_conditions', 'use either trace_conditions or traces.resource, traces.span, traces.spanevent, not both (as the collector)'],
    ]);
    expect(issues({ metric_conditions: [{ context: 'log', conditions: ['true'] }] })).toEqual([
      ['metric_conditions.0.context', 'must be one of resource, scope, metric, datapoint for metrics; got "log"'],
    ]);
    expect(issues({ log_conditions: [{ context: 'log', conditions: ['body == '] }] })[0]![0]).toBe('log_conditions.0.conditions.0');
    expect(issues({ trace_conditions: ['span.nme == "x"'] })).toEqual([
      ['trace_conditions.0', expect.stringMatching(/^in "span.nme == "x"", column 1: span.nme: span has no field "nme"/)],
    ]);
  });

  it('metrics.metric: HasAttrKeyOnDatapoint and HasAttrOnDatapoint (the first data point with the key decides)', async () => {
    const point = (attrs: Record<string, string | bigint>) =>
      create(NumberDataPointSchema, { attributes: toKeyValues(new Map(Object.entries(attrs))), value: { case: 'asInt', value: 1n } });
    const metric = (name: string, points: ReturnType<typeof point>[]) =>
      create(MetricSchema, { name, data: { case: 'gauge', value: create(GaugeSchema, { dataPoints: points }) } });
    const req = () =>
      encodeRequest(
        'metrics',
        create(ExportMetricsServiceRequestSchema, {
          resourceMetrics: [
            create(ResourceMetricsSchema, {
              scopeMetrics: [
                create(ScopeMetricsSchema, {
                  metrics: [
                    metric('a', [point({ route: '/ready' })]),
                    metric('b', [point({ other: 'x' }), point({ route: '/api' }), point({ route: '/ready' })]),
                    metric('c', [point({ code: 200n })]),
                  ],
                }),
              ],
            }),
          ],
        }),
      );
    const names = async (condition: string) => {
      const { proc, sink } = make({ metrics: { metric: [condition] } }, 'metrics');
      await proc.consume(new Payload('metrics', req()));
      return sink.got.length === 0
        ? []
        : (decodeRequest('metrics', sink.got[0]!.bytes) as ExportMetricsServiceRequest).resourceMetrics[0]!.scopeMetrics[0]!.metrics.map((m) => m.name);
    };
    expect(await names('HasAttrKeyOnDatapoint("route")')).toEqual(['c']);
    // b's first point with "route" is "/api": b stays although a later point has "/ready".
    expect(await names('HasAttrOnDatapoint("route", "/ready")')).toEqual(['b', 'c']);
    expect(await names('HasAttrOnDatapoint("code", "200")')).toEqual(['a', 'b', 'c']);
    expect(parseConfig(filterProcessorFactory, { metrics: { datapoint: ['HasAttrKeyOnDatapoint("route")'] } }).issues[0]!.message).toMatch(
      /HasAttrKeyOnDatapoint works in the metric context only \(this is the datapoint context\)/,
    );
  });

  it('metrics.metric and metrics.datapoint', async () => {
    const bytes = makeMetricsRequest(4); // one gauge "m.gauge", points valued 0, 10, 20, 30
    const byPoint = make({ metrics: { datapoint: ['value_int >= 20 and metric.type == METRIC_DATA_TYPE_GAUGE'] } }, 'metrics');
    await byPoint.proc.consume(new Payload('metrics', bytes));
    const out = decodeRequest('metrics', byPoint.sink.got[0]!.bytes) as ExportMetricsServiceRequest;
    const metric = out.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!;
    expect(metric.data.case === 'gauge' && metric.data.value.dataPoints.map((p) => p.value.value)).toEqual([0n, 10n]);
    const byName = make({ metrics: { metric: ['name == "m.gauge"'] } }, 'metrics');
    await byName.proc.consume(new Payload('metrics', bytes));
    expect(byName.sink.got.length).toBe(0);
    const other = make({ metrics: { metric: ['name == "other"'] } }, 'metrics');
    await other.proc.consume(new Payload('metrics', bytes));
    // Nothing dropped: the request goes on as the bytes it arrived as.
    expect(other.sink.got[0]!.bytes).toBe(bytes);
  });

  it('error_mode: propagate refuses; ignore treats the failing condition as false', async () => {
    const cond = { logs: { log_record: ['Substring(body, 100, 2) == "x"', 'attributes["i"] == 0'] } };
    const p = make({ ...cond, error_mode: 'propagate' }, 'logs');
    await expect(p.proc.consume(new Payload('logs', makeLogsRequest(1, 2)))).rejects.toBeInstanceOf(PermanentError);
    const i = make({ ...cond, error_mode: 'ignore' }, 'logs');
    await i.proc.consume(new Payload('logs', makeLogsRequest(1, 2)));
    expect(i.sink.got[0]!.itemCount).toBe(1);
  });

  it('config: bad conditions are refused with their key path and column; OTTL and match properties do not mix', () => {
    expect(parseConfig(filterProcessorFactory, { traces: { span: ['name == '] } }).issues).toEqual([
      {
        path: ['traces', 'span', '0'],
        message:
          'in "name == ", column 9: expected a value (a string, number, bytes, nil, true/false, path, converter call, list or map), found the end of the statement',
      },
    ]);
    expect(parseConfig(filterProcessorFactory, { logs: { log_record: ['span.name == "x"'] } }).issues[0]!.message).toMatch(
      /column 1: span\.name: there is no span context in logs/,
    );
    expect(parseConfig(filterProcessorFactory, { logs: { log_record: ['true'], exclude: { match_type: 'strict', bodies: ['x'] } } }).issues).toEqual([
      { path: ['logs'], message: 'use either include/exclude or OTTL conditions (logs.resource, logs.log_record) for one signal, not both' },
    ]);
  });

  const POOL: Record<'logs' | 'traces', string[]> = {
    logs: [
      'attributes["a"] == "x"',
      'attributes["k1"] != nil',
      'IsString(attributes["b"])',
      'resource.attributes["a"] == 1',
      'severity_number >= SEVERITY_NUMBER_WARN',
      'IsMatch(body, "^a")',
      'severity_text == "INFO"',
      'attributes["http.method"] == "GET" and not IsInt(attributes["a"])',
    ],
    traces: ['attributes["a"] == "x"', 'name == "span-a"', 'kind == SPAN_KIND_SERVER', 'resource.attributes["k2"] != nil', 'Len(attributes["b"]) > 2'],
  };
  for (const signal of ['logs', 'traces'] as const) {
    it(`${signal}: the wire filter keeps exactly what the decoded filter keeps (property)`, () => {
      fc.assert(
        fc.property(arbRequest(signal), fc.array(fc.constantFrom(...POOL[signal]), { minLength: 1, maxLength: 3 }), (req, conds) => {
          const bytes = encodeRequest(signal, req);
          const wire = compileWireRecordFilter(signal, conds)!;
          expect(wire).toBeDefined();
          const out = wire.edit(bytes, { errorMode: 'silent' });
          const decoded = decodeRequest(signal, bytes);
          const context = signal === 'logs' ? 'log' : 'span';
          filterItems(signal, decoded, { [context]: compileConditions(conds, context, signal) }, { errorMode: 'silent' });
          expect(itemsOf(signal, out.bytes)).toEqual(itemsOf(signal, encodeRequest(signal, decoded)));
        }),
        { numRuns: 200 },
      );
    });
  }

  it('conditions the wire cannot read take the decoded path', () => {
    expect(compileWireRecordFilter('logs', ['attributes["a"] == "x"'])).toBeDefined();
    expect(compileWireRecordFilter('logs', ['time_unix_nano > 0'])).toBeUndefined();
    expect(compileWireRecordFilter('traces', ['status.code == STATUS_CODE_ERROR'])).toBeUndefined();
  });
});
