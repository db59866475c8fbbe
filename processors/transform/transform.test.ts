import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Payload } from '../../src/pdata/payload.js';
import { decodeRequest, encodeRequest, type RequestMessage } from '../../src/pdata/codec.js';
import type { Signal } from '../../src/core/signal.js';
import { configProblems } from '../../test/helpers/config-problems.js';
import { PermanentError } from '../../src/core/errors.js';
import { counterValue, makeLogsRequest, makeTracesRequest, RecordingConsumer } from '../../test/helpers/otlp-test-servers.js';
import { arbRequest } from '../../test/helpers/otlp-arbitraries.js';
import { fromKeyValues } from '../../src/ottl/values.js';
import { transformProcessorFactory } from './factory.js';
import type { TransformProcessor } from './transform-processor.js';
import type { ExportLogsServiceRequest } from '../../proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';
import type { ExportTraceServiceRequest } from '../../proto/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';
import { parseConfig, validConfig, settingsForTest } from '../../test/helpers/component-config.js';

const configProblemsOf = (raw: Record<string, unknown>) =>
  parseConfig(transformProcessorFactory, raw)
    .issues.map((i) => i.message)
    .join('\n');

function make(raw: Record<string, unknown>, signal: Signal = 'logs') {
  const cfg = validConfig(transformProcessorFactory, raw);
  const settings = settingsForTest('transform/test', 'processor');
  const sink = new RecordingConsumer();
  return { proc: transformProcessorFactory.create(settings, cfg, signal, sink) as TransformProcessor, sink, settings };
}

const logsOf = (p: Payload) => decodeRequest('logs', p.bytes) as ExportLogsServiceRequest;

