import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { equals, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { SIGNALS, type Signal } from '../core/signal.js';
import { countItems, WireFormatError } from '../pdata/wire.js';
import { decodeRequest, REQUEST_SCHEMA, type RequestMessage } from '../pdata/codec.js';
import { applyActions, applyActionsToMessages, compileActions, type AttrActionConfig } from './attr-actions.js';
import {
  AttrList,
  DROP,
  FIELD,
  KEEP,
  RequestWalker,
  SKIP,
  ValueType,
  anyValueAsString,
  encodeAnyValue,
  hashEntry,
  utf8,
  type RecordView,
} from './wire-edit.js';
import { anyValueMsgAsString } from './attr-actions.js';
import { arbAnyValue, arbKey, arbRequest, forEachRecordAttributes, resourcesOf } from '../../test/helpers/otlp-arbitraries.js';
import { makeLogsRequest } from '../../test/helpers/otlp-test-servers.js';
import { AnyValueSchema } from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';

const enc = (signal: Signal, m: RequestMessage) => toBinary(REQUEST_SCHEMA[signal] as DescMessage, m);
const same = (signal: Signal, a: RequestMessage, b: RequestMessage) => equals(REQUEST_SCHEMA[signal] as DescMessage, a, b);

const BASE: AttrActionConfig = { key: '', action: '', value: undefined, from_attribute: '', from_context: '', pattern: '', converted_type: '' };

const arbConfigValue = fc.oneof(
  fc.constantFrom('v', '', 'x-1', '42', '2.5'),
  fc.integer({ min: -5, max: 300 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
  fc.boolean(),
  fc.constant(['a', 1, true]),
  fc.constant({ nested: 'm', n: 2 }),
);

/** Random action lists in the collector's config form. */
export const arbActions = fc.array(
  fc.oneof(
    fc
      .record({
        action: fc.constantFrom('insert', 'update', 'upsert', 'INSERT'),
        key: arbKey.filter((k) => k !== ''),
        src: fc.oneof(
          arbConfigValue.map((value) => ({ value })),
          arbKey.map((from_attribute) => ({ from_attribute: from_attribute || 'a' })),
          fc.constantFrom('client.address', 'metadata.tenant', 'missing').map((from_context) => ({ from_context })),
        ),
      })
      .map(({ src, ...a }) => ({ ...BASE, ...a, ...src })),
    fc
      .record({ action: fc.constantFrom('delete', 'hash'), key: arbKey, pattern: fc.constantFrom('', '^k', '\\.', 'a') })
      .filter((a) => a.key !== '' || a.pattern !== '')
      .map((a) => ({ ...BASE, ...a })),
    fc
      .record({ key: arbKey.filter((k) => k !== ''), pattern: fc.constantFrom('(?P<p1>[a-z]+)-(?P<p2>\\d*)', '^(?<k1>.)', '(?P<a>\\d)(?P<b>x)?') })
      .map((a) => ({ ...BASE, action: 'extract', ...a })),
    fc
      .record({ key: arbKey.filter((k) => k !== ''), converted_type: fc.constantFrom('int', 'double', 'string') })
      .map((a) => ({ ...BASE, action: 'convert', ...a })),
  ),
  { minLength: 1, maxLength: 5 },
);

const META = { 'client.address': '10.0.0.1', tenant: 't-1' };

function compile(list: AttrActionConfig[]) {
  const issues: { path: string[]; message: string }[] = [];
  const actions = compileActions(list, ['actions'], issues);
  expect(issues).toEqual([]);
  return actions;
}

/**
 * The reference for record drops on a decoded request: `keep()` is asked once per record (log record,
 * span, data point) in wire order; with `prune`, emptied metrics, scopes and resources go too.
 */
function dropRecords(signal: Signal, request: RequestMessage, keep: () => boolean, prune: boolean): void {
  const msg = request as unknown as Record<string, { [k: string]: unknown }[]>;
  const rxKey = signal === 'logs' ? 'resourceLogs' : signal === 'traces' ? 'resourceSpans' : 'resourceMetrics';
  const sxKey = signal === 'logs' ? 'scopeLogs' : signal === 'traces' ? 'scopeSpans' : 'scopeMetrics';
  const recKey = signal === 'logs' ? 'logRecords' : 'spans';
  let rxs = msg[rxKey]!;
  for (const rx of rxs) {
    let sxs = rx[sxKey] as { [k: string]: unknown }[];
    for (const sx of sxs) {
      if (signal === 'metrics') {
        let ms = sx.metrics as { data: { case?: string; value?: { dataPoints: unknown[] } } }[];
        for (const mt of ms) if (mt.data.case) mt.data.value!.dataPoints = mt.data.value!.dataPoints.filter(() => keep());
        if (prune) ms = ms.filter((mt) => mt.data.case !== undefined && mt.data.value!.dataPoints.length > 0);
        sx.metrics = ms;
      } else sx[recKey] = (sx[recKey] as unknown[]).filter(() => keep());
    }
    if (prune) sxs = sxs.filter((sx) => (sx[signal === 'metrics' ? 'metrics' : recKey] as unknown[]).length > 0);
    rx[sxKey] = sxs;
  }
  if (prune) rxs = rxs.filter((rx) => (rx[sxKey] as unknown[]).length > 0);
  msg[rxKey] = rxs;
}

describe('RequestWalker + AttrList: wire edits equal decode -> edit -> encode', () => {
  for (const signal of SIGNALS) {
    it(`record attributes (${signal})`, () => {
      const attrs = new AttrList();
      fc.assert(
        fc.property(arbRequest(signal), arbActions, (req, list) => {
          const actions = compile(list);
          const bytes = enc(signal, req);
          const walker = new RequestWalker({
            record: (rec) => {
              applyActions(actions, attrs.load(rec.buf, rec.start, rec.end, rec.attrField), META);
              return attrs.build() ?? KEEP;
            },
          });
          const out = walker.walk(signal, bytes);
          const expected = decodeRequest(signal, bytes);
          forEachRecordAttributes(signal, expected, (kvs) => applyActionsToMessages(actions, kvs, META));
          const got = decodeRequest(signal, out.bytes);
          expect(same(signal, got, expected)).toBe(true);
          expect(out.items).toBe(countItems(signal, bytes));
          if (!out.changed) expect(out.bytes).toBe(bytes);
        }),
        { numRuns: 150 },
      );
    });

    it(`resource attributes (${signal}); scopes and records are copied byte for byte`, () => {
      const attrs = new AttrList();
      fc.assert(
        fc.property(arbRequest(signal), arbActions, (req, list) => {
          const actions = compile(list);
          const bytes = enc(signal, req);
          const walker = new RequestWalker({
            resource: (rv) => {
              applyActions(actions, attrs.load(rv.buf, rv.start, rv.end, FIELD.resourceAttributes), META);
              return attrs.build() ?? SKIP;
            },
          });
          const out = walker.walk(signal, bytes);
          expect(out.items).toBe(-1);
          const expected = decodeRequest(signal, bytes);
          for (const rx of resourcesOf(signal, expected)) {
            const kvs = rx.resource?.attributes ?? [];
            applyActionsToMessages(actions, kvs, META);
            // An absent Resource that gained attributes is present after the edit.
            if (!rx.resource && kvs.length > 0)
              (rx as { resource?: unknown }).resource = {
                $typeName: 'opentelemetry.proto.resource.v1.Resource',
                attributes: kvs,
                droppedAttributesCount: 0,
                entityRefs: [],
              };
          }
          const got = decodeRequest(signal, out.bytes);
          expect(same(signal, got, expected)).toBe(true);
          if (!out.changed) expect(out.bytes).toBe(bytes);
        }),
        { numRuns: 150 },
      );
    });
  }

  it('mixes kept, dropped and rebuilt records (replaceRecord runs) with pruning in one walk', () => {
    const attrs = new AttrList();
    for (const signal of SIGNALS) {
      fc.assert(
        fc.property(
          arbRequest(signal),
          arbActions,
          fc.array(fc.constantFrom('keep', 'drop', 'edit'), { minLength: 1, maxLength: 12 }),
          fc.boolean(),
          (req, list, pattern, prune) => {
            const actions = compile(list);
            const bytes = enc(signal, req);
            let n = 0;
            const walker: RequestWalker = new RequestWalker(
              {
                record: (rec) => {
                  const what = pattern[n++ % pattern.length];
                  if (what === 'drop') return DROP;
                  if (what === 'keep') return KEEP;
                  applyActions(actions, attrs.load(rec.buf, rec.start, rec.end, rec.attrField), META);
                  return walker.replaceRecord(attrs);
                },
              },
              { pruneEmpty: prune },
            );
            const out = walker.walk(signal, bytes);
            // Reference on messages: the same decision per record, in order.
            const expected = decodeRequest(signal, bytes);
            let m = 0;
            const decisions: string[] = [];
            forEachRecordAttributes(signal, expected, (kvs) => {
              const what = pattern[m++ % pattern.length]!;
              decisions.push(what);
              if (what === 'edit') applyActionsToMessages(actions, kvs, META);
            });
            let d = 0;
            dropRecords(signal, expected, () => decisions[d++] !== 'drop', prune);
            expect(same(signal, decodeRequest(signal, out.bytes), expected)).toBe(true);
            expect(out.items).toBe(countItems(signal, out.bytes));
            if (!out.changed) expect(out.bytes).toBe(bytes);
          },
        ),
        { numRuns: 100 },
      );
    }
  });

  it('drops records and prunes emptied containers like the collector filter', () => {
    for (const signal of SIGNALS) {
      fc.assert(
        fc.property(arbRequest(signal), fc.array(fc.boolean(), { minLength: 1, maxLength: 20 }), fc.boolean(), (req, pattern, prune) => {
          const bytes = enc(signal, req);
          let n = 0;
          const walker = new RequestWalker({ record: () => (pattern[n++ % pattern.length] ? KEEP : DROP) }, { pruneEmpty: prune });
          const out = walker.walk(signal, bytes);
          // Reference on messages: same decisions in the same order.
          const expected = decodeRequest(signal, bytes);
          let m = 0;
          dropRecords(signal, expected, () => pattern[m++ % pattern.length]!, prune);
          expect(same(signal, decodeRequest(signal, out.bytes), expected)).toBe(true);
          expect(out.items).toBe(countItems(signal, out.bytes));
          if (!out.changed) expect(out.bytes).toBe(bytes);
        }),
        { numRuns: 100 },
      );
    }
  });
});

describe('RequestWalker', () => {
  it('returns the very same Uint8Array when the visitor keeps everything', () => {
    const bytes = makeLogsRequest(3, 10);
    const walker = new RequestWalker({ resource: () => KEEP, scope: () => KEEP, record: () => KEEP });
    const out = walker.walk('logs', bytes);
    expect(out.bytes).toBe(bytes);
    expect(out.changed).toBe(false);
    expect(out.items).toBe(30);
  });

  it('gives record views their resource and scope, and replaces only the chosen record', () => {
    const bytes = makeLogsRequest(2, 3);
    const seen: string[] = [];
    const attrs = new AttrList();
    const walker = new RequestWalker({
      record: (rec: RecordView) => {
        const ra = attrs.load(rec.buf, rec.resource.start, rec.resource.end, FIELD.resourceAttributes);
        seen.push(`${rec.resource.index}/${rec.scope.index}/${rec.index}:${ra.str(ra.indexOf(utf8('service.name')))}`);
        if (rec.resource.index !== 1 || rec.index !== 2) return KEEP;
        const a = attrs.load(rec.buf, rec.start, rec.end, rec.attrField);
        a.append(utf8('picked'), encodeAnyValue(true));
        return a.build()!;
      },
    });
    const out = walker.walk('logs', bytes);
    expect(seen).toEqual(['0/0/0:r-svc-0', '0/0/1:r-svc-0', '0/0/2:r-svc-0', '1/0/0:r-svc-1', '1/0/1:r-svc-1', '1/0/2:r-svc-1']);
    const req = decodeRequest('logs', out.bytes);
    const picked = req.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords)).filter((lr) => lr.attributes.some((a) => a.key === 'picked'));
    expect(picked).toHaveLength(1);
    expect(picked[0]!.attributes.map((a) => a.key)).toEqual(['i', 'picked']);
    // The first ResourceLogs is untouched: its bytes are a prefix of the output.
    const first = decodeRequest('logs', bytes);
    expect(
      equals(REQUEST_SCHEMA.logs, { ...first, resourceLogs: [first.resourceLogs[0]!] } as never, { ...req, resourceLogs: [req.resourceLogs[0]!] } as never),
    ).toBe(true);
  });

  it('handles a length prefix that grows past a varint byte boundary', () => {
    const bytes = makeLogsRequest(1, 1);
    const big = encodeAnyValue('x'.repeat(20_000));
    const attrs = new AttrList();
    const out = new RequestWalker({
      record: (rec) => {
        attrs.load(rec.buf, rec.start, rec.end, rec.attrField).append(utf8('big'), big);
        return attrs.build()!;
      },
    }).walk('logs', bytes);
    const lr = decodeRequest('logs', out.bytes).resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
    expect(lr.attributes.find((a) => a.key === 'big')!.value!.value.value).toBe('x'.repeat(20_000));
  });

  it('inserts a Resource where the wire has none', () => {
    // ResourceLogs { scope_logs { log_records { severity_number: 9 } } } with no resource field.
    const bytes = Uint8Array.from([0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x10, 0x09]);
    const attrs = new AttrList();
    const out = new RequestWalker({
      resource: (rv) => {
        expect(rv.present).toBe(false);
        attrs.load(rv.buf, rv.start, rv.end, 1).append(utf8('host.name'), encodeAnyValue('h1'));
        return attrs.build()!;
      },
    }).walk('logs', bytes);
    const req = decodeRequest('logs', out.bytes);
    expect(req.resourceLogs[0]!.resource!.attributes[0]!.key).toBe('host.name');
    expect(req.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.severityNumber).toBe(9);
  });

  it('rejects broken framing with WireFormatError', () => {
    const walker = new RequestWalker({ record: () => KEEP });
    expect(() => walker.walk('logs', Uint8Array.from([0x0a, 0x05, 0x12, 0x01]))).toThrow(WireFormatError);
    expect(() => walker.walk('logs', Uint8Array.from([0x0a, 0x02, 0x12, 0x05]))).toThrow(WireFormatError);
  });
});

describe('AttrList', () => {
  it('reads values of every kind and formats them as pcommon AsString', () => {
    fc.assert(
      fc.property(arbAnyValue, (v) => {
        const content = toBinary(AnyValueSchema, v);
        expect(anyValueAsString(content, 0, content.length)).toBe(anyValueMsgAsString(v));
      }),
      { numRuns: 300 },
    );
  });

  it('hashes like the collector: sha256 hex of string bytes, int/double LE bytes, "" for empty', () => {
    const list = new AttrList();
    const msg = Buffer.concat([
      kvField('s', encodeAnyValue('user@example.com')),
      kvField('i', encodeAnyValue(42)),
      kvField('e', encodeAnyValue('')),
      kvField('m', encodeAnyValue({ a: 1 })),
    ]);
    list.load(msg, 0, msg.length, 1);
    for (let i = 0; i < 4; i++) hashEntry(list, i);
    const out = list.build()!;
    const back = new AttrList().load(Buffer.from(out), 0, out.length, 1);
    expect(back.str(0)).toBe('b4c9a289323b21a01c3e940f150eb9b8c542587f1abfd8f0e1cc1ffc5e475514');
    const le = Buffer.alloc(8);
    le.writeBigInt64LE(42n);
    expect(back.str(1)).toBe(createHash('sha256').update(le).digest('hex'));
    expect(back.str(2)).toBe('');
    expect(back.type(3)).toBe(ValueType.String);
    expect(back.str(3)).toBe('');
  });

  it('build() returns undefined when nothing changed and keeps other fields and order', () => {
    const msg = Buffer.concat([Buffer.from([0x10, 0x09]), kvField('a', encodeAnyValue(1)), kvField('b', encodeAnyValue(2)), kvField('c', encodeAnyValue(3))]);
    const list = new AttrList().load(msg, 0, msg.length, 1);
    expect(list.build()).toBeUndefined();
    list.remove(list.indexOf(utf8('b')));
    list.setString(list.indexOf(utf8('c')), 'three');
    list.append(utf8('d'), encodeAnyValue(4.5));
    const out = Buffer.from(list.build()!);
    expect(out.subarray(0, 2)).toEqual(Buffer.from([0x10, 0x09]));
    const back = new AttrList().load(out, 0, out.length, 1);
    expect([0, 1, 2].map((i) => `${back.key(i)}=${back.asString(i)}`)).toEqual(['a=1', 'c=three', 'd=4.5']);
  });
});

function kvField(key: string, value: Uint8Array): Buffer {
  const kv = Buffer.concat([Buffer.from([0x0a, Buffer.byteLength(key)]), Buffer.from(key), Buffer.from([0x12, value.length]), value]);
  return Buffer.concat([Buffer.from([0x0a, kv.length]), kv]);
}

// Keep `applyActions` exercised on a single list too: insert never overwrites.
it('insert does not overwrite an existing key (single list)', () => {
  const actions = compile([{ ...BASE, action: 'insert', key: 'a', value: 'new' }]);
  const msg = kvField('a', encodeAnyValue('old'));
  const list = new AttrList().load(msg, 0, msg.length, 1);
  applyActions(actions, list);
  expect(list.changed).toBe(false);
});
