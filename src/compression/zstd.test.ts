/**
 * zstd decompression through libzstd: frames whose header declares a huge window, or which hold many tiny
 * blocks, cost one pass over the message and no more memory than the output limit (fzstd's streaming
 * decoder, used before, allocated the declared window and shifted it for every block).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { zstdCompress, zstdDecompress, ZstdError, ZstdTooLarge } from './zstd.js';

const LIMIT = 4 * 1024 * 1024;

/** A zstd frame without content size or checksum: window descriptor `wd`, then `blocks` raw blocks of `size` bytes "a". */
function rawBlocksFrame(wd: number, blocks: number, size: number): Buffer {
  const parts = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, wd])];
  const body = Buffer.alloc(size, 0x61);
  for (let i = 0; i < blocks; i++) {
    const head = Buffer.alloc(3);
    head.writeUIntLE(size << 3, 0, 3); // raw block, not last
    parts.push(head, body);
  }
  parts.push(Buffer.from([0x01, 0x00, 0x00])); // the last block: raw, empty
  return Buffer.concat(parts);
}

describe('zstd decompression (libzstd)', () => {
  it('a 21-byte frame declaring a 1.875 GiB window decodes without allocating it', async () => {
    // Window descriptor: exponent 20, mantissa 7 -> 2^30 + 7 * 2^27 bytes.
    const frame = rawBlocksFrame((20 << 3) | 7, 3, 1);
    expect(frame.length).toBe(21);
    const rss = process.memoryUsage().rss;
    expect((await zstdDecompress(frame, LIMIT)).toString()).toBe('aaa');
    expect(process.memoryUsage().rss - rss).toBeLessThan(256 * 1024 * 1024);
  });

  it('65,536 one-byte blocks under an 8 MiB window decode in one pass (fzstd shifted the window per block)', async () => {
    const frame = rawBlocksFrame(13 << 3, 65_536, 1);
    const out = await zstdDecompress(frame, LIMIT);
    expect(out.length).toBe(65_536);
    expect(out.every((b) => b === 0x61)).toBe(true);
  });

  it('output past the limit is ZstdTooLarge; bytes that are not zstd are a ZstdError naming the fault', async () => {
    const bomb = await zstdCompress(Buffer.alloc(16 * 1024 * 1024), 3);
    await expect(zstdDecompress(bomb, LIMIT)).rejects.toBeInstanceOf(ZstdTooLarge);
    await expect(zstdDecompress(Buffer.from('not zstd at all'), LIMIT)).rejects.toThrow(new ZstdError('zstd: not zstd data (unknown frame magic)'));
    const good = await zstdCompress(Buffer.from('x'.repeat(1000)), 3);
    await expect(zstdDecompress(good.subarray(0, good.length - 2), LIMIT)).rejects.toBeInstanceOf(ZstdError);
    expect((await zstdDecompress(new Uint8Array(0), LIMIT)).length).toBe(0);
  });

  it('reads concatenated frames and skips skippable frames', async () => {
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 0x03, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03]);
    const data = Buffer.concat([await zstdCompress(Buffer.from('first '), 3), skippable, await zstdCompress(Buffer.from('second'), 19)]);
    expect((await zstdDecompress(data, LIMIT)).toString()).toBe('first second');
  });

  it('round trips any bytes at any level; mutants decode within the limit or are refused with a ZstdError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 20_000 }),
        fc.integer({ min: 1, max: 19 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(255))),
        async (data, level, edits) => {
          const packed = await zstdCompress(data, level);
          expect((await zstdDecompress(packed, LIMIT)).equals(data)).toBe(true);
          const mutant = Buffer.from(packed);
          for (const [at, value] of edits) mutant[at % mutant.length] = value;
          try {
            expect((await zstdDecompress(mutant, 64 * 1024)).length).toBeLessThanOrEqual(64 * 1024);
          } catch (err) {
            if (!(err instanceof ZstdError || err instanceof ZstdTooLarge)) throw err;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
