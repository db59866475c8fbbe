import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';
import { decodeRequest, requestFromJson } from '../../src/pdata/codec.js';
import { counterValue, RecordingConsumer } from '../../test/helpers/otlp-test-servers.js';
import { filterProcessorFactory } from './factory.js';
import { EXAMPLES_DIR } from '../../test/helpers/examples.js';
import { parseConfig, validConfig, settingsForTest } from '../../test/helpers/component-config.js';

function make(raw: Record<string, unknown>, signal: Signal, settings = settingsForTest('filter', 'processor')) {
  const cfg = validConfig(filterProcessorFactory, raw);
  const down = new RecordingConsumer();
  const proc = filterProcessorFactory.create(settings, cfg, signal, down);
  return { proc, down, settings };
}

type Attr = [string, string | number | boolean];
const kv = (attrs: Attr[]) =>
  attrs.map(([key, v]) => ({
    key,
    value:
      typeof v === 'string'
        ? { stringValue: v }
        : typeof v === 'boolean'
          ? { boolValue: v }
          : Number.isInteger(v)
            ? { intValue: String(v) }
            : { doubleValue: v },
  }));

interface Rec {
  body?: string;
  sev?: number;
  text?: string;
  attrs?: Attr[];
}

/** A logs request: one ResourceLogs per entry of `resources`, each with one scope holding its records. */
function logsReq(resources: { attrs: Attr[]; records: Rec[] }[]): Uint8Array {
  return requestFromJson(
    'logs',
    JSON.stringify({
      resourceLogs: resources.map((r) => ({
        resource: { attributes: kv(r.attrs) },
        scopeLogs: [
          {
            scope: { name: 'scope' },
            logRecords: r.records.map((x) => ({
              timeUnixNano: '1700000000000000000',
              severityNumber: x.sev ?? 0,
              severityText: x.text ?? '',
              body: x.body === undefined ? undefined : { stringValue: x.body },
              attributes: kv(x.attrs ?? []),
            })),
          },
        ],
      })),
    }),
  );
}

function bodies(p: Payload): string[] {
  const m = decodeRequest('logs', p.bytes);
  return m.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords.map((lr) => String(lr.body?.value.value ?? ''))));
}

const sevReq = () =>
  logsReq([
    {
      attrs: [['service.name', 'a']],
      records: [
        { body: 'trace', sev: 1 },
        { body: 'debug', sev: 5 },
        { body: 'info', sev: 9 },
        { body: 'warn', sev: 13 },
        { body: 'error', sev: 17 },
        { body: 'fatal', sev: 21 },
        { body: 'undefined', sev: 0 },
      ],
    },
  ]);

