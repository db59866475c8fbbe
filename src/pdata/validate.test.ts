import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { create, toBinary } from '@bufbuild/protobuf';
import { AnyValueSchema, ArrayValueSchema, KeyValueListSchema, type AnyValue } from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';
import { SIGNALS, type Signal } from '../core/signal.js';
import { countItems } from './wire.js';
import { MAX_NESTING, decodeRequest, encodeRequest, requestFromJson } from './codec.js';
import { validateByReference, validateRequest, validateRequestParts } from './validate.js';
import { validationTable } from './validate-tables.js';
import { arbRequest } from '../../test/helpers/otlp-arbitraries.js';

// A minimal protobuf writer for hand-made (and deliberately broken) requests.
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const tag = (field: number, wt: number) => varint(field * 8 + wt);
const len = (field: number, content: number[]) => [...tag(field, 2), ...varint(content.length), ...content];
const str = (field: number, s: string) => len(field, [...Buffer.from(s)]);
const bytes = (a: number[]) => new Uint8Array(a);

/** ExportLogsServiceRequest { resource_logs { scope_logs { log_records: records } } } */
const logsRequest = (...records: number[][]) =>
  bytes(
    len(
      1,
      len(
        2,
        records.flatMap((r) => len(2, r)),
      ),
    ),
  );
const goodRecord = () => [
  ...tag(1, 1),
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  ...tag(2, 0),
  9,
  ...str(3, 'INFO'),
  ...len(5, str(1, 'hello')),
  ...len(6, [...str(1, 'k'), ...len(2, str(1, 'v'))]),
];

