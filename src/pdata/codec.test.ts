import { readFileSync } from 'node:fs';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { create, equals } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Signal } from '../core/signal.js';
import { concatRequests, countItems } from './wire.js';
import { Payload } from './payload.js';
import {
  OtlpJsonError,
  REQUEST_SCHEMA,
  RETRY_INFO_TYPE_URL,
  decodeExportResponsePartial,
  decodeRequest,
  decodeStatus,
  encodeExportResponse,
  encodeRequest,
  encodeStatus,
  parseRequestJson,
  quoteLongIntegers,
  requestFromJson,
  requestToJson,
  type RequestMessage,
} from './codec.js';
import { GrpcStatus } from '../grpc/status.js';
import { ExportLogsServiceRequestSchema } from '../../proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';
import type { ExportLogsServiceRequest } from '../../proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';
import type { ExportTraceServiceRequest } from '../../proto/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';
import type { ExportMetricsServiceRequest } from '../../proto/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import type { AnyValue } from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';
import { EXAMPLES_DIR } from '../../test/helpers/examples.js';

const EXAMPLES = EXAMPLES_DIR;
const FILE: Record<Signal, string> = { logs: 'logs.json', traces: 'trace.json', metrics: 'metrics.json' };
const readExample = (signal: Signal) => readFileSync(`${EXAMPLES}/${FILE[signal]}`, 'utf8');

/** Items of a decoded request, counted from the structure (the reference for the wire scan). */
function decodedCount(signal: Signal, msg: RequestMessage): number {
  let n = 0;
  if (signal === 'logs') for (const r of (msg as ExportLogsServiceRequest).resourceLogs) for (const s of r.scopeLogs) n += s.logRecords.length;
  else if (signal === 'traces') for (const r of (msg as ExportTraceServiceRequest).resourceSpans) for (const s of r.scopeSpans) n += s.spans.length;
  else
    for (const r of (msg as ExportMetricsServiceRequest).resourceMetrics)
      for (const s of r.scopeMetrics) for (const m of s.metrics) if (m.data.case !== undefined) n += m.data.value.dataPoints.length;
  return n;
}

const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);
const isDefault = (v: unknown) => v === 0 || v === '' || v === false || v === '0' || (Array.isArray(v) && v.length === 0);

/**
 * Asserts every value of the input OTLP/JSON survives in the output: ids hex-equal ignoring case, int64 given
 * as numbers come back as the same decimal strings, defaults may be omitted, unknown fields are dropped.
 */
function expectCarried(inp: unknown, out: unknown, path: string, unknownKeys: ReadonlySet<string> = new Set()): void {
  if (inp === null || inp === undefined) return;
  if (Array.isArray(inp)) {
    expect(Array.isArray(out), `${path} is an array`).toBe(true);
    const o = out as unknown[];
    expect(o.length, `${path}.length`).toBe(inp.length);
    inp.forEach((v, i) => expectCarried(v, o[i], `${path}[${i}]`, unknownKeys));
    return;
  }
  if (typeof inp === 'object') {
    expect(typeof out, `${path} is an object`).toBe('object');
    const o = out as Record<string, unknown>;
    for (const [k, v] of Object.entries(inp as Record<string, unknown>)) {
      const p = `${path}.${k}`;
      if (unknownKeys.has(k)) {
        expect(o[k], `${p} (unknown) dropped`).toBeUndefined();
        continue;
      }
      if (o[k] === undefined && isDefault(v)) continue;
      if (ID_KEYS.has(k)) {
        expect(typeof o[k], p).toBe('string');
        expect((o[k] as string).toLowerCase(), p).toBe((v as string).toLowerCase());
        continue;
      }
      expectCarried(v, o[k], p, unknownKeys);
    }
    return;
  }
  if (typeof inp === 'number' && typeof out === 'string') {
    // int64/fixed64 given as a JSON number: rendered as its exact decimal string
    expect(Number.isInteger(inp), `${path} integer`).toBe(true);
    expect(out, path).toBe(String(inp));
    return;
  }
  expect(out, path).toEqual(inp);
}

