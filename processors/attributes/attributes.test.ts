import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { create, equals, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';
import { decodeRequest, REQUEST_SCHEMA, type RequestMessage } from '../../src/pdata/codec.js';
import { applyActionsToMessages, compileActions } from '../../src/processorhelper/attr-actions.js';
import { counterValue, RecordingConsumer } from '../../test/helpers/otlp-test-servers.js';
import { arbRequest, forEachRecordAttributes } from '../../test/helpers/otlp-arbitraries.js';
import {
  AnyValueSchema,
  InstrumentationScopeSchema,
  KeyValueSchema,
  type AnyValue,
  type KeyValue,
} from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';
import { ExportLogsServiceRequestSchema } from '../../proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';
import { ExportTraceServiceRequestSchema } from '../../proto/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';
import { ExportMetricsServiceRequestSchema } from '../../proto/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import { attributesProcessorFactory } from './factory.js';
import { parseConfig, validConfig, settingsForTest } from '../../test/helpers/component-config.js';

function make(raw: Record<string, unknown>, signal: Signal = 'logs') {
  const cfg = validConfig(attributesProcessorFactory, raw);
  const settings = settingsForTest('attributes/test', 'processor');
  const sink = new RecordingConsumer();
  const proc = attributesProcessorFactory.create(settings, cfg, signal, sink);
  return { proc, sink, settings };
}

type Js = string | number | boolean | bigint | { double: number };
const av = (v: Js | undefined): AnyValue | undefined => {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return create(AnyValueSchema, { value: { case: 'stringValue', value: v } });
  if (typeof v === 'boolean') return create(AnyValueSchema, { value: { case: 'boolValue', value: v } });
  if (typeof v === 'bigint') return create(AnyValueSchema, { value: { case: 'intValue', value: v } });
  if (typeof v === 'number')
    return Number.isInteger(v)
      ? create(AnyValueSchema, { value: { case: 'intValue', value: BigInt(v) } })
      : create(AnyValueSchema, { value: { case: 'doubleValue', value: v } });
  return create(AnyValueSchema, { value: { case: 'doubleValue', value: v.double } });
};
const kvs = (o: Record<string, Js>): KeyValue[] => Object.entries(o).map(([key, v]) => create(KeyValueSchema, { key, value: av(v) }));

interface LogSpec {
  attrs: Record<string, Js>;
  body?: Js;
  severity?: number;
  severityText?: string;
}

function logsRequest(records: LogSpec[], resource: Record<string, Js> = { 'service.name': 'svc' }, scopeName = 'lib-a'): Uint8Array {
  return toBinary(
    ExportLogsServiceRequestSchema,
    create(ExportLogsServiceRequestSchema, {
      resourceLogs: [
        {
          resource: { attributes: kvs(resource) },
          scopeLogs: [
            {
              scope: create(InstrumentationScopeSchema, { name: scopeName, version: '1.0' }),
              logRecords: records.map((r) => ({
                attributes: kvs(r.attrs),
                body: av(r.body),
                severityNumber: r.severity ?? 0,
                severityText: r.severityText ?? '',
              })),
            },
          ],
        },
      ],
    }),
  );
}

/** The attributes of each log record after the processor, as plain JS ({key: value}). */
async function runLogs(raw: Record<string, unknown>, records: LogSpec[], resource?: Record<string, Js>, scopeName?: string) {
  const { proc, sink } = make(raw);
  const bytes = logsRequest(records, resource, scopeName);
  await proc.consume(new Payload('logs', bytes));
  const out = sink.got[0]!;
  const req = decodeRequest('logs', out.bytes);
  const attrs = req.resourceLogs[0]!.scopeLogs[0]!.logRecords.map((lr) => Object.fromEntries(lr.attributes.map((kv) => [kv.key, kv.value?.value.value])));
  return { attrs, same: out.bytes === bytes };
}

describe('attributes processor actions (collector semantics)', () => {
  it('insert adds only when the key is absent', async () => {
    const r = await runLogs({ actions: [{ key: 'env', value: 'prod', action: 'insert' }] }, [{ attrs: { env: 'dev' } }, { attrs: { a: 'x' } }]);
    expect(r.attrs).toEqual([{ env: 'dev' }, { a: 'x', env: 'prod' }]);
  });

  it('update changes only an existing key; upsert does both', async () => {
    const up = await runLogs({ actions: [{ key: 'env', value: 'prod', action: 'update' }] }, [{ attrs: { env: 'dev' } }, { attrs: { a: 'x' } }]);
    expect(up.attrs).toEqual([{ env: 'prod' }, { a: 'x' }]);
    const ups = await runLogs({ actions: [{ key: 'env', value: 7, action: 'upsert' }] }, [{ attrs: { env: 'dev' } }, { attrs: { a: 'x' } }]);
    expect(ups.attrs).toEqual([{ env: 7n }, { a: 'x', env: 7n }]);
  });

  it('from_attribute copies a value (no-op when the source is absent)', async () => {
    const r = await runLogs({ actions: [{ key: 'copy', from_attribute: 'orig', action: 'upsert' }] }, [{ attrs: { orig: 12 } }, { attrs: { other: 1 } }]);
    expect(r.attrs).toEqual([{ orig: 12n, copy: 12n }, { other: 1n }]);
  });

  it('from_context reads request metadata', async () => {
    const { proc, sink } = make({ actions: [{ key: 'client', from_context: 'client.address', action: 'insert' }] });
    await proc.consume(new Payload('logs', logsRequest([{ attrs: {} }]), { meta: { 'client.address': '10.1.2.3' } }));
    const lr = decodeRequest('logs', sink.got[0]!.bytes).resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
    expect(lr.attributes.map((a) => [a.key, a.value?.value.value])).toEqual([['client', '10.1.2.3']]);
  });

  it('default_value stands in when the source gives nothing: from_attribute or from_context absent, value empty (an unset variable), or alone', async () => {
    const r = await runLogs(
      {
        actions: [
          { key: 'ns', from_attribute: 'namespace', default_value: 'default', action: 'insert' },
          { key: 'region', from_context: 'metadata.region', default_value: 'us-east-1', action: 'upsert' },
          { key: 'env', value: '', default_value: 'development', action: 'upsert' },
          { key: 'tier', default_value: 2, action: 'insert' },
        ],
      },
      [{ attrs: { namespace: 'shop' } }, { attrs: { tier: 1 } }],
    );
    expect(r.attrs).toEqual([
      { namespace: 'shop', ns: 'shop', region: 'us-east-1', env: 'development', tier: 2n },
      { tier: 1n, ns: 'default', region: 'us-east-1', env: 'development' },
    ]);
    const { proc, sink } = make({ actions: [{ key: 'region', from_context: 'metadata.region', default_value: 'us-east-1', action: 'upsert' }] });
    await proc.consume(new Payload('logs', logsRequest([{ attrs: {} }]), { meta: { 'metadata.region': 'eu-west-3' } }));
    const lr = decodeRequest('logs', sink.got[0]!.bytes).resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
    expect(lr.attributes.map((a) => [a.key, a.value?.value.value])).toEqual([['region', 'eu-west-3']]);
    // Alone it is a value source, as in the collector; with no source at all the action is refused.
    expect(parseConfig(attributesProcessorFactory, { actions: [{ key: 'k', action: 'insert' }] }).issues.map((i) => i.message)).toEqual([
      'action insert needs one of "value", "from_attribute", "from_context" or "default_value"',
    ]);
  });

  it('delete removes the key and, with pattern, every matching key', async () => {
    const r = await runLogs(
      {
        actions: [
          { key: 'password', action: 'delete' },
          { pattern: '^tmp\\.', action: 'delete' },
        ],
      },
      [{ attrs: { password: 's', 'tmp.a': 1, 'tmp.b': 2, keep: 'k' } }],
    );
    expect(r.attrs).toEqual([{ keep: 'k' }]);
  });

  it('hash writes the SHA-256 hex of the value (strings: UTF-8 bytes; ints: 8 bytes little-endian)', async () => {
    const r = await runLogs(
      {
        actions: [
          { key: 'user.email', action: 'hash' },
          { key: 'n', action: 'hash' },
        ],
      },
      [{ attrs: { 'user.email': 'a@b.c', n: 5 } }],
    );
    const le = Buffer.alloc(8);
    le.writeBigInt64LE(5n);
    expect(r.attrs[0]).toEqual({ 'user.email': createHash('sha256').update('a@b.c').digest('hex'), n: createHash('sha256').update(le).digest('hex') });
  });

  it('extract upserts named groups of pattern as string attributes', async () => {
    const r = await runLogs(
      { actions: [{ key: 'http.url', pattern: '^(?P<http_protocol>.*):\\/\\/(?P<http_domain>[^/]*)(?P<http_path>.*)$', action: 'extract' }] },
      [{ attrs: { 'http.url': 'https://example.com/a/b', http_domain: 'old' } }, { attrs: { 'http.url': 'not a url' } }, { attrs: { 'http.url': 5 } }],
    );
    expect(r.attrs).toEqual([
      { 'http.url': 'https://example.com/a/b', http_domain: 'example.com', http_protocol: 'https', http_path: '/a/b' },
      { 'http.url': 'not a url' },
      { 'http.url': 5n },
    ]);
  });

  it('convert: int/double/string; values that cannot convert stay unchanged', async () => {
    const r = await runLogs(
      {
        actions: [
          { key: 'a', action: 'convert', converted_type: 'int' },
          { key: 'b', action: 'convert', converted_type: 'int' },
          { key: 'c', action: 'convert', converted_type: 'double' },
          { key: 'd', action: 'convert', converted_type: 'string' },
          { key: 'e', action: 'convert', converted_type: 'int' },
          { key: 'f', action: 'convert', converted_type: 'double' },
        ],
      },
      [{ attrs: { a: '123', b: 'abc', c: '2.5', d: true, e: { double: 3.9 }, f: 'x1' } }],
    );
    expect(r.attrs).toEqual([{ a: 123n, b: 'abc', c: 2.5, d: 'true', e: 3n, f: 'x1' }]);
  });

  it('runs actions in order on the same record', async () => {
    const r = await runLogs(
      {
        actions: [
          { key: 'x', value: 'v', action: 'insert' },
          { key: 'x', action: 'hash' },
          { key: 'y', from_attribute: 'x', action: 'insert' },
        ],
      },
      [{ attrs: {} }],
    );
    const h = createHash('sha256').update('v').digest('hex');
    expect(r.attrs).toEqual([{ x: h, y: h }]);
  });

  it('forwards a request nothing matched as the same Uint8Array, and counts items', async () => {
    const { proc, sink, settings } = make({ actions: [{ key: 'absent', action: 'update', value: 1 }] });
    const bytes = logsRequest([{ attrs: { a: 1 } }, { attrs: { b: 2 } }]);
    await proc.consume(new Payload('logs', bytes));
    expect(sink.got[0]!.bytes).toBe(bytes);
    const labels = { processor: 'attributes/test', otel_signal: 'logs' };
    expect(await counterValue(settings.telemetry, 'otelcol_processor_incoming_items', labels)).toBe(2);
    expect(await counterValue(settings.telemetry, 'otelcol_processor_outgoing_items', labels)).toBe(2);
  });
});

describe('attributes processor include / exclude', () => {
  const mark = [{ key: 'hit', value: true, action: 'insert' }];
  const hits = (attrs: Record<string, unknown>[]) => attrs.map((a) => a.hit === true);

  it('strict attributes: key present, and value equal in type and value', async () => {
    const r = await runLogs({ actions: mark, include: { match_type: 'strict', attributes: [{ key: 'env', value: 'prod' }, { key: 'team' }] } }, [
      { attrs: { env: 'prod', team: 'a' } },
      { attrs: { env: 'prod' } },
      { attrs: { env: 'dev', team: 'a' } },
      { attrs: { env: 5, team: 'a' } },
    ]);
    expect(hits(r.attrs)).toEqual([true, false, false, false]);
  });

  it('regexp attributes match the string form of string/int values (unanchored)', async () => {
    const r = await runLogs({ actions: mark, include: { match_type: 'regexp', attributes: [{ key: 'code', value: '^5\\d\\d$' }] } }, [
      { attrs: { code: 503 } },
      { attrs: { code: '404' } },
      { attrs: { code: '500' } },
    ]);
    expect(hits(r.attrs)).toEqual([true, false, true]);
  });

  it('log_bodies, log_severity_texts and log_severity_number', async () => {
    const records: LogSpec[] = [
      { attrs: {}, body: 'payment failed', severity: 17, severityText: 'ERROR' },
      { attrs: {}, body: 'payment ok', severity: 9, severityText: 'INFO' },
      { attrs: {}, body: 'payment lost' },
    ];
    const bodies = await runLogs({ actions: mark, include: { match_type: 'regexp', log_bodies: ['fail', 'lost'] } }, records);
    expect(hits(bodies.attrs)).toEqual([true, false, true]);
    const texts = await runLogs({ actions: mark, include: { match_type: 'strict', log_severity_texts: ['INFO'] } }, records);
    expect(hits(texts.attrs)).toEqual([false, true, false]);
    const sev = await runLogs({ actions: mark, include: { match_type: 'strict', log_severity_number: { min: 'WARN' } } }, records);
    expect(hits(sev.attrs)).toEqual([true, false, false]);
    const undef = await runLogs({ actions: mark, include: { match_type: 'strict', log_severity_number: { min: 13, match_undefined: true } } }, records);
    expect(hits(undef.attrs)).toEqual([true, false, true]);
  });

  it('resources and libraries gate a whole resource / scope', async () => {
    const recs: LogSpec[] = [{ attrs: {} }, { attrs: {} }];
    const yes = await runLogs({ actions: mark, include: { match_type: 'strict', resources: [{ key: 'service.name', value: 'svc' }] } }, recs);
    expect(hits(yes.attrs)).toEqual([true, true]);
    const no = await runLogs({ actions: mark, include: { match_type: 'strict', resources: [{ key: 'service.name', value: 'other' }] } }, recs);
    expect(hits(no.attrs)).toEqual([false, false]);
    expect(no.same).toBe(true);
    const lib = await runLogs({ actions: mark, include: { match_type: 'regexp', libraries: [{ name: '^lib-' }] } }, recs, undefined, 'lib-z');
    expect(hits(lib.attrs)).toEqual([true, true]);
    const libNo = await runLogs({ actions: mark, include: { match_type: 'strict', libraries: [{ name: 'lib-a', version: '2.0' }] } }, recs);
    expect(hits(libNo.attrs)).toEqual([false, false]);
  });

  it('exclude skips matching items; include and exclude combine', async () => {
    const recs: LogSpec[] = [{ attrs: { env: 'prod', debug: true } }, { attrs: { env: 'prod' } }, { attrs: { env: 'dev' } }];
    const ex = await runLogs({ actions: mark, exclude: { match_type: 'strict', attributes: [{ key: 'debug' }] } }, recs);
    expect(hits(ex.attrs)).toEqual([false, true, true]);
    const both = await runLogs(
      {
        actions: mark,
        include: { match_type: 'strict', attributes: [{ key: 'env', value: 'prod' }] },
        exclude: { match_type: 'strict', attributes: [{ key: 'debug', value: true }] },
      },
      recs,
    );
    expect(hits(both.attrs)).toEqual([false, true, false]);
  });

  it('span_names / span_kinds / services for traces', async () => {
    const { proc, sink } = make(
      { actions: mark, include: { match_type: 'regexp', span_names: ['^GET '], services: ['^svc$'], span_kinds: ['SERVER'] } },
      'traces',
    );
    const req = create(ExportTraceServiceRequestSchema, {
      resourceSpans: [
        {
          resource: { attributes: kvs({ 'service.name': 'svc' }) },
          scopeSpans: [
            {
              spans: [
                { name: 'GET /a', kind: 2, events: [{ name: 'ev', attributes: kvs({ e: 1 }) }] },
                { name: 'POST /a', kind: 2 },
                { name: 'GET /b', kind: 3 },
              ],
            },
          ],
        },
      ],
    });
    await proc.consume(new Payload('traces', toBinary(ExportTraceServiceRequestSchema, req)));
    const spans = decodeRequest('traces', sink.got[0]!.bytes).resourceSpans[0]!.scopeSpans[0]!.spans;
    expect(spans.map((s) => s.attributes.some((a) => a.key === 'hit'))).toEqual([true, false, false]);
    // Event attributes are not the span's: untouched.
    expect(spans[0]!.events[0]!.attributes.map((a) => a.key)).toEqual(['e']);
  });

  it('metric_names for metrics; data point attributes of every point kind are edited', async () => {
    const { proc, sink } = make(
      { actions: [{ key: 'dc', value: 'eu', action: 'upsert' }], include: { match_type: 'strict', metric_names: ['m.a', 'm.h'] } },
      'metrics',
    );
    const pts = [{ attributes: kvs({ x: 1 }) }];
    const req = create(ExportMetricsServiceRequestSchema, {
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                { name: 'm.a', data: { case: 'sum', value: { dataPoints: pts, isMonotonic: true } } },
                { name: 'm.b', data: { case: 'gauge', value: { dataPoints: pts } } },
                { name: 'm.h', data: { case: 'histogram', value: { dataPoints: pts } } },
              ],
            },
          ],
        },
      ],
    });
    await proc.consume(new Payload('metrics', toBinary(ExportMetricsServiceRequestSchema, req)));
    const ms = decodeRequest('metrics', sink.got[0]!.bytes).resourceMetrics[0]!.scopeMetrics[0]!.metrics;
    const keys = ms.map((m) => (m.data.value as { dataPoints: { attributes: KeyValue[] }[] }).dataPoints[0]!.attributes.map((a) => a.key));
    expect(keys).toEqual([['x', 'dc'], ['x'], ['x', 'dc']]);
  });
});