function rejection(signal: Signal, b: Uint8Array): string {
  try {
    validateRequest(signal, b);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('validateRequest accepted the request');
}

describe('validateRequest', () => {
  it('accepts random valid requests of every signal and counts their items as countItems does', () => {
    for (const signal of SIGNALS) {
      fc.assert(
        fc.property(arbRequest(signal), (req) => {
          const b = encodeRequest(signal, req);
          expect(validateRequest(signal, b)).toBe(countItems(signal, b));
        }),
        { numRuns: 150 },
      );
    }
  });

  it('validates a request held in pieces as the same request whole: counts, refusals and their messages', () => {
    const cut = (b: Uint8Array, at: number[]) => [0, ...at, b.length].slice(1).map((end, i, ends) => b.subarray(i === 0 ? 0 : ends[i - 1]!, end));
    for (const signal of SIGNALS) {
      fc.assert(
        fc.property(arbRequest(signal), fc.array(fc.nat(), { maxLength: 4 }), fc.option(fc.nat()), (req, cuts, flip) => {
          const whole = encodeRequest(signal, req);
          if (flip !== null && whole.length > 0) whole[flip % whole.length] ^= 0xa5;
          const at = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
          const outcome = (f: () => number) => {
            try {
              return f();
            } catch (e) {
              return (e as Error).message;
            }
          };
          expect(outcome(() => validateRequestParts(signal, cut(whole, at), whole.length))).toEqual(outcome(() => validateRequest(signal, whole)));
        }),
        { numRuns: 150 },
      );
    }
  });

  it('validates pieces larger than its reused buffer, and a smaller request after them, each on its own bytes', () => {
    // Requests concatenate (repeated fields), so three copies are one request of 120,000 records, > 4 MiB.
    const one = logsRequest(...Array.from({ length: 40_000 }, goodRecord));
    const big = Buffer.concat([one, one, one]);
    expect(big.length).toBeGreaterThan(4 * 1024 * 1024);
    const half = big.length >> 1;
    expect(validateRequestParts('logs', [big.subarray(0, half), big.subarray(half)], big.length)).toBe(120_000);
    expect(validateRequestParts('logs', [one.subarray(0, 100), one.subarray(100)], one.length)).toBe(40_000);
    const small = logsRequest(goodRecord(), goodRecord());
    expect(validateRequestParts('logs', [small.subarray(0, 5), small.subarray(5)], small.length)).toBe(2);
    // A broken one after a good, longer one: the reused buffer's stale tail must not be read.
    const broken = small.slice(0, small.length - 3);
    expect(() => validateRequestParts('logs', [broken.subarray(0, 5), broken.subarray(5)], broken.length)).toThrow(/overruns|exceeds|beyond|past/);
  });

  it('accepts the specification examples', () => {
    for (const [signal, file] of [
      ['logs', 'logs.json'],
      ['traces', 'trace.json'],
      ['metrics', 'metrics.json'],
    ] as const) {
      const b = requestFromJson(signal, readFileSync(new URL(`../../test/fixtures/otlp-examples/${file}`, import.meta.url), 'utf8'));
      expect(validateRequest(signal, b)).toBeGreaterThan(0);
    }
  });

  it('whatever it accepts, the decoder reads: random corruptions of valid requests', () => {
    // The promise the receiver relies on: bytes acknowledged undecoded never fail a later decode.
    for (const signal of SIGNALS) {
      fc.assert(
        fc.property(arbRequest(signal), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), fc.nat(), (req, flips, cut) => {
          const b = Uint8Array.from(encodeRequest(signal, req));
          if (b.length === 0) return;
          for (const [at, value] of flips) b[at % b.length] = value;
          const broken = cut % 3 === 0 ? b.subarray(0, cut % b.length) : b;
          let accepted = true;
          try {
            validateRequest(signal, broken);
          } catch (e) {
            accepted = false;
            expect((e as Error).name).toBe('WireFormatError');
          }
          if (accepted) expect(() => decodeRequest(signal, broken)).not.toThrow();
        }),
        { numRuns: 400 },
      );
    }
  });

  it('names the field path of a KeyValue whose key overruns it (the record is otherwise well framed)', () => {
    const bad = [...tag(1, 1), 0, 0, 0, 0, 0, 0, 0, 0, ...len(6, [...tag(1, 2), 16, 0x61])];
    const msg = rejection('logs', logsRequest(goodRecord(), bad));
    expect(msg).toMatch(/field key \(1\) overruns its message \(16 bytes declared, 1 left\)/);
    expect(msg).toContain('in KeyValue at resource_logs[0].scope_logs[0].log_records[1].attributes[0]');
  });

  it('reads an attribute string length with its continuation bit as the varint it is', () => {
    // KeyValue.value = AnyValue { string_value: length 0xC8 0x01 (200) } with only 199 bytes: 202 bytes of
    // AnyValue, so a one-byte reading of 0xC8 (200 = 202 - 2) would wrongly find it exact.
    const value = [0x0a, 0xc8, 0x01, ...new Array<number>(199).fill(0x61)];
    const bad = logsRequest([...len(6, [...str(1, 'k'), ...len(2, value)])]);
    expect(value.length).toBe(202);
    expect(rejection('logs', bad)).toMatch(/field string_value \(1\) overruns its message/);
    const good = logsRequest([...len(6, [...str(1, 'k'), ...len(2, [0x0a, 0xc8, 0x01, ...new Array<number>(200).fill(0x61)])])]);
    expect(validateRequest('logs', good)).toBe(1);
  });

  it('refuses a known field of the wrong wire type, naming it', () => {
    // LogRecord.time_unix_nano (1) is fixed64; here a varint.
    const msg = rejection('logs', logsRequest([...tag(1, 0), 5]));
    expect(msg).toMatch(/field time_unix_nano \(1\) is fixed64 but came as wire type 0 \(varint\)/);
    expect(msg).toContain('in LogRecord at resource_logs[0].scope_logs[0].log_records[0]');
  });

  it('judges every one-byte tag of a log record (fields 1-15, every wire type) as its general path does, and only what decodes', () => {
    // One-byte tags take a per-table lookup (Table.tagAction). The same tag written as a two-byte varint
    // (0x80 | tag, 0x00) takes the general path, so each of the 128 tags, with a value of its wire type (an
    // empty length-delimited value: ids and messages may be empty), must get the same verdict both ways,
    // and what is accepted must decode.
    // Length-delimited: empty, and 2 bytes of invalid UTF-8 (a string field must refuse it both ways).
    const values: Record<number, number[][]> = { 0: [[5]], 1: [[1, 2, 3, 4, 5, 6, 7, 8]], 2: [[0], [2, 0xc3, 0x28]], 5: [[1, 2, 3, 4]] };
    const verdict = (req: Uint8Array): string => {
      try {
        validateRequest('logs', req);
        return 'accepted';
      } catch (e) {
        return (e as Error).message.replace(/ \(in .*$/, '');
      }
    };
    let accepted = 0;
    let utf8Refusals = 0;
    for (let t = 8; t < 128; t++) {
      // Groups (3, 4) and invalid wire types (6, 7) always take the general path.
      for (const value of values[t & 7] ?? []) {
        const fast = logsRequest([t, ...value]);
        expect({ tag: t, value, verdict: verdict(fast) }).toEqual({ tag: t, value, verdict: verdict(logsRequest([0x80 | t, 0x00, ...value])) });
        if (verdict(fast) === 'accepted') {
          expect(() => decodeRequest('logs', fast)).not.toThrow();
          if (value === values[t & 7]![0]) accepted++;
        } else if (/not valid UTF-8/.test(verdict(fast))) utf8Refusals++;
      }
    }
    // severity_text (3) and event_name (12): LogRecord's string fields below 16.
    expect(utf8Refusals).toBe(2);
    // LogRecord's 11 fields below 16, each with its own wire type, and the 4 unused numbers (4, 13, 14,
    // 15) with each of the 4 wire types (unknown fields are skipped).
    expect(accepted).toBe(11 + 4 * 4);
  });

  it("refuses another signal's request: traces and metrics sent as logs, logs sent as traces", () => {
    const traces = encodeRequest(
      'traces',
      decodeRequest('traces', requestFromJson('traces', readFileSync(new URL('../../test/fixtures/otlp-examples/trace.json', import.meta.url), 'utf8'))),
    );
    const metrics = requestFromJson('metrics', readFileSync(new URL('../../test/fixtures/otlp-examples/metrics.json', import.meta.url), 'utf8'));
    const logs = requestFromJson('logs', readFileSync(new URL('../../test/fixtures/otlp-examples/logs.json', import.meta.url), 'utf8'));
    // The outer framing alone (what countItems checks) would take all three.
    expect(countItems('logs', traces)).toBeGreaterThan(0);
    expect(rejection('logs', traces)).toMatch(/wire type/);
    expect(rejection('logs', metrics)).toMatch(/wire type|bytes; it must be/);
    expect(rejection('traces', logs)).toMatch(/wire type/);
  });

  it('refuses trace and span ids of the wrong length, accepts empty ones', () => {
    const withTraceId = (n: number) => logsRequest([...len(9, new Array<number>(n).fill(7))]);
    expect(validateRequest('logs', withTraceId(16))).toBe(1);
    expect(validateRequest('logs', withTraceId(0))).toBe(1);
    expect(rejection('logs', withTraceId(3))).toMatch(/field trace_id \(9\) is 3 bytes; it must be 16 \(or empty\)/);
    const withSpanId = (n: number) => logsRequest([...len(10, new Array<number>(n).fill(7))]);
    expect(validateRequest('logs', withSpanId(8))).toBe(1);
    expect(rejection('logs', withSpanId(16))).toMatch(/field span_id \(10\) is 16 bytes; it must be 8/);
  });

  it('checks packed repeated fields: whole fixed64 values, unpacked elements accepted too', () => {
    // metrics: ResourceMetrics(1) > ScopeMetrics(2) > Metric(2) > histogram(9) > HistogramDataPoint(1) > bucket_counts(6, fixed64)
    const request = (point: number[]) => bytes(len(1, len(2, len(2, [...str(1, 'h'), ...len(9, len(1, point))]))));
    expect(validateRequest('metrics', request(len(6, new Array<number>(16).fill(1))))).toBe(1);
    expect(validateRequest('metrics', request([...tag(6, 1), 1, 0, 0, 0, 0, 0, 0, 0]))).toBe(1);
    expect(rejection('metrics', request(len(6, new Array<number>(7).fill(1))))).toMatch(/packed field bucket_counts \(6\) is 7 bytes/);
  });

  it('skips unknown fields of every wire type but groups, which it refuses (proto3 has none; found by bench/fuzz.mjs)', () => {
    const unknown = [...tag(99, 0), 1, ...tag(98, 1), 0, 0, 0, 0, 0, 0, 0, 0, ...str(97, 'x'), ...tag(96, 5), 0, 0, 0, 0];
    expect(validateRequest('logs', logsRequest([...goodRecord(), ...unknown]))).toBe(1);
    // A group, even a well-formed one, would be acknowledged and then fail the wire scans downstream.
    const group = logsRequest([...goodRecord(), ...tag(95, 3), ...tag(1, 0), 1, ...tag(95, 4)]);
    expect(rejection('logs', group)).toMatch(/field 95 is a group \(wire type 3\), which OTLP \(proto3\) does not use/);
    // The fuzzer's inputs: an empty top-level group, and one holding a tag of field 0.
    expect(rejection('traces', bytes([19, 20]))).toMatch(/is a group/);
    expect(rejection('metrics', bytes([96, 236, 165, 132, 151, 88, 19, 0, 120, 20]))).toMatch(/is a group/);
  });

  it('takes messages nested up to the decoder limit and refuses one level more, as the decoder does', () => {
    // A log body of nested arrays: request(1) > ResourceLogs(2) > ScopeLogs(3) > LogRecord(4) > AnyValue(5) > ArrayValue(6) > AnyValue(7) ...
    const nested = (levels: number): Uint8Array => {
      let extra = levels - 5; // the body AnyValue is at level 5
      let v: AnyValue =
        extra % 2 === 1
          ? create(AnyValueSchema, { value: { case: 'kvlistValue', value: create(KeyValueListSchema, { values: [] }) } }) // an empty KeyValueList: one level more
          : create(AnyValueSchema, { value: { case: 'stringValue', value: 'leaf' } });
      for (extra -= extra % 2; extra > 0; extra -= 2)
        v = create(AnyValueSchema, { value: { case: 'arrayValue', value: create(ArrayValueSchema, { values: [v] }) } });
      return bytes(len(1, len(2, len(2, len(5, [...toBinary(AnyValueSchema, v)])))));
    };
    for (const levels of [MAX_NESTING - 1, MAX_NESTING]) {
      const b = nested(levels);
      expect(validateRequest('logs', b)).toBe(1);
      expect(() => decodeRequest('logs', b)).not.toThrow();
    }
    for (const levels of [MAX_NESTING + 1, MAX_NESTING + 2]) {
      const b = nested(levels);
      expect(rejection('logs', b)).toMatch(new RegExp(`nested deeper than ${MAX_NESTING} levels`));
      expect(() => decodeRequest('logs', b)).toThrow(/recursion/);
    }
  });
  it('refuses invalid UTF-8 in every kind of string field, naming the field and its path; valid multi-byte text passes', () => {
    const bad = [0x61, 0xff, 0x62];
    const longBad = [...Buffer.from('x'.repeat(200)), 0xc3, 0x28];
    const cases: [number[], RegExp][] = [
      [len(5, [...tag(1, 2), ...varint(bad.length), ...bad]), /string_value \(1\) is not valid UTF-8.*log_records\[0\]/],
      [len(5, len(1, longBad)), /string_value \(1\) is not valid UTF-8/],
      [len(3, bad), /field severity_text \(3\) is not valid UTF-8 .*in LogRecord at resource_logs\[0\]\.scope_logs\[0\]\.log_records\[0\]/],
      [len(6, [...len(1, bad), ...len(2, str(1, 'v'))]), /field key \(1\) is not valid UTF-8/],
      [len(6, [...str(1, 'k'), ...len(2, len(1, bad))]), /string_value \(1\) is not valid UTF-8/],
      [
        len(6, [...str(1, 'k'), ...len(2, len(6, len(1, [...str(1, 'inner'), ...len(2, len(1, [0xed, 0xa0, 0x80]))])))]),
        /string_value \(1\) is not valid UTF-8/,
      ],
      [len(12, [0xc0, 0xaf]), /field event_name \(12\) is not valid UTF-8/],
    ];
    for (const [field, message] of cases) {
      const b = logsRequest([...goodRecord(), ...field]);
      expect(rejection('logs', b)).toMatch(message);
      // The check can be switched off (benchmarks): the request is otherwise well formed.
      expect(validateRequest('logs', b, { utf8: false })).toBe(1);
    }
    const text = logsRequest([...goodRecord(), ...str(3, 'ÉRREUR ✓ 日本 🚀'), ...len(6, [...str(1, 'clé'), ...len(2, str(1, 'ünïcödé'))])]);
    expect(validateRequest('logs', text)).toBe(1);
    // bytes_value is not text: any bytes pass.
    expect(validateRequest('logs', logsRequest([...goodRecord(), ...len(5, len(7, [0xff, 0xfe]))]))).toBe(1);
  });

  it('refuses a request exactly when one of its strings is not UTF-8, whatever bytes sit beside the strings (property)', () => {
    // The check masks every byte that is not string text in a copy and checks the copy at once, so a bad
    // string's edge beside a fixed64, an id, a multi-byte varint or an unknown field must not be taken for
    // (or hide) a character. Strings are built from pieces meant to meet across those edges: lone lead bytes,
    // lone continuation bytes, overlong forms, surrogates; the neighbours carry continuation bytes.
    const pieces: number[][] = [
      [0x61],
      [0xc3, 0xa9],
      [0xe2, 0x9c, 0x93],
      [0xf0, 0x9f, 0x9a, 0x80],
      [0xc3],
      [0xe2, 0x9c],
      [0xf0, 0x9f, 0x9a],
      [0xa9],
      [0x80, 0x80],
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xff],
      [...Buffer.from('x'.repeat(130))],
    ];
    interface Built {
      bytes: number[];
      strings: number[][];
    }
    const text = fc.array(fc.constantFrom(...pieces), { maxLength: 4 }).map((ps) => ps.flat());
    const high = fc.array(fc.integer({ min: 0x80, max: 0xbf }), { minLength: 16, maxLength: 16 });
    const stringField = (field: number): fc.Arbitrary<Built> => text.map((t) => ({ bytes: len(field, t), strings: [t] }));
    const anyValue: fc.Arbitrary<Built> = fc.oneof(
      text.map((t) => ({ bytes: len(1, t), strings: [t] })),
      high.map((h) => ({ bytes: len(7, h), strings: [] })), // bytes_value
      high.map((h) => ({ bytes: [...tag(4, 1), ...h.slice(0, 8)], strings: [] })), // double_value
      fc.constant(0).map((): Built => ({ bytes: [...tag(3, 0), ...varint(2 ** 40 + 0x29)], strings: [] })), // int_value, 6 bytes
      fc.tuple(text, text).map(([k, v]) => ({ bytes: len(6, len(1, [...len(1, k), ...len(2, len(1, v))])), strings: [k, v] })), // kvlist
      text.map((t) => ({ bytes: len(5, len(1, len(1, t))), strings: [t] })), // array
    );
    // An unknown field with a two-byte tag (0x9a 0x06: the first byte is a UTF-8 continuation byte).
    const unknown = high.map((h) => len(99, h.slice(0, 3)));
    const attribute: fc.Arbitrary<Built> = fc
      .tuple(text, fc.option(unknown), anyValue)
      .map(([k, u, v]) => ({ bytes: len(6, [...len(1, k), ...(u ?? []), ...len(2, v.bytes)]), strings: [k, ...v.strings] }));
    const recordField: fc.Arbitrary<Built> = fc.oneof(
      high.map((h) => ({ bytes: [...tag(1, 1), ...h.slice(0, 8)], strings: [] })), // time_unix_nano
      fc.constant(0).map((): Built => ({ bytes: [...tag(2, 0), ...varint(300)], strings: [] })), // severity_number, 2 bytes
      stringField(3), // severity_text
      anyValue.map((v) => ({ bytes: len(5, v.bytes), strings: v.strings })), // body
      attribute,
      high.map((h) => ({ bytes: [...tag(8, 5), ...h.slice(0, 4)], strings: [] })), // flags
      high.map((h) => ({ bytes: len(9, h), strings: [] })), // trace_id
      high.map((h) => ({ bytes: len(10, h.slice(0, 8)), strings: [] })), // span_id
      stringField(12), // event_name
      unknown.map((u) => ({ bytes: u, strings: [] })),
    );
    // What the masking must never let through, by hand: a string cut inside a character, followed by a
    // two-byte tag whose first byte would complete it (in a LogRecord, a KeyValue and an AnyValue).
    const tail = [...tag(99, 2), 1, 0x41];
    for (const record of [
      [...len(3, [0x61, 0xc3]), ...tail],
      [...len(6, [...len(1, [0xe2, 0x9c]), ...tail, ...len(2, str(1, 'v'))])],
      [...len(5, [...len(1, [0xf0, 0x9f, 0x9a]), ...tail])],
    ]) {
      expect(rejection('logs', logsRequest(record))).toMatch(/is not valid UTF-8/);
      expect(validateRequest('logs', logsRequest(record), { utf8: false })).toBe(1);
    }
    const request = fc.array(fc.array(recordField, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(request, fc.nat(), (records, cut) => {
        const b = logsRequest(...records.map((fields) => fields.flatMap((f) => f.bytes)));
        const allValid = records.every((fields) => fields.every((f) => f.strings.every((t) => isUtf8(Buffer.from(t)))));
        const at = cut % b.length;
        for (const check of [() => validateRequest('logs', b), () => validateRequestParts('logs', [b.subarray(0, at), b.subarray(at)], b.length)]) {
          if (allValid) expect(check()).toBe(records.length);
          else expect(check).toThrow(/is not valid UTF-8/);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('uses the schema field numbers for its KeyValue and AnyValue walks', () => {
    const kv = validationTable('opentelemetry.proto.common.v1.KeyValue')!;
    expect([kv.fieldName[1], kv.fieldName[2]]).toEqual(['key', 'value']);
    const any = validationTable('opentelemetry.proto.common.v1.AnyValue')!;
    expect(any.fieldName.slice(1, 8)).toEqual(['string_value', 'bool_value', 'int_value', 'double_value', 'array_value', 'kvlist_value', 'bytes_value']);
    expect(any.sub[5]!.name).toBe('ArrayValue');
    expect(any.sub[6]!.name).toBe('KeyValueList');
    expect(validationTable('opentelemetry.proto.common.v1.ArrayValue')!.fieldName[1]).toBe('values');
    expect(validationTable('opentelemetry.proto.common.v1.KeyValueList')!.fieldName[1]).toBe('values');
  });
});

describe('the fast walk (validate-fast.ts) gives the verdict of the reference walk', () => {
  /** The outcome of a check: the item count, or the refusal's message. */
  const outcome = (f: () => number): number | string => {
    try {
      return f();
    } catch (e) {
      return (e as Error).message;
    }
  };
  const same = (signal: Signal, b: Uint8Array) => {
    for (const utf8 of [true, false]) {
      const fast = outcome(() => validateRequest(signal, b, { utf8 }));
      expect(fast).toEqual(outcome(() => validateByReference(signal, b, { utf8 })));
      if (typeof fast === 'number') expect(() => decodeRequest(signal, b)).not.toThrow();
    }
  };

  it('on random requests of every signal, corrupted by byte flips, insertions, deletions and cuts', () => {
    for (const signal of SIGNALS) {
      fc.assert(
        fc.property(
          arbRequest(signal),
          fc.array(
            fc.tuple(fc.constantFrom('flip', 'insert', 'delete'), fc.nat(), fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x18, 0x32), fc.nat(255)),
            {
              maxLength: 3,
            },
          ),
          fc.nat(),
          (req, edits, cut) => {
            const b = [...encodeRequest(signal, req)];
            for (const [op, at, special, any] of edits) {
              if (b.length === 0) break;
              const i = at % b.length;
              const value = any % 2 === 0 ? special : any;
              if (op === 'flip') b[i] = value;
              else if (op === 'insert') b.splice(i, 0, value);
              else b.splice(i, 1);
            }
            same(signal, bytes(cut % 4 === 0 ? b.slice(0, cut % (b.length + 1)) : b));
          },
        ),
        { numRuns: 600 },
      );
    }
  });

  // Records built from the shapes the fast walk takes and their near misses: lengths one short or long,
  // varints of every size (two-byte lengths, ints up to 11 bytes), attributes with fields swapped or extra.
  const lengthOf = (n: number, delta: number) => varint(Math.max(0, n + delta));
  const nearLen = (field: number, content: number[], delta: number) => [...tag(field, 2), ...lengthOf(content.length, delta), ...content];
  const delta = fc.constantFrom(0, 0, 0, 0, 0, 0, -1, 1, 2, 3);
  const text = fc.oneof(
    fc.constantFrom('', 'k', 'service.name'),
    fc.constant('x'.repeat(130)), // a two-byte length
    fc.constant('y'.repeat(300)),
    fc.constant('é'.repeat(70)),
    fc.constant([0xc3]).map((b) => String.fromCharCode(...b)), // turned into bytes below as latin1: an invalid UTF-8 byte
  );
  const textBytes = (t: string) => (t.length === 1 && t.charCodeAt(0) === 0xc3 ? [0xc3] : [...Buffer.from(t)]);
  const varintValue = fc.oneof(
    fc.constantFrom(0, 1, 127, 128, 300, 2 ** 21, 2 ** 35, 2 ** 52).map((n) => varint(n)),
    fc.constant([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), // 10 bytes
    fc.constant([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), // 11 bytes: refused
    fc.constant([0x80]), // truncated
  );
  const anyValue: fc.Arbitrary<number[]> = fc.oneof(
    fc.tuple(text, delta).map(([t, d]) => nearLen(1, textBytes(t), d)), // string_value
    varintValue.map((v) => [...tag(3, 0), ...v]), // int_value
    varintValue.map((v) => [...tag(2, 0), ...v]), // bool_value
    fc.constant<number[]>([...tag(4, 1), 1, 2, 3, 4, 5, 6, 7, 8]), // double_value
    fc.constant<number[]>([...tag(4, 1), 1, 2, 3]), // double_value, truncated
    fc.tuple(text, text).map(([k, v]) => len(6, len(1, [...str(1, k), ...len(2, str(1, v))]))), // kvlist_value
    fc.constant<number[]>([]),
  );
  const keyValue = fc.tuple(text, anyValue, delta, delta, fc.constantFrom('kv', 'kv', 'vk', 'kvx')).map(([k, v, dk, dv, order]) => {
    const key = nearLen(1, textBytes(k), dk);
    const value = nearLen(2, v, dv);
    return order === 'kv' ? [...key, ...value] : order === 'vk' ? [...value, ...key] : [...key, ...value, ...tag(3, 0), 1];
  });
  const recordField = fc.oneof(
    fc.constant([...tag(1, 1), 1, 2, 3, 4, 5, 6, 7, 8]), // time_unix_nano
    fc.constant([...tag(11, 1), 0xff, 0xfe, 0xfd]), // observed_time_unix_nano, truncated at the record's end
    varintValue.map((v) => [...tag(2, 0), ...v]), // severity_number
    fc.constant([...tag(8, 5), 0xff, 0, 0, 0]), // flags
    fc.tuple(text, delta).map(([t, d]) => nearLen(3, textBytes(t), d)), // severity_text
    fc.tuple(anyValue, delta).map(([v, d]) => nearLen(5, v, d)), // body
    { weight: 4, arbitrary: fc.tuple(keyValue, delta).map(([kv, d]) => nearLen(6, kv, d)) }, // attributes, in runs
    fc.tuple(fc.constantFrom(9, 10), fc.constantFrom(0, 7, 8, 9, 15, 16, 17), delta).map(([field, n, d]) => nearLen(field, new Array<number>(n).fill(0x80), d)), // trace_id, span_id
    fc.constant([...tag(99, 0), 0x80, 0x01]), // an unknown field
  );
  const trailer = fc.constantFrom<number[]>([], str(3, ''), [...tag(3, 2), 2, 0x12, 0x00], [...tag(3, 2), 3, 0x18, 0x80, 0x01], [...tag(9, 0), 1]);
  it('on log records made of the fast shapes and their near misses, whole and in two pieces', () => {
    fc.assert(
      fc.property(fc.array(fc.array(recordField, { maxLength: 8 }), { minLength: 1, maxLength: 3 }), trailer, fc.nat(), (records, after, at) => {
        // ScopeLogs { log_records..., then fields after them }: a record's last field that overruns it
        // reads into these.
        const b = bytes(len(1, len(2, [...records.flatMap((fields) => len(2, fields.flat())), ...after])));
        same('logs', b);
        const i = at % (b.length + 1);
        expect(outcome(() => validateRequestParts('logs', [b.subarray(0, i), b.subarray(i)], b.length))).toEqual(outcome(() => validateRequest('logs', b)));
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses, naming the field, what the fast shapes must not take', () => {
    const kv = (value: number[]) => logsRequest([...len(6, [...str(1, 'k'), ...len(2, value)])]);
    // An int_value of 11 bytes, and one cut short, where one of any length up to 10 is taken.
    expect(validateRequest('logs', kv([...tag(3, 0), ...new Array<number>(9).fill(0xff), 0x01]))).toBe(1);
    expect(rejection('logs', kv([...tag(3, 0), ...new Array<number>(10).fill(0xff), 0x01]))).toMatch(/varint longer than 10 bytes/);
    expect(rejection('logs', kv([...tag(3, 0), 0x80]))).toMatch(/truncated varint/);
    // A string_value with a two-byte length one byte past its AnyValue.
    expect(rejection('logs', kv([0x0a, 0x82, 0x01, ...new Array<number>(129).fill(0x61)]))).toMatch(
      /field string_value \(1\) overruns its message \(130 bytes declared, 129 left\)/,
    );
    // A key whose length runs past the KeyValue.
    expect(rejection('logs', logsRequest([...len(6, [0x0a, 0x20, 0x61, ...len(2, str(1, 'v'))])]))).toMatch(
      /field key \(1\) overruns its message \(32 bytes declared, 6 left\)/,
    );
    expect(rejection('logs', logsRequest([...len(6, [0x0a, 0x20, 0x61, ...len(2, str(1, 'v'))])]))).toMatch(
      /in KeyValue at resource_logs\[0\]\.scope_logs\[0\]\.log_records\[0\]\.attributes\[0\]/,
    );
    // A fixed64 cut by the record's end, and a varint with no last byte.
    expect(rejection('logs', logsRequest([...tag(1, 1), 1, 2, 3, 4, 5, 6, 7]))).toMatch(
      /field time_unix_nano \(1\) overruns its message \(8 bytes declared, 7 left\)/,
    );
    expect(rejection('logs', logsRequest([...tag(2, 0), 0x80, 0x80]))).toMatch(/truncated varint/);
    // A body whose length (three bytes) declares more than the record holds.
    expect(rejection('logs', logsRequest([...tag(5, 2), 0x80, 0x80, 0x01, 0x0a, 0x00]))).toMatch(
      /field body \(5\) overruns its message \(16384 bytes declared/,
    );
    // An attribute in a run (the fast walk takes runs of attributes in a loop of their own) whose length
    // runs past its record into the bytes after it, which would make it a whole KeyValue (an empty
    // unknown field 3: ScopeLogs.schema_url ""), and a run of attributes taken whole.
    const attribute = [...str(1, 'k'), ...len(2, str(1, 'v'))];
    const overrunning = [...len(6, attribute), ...tag(6, 2), attribute.length + 2, ...attribute];
    expect(rejection('logs', bytes(len(1, len(2, [...len(2, overrunning), ...str(3, '')]))))).toMatch(
      /field attributes \(6\) overruns its message \(10 bytes declared, 8 left\) \(in LogRecord at resource_logs\[0\]\.scope_logs\[0\]\.log_records\[0\]\)/,
    );
    expect(validateRequest('logs', bytes(len(1, len(2, [...len(2, [...len(6, attribute), ...len(6, attribute), ...len(6, attribute)]), ...str(3, '')]))))).toBe(
      1,
    );
    // Invalid UTF-8 in a key and a value the fast shapes took, and a two-byte-length body.
    expect(rejection('logs', kv(len(1, [0x61, 0xff])))).toMatch(/field string_value \(1\) is not valid UTF-8/);
    expect(rejection('logs', logsRequest([...len(6, [...len(1, [0xe2, 0x9c]), ...len(2, str(1, 'v'))])]))).toMatch(/field key \(1\) is not valid UTF-8/);
    expect(rejection('logs', logsRequest([...len(5, len(1, [...new Array<number>(200).fill(0x61), 0xc3]))]))).toMatch(
      /field string_value \(1\) is not valid UTF-8/,
    );
  });
});