/** The examples with extra values the published samples lack, written as raw text so number literals stay exact. */
function enrichedExample(signal: Signal): string {
  const doc = JSON.parse(quoteLongIntegers(readExample(signal)));
  if (signal === 'logs') {
    const rec = doc.resourceLogs[0].scopeLogs[0].logRecords[0];
    rec.severityNumber = 9;
    rec.eventName = 'my.event';
    rec.flags = 1;
    rec.droppedAttributesCount = 2;
    rec.someFutureField = { nested: [1, 2, 3] };
    rec.attributes.push(
      { key: 'big.int', value: { intValue: '__BIG_LITERAL__' } },
      { key: 'min.int', value: { intValue: '-9223372036854775808' } },
      { key: 'bytes.attribute', value: { bytesValue: Buffer.from([0, 1, 2, 250, 251, 255]).toString('base64') } },
      { key: 'empty.value', value: {} },
      {
        key: 'nested',
        value: {
          arrayValue: { values: [{ kvlistValue: { values: [{ key: 'traceId', value: { doubleValue: -1.25 } }] } }, { boolValue: false }, { intValue: -7 }] },
        },
      },
    );
    rec.body = { kvlistValue: { values: [{ key: 'msg', value: { stringValue: 'ünïcødé ✓' } }] } };
    doc.resourceLogs[0].resource.entityRefs = [{ type: 'service', idKeys: ['service.name'], descriptionKeys: [] }];
  } else if (signal === 'traces') {
    const span = doc.resourceSpans[0].scopeSpans[0].spans[0];
    span.flags = 769;
    span.traceState = 'k=v';
    span.status = { code: 2, message: 'boom' };
    span.events = [{ timeUnixNano: '1544712660500000000', name: 'ev', attributes: [{ key: 'n', value: { intValue: 3 } }] }];
    span.links = [{ traceId: 'ABCDEF0123456789abcdef0123456789', spanId: '0102030405060708', traceState: 'x=y', flags: 256 }];
    doc.resourceSpans[0].scopeSpans[0].spans.push({ traceId: '00000000000000000000000000000001', spanId: 'FFFFFFFFFFFFFFFF', name: 'second', kind: 3 });
  } else {
    const metrics = doc.resourceMetrics[0].scopeMetrics[0].metrics;
    metrics[1].gauge.dataPoints.push({
      asInt: '__BIG_LITERAL__',
      timeUnixNano: 1544712660300000000,
      exemplars: [{ asDouble: 1.5, timeUnixNano: 1, traceId: '5B8EFFF798038103D269B633813FC60C', spanId: 'EEE19B7EC3C1B174' }],
    });
    metrics.push(
      {
        name: 'my.exp',
        exponentialHistogram: {
          aggregationTemporality: 2,
          dataPoints: [
            { count: 5, scale: -3, zeroCount: 1, zeroThreshold: 0.001, positive: { offset: -2, bucketCounts: [1, 2] }, negative: { bucketCounts: [1] } },
            { count: 0 },
          ],
        },
      },
      {
        name: 'my.summary',
        summary: {
          dataPoints: [
            {
              count: 2,
              sum: 3.5,
              quantileValues: [
                { quantile: 0.5, value: 1 },
                { quantile: 1, value: 2.5 },
              ],
            },
          ],
        },
      },
      { name: 'no.data' },
    );
  }
  return JSON.stringify(doc, null, 1).replace('"__BIG_LITERAL__"', '9007199254740993');
}

const SIGNALS: Signal[] = ['logs', 'traces', 'metrics'];