describe('attributes processor config', () => {
  it('reports config errors with their key path', () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{}, 'actions', 'at least one action'],
      [{ actions: [{ key: 'a', action: 'explode' }] }, 'actions.0.action', 'unsupported action'],
      [{ actions: [{ key: 'a', action: 'insert' }] }, 'actions.0', 'needs one of'],
      [{ actions: [{ key: 'a', action: 'extract', pattern: '(\\d+)' }] }, 'actions.0.pattern', 'no named groups'],
      [{ actions: [{ key: 'a', action: 'convert', converted_type: 'float' }] }, 'actions.0.converted_type', 'must be int, double or string'],
      [{ actions: [{ action: 'delete' }] }, 'actions.0.key', 'at least one of "key" and "pattern"'],
      [{ actions: [{ key: 'a', action: 'delete' }], include: { attributes: [{ key: 'x' }] } }, 'include.match_type', 'is required'],
      [
        { actions: [{ key: 'a', action: 'delete' }], include: { match_type: 'regexp', log_bodies: ['('] } },
        'include.log_bodies.0',
        'invalid regular expression',
      ],
    ];
    for (const [raw, path, msg] of cases) {
      const { issues } = parseConfig(attributesProcessorFactory, raw);
      expect(
        issues.map((i) => i.path.join('.')),
        JSON.stringify(raw),
      ).toContain(path);
      expect(issues.find((i) => i.path.join('.') === path)!.message).toContain(msg);
    }
  });

  it('refuses properties that do not apply to the pipeline signal', () => {
    const { cfg } = parseConfig(attributesProcessorFactory, {
      actions: [{ key: 'a', action: 'delete' }],
      include: { match_type: 'strict', span_names: ['x'] },
    });
    const settings = settingsForTest('attributes/x', 'processor');
    expect(() => attributesProcessorFactory.create(settings, cfg, 'logs', new RecordingConsumer())).toThrow(/span_names cannot be used in a logs pipeline/);
    expect(() => attributesProcessorFactory.create(settings, cfg, 'traces', new RecordingConsumer())).not.toThrow();
  });

  it('is skippable under pressure', () => {
    expect(attributesProcessorFactory.skippableUnderPressure).toBe(true);
  });
});

