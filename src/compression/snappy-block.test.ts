/**
 * The snappy block decoder: every element is checked before it is used, so hostile blocks are refused at
 * once, and what snappyjs compresses decodes to the same bytes.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SnappyError, snappyBlockDecompress } from './snappy-block.js';

const snappyjs = createRequire(import.meta.url)('snappyjs') as { compress(b: Uint8Array): Uint8Array };
const LIMIT = 4 * 1024 * 1024;
const tooLarge = (): Error => new RangeError('too large');
const decode = (bytes: number[] | Uint8Array, limit = LIMIT): Buffer => snappyBlockDecompress(Uint8Array.from(bytes), limit, tooLarge);

describe('snappy block decoder', () => {
  it('refuses the 7 bytes that made snappyjs loop for a minute (bench/fuzz.mjs grpc-receiver, seed 1611810550, case 18445)', () => {
    // Length 44, then a literal whose 4-byte length (0xe6cca8c2 + 1) has its top bit set: snappyjs read it
    // as negative, moved its position back 400 MB and walked forward over undefined bytes one at a time.
    expect(() => decode([0x2c, 0xfc, 0xc2, 0xa8, 0xcc, 0xe6, 0xa1])).toThrow(
      new SnappyError("snappy block: a literal of 3872172227 bytes at byte 6 runs past the block's end"),
    );
  });

  it('refuses a literal length of every width (1-4 bytes) that runs past the block, whatever its top bit', () => {
    for (let bytes = 1; bytes <= 4; bytes++) {
      for (const fill of [0x7f, 0x80, 0xff]) {
        const block = [0x10, (59 + bytes) << 2, ...Array<number>(bytes).fill(fill), 0x61, 0x62];
        expect(() => decode(block), `${bytes} bytes of 0x${fill.toString(16)}`).toThrow(/runs past the block's end/);
      }
    }
    expect(() => decode([0x10, 63 << 2, 0xff, 0xff])).toThrow(/literal length cut short/);
  });

  it('refuses copies from before the output, at offset 0, with a 4-byte offset with its top bit set, or cut short', () => {
    const lit = [0x00, 0x61]; // one literal byte "a"
    expect(() => decode([0x10, ...lit, 0x01 | (3 << 2), 0x02])).toThrow(/reaches 2 bytes back from output byte 1/);
    expect(() => decode([0x10, ...lit, 0x01 | (3 << 2), 0x00])).toThrow(/reaches 0 bytes back/);
    expect(() => decode([0x10, ...lit, 0x03 | (3 << 2), 0xff, 0xff, 0xff, 0xff])).toThrow(/reaches 4294967295 bytes back/);
    expect(() => decode([0x10, ...lit, 0x02 | (3 << 2), 0x01])).toThrow(/copy cut short/);
    expect(() => decode([0x10, ...lit, 0x03 | (3 << 2), 0x01, 0x00, 0x00])).toThrow(/copy cut short/);
    expect(() => decode([0x10, ...lit, 0x01])).toThrow(/copy cut short/);
  });

  it('refuses a block that holds less or more than it declares, and a bad length header', () => {
    expect(() => decode([0x05, 0x04, 0x61, 0x62])).toThrow(/holds 2 bytes of data but declares 5/);
    expect(() => decode([0x01, 0x04, 0x61, 0x62])).toThrow(/more data than the 1 bytes the block declares/);
    expect(() => decode([0x02, 0x00, 0x61, 0x09, 0x01])).toThrow(/more data than the 2 bytes/);
    expect(() => decode([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).toThrow(/bad length header/);
    expect(() => decode([])).toThrow(/bad length header/);
    expect(() => decode([0x80, 0x80, 0x04], 1024)).toThrow(RangeError);
    expect(decode([0x00]).length).toBe(0);
  });

  it('decodes what snappyjs compresses: literals, short and long copies, overlapping runs', () => {
    const word = fc.constantFrom('a', 'span', 'service.name', 'x'.repeat(70), '\u00e9t\u00e9');
    const data = fc.oneof(
      fc.uint8Array({ maxLength: 70_000 }),
      fc.array(word, { maxLength: 5000 }).map((w) => new Uint8Array(Buffer.from(w.join('')))),
      fc.tuple(fc.integer({ min: 0, max: 255 }), fc.nat({ max: 200_000 })).map(([b, n]) => new Uint8Array(n).fill(b)),
    );
    fc.assert(
      fc.property(data, (input) => {
        expect(decode(snappyjs.compress(input)).equals(input)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a mutated block decodes to exactly its declared length or is refused with a SnappyError', () => {
    const seed = snappyjs.compress(Buffer.from('{"resourceSpans":[{"scopeSpans":[{"spans":[]}]}]} '.repeat(40)));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (edits) => {
        const block = Uint8Array.from(seed);
        for (const [at, value] of edits) block[at % block.length] = value;
        let out: Buffer;
        try {
          out = decode(block);
        } catch (err) {
          if (!(err instanceof SnappyError || err instanceof RangeError)) throw err;
          return;
        }
        let declared = 0;
        for (let i = 0, mul = 1; i < 5; i++, mul *= 128) {
          declared += (block[i]! & 0x7f) * mul;
          if (block[i]! < 0x80) break;
        }
        expect(out.length).toBe(declared);
      }),
      { numRuns: 2000 },
    );
  });
});