describe('OTLP/JSON examples', () => {
  for (const signal of SIGNALS) {
    for (const variant of ['published', 'enriched'] as const) {
      it(`${signal} (${variant}): JSON -> protobuf -> JSON carries every value`, () => {
        const text = variant === 'published' ? readExample(signal) : enrichedExample(signal);
        const bytes = requestFromJson(signal, text);
        expect(bytes.length).toBeGreaterThan(100);
        const msg = decodeRequest(signal, bytes);
        expect(equals(REQUEST_SCHEMA[signal], msg as never, parseRequestJson(signal, text) as never)).toBe(true);
        // bytes survive decode + encode unchanged (no zero-valued fields to drop here)
        expect(Buffer.from(encodeRequest(signal, msg)).equals(Buffer.from(bytes))).toBe(true);

        const out = JSON.parse(requestToJson(signal, bytes));
        expectCarried(JSON.parse(quoteLongIntegers(text)), out, '$', new Set(['someFutureField']));
        // and the rendered JSON reads back to the same message
        expect(equals(REQUEST_SCHEMA[signal], decodeRequest(signal, requestFromJson(signal, JSON.stringify(out))) as never, msg as never)).toBe(true);
      });
    }

    it(`${signal}: Payload.itemCount agrees with the decoded structure`, () => {
      for (const text of [readExample(signal), enrichedExample(signal)]) {
        const bytes = requestFromJson(signal, text);
        const p = new Payload(signal, bytes);
        expect(p.itemCount).toBe(decodedCount(signal, decodeRequest(signal, bytes)));
        expect(p.itemCount).toBe(countItems(signal, bytes));
      }
    });
  }

  it('counts match the published samples exactly (1 log record, 1 span, 3 data points)', () => {
    expect(new Payload('logs', requestFromJson('logs', readExample('logs'))).itemCount).toBe(1);
    expect(new Payload('traces', requestFromJson('traces', readExample('traces'))).itemCount).toBe(1);
    expect(new Payload('metrics', requestFromJson('metrics', readExample('metrics'))).itemCount).toBe(3);
    // enriched: +1 span; metrics +1 gauge point, +2 exponential, +1 summary, metric without data counts 0
    expect(new Payload('traces', requestFromJson('traces', enrichedExample('traces'))).itemCount).toBe(2);
    expect(new Payload('metrics', requestFromJson('metrics', enrichedExample('metrics'))).itemCount).toBe(7);
  });

  it('keeps decoded values exact: ids, int64 beyond 2^53, every AnyValue kind', () => {
    const logs = decodeRequest('logs', requestFromJson('logs', enrichedExample('logs')));
    const rec = logs.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
    expect(Buffer.from(rec.traceId).toString('hex')).toBe('5b8efff798038103d269b633813fc60c');
    expect(Buffer.from(rec.spanId).toString('hex')).toBe('eee19b7ec3c1b174');
    expect(rec.timeUnixNano).toBe(1544712660300000000n);
    expect(rec.observedTimeUnixNano).toBe(1544712660300000000n);
    expect(rec.severityNumber).toBe(9);
    expect(rec.eventName).toBe('my.event');
    expect(rec.flags).toBe(1);
    const attr = (k: string): AnyValue['value'] => rec.attributes.find((a) => a.key === k)!.value!.value;
    expect(attr('string.attribute')).toEqual({ case: 'stringValue', value: 'some string' });
    expect(attr('boolean.attribute')).toEqual({ case: 'boolValue', value: true });
    expect(attr('int.attribute')).toEqual({ case: 'intValue', value: 10n });
    expect(attr('double.attribute')).toEqual({ case: 'doubleValue', value: 637.704 });
    expect(attr('big.int')).toEqual({ case: 'intValue', value: 9007199254740993n });
    expect(attr('min.int')).toEqual({ case: 'intValue', value: -9223372036854775808n });
    const b = attr('bytes.attribute');
    expect(b.case).toBe('bytesValue');
    expect([...(b.value as Uint8Array)]).toEqual([0, 1, 2, 250, 251, 255]);
    expect(attr('empty.value')).toEqual({ case: undefined });
    expect(attr('array.attribute').case).toBe('arrayValue');
    expect(attr('map.attribute').case).toBe('kvlistValue');
    expect(logs.resourceLogs[0]!.resource!.entityRefs[0]!.idKeys).toEqual(['service.name']);

    const out = JSON.parse(requestToJson('logs', encodeRequest('logs', logs)));
    const outRec = out.resourceLogs[0].scopeLogs[0].logRecords[0];
    expect(outRec.traceId).toBe('5b8efff798038103d269b633813fc60c');
    expect(outRec.timeUnixNano).toBe('1544712660300000000');
    expect(outRec.attributes.find((a: { key: string }) => a.key === 'big.int').value).toEqual({ intValue: '9007199254740993' });
    expect(outRec.attributes.find((a: { key: string }) => a.key === 'bytes.attribute').value).toEqual({ bytesValue: 'AAEC+vv/' });
    // a nested KeyValue whose *key* is "traceId" is data, not an id field
    expect(JSON.stringify(outRec)).toContain('{"key":"traceId","value":{"doubleValue":-1.25}}');

    const traces = decodeRequest('traces', requestFromJson('traces', enrichedExample('traces')));
    const span = traces.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(Buffer.from(span.parentSpanId).toString('hex')).toBe('eee19b7ec3c1b173');
    expect(Buffer.from(span.links[0]!.traceId).toString('hex')).toBe('abcdef0123456789abcdef0123456789');
    expect(span.links[0]!.flags).toBe(256);
    expect(span.flags).toBe(769);
    expect(span.endTimeUnixNano).toBe(1544712661000000000n);

    const metrics = decodeRequest('metrics', requestFromJson('metrics', enrichedExample('metrics')));
    const gauge = metrics.resourceMetrics[0]!.scopeMetrics[0]!.metrics[1]!.data;
    expect(gauge.case).toBe('gauge');
    const point = gauge.case === 'gauge' ? gauge.value.dataPoints[1]! : undefined;
    expect(point?.value).toEqual({ case: 'asInt', value: 9007199254740993n });
    expect(Buffer.from(point!.exemplars[0]!.spanId).toString('hex')).toBe('eee19b7ec3c1b174');
  });
});

