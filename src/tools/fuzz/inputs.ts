/**
 * Fuzz inputs: random bytes and text, and mutants of valid requests (the seeds: OTLP/JSON requests such
 * as opentelemetry-proto's examples, and their protobuf encodings). Most random input dies at the first
 * byte; mutants of real requests get deep into the parsers, where the interesting bugs are.
 */
import fc from 'fast-check';
import { SIGNALS, type Signal } from '../../core/signal.js';
import { requestFromJson } from '../../pdata/codec.js';

/** Valid OTLP/JSON requests per signal (at least one each). */
export type JsonSeeds = Readonly<Record<Signal, readonly string[]>>;

export interface Seeds {
  json: JsonSeeds;
  proto: Readonly<Record<Signal, readonly Uint8Array[]>>;
}

export function seedsFromJson(json: JsonSeeds): Seeds {
  const proto = {} as Record<Signal, Uint8Array[]>;
  for (const signal of SIGNALS) proto[signal] = json[signal].map((text) => requestFromJson(signal, text));
  return { json, proto };
}

/** One edit of a byte string. */
export type ByteEdit =
  | { op: 'set'; at: number; value: number }
  | { op: 'flip'; at: number; bit: number }
  | { op: 'cut'; at: number; length: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'copy'; from: number; to: number; length: number }
  | { op: 'truncate'; at: number };

export const arbByteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.record({
    op: fc.constant('set' as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x1a, 0x22), fc.integer({ min: 0, max: 255 })),
  }),
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  // Varint-looking runs (continuation bits set) and field tags stress length and tag decoding.
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 12 }),
      fc.constant(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f])),
      fc.constant(new Uint8Array([0x0a, 0x7f])),
    ),
  }),
  fc.record({ op: fc.constant('copy' as const), from: fc.nat(), to: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

export function applyByteEdits(seed: Uint8Array, edits: readonly ByteEdit[]): Uint8Array {
  let b = Buffer.from(seed);
  for (const e of edits) {
    const n = b.length;
    switch (e.op) {
      case 'set':
        if (n > 0) b[e.at % n] = e.value;
        break;
      case 'flip':
        if (n > 0) b[e.at % n]! ^= 1 << e.bit;
        break;
      case 'cut': {
        const at = n === 0 ? 0 : e.at % n;
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.length)]);
        break;
      }
      case 'insert': {
        const at = e.at % (n + 1);
        b = Buffer.concat([b.subarray(0, at), e.bytes, b.subarray(at)]);
        break;
      }
      case 'copy': {
        if (n === 0) break;
        const from = e.from % n;
        const to = e.to % (n + 1);
        b = Buffer.concat([b.subarray(0, to), b.subarray(from, from + e.length), b.subarray(to)]);
        break;
      }
      case 'truncate':
        b = b.subarray(0, e.at % (n + 1));
        break;
    }
  }
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Protobuf bytes: mutants of a seed of the signal (mostly), of another signal, or random bytes. */
export function arbProtoBytes(seeds: Seeds, signal: Signal): fc.Arbitrary<Uint8Array> {
  const own = seeds.proto[signal];
  const any = SIGNALS.flatMap((s) => seeds.proto[s]);
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...own), fc.array(arbByteEdit, { minLength: 1, maxLength: 4 })).map(([s, e]) => applyByteEdits(s, e)) },
    { weight: 1, arbitrary: fc.constantFrom(...own) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...any), fc.array(arbByteEdit, { maxLength: 3 })).map(([s, e]) => applyByteEdits(s, e)) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 256 }) },
  );
}

/** One edit of a text: a character changed, a slice cut or duplicated, JSON-ish text inserted. */
type TextEdit = { at: number; cut: number; insert: string };

const arbTextEdit: fc.Arbitrary<TextEdit> = fc.record({
  at: fc.nat(),
  cut: fc.integer({ min: 0, max: 12 }),
  insert: fc.oneof(
    fc.constantFrom(
      '',
      '"',
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '-',
      '1e309',
      '"intValue":"x"',
      '"traceId":"zz"',
      '{"stringValue":1}',
      'null',
      '\\u0000',
      '"\\ud800"',
      '99999999999999999999',
      '[[[[[[[[',
    ),
    fc.string({ maxLength: 8 }),
    fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  ),
});

export function applyTextEdits(seed: string, edits: readonly TextEdit[]): string {
  let t = seed;
  for (const e of edits) {
    const at = e.at % (t.length + 1);
    t = t.slice(0, at) + e.insert + t.slice(at + e.cut);
  }
  return t;
}

/** OTLP/JSON text: mutants of a seed, random JSON under the signal's top-level key, or any text. */
export function arbJsonText(seeds: Seeds, signal: Signal): fc.Arbitrary<string> {
  const top = { logs: 'resourceLogs', traces: 'resourceSpans', metrics: 'resourceMetrics' }[signal];
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.tuple(fc.constantFrom(...seeds.json[signal]), fc.array(arbTextEdit, { minLength: 1, maxLength: 4 })).map(([s, e]) => applyTextEdits(s, e)),
    },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify({ [top]: [v] })) },
    { weight: 1, arbitrary: fc.string({ maxLength: 64 }) },
    // Deep nesting: a parser must refuse it, not overflow the stack.
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 10, max: 5000 })
        .map((d) => `{"${top}":[{"resource":{"attributes":[{"key":"k","value":${'{"arrayValue":{"values":['.repeat(d)}${']}}'.repeat(d)}}]}}]}`),
    },
  );
}

export const arbSignal: fc.Arbitrary<Signal> = fc.constantFrom(...SIGNALS);
