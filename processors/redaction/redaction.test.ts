import nodeCrypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';
import { decodeRequest, requestFromJson } from '../../src/pdata/codec.js';
import { counterValue, RecordingConsumer } from '../../test/helpers/otlp-test-servers.js';
import { redactionProcessorFactory } from './factory.js';
import { goReplaceAll } from './redactor.js';
import { validConfig, settingsForTest } from '../../test/helpers/component-config.js';

function make(raw: Record<string, unknown>, signal: Signal = 'logs') {
  const cfg = validConfig(redactionProcessorFactory, raw);
  const settings = settingsForTest('redaction', 'processor');
  const down = new RecordingConsumer();
  const proc = redactionProcessorFactory.create(settings, cfg, signal, down);
  return { proc, down, settings };
}

type Attrs = Record<string, string | number | boolean>;
const kv = (attrs: Attrs) =>
  Object.entries(attrs).map(([key, v]) => ({
    key,
    value: typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v } : { intValue: String(v) },
  }));

function logsReq(opts: { resource?: Attrs; scope?: Attrs; records: { attrs: Attrs; body?: string }[] }): Uint8Array {
  return requestFromJson(
    'logs',
    JSON.stringify({
      resourceLogs: [
        {
          resource: { attributes: kv(opts.resource ?? {}) },
          scopeLogs: [
            {
              scope: { name: 's', attributes: kv(opts.scope ?? {}) },
              logRecords: opts.records.map((r) => ({
                timeUnixNano: '1',
                body: r.body === undefined ? undefined : { stringValue: r.body },
                attributes: kv(r.attrs),
              })),
            },
          ],
        },
      ],
    }),
  );
}

/** Attributes as {key: value} (ints as bigint). */
const plain = (attrs: { key: string; value?: { value: { value?: unknown } } }[]) => Object.fromEntries(attrs.map((a) => [a.key, a.value?.value.value]));

function logRecords(p: Payload) {
  const m = decodeRequest('logs', p.bytes);
  const rl = m.resourceLogs[0]!;
  const sl = rl.scopeLogs[0]!;
  return {
    resource: plain(rl.resource!.attributes),
    scope: plain(sl.scope!.attributes),
    records: sl.logRecords.map((lr) => ({ attrs: plain(lr.attributes), body: lr.body?.value.value })),
  };
}

describe('goReplaceAll', () => {
  it('follows Go: an empty match abutting the previous match is skipped', () => {
    const star = () => '****';
    expect(goReplaceAll('abc', /.*/g, star)).toBe('****');
    expect(goReplaceAll('', /.*/g, star)).toBe('****');
    expect(goReplaceAll('a1b22', /\d+/g, star)).toBe('a****b****');
    expect(goReplaceAll('none', /\d+/g, star)).toBe('none');
  });
});