describe('OTLP/JSON errors name the field at fault', () => {
  const base = () => JSON.parse(quoteLongIntegers(readExample('logs')));
  const rec = 'resourceLogs[0].scopeLogs[0].logRecords[0]';
  const cases: Array<[string, (d: any) => void, string | RegExp]> = [
    ['non-integer timestamp', (d) => (d.resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano = 'soon'), `${rec}.timeUnixNano`],
    ['fractional int64', (d) => (d.resourceLogs[0].scopeLogs[0].logRecords[0].attributes[2].value.intValue = 1.5), `${rec}.attributes[2].value.intValue`],
    [
      'base64 trace id',
      (d) => (d.resourceLogs[0].scopeLogs[0].logRecords[0].traceId = 'W47/95gDgQPSabYzgT/GDA=='),
      new RegExp(`${rec.replace(/[[\]]/g, '\\$&')}\\.traceId: expected 32 hex digits`),
    ],
    ['short span id', (d) => (d.resourceLogs[0].scopeLogs[0].logRecords[0].spanId = 'abcd'), `${rec}.spanId`],
    ['string for bool', (d) => (d.resourceLogs[0].scopeLogs[0].logRecords[0].attributes[1].value.boolValue = 'true'), `${rec}.attributes[1].value.boolValue`],
    ['object for list', (d) => (d.resourceLogs[0].scopeLogs = {}), 'resourceLogs[0].scopeLogs: expected an array'],
    ['string for message', (d) => (d.resourceLogs[0].resource = 'svc'), 'resourceLogs[0].resource: expected an object'],
    ['bad enum', (d) => (d.resourceLogs[0].scopeLogs[0].logRecords[0].severityNumber = 'LOUD'), `${rec}.severityNumber`],
    ['uint32 overflow', (d) => (d.resourceLogs[0].scopeLogs[0].logRecords[0].droppedAttributesCount = 2 ** 32), `${rec}.droppedAttributesCount`],
    ['bad base64', (d) => (d.resourceLogs[0].scopeLogs[0].logRecords[0].body = { bytesValue: 'not base64!' }), `${rec}.body.bytesValue`],
    ['two oneof members', (d) => (d.resourceLogs[0].scopeLogs[0].logRecords[0].body = { stringValue: 'a', intValue: 1 }), `${rec}.body.intValue`],
    ['negative fixed64', (d) => (d.resourceLogs[0].scopeLogs[0].logRecords[0].observedTimeUnixNano = -1), `${rec}.observedTimeUnixNano`],
    [
      'double past its range',
      (d) => (d.resourceLogs[0].scopeLogs[0].logRecords[0].body = { doubleValue: '1e400' }),
      new RegExp(`${rec.replace(/[[\]]/g, '\\$&')}\\.body\\.doubleValue: string "1e400" is out of range for a double`),
    ],
  ];
  for (const [name, mutate, where] of cases) {
    it(name, () => {
      const d = base();
      mutate(d);
      let err: unknown;
      try {
        requestFromJson('logs', JSON.stringify(d));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OtlpJsonError);
      expect((err as Error).message).toMatch(where);
    });
  }

  it('rejects syntax errors and non-object bodies', () => {
    expect(() => requestFromJson('traces', '{"resourceSpans": [')).toThrow(OtlpJsonError);
    expect(() => requestFromJson('traces', '{"resourceSpans": [')).toThrow(/not valid JSON/);
    expect(() => requestFromJson('traces', '[]')).toThrow(/expected an object/);
    expect(() => requestFromJson('metrics', '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"sum":{"dataPoints":[{"asInt":"12x"}]}}]}]}]}')).toThrow(
      'resourceMetrics[0].scopeMetrics[0].metrics[0].sum.dataPoints[0].asInt',
    );
  });

  it('ignores unknown fields, accepts proto field names, int64 as strings, enum names, null as default', () => {
    const text = JSON.stringify({
      resourceLogs: [{ future: 1, scope_logs: [{ logRecords: [{ timeUnixNano: '5', severityNumber: 'SEVERITY_NUMBER_WARN', body: null, x: { y: [] } }] }] }],
      extra: 'ignored',
    });
    const msg = parseRequestJson('logs', text);
    const r = msg.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
    expect(r.timeUnixNano).toBe(5n);
    expect(r.severityNumber).toBe(13);
    expect(r.body).toBeUndefined();
    expect(requestFromJson('logs', '{}').length).toBe(0);
  });
});