describe('filter processor config', () => {
  it('accepts the legacy shape with Key/Value spelled either way', () => {
    const { cfg, issues } = parseConfig(filterProcessorFactory, {
      logs: { include: { match_type: 'strict', resource_attributes: [{ Key: 'host.name', Value: 'h1' }], record_attributes: [{ key: 'k' }] } },
    });
    expect(issues).toEqual([]);
    expect(cfg.logs.include.resource_attributes).toEqual([{ key: 'host.name', value: 'h1' }]);
    expect(cfg.logs.include.record_attributes).toEqual([{ key: 'k' }]);
  });

  it('reports each bad key with its path', () => {
    const { issues } = parseConfig(filterProcessorFactory, {
      logs: { exclude: { match_type: 'regexp', bodies: ['(unclosed'], severity_number: { min: 'LOUD' } }, include: { bodies: ['x'] } },
      spans: { exclude: { match_type: 'strict', span_kinds: ['server'] } },
      metrics: { include: { match_type: 'expr', expressions: ['x'] } },
    });
    const paths = issues.map((i) => i.path.join('.'));
    expect(paths).toContain('logs.exclude.bodies.0');
    expect(paths).toContain('logs.exclude.severity_number.min');
    expect(paths).toContain('logs.include.match_type');
    expect(paths).toContain('spans.exclude.span_kinds.0');
    expect(paths).toContain('metrics.include.expressions');
    expect(parseConfig(filterProcessorFactory, { metrics: { include: { match_type: 'expr' } } }).issues[0]!.message).toBe(
      '"expr": not supported yet by GopherShip (matches metrics by expr-language expressions); use strict or regexp metric_names, or OTTL metric conditions',
    );
    expect(issues.find((i) => i.path.join('.') === 'logs.include.match_type')!.message).toMatch(/strict or regexp/);
  });

  it('needs no match_type for criteria it does not compare by pattern: severity_number, attribute keys alone (as the collector)', () => {
    // The collector's own testdata (config_logs_min_severity.yaml) filters by severity without a match_type.
    const { issues } = parseConfig(filterProcessorFactory, {
      logs: {
        include: { severity_number: { min: 'INFO', match_undefined: true } },
        exclude: { severity_number: { min: 'ERROR' }, record_attributes: [{ key: 'k' }] },
      },
      spans: { exclude: { attributes: [{ key: 'debug' }] } },
      metrics: { exclude: { resource_attributes: [{ key: 'host.name' }] } },
    });
    expect(issues).toEqual([]);
    // Text and values still need it, as the collector's filtersets refuse an empty match type.
    const valued = parseConfig(filterProcessorFactory, {
      logs: { exclude: { severity_number: { min: 'ERROR' }, record_attributes: [{ key: 'k', value: 'v' }] } },
      spans: { exclude: { span_names: ['x'] } },
      metrics: { exclude: { metric_names: ['m'] } },
    });
    expect(valued.issues.map((i) => i.path.join('.'))).toEqual(['logs.exclude.match_type', 'spans.exclude.match_type', 'metrics.exclude.match_type']);
  });

  it('defaults to filtering nothing', () => {
    expect(parseConfig(filterProcessorFactory, {}).issues).toEqual([]);
  });
});