describe('transform processor', () => {
  it('flat statements infer their context; groups take context and conditions', async () => {
    const { proc, sink, settings } = make({
      log_statements: [
        'set(log.attributes["env"], "prod")',
        'set(resource.attributes["team"], "core")',
        { context: 'log', conditions: ['attributes["i"] == 0'], statements: ['set(attributes["first"], true)', 'replace_pattern(body, "^r (\\w+)", "R $1")'] },
      ],
    });
    expect(proc.path).toBe('decoded');
    await proc.consume(new Payload('logs', makeLogsRequest(1, 3)));
    const req = logsOf(sink.got[0]!);
    expect(fromKeyValues(req.resourceLogs[0]!.resource!.attributes).get('team')).toBe('core');
    const recs = req.resourceLogs[0]!.scopeLogs[0]!.logRecords;
    for (const r of recs) expect(fromKeyValues(r.attributes).get('env')).toBe('prod');
    const firsts = recs.filter((r) => fromKeyValues(r.attributes).get('first') === true);
    expect(firsts.length).toBe(1);
    expect(firsts[0]!.body!.value.value).toBe('R log 0.0');
    expect(await counterValue(settings.telemetry, 'otelcol_processor_incoming_items', { processor: 'transform/test' })).toBe(3);
  });

  it('consecutive plain statements of one context run in order on each item and share its cache, as the collector runs them', async () => {
    const { proc, sink } = make({
      log_statements: [
        'set(cache["kv"], ParseKeyValue("user=bob team=core"))',
        'set(attributes["user"], cache["kv"]["user"])',
        'set(attributes["order"], Concat([attributes["user"], attributes["team"]], "/"))',
        'set(attributes["team"], cache["kv"]["team"])',
      ],
    });
    await proc.consume(new Payload('logs', makeLogsRequest(1, 2)));
    for (const r of logsOf(sink.got[0]!).resourceLogs[0]!.scopeLogs[0]!.logRecords) {
      const a = fromKeyValues(r.attributes);
      expect([a.get('user'), a.get('team'), a.get('order')]).toEqual(['bob', 'core', 'bob/<nil>']);
    }
  });

  it('the cache named with its context (log.cache), as inferred-context statements write it', async () => {
    const { proc, sink } = make({
      log_statements: ['merge_maps(log.cache, ParseJSON("{\\"user\\":\\"amy\\"}"), "upsert")', 'set(log.attributes["user"], log.cache["user"])'],
    });
    await proc.consume(new Payload('logs', makeLogsRequest(1, 1)));
    expect(fromKeyValues(logsOf(sink.got[0]!).resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.attributes).get('user')).toBe('amy');
    expect(configProblemsOf({ log_statements: ['set(log.attributes["x"], resource.cache["y"])'] })).toMatch(
      /resource\.cache\["y"\]: the resource context's cache in a log statement is not supported yet by GopherShip; use log\.cache/,
    );
  });

  it('a group without context infers it from its statements and conditions together', async () => {
    // The condition names the log context, so the group runs per log record even though its statement
    // writes only resource attributes (the collector infers from both).
    const { proc, sink } = make({
      log_statements: [{ conditions: ['log.attributes["i"] == 1'], statements: ['set(resource.attributes["seen"], true)'] }],
    });
    await proc.consume(new Payload('logs', makeLogsRequest(1, 3)));
    expect(fromKeyValues(logsOf(sink.got[0]!).resourceLogs[0]!.resource!.attributes).get('seen')).toBe(true);
  });

  it('spans and span events', async () => {
    const { proc, sink } = make(
      {
        trace_statements: [
          {
            context: 'span',
            statements: [
              'set(attributes["kind_name"], "server") where kind == SPAN_KIND_SERVER',
              'set(status.code, STATUS_CODE_ERROR) where name == "never"',
              'set(name, Concat([name, "x"], "-"))',
            ],
          },
        ],
      },
      'traces',
    );
    await proc.consume(new Payload('traces', makeTracesRequest(2)));
    const req = decodeRequest('traces', sink.got[0]!.bytes) as ExportTraceServiceRequest;
    for (const s of req.resourceSpans[0]!.scopeSpans[0]!.spans) expect(s.name).toMatch(/-x$/);
  });

  it('statements that only set literal attributes take the wire path and leave other bytes as they were', async () => {
    const { proc, sink } = make({ log_statements: ['set(attributes["env"], "prod")', 'delete_key(attributes, "absent")', 'set(resource.attributes["r"], 1)'] });
    expect(proc.path).toBe('wire');
    const bytes = makeLogsRequest(2, 4);
    await proc.consume(new Payload('logs', bytes));
    const out = logsOf(sink.got[0]!);
    for (const rl of out.resourceLogs) {
      expect(fromKeyValues(rl.resource!.attributes).get('r')).toBe(1n);
      for (const r of rl.scopeLogs[0]!.logRecords) expect(fromKeyValues(r.attributes).get('env')).toBe('prod');
    }
  });

  it('error_mode: propagate refuses the request as permanent; ignore logs and goes on; silent goes on quietly', async () => {
    const stmts = ['set(attributes["n"], Substring(body, 100, 2))', 'set(attributes["after"], "yes")'];
    const p = make({ error_mode: 'propagate', log_statements: stmts });
    await expect(p.proc.consume(new Payload('logs', makeLogsRequest(1, 1)))).rejects.toBeInstanceOf(PermanentError);
    expect(p.sink.got.length).toBe(0);

    const i = make({ error_mode: 'ignore', log_statements: stmts });
    await i.proc.consume(new Payload('logs', makeLogsRequest(1, 1)));
    expect(fromKeyValues(logsOf(i.sink.got[0]!).resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.attributes).get('after')).toBe('yes');
    expect(i.settings.logs.some((l) => String(l.msg ?? l.message).includes('OTTL statement failed'))).toBe(true);

    const s = make({ error_mode: 'propagate', log_statements: [{ context: 'log', error_mode: 'silent', statements: stmts }] });
    await s.proc.consume(new Payload('logs', makeLogsRequest(1, 1)));
    expect(s.sink.got.length).toBe(1);
    expect(s.settings.logs.some((l) => String(l.msg ?? l.message).includes('OTTL statement failed'))).toBe(false);
  });
});