describe('quoteLongIntegers', () => {
  it('quotes 16+ digit integer literals outside strings only', () => {
    expect(quoteLongIntegers('{"a":1544712660300000000,"b":"1544712660300000000","c":12,"d":-9223372036854775808}')).toBe(
      '{"a":"1544712660300000000","b":"1544712660300000000","c":12,"d":"-9223372036854775808"}',
    );
    expect(quoteLongIntegers('[1.0000000000000000001, 1e1000000000000000000, "x\\"9999999999999999"]')).toBe(
      '[1.0000000000000000001, 1e1000000000000000000, "x\\"9999999999999999"]',
    );
    expect(JSON.parse(quoteLongIntegers('{"v":18446744073709551615}')).v).toBe('18446744073709551615');
  });

  it('leaves a long literal with a leading zero as it is (not JSON), so the body is refused, not quoted into a string', () => {
    expect(quoteLongIntegers('{"t":00000000000000001,"u":-00000000000000001}')).toBe('{"t":00000000000000001,"u":-00000000000000001}');
    expect(() => requestFromJson('logs', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":00000000000000001}]}]}]}')).toThrow(/not valid JSON/);
    // A literal 1e400 (JSON.parse reads Infinity) is refused as out of range too.
    expect(() => requestFromJson('logs', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"doubleValue":1e400}}]}]}]}')).toThrow(
      /doubleValue: number Infinity is out of range for a double/,
    );
    expect(
      parseRequestJson('logs', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"doubleValue":"Infinity"}}]}]}]}').resourceLogs[0]!.scopeLogs[0]!
        .logRecords[0]!.body!.value.value,
    ).toBe(Infinity);
  });
});

