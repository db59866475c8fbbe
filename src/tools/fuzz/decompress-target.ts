/**
 * The decompressors the receivers share (gzip, deflate, zstd, snappy block and framed), fed mutants of
 * compressed requests, random bytes, and shapes built to stress what a decoder trusts: snappy elements with
 * long literal lengths and far copies, zstd frames with any window and thousands of tiny blocks (issue 18:
 * a 7-byte snappy block and a 21-byte zstd frame each held the event loop). The promises: every input ends
 * (the watchdog catches a loop), whole and as a stream, with an Error or with at most the limit's bytes.
 */
import fc from 'fast-check';
import { SIGNALS } from '../../core/signal.js';
import { compress, createDecompressor, decompress, type Coding } from '../../compression/index.js';
import { applyByteEdits, arbByteEdit, type ByteEdit, type Seeds } from './inputs.js';
import { BrokenPromise, type FuzzTarget } from './local-targets.js';

/** What each case may decompress to: small, so bombs meet it. */
const LIMIT = 256 * 1024;

type Packed = Exclude<Coding, 'identity'>;
const CODINGS: readonly Packed[] = ['gzip', 'deflate', 'zstd', 'snappy', 'x-snappy-framed'];

interface DecompressCase {
  coding: Packed;
  body:
    | { kind: 'seed'; index: number; edits: ByteEdit[] }
    | { kind: 'random'; bytes: Uint8Array }
    | { kind: 'snappy-elements'; length: number; elements: Uint8Array[] }
    | { kind: 'zstd-blocks'; header: Uint8Array; blocks: Array<[number, number]> };
  split: number;
}

const arbCase: fc.Arbitrary<DecompressCase> = fc.record({
  coding: fc.constantFrom(...CODINGS),
  body: fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('seed' as const), index: fc.nat(), edits: fc.array(arbByteEdit, { maxLength: 4 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 256 }) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('snappy-elements' as const),
        length: fc.oneof(fc.nat({ max: 300 }), fc.constant(0xffffffff), fc.nat()),
        // A tag byte and up to 4 more: literal lengths of every width, copies with 1, 2 and 4-byte offsets.
        elements: fc.array(fc.uint8Array({ minLength: 1, maxLength: 5 }), { maxLength: 40 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('zstd-blocks' as const),
        // Magic, frame header descriptor, window descriptor (any window up to the format's largest).
        header: fc
          .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }))
          .map(([fhd, wd]) => Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, fhd & 0x23, wd)),
        // [block type (raw, RLE), size]: many tiny blocks.
        blocks: fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 3 })), { maxLength: 3000 }),
      }),
    },
  ),
  split: fc.nat(),
});

function bodyOf(c: DecompressCase, packed: ReadonlyMap<Packed, readonly Uint8Array[]>): Uint8Array {
  const b = c.body;
  switch (b.kind) {
    case 'seed': {
      const seeds = packed.get(c.coding)!;
      return applyByteEdits(seeds[b.index % seeds.length]!, b.edits);
    }
    case 'random':
      return b.bytes;
    case 'snappy-elements': {
      const head: number[] = [];
      for (let n = b.length; ; n = Math.floor(n / 128)) {
        head.push(n >= 128 ? (n % 128) | 0x80 : n);
        if (n < 128) break;
      }
      return Buffer.concat([Uint8Array.from(head), ...b.elements]);
    }
    case 'zstd-blocks': {
      const parts: Uint8Array[] = [b.header];
      b.blocks.forEach(([type, size], i) => {
        const last = i === b.blocks.length - 1 ? 1 : 0;
        const head = (size << 3) | (type << 1) | last;
        parts.push(Uint8Array.of(head & 0xff, (head >> 8) & 0xff, head >> 16), new Uint8Array(type === 1 ? 1 : size).fill(0x0a));
      });
      return Buffer.concat(parts);
    }
  }
}

/** Decodes `body` as a stream fed in two pieces; resolves with the output's size or rejects with the decoder's error. */
function streamSize(coding: Packed, body: Uint8Array, at: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const d = createDecompressor(coding, LIMIT);
    let size = 0;
    d.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // As the receivers do: zlib's output is counted by the reader, which stops at the limit.
      if (size > LIMIT) d.destroy(new Error('over the limit'));
    });
    d.on('end', () => resolve(size));
    d.on('error', reject);
    d.write(body.subarray(0, at));
    d.end(body.subarray(at));
  });
}

function refused(err: unknown, what: string): void {
  if (!(err instanceof Error) || err.message === '')
    throw new BrokenPromise(`${what} threw ${err instanceof Error ? 'an Error without a message' : typeof err}`);
}

export function decompressTarget(seeds: Seeds): FuzzTarget<DecompressCase> {
  const packed = new Map<Packed, Uint8Array[]>();
  let accepted = 0;
  return {
    name: 'decompressors',
    accepted: () => accepted,
    arbitrary: arbCase,
    async setup() {
      const plain = SIGNALS.flatMap((s) => seeds.proto[s]);
      for (const coding of CODINGS) {
        const list: Uint8Array[] = [];
        for (const p of plain) {
          if (coding === 'x-snappy-framed') list.push(await compress('snappy', p, { transport: 'grpc' }));
          else if (coding === 'snappy') list.push(await compress('snappy', p, { transport: 'http' }), await compress('snappy', p, { transport: 'grpc' }));
          else list.push(await compress(coding, p));
        }
        packed.set(coding, list);
      }
    },
    async check(c) {
      const body = bodyOf(c, packed);
      let whole: number | undefined;
      try {
        whole = (await decompress(c.coding, body, LIMIT)).length;
      } catch (err) {
        refused(err, `decompress(${c.coding})`);
      }
      if (whole !== undefined && whole > LIMIT) throw new BrokenPromise(`decompress(${c.coding}) returned ${whole} bytes over its limit of ${LIMIT}`);
      try {
        await streamSize(c.coding, body, c.split % (body.length + 1));
      } catch (err) {
        refused(err, `createDecompressor(${c.coding})`);
      }
      if (whole !== undefined) accepted++;
    },
  };
}