describe('filter processor: logs', () => {
  it('exclude severity_number.min drops that severity and above', async () => {
    const { proc, down, settings } = make({ logs: { exclude: { match_type: 'strict', severity_number: { min: 'error' } } } }, 'logs');
    await proc.consume(new Payload('logs', sevReq()));
    expect(bodies(down.got[0]!)).toEqual(['trace', 'debug', 'info', 'warn', 'undefined']);
    const labels = { processor: 'filter', otel_signal: 'logs' };
    expect(await counterValue(settings.telemetry, 'gophership_processor_filtered_items', labels)).toBe(2);
    expect(await counterValue(settings.telemetry, 'otelcol_processor_incoming_items', labels)).toBe(7);
    expect(await counterValue(settings.telemetry, 'otelcol_processor_outgoing_items', labels)).toBe(5);
  });

  it('include severity_number.min keeps undefined severities only with match_undefined', async () => {
    const a = make({ logs: { include: { match_type: 'strict', severity_number: { min: 'INFO', match_undefined: true } } } }, 'logs');
    await a.proc.consume(new Payload('logs', sevReq()));
    expect(bodies(a.down.got[0]!)).toEqual(['info', 'warn', 'error', 'fatal', 'undefined']);
    const b = make({ logs: { include: { match_type: 'strict', severity_number: { min: 9 } } } }, 'logs');
    await b.proc.consume(new Payload('logs', sevReq()));
    expect(bodies(b.down.got[0]!)).toEqual(['info', 'warn', 'error', 'fatal']);
  });

  it('severity_number without match_type filters by severity, as the collector reads it', async () => {
    const { proc, down } = make(
      { logs: { include: { severity_number: { min: 'INFO', match_undefined: true } }, exclude: { severity_number: { min: 'ERROR' } } } },
      'logs',
    );
    await proc.consume(new Payload('logs', sevReq()));
    expect(bodies(down.got[0]!)).toEqual(['info', 'warn', 'undefined']);
  });

  it('applies include before exclude', async () => {
    const { proc, down } = make(
      {
        logs: {
          include: { match_type: 'strict', severity_number: { min: 'INFO', match_undefined: true } },
          exclude: { match_type: 'strict', severity_number: { min: 'ERROR' } },
        },
      },
      'logs',
    );
    await proc.consume(new Payload('logs', sevReq()));
    expect(bodies(down.got[0]!)).toEqual(['info', 'warn', 'undefined']);
  });

  it('matches bodies and severity texts strictly or by regexp found anywhere', async () => {
    const req = () =>
      logsReq([
        {
          attrs: [],
          records: [
            { body: 'GET /health', text: 'Info' },
            { body: 'GET /healthz', text: 'info' },
            { body: 'POST /order', text: 'Warning' },
          ],
        },
      ]);
    const strict = make({ logs: { exclude: { match_type: 'strict', bodies: ['GET /health'] } } }, 'logs');
    await strict.proc.consume(new Payload('logs', req()));
    expect(bodies(strict.down.got[0]!)).toEqual(['GET /healthz', 'POST /order']);
    const re = make({ logs: { exclude: { match_type: 'regexp', bodies: ['/health'] } } }, 'logs');
    await re.proc.consume(new Payload('logs', req()));
    expect(bodies(re.down.got[0]!)).toEqual(['POST /order']);
    const texts = make({ logs: { include: { match_type: 'regexp', severity_texts: ['^[Ww]arn'] } } }, 'logs');
    await texts.proc.consume(new Payload('logs', req()));
    expect(bodies(texts.down.got[0]!)).toEqual(['POST /order']);
    // RE2 as the collector reads it: a leading (?i) flag and POSIX classes (JavaScript refused the first
    // and read the second as something else).
    const ci = make({ logs: { exclude: { match_type: 'regexp', bodies: ['(?i)get /HEALTH$'] } } }, 'logs');
    await ci.proc.consume(new Payload('logs', req()));
    expect(bodies(ci.down.got[0]!)).toEqual(['GET /healthz', 'POST /order']);
    const posix = make({ logs: { include: { match_type: 'regexp', severity_texts: ['^[[:upper:]][[:lower:]]+$'] } } }, 'logs');
    await posix.proc.consume(new Payload('logs', req()));
    expect(bodies(posix.down.got[0]!)).toEqual(['GET /health', 'POST /order']);
  });

  it('record_attributes: every listed key must match; strict compares typed values', async () => {
    const req = () =>
      logsReq([
        {
          attrs: [],
          records: [
            {
              body: 'a',
              attrs: [
                ['code', 500],
                ['route', '/x'],
              ],
            },
            {
              body: 'b',
              attrs: [
                ['code', '500'],
                ['route', '/x'],
              ],
            },
            { body: 'c', attrs: [['code', 500]] },
            {
              body: 'd',
              attrs: [
                ['code', 200],
                ['route', '/x'],
              ],
            },
          ],
        },
      ]);
    const strict = make({ logs: { exclude: { match_type: 'strict', record_attributes: [{ key: 'code', value: 500 }, { key: 'route' }] } } }, 'logs');
    await strict.proc.consume(new Payload('logs', req()));
    // Only `a` has an int 500 and a route; `b` holds the string "500".
    expect(bodies(strict.down.got[0]!)).toEqual(['b', 'c', 'd']);
    const re = make({ logs: { exclude: { match_type: 'regexp', record_attributes: [{ key: 'code', value: '^5' }] } } }, 'logs');
    await re.proc.consume(new Payload('logs', req()));
    // A regexp sees int and string values alike as text.
    expect(bodies(re.down.got[0]!)).toEqual(['d']);
  });

  it('resource_attributes decide per resource; emptied resources and scopes are removed', async () => {
    const req = logsReq([
      { attrs: [['host.name', 'noisy-1']], records: [{ body: 'n1' }, { body: 'n2' }] },
      { attrs: [['host.name', 'quiet']], records: [{ body: 'q1' }] },
      { attrs: [['host.name', 'noisy-2']], records: [{ body: 'n3' }] },
    ]);
    const { proc, down } = make({ logs: { exclude: { match_type: 'regexp', resource_attributes: [{ key: 'host.name', value: 'noisy-.*' }] } } }, 'logs');
    await proc.consume(new Payload('logs', req));
    const m = decodeRequest('logs', down.got[0]!.bytes);
    expect(m.resourceLogs).toHaveLength(1);
    expect(m.resourceLogs[0]!.resource!.attributes[0]!.value!.value.value).toBe('quiet');
    expect(bodies(down.got[0]!)).toEqual(['q1']);
  });

  it('forwards a request nothing matched as the same bytes object', async () => {
    const bytes = sevReq();
    const { proc, down, settings } = make({ logs: { exclude: { match_type: 'strict', bodies: ['nothing like this'] } } }, 'logs');
    await proc.consume(new Payload('logs', bytes));
    expect(down.got[0]!.bytes).toBe(bytes);
    // Matching reads the wire; nothing was decoded.
    expect(down.got[0]!.isDecoded).toBe(false);
    expect(await counterValue(settings.telemetry, 'gophership_processor_filtered_items', { processor: 'filter' })).toBe(0);
  });

  it('resolves without calling the next stage when everything is dropped', async () => {
    const { proc, down, settings } = make({ logs: { include: { match_type: 'strict', bodies: ['keep me'] } } }, 'logs');
    await expect(proc.consume(new Payload('logs', sevReq()))).resolves.toBeUndefined();
    expect(down.got).toHaveLength(0);
    expect(await counterValue(settings.telemetry, 'gophership_processor_filtered_items', { processor: 'filter', otel_signal: 'logs' })).toBe(7);
  });

  it('shares one counter among processors on one registry', async () => {
    const settings = settingsForTest('filter/a', 'processor');
    const a = make({ logs: { exclude: { match_type: 'strict', bodies: ['info'] } } }, 'logs', settings);
    const b = make({ logs: { exclude: { match_type: 'strict', bodies: ['warn'] } } }, 'logs', {
      ...settings,
      id: { type: 'filter', name: 'b', id: 'filter/b' },
    });
    await a.proc.consume(new Payload('logs', sevReq()));
    await b.proc.consume(new Payload('logs', sevReq()));
    expect(await counterValue(settings.telemetry, 'gophership_processor_filtered_items', { processor: 'filter/a' })).toBe(1);
    expect(await counterValue(settings.telemetry, 'gophership_processor_filtered_items', { processor: 'filter/b' })).toBe(1);
  });

  it('refuses a request it cannot read as a permanent error', async () => {
    const { proc } = make({ logs: { exclude: { match_type: 'strict', bodies: ['x'] } } }, 'logs');
    await expect(proc.consume(new Payload('logs', new Uint8Array([0x0a, 0x05, 0x01])))).rejects.toMatchObject({ name: 'PermanentError' });
  });
});

