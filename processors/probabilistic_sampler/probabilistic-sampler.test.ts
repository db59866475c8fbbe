/**
 * Test vectors are computed from the collector's documented algorithm, independently of this code:
 * hash_seed: FNV-1a 32 over seed (4 bytes LE) + the 16 trace ID bytes, kept when (hash & 0x3fff) <
 * uint32(float32(pct) * float32(163.84)); e.g. seed 0, trace 0102..0f10: hash 0xdf241a25, 0x1a25 = 6693,
 * < 8192 (50%) but not < 1638 (10%). Proportional/equalizing: randomness = trace ID bytes 9..15, kept when
 * >= the threshold (1 - p) * 2^56 (th "8" = 50%, "c" = 25%, "e" = 12.5%).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Payload } from '../../src/pdata/payload.js';
import { decodeRequest, requestFromJson } from '../../src/pdata/codec.js';
import { counterValue, testSettings, RecordingConsumer } from '../../test/helpers/otlp-test-servers.js';
import { probabilisticSamplerProcessorFactory } from './factory.js';
import { fnv1a32, hashRandomness, hashSeedThreshold, probabilityToThreshold, rvalue, tvalue } from '../../src/pdata/sampling.js';
import { TraceState } from '../../src/pdata/tracestate.js';
import { TRACES_SAMPLED_METRIC } from './probabilistic-sampler-processor.js';
import type { Signal } from '../../src/core/signal.js';

const settingsList: ReturnType<typeof testSettings>[] = [];
afterEach(() => {
  for (const s of settingsList.splice(0)) s.telemetry.close();
});

function make(raw: Record<string, unknown>, signal: Signal) {
  const issues: { path: string[]; message: string }[] = [];
  const cfg = probabilisticSamplerProcessorFactory.config.parse(raw, [], issues);
  expect(issues).toEqual([]);
  const settings = testSettings('probabilistic_sampler', 'processor');
  settingsList.push(settings);
  const down = new RecordingConsumer();
  return { proc: probabilisticSamplerProcessorFactory.create(settings, cfg, signal, down), down, settings };
}

const T1 = '0102030405060708090a0b0c0d0e0f10'; // seed 0: hash & 0x3fff = 6693; w3c rnd 0a0b0c0d0e0f10
const T2 = '4bf92f3577b34da6a3ce929d0e0e4736'; // seed 0: 141; w3c rnd ce929d0e0e4736
const T3 = 'ffffffffffffffffffffffffffffffff'; // seed 0: 5445; seed 42: 4751; w3c rnd ffffffffffffff
const T4 = '00000000000000000000000000000001'; // seed 0: 8898; seed 42: 524; w3c rnd 00000000000001
const T5 = '8f1e2d3c4b5a69788796a5b4c3d2e1f0'; // seed 0: 14677; w3c rnd 96a5b4c3d2e1f0

interface SpanSpec {
  traceId: string;
  traceState?: string;
  attrs?: Record<string, string | number>;
}

const kv = (attrs: Record<string, string | number> = {}) =>
  Object.entries(attrs).map(([key, v]) => ({
    key,
    value: typeof v === 'string' ? { stringValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v },
  }));

function traces(spans: SpanSpec[]): Payload {
  const json = {
    resourceSpans: [
      {
        resource: { attributes: kv({ 'service.name': 'svc' }) },
        scopeSpans: [
          {
            scope: { name: 's' },
            spans: spans.map((s, i) => ({
              traceId: s.traceId,
              spanId: (i + 1).toString(16).padStart(16, '0'),
              traceState: s.traceState ?? '',
              name: `span-${i}`,
              kind: 2,
              startTimeUnixNano: '1700000000000000000',
              endTimeUnixNano: '1700000000001000000',
              attributes: kv(s.attrs),
            })),
          },
        ],
      },
    ],
  };
  return new Payload('traces', requestFromJson('traces', JSON.stringify(json)));
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function keptSpans(down: RecordingConsumer): { traceId: string; traceState: string; name: string }[] {
  return down.got.flatMap((p) =>
    decodeRequest('traces', p.bytes).resourceSpans.flatMap((rs) =>
      rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => ({ traceId: hex(s.traceId), traceState: s.traceState, name: s.name }))),
    ),
  );
}

describe('sampling arithmetic (documented vectors)', () => {
  it('FNV-1a 32 hashes the seed (4 bytes, little-endian) before the trace ID', () => {
    // FNV-1a 32 of four zero bytes (seed 0, nothing else): offset basis 0x811c9dc5 through 4 rounds.
    expect(fnv1a32(0, Buffer.alloc(0), 0, 0)).toBe(0x4b95f515);
    expect(fnv1a32(0, Buffer.from(T1, 'hex'), 0, 16)).toBe(0xdf241a25);
    expect(fnv1a32(42, Buffer.from(T4, 'hex'), 0, 16)).toBe(0xf9bc020c);
  });

  it('hash randomness puts 16383 - hashed in the top 14 bits, as the collector', () => {
    const out = [0, 0];
    hashRandomness(0xdf241a25, out);
    expect(rvalue(out[0]!, out[1]!)).toBe('976b7c4f241a25');
    hashRandomness(0x3420408d, out);
    expect(rvalue(out[0]!, out[1]!)).toBe('fdc8d0b520408d');
  });

  it('hash_seed thresholds use the float32 product, truncated', () => {
    expect(tvalue(hashSeedThreshold(50)!)).toBe('8');
    expect(tvalue(hashSeedThreshold(25)!)).toBe('c');
    // 10% -> 1638 buckets: reject 14746 << 42 = 0xe668 << 40
    expect(tvalue(hashSeedThreshold(10)!)).toBe('e668');
    expect(hashSeedThreshold(0.001)).toBeUndefined();
  });

  it('probability to threshold with precision rounds as pkg/sampling', () => {
    expect(tvalue(probabilityToThreshold(0.5, 4).threshold)).toBe('8');
    expect(tvalue(probabilityToThreshold(0.25, 4).threshold)).toBe('c');
    expect(tvalue(probabilityToThreshold(0.1, 4).threshold)).toBe('e666');
    expect(tvalue(probabilityToThreshold(0.1, 1).threshold)).toBe('e');
    // 1/3: reject 2/3 = 0xaaaa...; 4 digits rounds up at the fifth (a >= 8)
    expect(tvalue(probabilityToThreshold(1 / 3, 4).threshold)).toBe('aaab');
    // 99.99%: reject 0.0001 has three leading hex zeros, which add to the precision
    expect(tvalue(probabilityToThreshold(0.9999, 2).threshold)).toBe('00069');
    expect(tvalue(probabilityToThreshold(1, 4).threshold)).toBe('0');
    expect(probabilityToThreshold(0, 4).error).toBe('range');
  });

  it('parses and writes the W3C tracestate with the ot member first', () => {
    const ts = new TraceState();
    expect(ts.parse('vendor=x, ot=th:c;rv:9b8233f7e3a151;xx:yy')).toBeUndefined();
    expect([ts.th, ts.rv, ts.otExtra]).toEqual(['c', '9b8233f7e3a151', ['xx:yy']]);
    ts.th = '8';
    expect(ts.serialize()).toBe('ot=rv:9b8233f7e3a151;th:8;xx:yy,vendor=x');
    expect(ts.parse('ot=rv:123')).toMatch(/14 hex digits/);
    expect(ts.parse('ot=th:')).toMatch(/malformed|hex/);
    expect(ts.parse('no equals sign')).toMatch(/malformed/);
  });
});

describe('probabilistic_sampler traces', () => {
  it('hash_seed mode keeps the spans the collector keeps (seed 0 and seed 42) and writes rv + th', async () => {
    const all = [T1, T2, T3, T4, T5].map((traceId) => ({ traceId }));
    const a = make({ sampling_percentage: 50 }, 'traces');
    await a.proc.consume(traces(all));
    const keptA = keptSpans(a.down);
    expect(keptA.map((s) => s.traceId)).toEqual([T1, T2, T3]);
    expect(keptA[0]!.traceState).toBe('ot=rv:976b7c4f241a25;th:8');

    const b = make({ sampling_percentage: 10, hash_seed: 42 }, 'traces');
    await b.proc.consume(traces(all));
    expect(keptSpans(b.down).map((s) => s.traceId)).toEqual([T4]);
    expect(await counterValue(b.settings.telemetry, TRACES_SAMPLED_METRIC, { policy: 'trace_id_hash', sampled: 'false' })).toBe(4);
  });

  it('proportional mode decides on the trace ID randomness and multiplies arriving probabilities', async () => {
    const { proc, down } = make({ sampling_percentage: 25, mode: 'proportional' }, 'traces');
    await proc.consume(
      traces([
        { traceId: T1 }, // 0a0b.. < c: dropped
        { traceId: T2 }, // ce92.. >= c: kept, th:c
        { traceId: T5 }, // 96a5.. < c: dropped
        { traceId: T3, traceState: 'ot=th:8,v=1' }, // arriving 50% x 25% = 12.5%: th:e
        { traceId: T1, traceState: 'ot=rv:f0000000000000' }, // explicit rv wins over the trace ID
      ]),
    );
    expect(keptSpans(down).map((s) => [s.traceId, s.traceState])).toEqual([
      [T2, 'ot=th:c'],
      [T3, 'ot=th:e,v=1'],
      [T1, 'ot=rv:f0000000000000;th:c'],
    ]);
  });

  it('equalizing mode lowers to the configured probability and never raises an arriving one', async () => {
    const { proc, down } = make({ sampling_percentage: 25, mode: 'equalizing' }, 'traces');
    await proc.consume(
      traces([
        { traceId: T2, traceState: 'ot=th:8' }, // 50% arriving -> 25%: th:c
        { traceId: T3, traceState: 'ot=th:e' }, // 12.5% arriving stays 12.5%
        { traceId: T5, traceState: 'ot=th:8' }, // 96.. < c: dropped
      ]),
    );
    expect(keptSpans(down).map((s) => [s.traceId, s.traceState])).toEqual([
      [T2, 'ot=th:c'],
      [T3, 'ot=th:e'],
    ]);
  });

  it('fail_closed drops spans without randomness or with an inconsistent th; false lets them through', async () => {
    const bad = [
      { traceId: '00000000000000000000000000000000' }, // no randomness
      { traceId: T1, traceState: 'ot=th:8' }, // 0a.. < 8: should not have been sampled
      { traceId: T2, traceState: 'ot=rv:zz' }, // unparseable tracestate
    ];
    const closed = make({ sampling_percentage: 100, mode: 'proportional' }, 'traces');
    await closed.proc.consume(traces(bad));
    expect(keptSpans(closed.down)).toEqual([]);

    const open = make({ sampling_percentage: 100, mode: 'proportional', fail_closed: false }, 'traces');
    await open.proc.consume(traces(bad));
    expect(keptSpans(open.down).map((s) => [s.traceId, s.traceState])).toEqual([
      ['00000000000000000000000000000000', 'ot=th:0'],
      [T1, 'ot=th:0'], // the inconsistent th is cleared, then 100% written
      [T2, 'ot=rv:zz'], // unreadable: left as it was
    ]);
  });

  it('sampling.priority 0 drops and > 0 keeps whatever the percentage', async () => {
    const { proc, down } = make({ sampling_percentage: 0.5, mode: 'proportional' }, 'traces');
    await proc.consume(
      traces([
        { traceId: T3, attrs: { 'sampling.priority': 0 } },
        { traceId: T1, attrs: { 'sampling.priority': 1 } },
        { traceId: T1, attrs: { 'sampling.priority': '2.5' } },
        { traceId: T1 },
      ]),
    );
    expect(keptSpans(down).map((s) => [s.name, s.traceState])).toEqual([
      ['span-1', 'ot=th:0'],
      ['span-2', 'ot=th:0'],
    ]);
  });

  it('forwards an untouched request byte for byte and resolves an emptied one without forwarding', async () => {
    const { proc, down } = make({ sampling_percentage: 100, mode: 'proportional' }, 'traces');
    const p = traces([{ traceId: T2, traceState: 'ot=th:0' }]);
    const before = p.bytes;
    await proc.consume(p);
    expect(down.got[0]!.bytes).toBe(before);
    const none = make({ sampling_percentage: 0 }, 'traces');
    await none.proc.consume(traces([{ traceId: T2 }]));
    expect(none.down.got).toEqual([]);
  });
});

function logs(records: { traceId?: string; attrs?: Record<string, string | number> }[]): Payload {
  const json = {
    resourceLogs: [
      {
        resource: { attributes: kv({ 'service.name': 'svc' }) },
        scopeLogs: [
          {
            scope: { name: 's' },
            logRecords: records.map((r, i) => ({
              timeUnixNano: '1700000000000000000',
              traceId: r.traceId ?? '',
              body: { stringValue: `log-${i}` },
              attributes: kv(r.attrs),
            })),
          },
        ],
      },
    ],
  };
  return new Payload('logs', requestFromJson('logs', JSON.stringify(json)));
}

function keptLogs(down: RecordingConsumer): { body: string; attrs: Record<string, unknown> }[] {
  return down.got.flatMap((p) =>
    decodeRequest('logs', p.bytes).resourceLogs.flatMap((rl) =>
      rl.scopeLogs.flatMap((sl) =>
        sl.logRecords.map((r) => ({ body: String(r.body?.value.value), attrs: Object.fromEntries(r.attributes.map((a) => [a.key, a.value?.value.value])) })),
      ),
    ),
  );
}

describe('probabilistic_sampler logs', () => {
  it('hash_seed on the trace ID keeps the same records as the spans, and records rv/th as attributes', async () => {
    const { proc, down } = make({ sampling_percentage: 50 }, 'logs');
    await proc.consume(logs([T1, T2, T3, T4, T5].map((traceId) => ({ traceId }))));
    const kept = keptLogs(down);
    expect(kept.map((r) => r.body)).toEqual(['log-0', 'log-1', 'log-2']);
    expect(kept[0]!.attrs).toEqual({ 'sampling.randomness': '976b7c4f241a25', 'sampling.threshold': '8' });
  });

  it('attribute_source record hashes from_attribute with the seed', async () => {
    // FNV-1a(seed 0 LE + "user-1") & 0x3fff, computed as the collector does, against 50% (8192).
    const h = (s: string) => fnv1a32(0, Buffer.from(s), 0, s.length) & 0x3fff;
    const ids = ['user-1', 'user-2', 'user-3', 'user-4', 'user-5', 'user-6'];
    const { proc, down } = make({ sampling_percentage: 50, attribute_source: 'record', from_attribute: 'uid' }, 'logs');
    await proc.consume(logs(ids.map((uid) => ({ attrs: { uid } }))));
    expect(keptLogs(down).map((r) => r.attrs.uid)).toEqual(ids.filter((id) => h(id) < 8192));
    expect(keptLogs(down).length).toBeGreaterThan(0);
  });

  it("sampling_priority raises a record's probability; a record without it gets the default", async () => {
    const { proc, down } = make({ sampling_percentage: 1, mode: 'proportional', sampling_priority: 'prio' }, 'logs');
    await proc.consume(
      logs([
        { traceId: T2, attrs: { prio: 100 } }, // always
        { traceId: T2, attrs: { prio: 25.0 } }, // 25%: ce.. >= c
        { traceId: T5, attrs: { prio: 25 } }, // 96.. < c: dropped
        { traceId: T2 }, // 1%: dropped
      ]),
    );
    expect(keptLogs(down).map((r) => [r.body, r.attrs['sampling.threshold']])).toEqual([
      ['log-0', '0'],
      ['log-1', 'c'],
    ]);
  });

  it('rejects bad configs with the key at fault', () => {
    const issues: { path: string[]; message: string }[] = [];
    const paths = (raw: Record<string, unknown>) => {
      issues.length = 0;
      probabilisticSamplerProcessorFactory.config.parse(raw, [], issues);
      return issues.map((i) => i.path.join('.'));
    };
    expect(paths({ sampling_precision: 15, mode: 'x' })).toEqual(['mode', 'sampling_precision']);
    expect(paths({ sampling_percentage: -1, attribute_source: 'record' })).toEqual(['sampling_percentage', 'from_attribute']);
    expect(issues[1]!.message).toMatch(/required when attribute_source is record/);
    expect(
      probabilisticSamplerProcessorFactory.checkPipeline!(probabilisticSamplerProcessorFactory.config.defaults(), {
        signal: 'metrics',
        index: 0,
        workers: '1',
      }),
    ).toMatch(/not metrics/);
  });
});