describe('redaction processor', () => {
  it('rejects bad regexps with their path', () => {
    const issues: { path: string[]; message: string }[] = [];
    redactionProcessorFactory.config.parse({ blocked_values: ['ok', '(bad'] }, [], issues);
    expect(issues.map((i) => i.path.join('.'))).toEqual(['blocked_values.1']);
  });

  it('fails closed: with allowed_keys empty every attribute is removed, everywhere', async () => {
    const { proc, down, settings } = make({});
    await proc.consume(new Payload('logs', logsReq({ resource: { 'service.name': 'x' }, scope: { lib: 'y' }, records: [{ attrs: { a: '1', b: 2 } }] })));
    const out = logRecords(down.got[0]!);
    expect(out).toEqual({ resource: {}, scope: {}, records: [{ attrs: {}, body: undefined }] });
    expect(
      await counterValue(settings.telemetry, 'gophership_processor_redacted_items', { processor: 'redaction', otel_signal: 'logs', action: 'removed' }),
    ).toBe(4);
  });

  it('keeps allowed keys and removes the others; allow_all_keys keeps all', async () => {
    const a = make({ allowed_keys: ['service.name', 'id'] });
    await a.proc.consume(
      new Payload('logs', logsReq({ resource: { 'service.name': 'x', 'host.ip': '10.0.0.1' }, records: [{ attrs: { id: 7, password: 'hunter2' } }] })),
    );
    const out = logRecords(a.down.got[0]!);
    expect(out.resource).toEqual({ 'service.name': 'x' });
    expect(out.records[0]!.attrs).toEqual({ id: 7n });
  });

  it('masks the matching parts of values; allowed_values win over blocked_values', async () => {
    const { proc, down, settings } = make({
      allow_all_keys: true,
      blocked_values: ['4[0-9]{12}(?:[0-9]{3})?', '[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}'],
      allowed_values: ['.+@mycompany\\.com'],
    });
    await proc.consume(
      new Payload(
        'logs',
        logsReq({ records: [{ attrs: { note: 'card 4111111111111111 ok', from: 'bob@example.org', support: 'help@mycompany.com', n: 4111111111111111 } }] }),
      ),
    );
    const attrs = logRecords(down.got[0]!).records[0]!.attrs;
    expect(attrs.note).toBe('card **** ok');
    expect(attrs.from).toBe('****');
    expect(attrs.support).toBe('help@mycompany.com');
    // Without redact_all_types an int value is not looked at.
    expect(attrs.n).toBe(4111111111111111n);
    expect(await counterValue(settings.telemetry, 'gophership_processor_redacted_items', { processor: 'redaction', action: 'masked' })).toBe(2);
  });

  it("reads patterns in Go's RE2 syntax, as collector configs write them: a leading (?i), POSIX classes", async () => {
    const issues: { path: string[]; message: string }[] = [];
    const config = { allow_all_keys: true, blocked_values: ['(?i)bearer [a-z0-9]+', '[[:digit:]]{4}-[[:digit:]]{4}'] };
    redactionProcessorFactory.config.parse(config, [], issues);
    expect(issues).toEqual([]);
    const { proc, down } = make(config);
    await proc.consume(new Payload('logs', logsReq({ records: [{ attrs: { auth: 'BEARER abc123', pin: 'code 1234-5678', other: 'ab-cd' } }] })));
    expect(logRecords(down.got[0]!).records[0]!.attrs).toEqual({ auth: '****', pin: 'code ****', other: 'ab-cd' });
  });

  it('redact_all_types checks non-string values by their string form', async () => {
    const { proc, down } = make({ allow_all_keys: true, redact_all_types: true, blocked_values: ['4[0-9]{15}'] });
    await proc.consume(new Payload('logs', logsReq({ records: [{ attrs: { n: 4111111111111111, ok: 42 } }] })));
    expect(logRecords(down.got[0]!).records[0]!.attrs).toEqual({ n: '****', ok: 42n });
  });

  it('blocked_key_patterns mask the whole value; ignored keys pass untouched', async () => {
    const { proc, down } = make({
      allowed_keys: ['api_token', 'user', 'count_token'],
      ignored_keys: ['trace.note'],
      ignored_key_patterns: ['^safe\\.'],
      blocked_key_patterns: ['.*token.*'],
      blocked_values: ['secret'],
    });
    await proc.consume(
      new Payload(
        'logs',
        logsReq({ records: [{ attrs: { api_token: 'abc.def', count_token: 5, user: 'my secret', 'trace.note': 'secret', 'safe.x': 'secret', other: 'x' } }] }),
      ),
    );
    expect(logRecords(down.got[0]!).records[0]!.attrs).toEqual({
      api_token: '****',
      count_token: '****',
      user: 'my ****',
      'trace.note': 'secret',
      'safe.x': 'secret',
    });
  });

  it('summary debug lists the keys (sorted) and counts; info only counts; silent adds nothing', async () => {
    const cfg = { allowed_keys: ['email', 'name'], ignored_keys: ['keep'], blocked_values: ['@'], allowed_values: ['^admin'] };
    const req = () => logsReq({ records: [{ attrs: { zeta: '1', alpha: '2', email: 'a@b', name: 'admin@x', keep: 'k' } }] });
    const debug = make({ ...cfg, summary: 'debug' });
    await debug.proc.consume(new Payload('logs', req()));
    expect(logRecords(debug.down.got[0]!).records[0]!.attrs).toEqual({
      email: 'a****b',
      name: 'admin@x',
      keep: 'k',
      'redaction.redacted.keys': 'alpha,zeta',
      'redaction.redacted.count': 2n,
      'redaction.masked.keys': 'email',
      'redaction.masked.count': 1n,
      'redaction.allowed.keys': 'name',
      'redaction.allowed.count': 1n,
      'redaction.ignored.count': 1n,
    });
    const info = make({ ...cfg, summary: 'info' });
    await info.proc.consume(new Payload('logs', req()));
    expect(Object.keys(logRecords(info.down.got[0]!).records[0]!.attrs).filter((k) => k.startsWith('redaction.'))).toEqual([
      'redaction.redacted.count',
      'redaction.masked.count',
      'redaction.allowed.count',
      'redaction.ignored.count',
    ]);
    const silent = make({ ...cfg, summary: 'silent' });
    await silent.proc.consume(new Payload('logs', req()));
    expect(Object.keys(logRecords(silent.down.got[0]!).records[0]!.attrs).filter((k) => k.startsWith('redaction.'))).toEqual([]);
  });

  it('a second redaction processor keeps and merges the summary of the first', async () => {
    const first = make({ allowed_keys: ['a'], summary: 'debug' });
    await first.proc.consume(new Payload('logs', logsReq({ records: [{ attrs: { a: '1', b: '2' } }] })));
    const second = make({ allowed_keys: [], summary: 'debug' });
    await second.proc.consume(new Payload('logs', first.down.got[0]!.bytes));
    expect(logRecords(second.down.got[0]!).records[0]!.attrs).toEqual({ 'redaction.redacted.keys': 'a,b', 'redaction.redacted.count': 2n });
  });

  it('hash_function replaces matches by their digest', async () => {
    const { proc, down } = make({ allow_all_keys: true, blocked_values: ['\\d{4}'], hash_function: 'md5' });
    await proc.consume(new Payload('logs', logsReq({ records: [{ attrs: { pin: 'pin 1234' } }] })));
    const md5 = nodeCrypto.createHash('md5').update('1234').digest('hex');
    expect(logRecords(down.got[0]!).records[0]!.attrs.pin).toBe(`pin ${md5}`);
  });

  it('masks string log bodies and notes it in the record summary', async () => {
    const { proc, down } = make({ allow_all_keys: true, blocked_values: ['Bearer [A-Za-z0-9._~+/-]+=*'], summary: 'debug' });
    await proc.consume(
      new Payload(
        'logs',
        logsReq({
          records: [
            { attrs: { k: 'v' }, body: 'auth: Bearer eyJhbGciOi.x-y_z ok' },
            { attrs: {}, body: 'clean' },
          ],
        }),
      ),
    );
    const recs = logRecords(down.got[0]!).records;
    expect(recs[0]).toEqual({ body: 'auth: **** ok', attrs: { k: 'v', 'redaction.body.masked.keys': 'body', 'redaction.body.masked.count': 1n } });
    expect(recs[1]).toEqual({ body: 'clean', attrs: {} });
  });

  it('redacts span and span event attributes', async () => {
    const bytes = requestFromJson(
      'traces',
      JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: kv({ 'service.name': 'svc' }) },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: '0102030405060708090a0b0c0d0e0f10',
                    spanId: '0102030405060708',
                    name: 'op',
                    attributes: kv({ 'http.url': 'https://x/?email=a@b.io', drop: 'me' }),
                    events: [
                      { name: 'e1', timeUnixNano: '5', attributes: kv({ 'http.url': 'mail c@d.io', drop: 'x' }) },
                      { name: 'e2', timeUnixNano: '6', attributes: kv({ 'http.url': 'fine' }) },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    const { proc, down } = make({ allowed_keys: ['service.name', 'http.url'], blocked_values: ['[a-z]+@[a-z.]+'] }, 'traces');
    await proc.consume(new Payload('traces', bytes));
    const span = decodeRequest('traces', down.got[0]!.bytes).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(plain(span.attributes)).toEqual({ 'http.url': 'https://x/?email=****' });
    expect(span.events.map((e) => [e.name, e.timeUnixNano, plain(e.attributes)])).toEqual([
      ['e1', 5n, { 'http.url': 'mail ****' }],
      ['e2', 6n, { 'http.url': 'fine' }],
    ]);
    expect(span.name).toBe('op');
  });

  it('redacts data point attributes', async () => {
    const bytes = requestFromJson(
      'metrics',
      JSON.stringify({
        resourceMetrics: [
          {
            scopeMetrics: [
              {
                metrics: [
                  { name: 'g', gauge: { dataPoints: [{ asInt: '1', attributes: kv({ user: 'x@y.io', route: '/a' }) }] } },
                  { name: 'h', histogram: { dataPoints: [{ count: '1', attributes: kv({ user: 'z@y.io' }) }] } },
                ],
              },
            ],
          },
        ],
      }),
    );
    const { proc, down } = make({ allowed_keys: ['user'], blocked_values: ['@.*'] }, 'metrics');
    await proc.consume(new Payload('metrics', bytes));
    const ms = decodeRequest('metrics', down.got[0]!.bytes).resourceMetrics[0]!.scopeMetrics[0]!.metrics;
    expect(plain((ms[0]!.data.value as any).dataPoints[0].attributes)).toEqual({ user: 'x****' });
    expect(plain((ms[1]!.data.value as any).dataPoints[0].attributes)).toEqual({ user: 'z****' });
  });

  it('forwards a request with nothing to redact as the same bytes, undecoded', async () => {
    const bytes = logsReq({ resource: { 'service.name': 'x' }, records: [{ attrs: { a: 'clean' }, body: 'clean body' }] });
    const { proc, down, settings } = make({ allow_all_keys: true, blocked_values: ['\\d{16}'], summary: 'debug' });
    await proc.consume(new Payload('logs', bytes));
    expect(down.got[0]!.bytes).toBe(bytes);
    expect(down.got[0]!.isDecoded).toBe(false);
    expect(await counterValue(settings.telemetry, 'gophership_processor_redacted_items', { processor: 'redaction' })).toBe(0);
  });

  it('the README example blocks card numbers, e-mails and bearer tokens', async () => {
    const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(readme)![1]!;
    const raw = (parseYaml(yaml) as { processors: Record<string, Record<string, unknown>> }).processors['redaction/pii']!;
    const { proc, down } = make(raw);
    await proc.consume(
      new Payload(
        'logs',
        logsReq({
          records: [
            {
              attrs: {
                'http.request.header.authorization': 'Bearer abc.def-ghi',
                'user.email': 'jane.doe@example.com',
                'payment.note': 'paid with 4111 1111 1111 1111',
                'http.route': '/pay',
              },
              body: 'card=5500-0000-0000-0004 mail=ops@corp.example token=Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig',
            },
          ],
        }),
      ),
    );
    const rec = logRecords(down.got[0]!).records[0]!;
    expect(rec.attrs['http.request.header.authorization']).toBe('****');
    expect(rec.attrs['user.email']).toBe('****');
    expect(rec.attrs['payment.note']).toBe('paid with ****');
    expect(rec.attrs['http.route']).toBe('/pay');
    expect(rec.body).toBe('card=**** mail=**** token=****');
  });
});