describe('transform config errors name file:line and the column', () => {
  const problems = configProblems;

  const config = (statements: string) => `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
processors:
  transform:
    error_mode: ignore
${statements}
exporters:
  debug:
service:
  pipelines:
    logs:
      receivers: [otlp]
      processors: [transform]
      exporters: [debug]
`;

  it('a syntax error in a grouped statement', async () => {
    const p = await problems(
      config(`    log_statements:
      - context: log
        statements:
          - set(attributes["a"], "b")
          - set(attributes["env"] "prod")`),
    );
    expect(p).toEqual([
      `FILE:13: processors.transform.log_statements.0.statements.1: in "set(attributes["env"] "prod")", column 23: expected "," or ")", found ""prod""`,
    ]);
  });

  it('a flat statement with an unknown converter, a bad context, an unknown path', async () => {
    const p = await problems(
      config(`    log_statements:
      - set(attributes["x"], Lower(body))
      - context: span
        statements:
          - set(name, "x")
      - set(log.nope, 1)`),
    );
    expect(p[0]).toMatch(
      /^FILE:10: processors\.transform\.log_statements\.0: in "set\(attributes\["x"\], Lower\(body\)\)", column 22: unknown converter "Lower"/,
    );
    expect(p[1]).toBe('FILE:11: processors.transform.log_statements.1.context: must be one of resource, scope, log for logs; got "span"');
    expect(p[2]).toMatch(/^FILE:14: processors\.transform\.log_statements\.2: in "set\(log\.nope, 1\)", column 5: log\.nope: log has no field "nope"/);
    expect(p.length).toBe(3);
  });

  it('a condition that does not parse, and a where clause cut short', async () => {
    const p = await problems(
      config(`    log_statements:
      - context: log
        conditions:
          - attributes["a"] = 1
        statements:
          - set(attributes["a"], 2) where`),
    );
    expect(p).toEqual([
      `FILE:14: processors.transform.log_statements.0.statements.0: in "set(attributes["a"], 2) where", column 30: expected a condition (a comparison, true/false, a converter call, "not" or "("), found the end of the statement`,
      `FILE:12: processors.transform.log_statements.0.conditions.0: in "attributes["a"] = 1", column 17: expected the end of the statement, found "="`,
    ]);
  });
});

/** Keeps the first of each attribute key (duplicate keys are outside the OTLP spec; pcommon keeps one). */
function dedupe(signal: Signal, req: RequestMessage): RequestMessage {
  const walk = (o: unknown): void => {
    if (Array.isArray(o)) return o.forEach(walk);
    if (o === null || typeof o !== 'object' || o instanceof Uint8Array) return;
    const rec = o as Record<string, unknown>;
    if (Array.isArray(rec.attributes)) {
      const seen = new Set<string>();
      rec.attributes = (rec.attributes as { key: string }[]).filter((kv) => !seen.has(kv.key) && (seen.add(kv.key), true));
    }
    for (const v of Object.values(rec)) if (typeof v === 'object') walk(v);
  };
  walk(req);
  return decodeRequest(signal, encodeRequest(signal, req));
}

const WIRE_STATEMENTS = [
  'set(attributes["env"], "prod")',
  'set(attributes["a"], 42)',
  'set(attributes["k1"], 1.5)',
  'set(attributes["b"], true)',
  'delete_key(attributes, "a")',
  'delete_key(attributes, "http.method")',
  'set(resource.attributes["team"], "core")',
  'delete_key(resource.attributes, "b")',
];

describe('transform: the decoded path and the wire path give identical bytes', () => {
  for (const signal of ['logs', 'traces', 'metrics'] as const) {
    it(`${signal} (property)`, async () => {
      await fc.assert(
        fc.asyncProperty(arbRequest(signal), fc.array(fc.constantFrom(...WIRE_STATEMENTS), { minLength: 1, maxLength: 4 }), async (raw, statements) => {
          const req = dedupe(signal, raw);
          const bytes = encodeRequest(signal, req);
          const key = { logs: 'log_statements', traces: 'trace_statements', metrics: 'metric_statements' }[signal];
          const wire = make({ [key]: statements }, signal);
          expect(wire.proc.path).toBe('wire');
          // The same statements with a where clause that always holds take the decoded path.
          const decoded = make({ [key]: statements.map((s) => `${s} where true`) }, signal);
          expect(decoded.proc.path).toBe('decoded');
          await wire.proc.consume(new Payload(signal, bytes));
          await decoded.proc.consume(new Payload(signal, bytes));
          // Compared in protobuf-es's canonical encoding: the wire path keeps the received bytes of
          // untouched fields (including zero values protobuf-es would omit).
          const fromWire = encodeRequest(signal, decodeRequest(signal, wire.sink.got[0]!.bytes));
          const fromDecoded = encodeRequest(signal, decodeRequest(signal, decoded.sink.got[0]!.bytes));
          expect(Buffer.from(fromWire).equals(Buffer.from(fromDecoded))).toBe(true);
        }),
        { numRuns: 150 },
      );
    });
  }
});