function tracesReq(
  resources: { svc?: string; attrs?: Attr[]; scope?: { name: string; version?: string }; spans: { name: string; kind?: number; attrs?: Attr[] }[] }[],
): Uint8Array {
  return requestFromJson(
    'traces',
    JSON.stringify({
      resourceSpans: resources.map((r) => ({
        resource: { attributes: kv([...(r.svc ? ([['service.name', r.svc]] as Attr[]) : []), ...(r.attrs ?? [])]) },
        scopeSpans: [
          {
            scope: r.scope ?? { name: 'lib' },
            spans: r.spans.map((s, i) => ({
              traceId: '0102030405060708090a0b0c0d0e0f10',
              spanId: `01020304050607${(i + 16).toString(16)}`,
              name: s.name,
              kind: s.kind ?? 1,
              startTimeUnixNano: '1',
              endTimeUnixNano: '2',
              attributes: kv(s.attrs ?? []),
            })),
          },
        ],
      })),
    }),
  );
}

function spanNames(p: Payload): string[] {
  return decodeRequest('traces', p.bytes).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name)));
}

describe('filter processor: spans', () => {
  const req = () =>
    tracesReq([
      {
        svc: 'app_1',
        spans: [
          { name: 'hello_world', kind: 2 },
          { name: 'GET /a', kind: 3, attrs: [['container.name', 'app_container_1']] },
        ],
      },
      { svc: 'app_3', scope: { name: 'opentelemetry', version: '0.0-beta' }, spans: [{ name: 'work', kind: 1 }] },
      { spans: [{ name: 'orphan' }] },
    ]);

  it('services and span names (any listed) and attributes (all listed) must all match', async () => {
    const a = make({ spans: { exclude: { match_type: 'regexp', services: ['app_1', 'app_2'], span_names: ['^hello'] } } }, 'traces');
    await a.proc.consume(new Payload('traces', req()));
    expect(spanNames(a.down.got[0]!)).toEqual(['GET /a', 'work', 'orphan']);
    const b = make(
      { spans: { exclude: { match_type: 'regexp', attributes: [{ key: 'container.name', value: '(app_container_1|app_container_2)' }] } } },
      'traces',
    );
    await b.proc.consume(new Payload('traces', req()));
    expect(spanNames(b.down.got[0]!)).toEqual(['hello_world', 'work', 'orphan']);
  });

  it('include by service keeps only that service; a resource without service.name is "<nil-service-name>"', async () => {
    const a = make({ spans: { include: { match_type: 'strict', services: ['app_3'] } } }, 'traces');
    await a.proc.consume(new Payload('traces', req()));
    expect(spanNames(a.down.got[0]!)).toEqual(['work']);
    expect(decodeRequest('traces', a.down.got[0]!.bytes).resourceSpans).toHaveLength(1);
    const b = make({ spans: { include: { match_type: 'strict', services: ['<nil-service-name>'] } } }, 'traces');
    await b.proc.consume(new Payload('traces', req()));
    expect(spanNames(b.down.got[0]!)).toEqual(['orphan']);
  });

  it('matches span kinds and libraries', async () => {
    const a = make({ spans: { exclude: { match_type: 'strict', span_kinds: ['SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT'] } } }, 'traces');
    await a.proc.consume(new Payload('traces', req()));
    expect(spanNames(a.down.got[0]!)).toEqual(['work', 'orphan']);
    const b = make({ spans: { exclude: { match_type: 'strict', libraries: [{ name: 'opentelemetry', version: '0.0-beta' }] } } }, 'traces');
    await b.proc.consume(new Payload('traces', req()));
    expect(spanNames(b.down.got[0]!)).toEqual(['hello_world', 'GET /a', 'orphan']);
  });

  it('forwards untouched traces as the same bytes', async () => {
    const bytes = req();
    const { proc, down } = make({ spans: { exclude: { match_type: 'strict', span_names: ['none'] } } }, 'traces');
    await proc.consume(new Payload('traces', bytes));
    expect(down.got[0]!.bytes).toBe(bytes);
  });
});