describe('attributes processor property: wire result == decode -> edit -> encode', () => {
  const SIG: Signal[] = ['logs', 'traces', 'metrics'];
  const arbList = fc.array(
    fc.oneof(
      fc.record({
        action: fc.constantFrom('insert', 'update', 'upsert'),
        key: fc.constantFrom('a', 'b', 'new'),
        value: fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.boolean(), fc.constant(1.5)),
      }),
      fc.record({
        action: fc.constantFrom('insert', 'upsert'),
        key: fc.constantFrom('a', 'new'),
        from_attribute: fc.constantFrom('b', 'absent'),
        default_value: fc.oneof(fc.string({ maxLength: 4 }), fc.integer()),
      }),
      fc.record({ action: fc.constantFrom('delete', 'hash'), key: fc.constantFrom('a', 'b', 'k1') }),
      fc.record({ action: fc.constant('convert'), key: fc.constantFrom('a', 'b'), converted_type: fc.constantFrom('int', 'double', 'string') }),
      fc.record({ action: fc.constant('extract'), key: fc.constantFrom('a', 'b'), pattern: fc.constant('(?P<g1>[a-z])(?P<g2>\\d?)') }),
    ),
    { minLength: 1, maxLength: 4 },
  );
  for (const signal of SIG) {
    it(signal, async () => {
      await fc.assert(
        fc.asyncProperty(arbRequest(signal), arbList, async (req: RequestMessage, list) => {
          const { proc, sink } = make({ actions: list }, signal);
          const bytes = toBinary(REQUEST_SCHEMA[signal] as DescMessage, req);
          await proc.consume(new Payload(signal, bytes));
          const issues: { path: string[]; message: string }[] = [];
          const actions = compileActions(
            list.map((a) => ({ value: undefined, from_attribute: '', from_context: '', pattern: '', converted_type: '', ...a })),
            [],
            issues,
          );
          const expected = decodeRequest(signal, bytes);
          forEachRecordAttributes(signal, expected, (k) => applyActionsToMessages(actions, k));
          const out = sink.got[0]!;
          expect(equals(REQUEST_SCHEMA[signal] as DescMessage, decodeRequest(signal, out.bytes), expected)).toBe(true);
          expect(out.itemCount).toBe(new Payload(signal, out.bytes).itemCount);
        }),
        { numRuns: 60 },
      );
    });
  }
});