describe('google.rpc.Status', () => {
  for (const encoding of ['proto', 'json'] as const) {
    it(`round trips with and without RetryInfo (${encoding})`, () => {
      expect(decodeStatus(encoding, encodeStatus(encoding, GrpcStatus.UNAVAILABLE, 'queue full', 1500))).toEqual({
        code: 14,
        message: 'queue full',
        retryDelayMs: 1500,
      });
      expect(decodeStatus(encoding, encodeStatus(encoding, GrpcStatus.RESOURCE_EXHAUSTED, 'slow down', 30_000))).toEqual({
        code: 8,
        message: 'slow down',
        retryDelayMs: 30_000,
      });
      expect(decodeStatus(encoding, encodeStatus(encoding, GrpcStatus.UNAVAILABLE, 'now', 0))).toEqual({ code: 14, message: 'now', retryDelayMs: 0 });
      expect(decodeStatus(encoding, encodeStatus(encoding, GrpcStatus.INVALID_ARGUMENT, 'bad field x'))).toEqual({ code: 3, message: 'bad field x' });
    });
  }

  it('writes the spec JSON form of the RetryInfo Any', () => {
    const json = JSON.parse(Buffer.from(encodeStatus('json', 14, 'busy', 1500)).toString());
    expect(json).toEqual({ code: 14, message: 'busy', details: [{ '@type': RETRY_INFO_TYPE_URL, retryDelay: '1.5s' }] });
    expect(JSON.parse(Buffer.from(encodeStatus('json', 14, 'busy', 2000)).toString()).details[0].retryDelay).toBe('2s');
  });

  it('writes the google.rpc wire layout (checked against a hand-built encoding)', () => {
    const w = new BinaryWriter();
    w.tag(1, 0).int32(8).tag(2, 2).string('slow');
    w.tag(3, 2).fork(); // Any
    w.tag(1, 2).string(RETRY_INFO_TYPE_URL);
    w.tag(2, 2).fork(); // RetryInfo
    w.tag(1, 2).fork().tag(1, 0).int64(2).tag(2, 0).int32(250_000_000).join(); // Duration 2.25s
    w.join().join();
    const handBuilt = w.finish();
    expect(Buffer.from(encodeStatus('proto', 8, 'slow', 2250)).equals(Buffer.from(handBuilt))).toBe(true);
    expect(decodeStatus('proto', handBuilt)).toEqual({ code: 8, message: 'slow', retryDelayMs: 2250 });
  });

  it('reads Status JSON written by others and rejects what is not one', () => {
    const other =
      '{"code":8,"message":"x","details":[{"@type":"type.googleapis.com/google.rpc.DebugInfo","detail":"d"},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2.500s"}]}';
    expect(decodeStatus('json', Buffer.from(other))).toEqual({ code: 8, message: 'x', retryDelayMs: 2500 });
    expect(decodeStatus('json', Buffer.from('<html>502 Bad Gateway</html>'))).toBeUndefined();
    expect(decodeStatus('json', Buffer.from('"just a string"'))).toBeUndefined();
    expect(decodeStatus('json', new Uint8Array(0))).toBeUndefined();
    expect(decodeStatus('proto', new Uint8Array(0))).toBeUndefined();
    expect(decodeStatus('proto', Buffer.from([0x0a, 0xff]))).toBeUndefined(); // truncated length-delimited field
  });
});

describe('Export responses', () => {
  for (const signal of SIGNALS) {
    for (const encoding of ['proto', 'json'] as const) {
      it(`${signal} ${encoding}: full success has no partial_success; partial round trips`, () => {
        const ok = encodeExportResponse(signal, encoding);
        expect(encoding === 'proto' ? ok.length : Buffer.from(ok).toString()).toBe(encoding === 'proto' ? 0 : '{}');
        expect(decodeExportResponsePartial(signal, encoding, ok)).toBeUndefined();
        const partial = encodeExportResponse(signal, encoding, { rejected: 7, errorMessage: 'dropped 7 oversized records' });
        expect(decodeExportResponsePartial(signal, encoding, partial)).toEqual({ rejected: 7, errorMessage: 'dropped 7 oversized records' });
      });
    }
  }

  it('uses the collector field names in JSON and reads numbers or strings', () => {
    expect(JSON.parse(Buffer.from(encodeExportResponse('metrics', 'json', { rejected: 3, errorMessage: 'e' })).toString())).toEqual({
      partialSuccess: { rejectedDataPoints: '3', errorMessage: 'e' },
    });
    expect(decodeExportResponsePartial('traces', 'json', Buffer.from('{"partialSuccess":{"rejectedSpans":4}}'))).toEqual({ rejected: 4, errorMessage: '' });
    expect(decodeExportResponsePartial('logs', 'json', Buffer.from('{"partialSuccess":{}}'))).toBeUndefined();
    expect(decodeExportResponsePartial('logs', 'json', Buffer.from('not json'))).toBeUndefined();
  });
});