function metricsReq(resources: { attrs: Attr[]; metrics: { name: string; points: number }[] }[]): Uint8Array {
  return requestFromJson(
    'metrics',
    JSON.stringify({
      resourceMetrics: resources.map((r) => ({
        resource: { attributes: kv(r.attrs) },
        scopeMetrics: [
          {
            scope: { name: 'm' },
            metrics: r.metrics.map((m) => ({
              name: m.name,
              gauge: { dataPoints: Array.from({ length: m.points }, (_, i) => ({ timeUnixNano: '1', asInt: String(i) })) },
            })),
          },
        ],
      })),
    }),
  );
}

function metricNames(p: Payload): string[] {
  return decodeRequest('metrics', p.bytes).resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.name)));
}

describe('filter processor: metrics', () => {
  const req = () =>
    metricsReq([
      {
        attrs: [['container.name', 'app_container_1']],
        metrics: [
          { name: 'hello_world', points: 2 },
          { name: 'prefix/cpu', points: 3 },
          { name: 'other', points: 1 },
        ],
      },
      { attrs: [['container.name', 'app_container_2']], metrics: [{ name: 'prefix_mem', points: 4 }] },
    ]);

  it('exclude metric_names strictly; counts dropped data points', async () => {
    const { proc, down, settings } = make({ metrics: { exclude: { match_type: 'strict', metric_names: ['hello_world', 'hello/world'] } } }, 'metrics');
    await proc.consume(new Payload('metrics', req()));
    expect(metricNames(down.got[0]!)).toEqual(['prefix/cpu', 'other', 'prefix_mem']);
    expect(await counterValue(settings.telemetry, 'gophership_processor_filtered_items', { processor: 'filter', otel_signal: 'metrics' })).toBe(2);
  });

  it('include metric_names by regexp and resource_attributes', async () => {
    const a = make({ metrics: { include: { match_type: 'regexp', metric_names: ['prefix/.*', 'prefix_.*'] } } }, 'metrics');
    await a.proc.consume(new Payload('metrics', req()));
    expect(metricNames(a.down.got[0]!)).toEqual(['prefix/cpu', 'prefix_mem']);
    const b = make({ metrics: { include: { match_type: 'strict', resource_attributes: [{ key: 'container.name', value: 'app_container_1' }] } } }, 'metrics');
    await b.proc.consume(new Payload('metrics', req()));
    expect(metricNames(b.down.got[0]!)).toEqual(['hello_world', 'prefix/cpu', 'other']);
  });
});