describe('property: wire count equals decoded count', () => {
  const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
  const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.record({ case: fc.constant('stringValue'), value: fc.string() }),
      fc.record({ case: fc.constant('boolValue'), value: fc.boolean() }),
      fc.record({ case: fc.constant('intValue'), value: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }) }),
      fc.record({ case: fc.constant('doubleValue'), value: fc.double({ noNaN: true }) }),
      fc.record({ case: fc.constant('bytesValue'), value: fc.uint8Array({ maxLength: 8 }) }),
      fc.record({ case: fc.constant('arrayValue'), value: fc.record({ values: fc.array(fc.record({ value: tie('value') }), { maxLength: 3 }) }) }),
      fc.record({
        case: fc.constant('kvlistValue'),
        value: fc.record({ values: fc.array(fc.record({ key: fc.string(), value: fc.record({ value: tie('value') }) }), { maxLength: 3 }) }),
      }),
    ),
  })).value;
  const attrs = fc.array(fc.record({ key: fc.string(), value: fc.record({ value: anyValue }) }), { maxLength: 3 });
  const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

  const logs = fc.record({
    resourceLogs: fc.array(
      fc.record({
        resource: fc.record({ attributes: attrs }),
        scopeLogs: fc.array(
          fc.record({
            logRecords: fc.array(
              fc.record({
                timeUnixNano: u64,
                severityNumber: fc.integer({ min: 0, max: 24 }),
                body: fc.record({ value: anyValue }),
                attributes: attrs,
                traceId: hex(16),
                spanId: hex(8),
                eventName: fc.string(),
              }),
              { maxLength: 5 },
            ),
          }),
          { maxLength: 3 },
        ),
      }),
      { maxLength: 3 },
    ),
  });
  const dataKind = fc.constantFrom('gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary', undefined);
  const metrics = fc.record({
    resourceMetrics: fc.array(
      fc.record({
        scopeMetrics: fc.array(
          fc.record({
            metrics: fc.array(
              fc.record({ name: fc.string(), kind: dataKind, points: fc.nat({ max: 4 }), t: u64 }).map(({ name, kind, points, t }) => ({
                name,
                data:
                  kind === undefined ? { case: undefined } : { case: kind, value: { dataPoints: Array.from({ length: points }, () => ({ timeUnixNano: t })) } },
              })),
              { maxLength: 4 },
            ),
          }),
          { maxLength: 3 },
        ),
      }),
      { maxLength: 3 },
    ),
  });

  it('logs: count, concatenation and JSON round trip', () => {
    fc.assert(
      fc.property(logs, logs, (a, b) => {
        const ma = create(ExportLogsServiceRequestSchema, a as never);
        const mb = create(ExportLogsServiceRequestSchema, b as never);
        const ba = encodeRequest('logs', ma);
        const bb = encodeRequest('logs', mb);
        expect(countItems('logs', ba)).toBe(decodedCount('logs', decodeRequest('logs', ba)));
        expect(countItems('logs', concatRequests([ba, bb]))).toBe(decodedCount('logs', ma) + decodedCount('logs', mb));
        const back = decodeRequest('logs', requestFromJson('logs', requestToJson('logs', ba)));
        expect(equals(ExportLogsServiceRequestSchema, back, decodeRequest('logs', ba))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('metrics: count data points of every kind', () => {
    fc.assert(
      fc.property(metrics, (m) => {
        const msg = create(REQUEST_SCHEMA.metrics, m as never);
        const bytes = encodeRequest('metrics', msg);
        const n = decodedCount('metrics', msg);
        expect(countItems('metrics', bytes)).toBe(n);
        expect(new Payload('metrics', requestFromJson('metrics', requestToJson('metrics', bytes))).itemCount).toBe(n);
      }),
      { numRuns: 150 },
    );
  });
});