describe('filter processor: shared OTLP/JSON examples', () => {
  it('carries the example requests through, dropping exactly what matches', async () => {
    const dir = EXAMPLES_DIR;
    const logs = requestFromJson('logs', readFileSync(`${dir}/logs.json`, 'utf8'));
    const keepAll = make({ logs: { exclude: { match_type: 'regexp', bodies: ['^no such body$'] } } }, 'logs');
    await keepAll.proc.consume(new Payload('logs', logs));
    expect(keepAll.down.got[0]!.bytes).toBe(logs);
    const dropAll = make({ logs: { exclude: { match_type: 'regexp', bodies: ['.*'] } } }, 'logs');
    await dropAll.proc.consume(new Payload('logs', logs));
    expect(dropAll.down.got).toHaveLength(0);

    const traces = requestFromJson('traces', readFileSync(`${dir}/trace.json`, 'utf8'));
    const t = make({ spans: { exclude: { match_type: 'strict', attributes: [{ key: 'my.span.attr', value: 'some value' }] } } }, 'traces');
    await t.proc.consume(new Payload('traces', traces));
    const before = decodeRequest('traces', traces).resourceSpans.flatMap((r) => r.scopeSpans.flatMap((ss) => ss.spans));
    const expected = before.filter((sp) => !sp.attributes.some((a) => a.key === 'my.span.attr' && a.value?.value.value === 'some value')).map((sp) => sp.name);
    expect(t.down.got.length === 0 ? [] : spanNames(t.down.got[0]!)).toEqual(expected);

    const metrics = requestFromJson('metrics', readFileSync(`${dir}/metrics.json`, 'utf8'));
    const names = decodeRequest('metrics', metrics).resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.name)));
    const m = make({ metrics: { exclude: { match_type: 'strict', metric_names: [names[0]!] } } }, 'metrics');
    await m.proc.consume(new Payload('metrics', metrics));
    expect(m.down.got.length === 0 ? [] : metricNames(m.down.got[0]!)).toEqual(names.filter((n) => n !== names[0]));
  });
});
