/**
 * The collector's compressions: round trips of every codec, snappy in both shapes, and decompression that
 * stops at its limit instead of inflating a bomb whole.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decompress as fzstdDecompress } from 'fzstd';
import { codingOf, compress, createDecompressor, decompress, DecompressedTooLarge, type Coding } from './index.js';
import { crc32c, isFramedSnappy, snappyFramedCompress } from './snappy.js';

const text = Buffer.from('{"resourceLogs":[{"resource":{}}]} '.repeat(5000));
const noise = randomBytes(200_000);

function streamDecode(coding: Exclude<Coding, 'identity'>, data: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const d = createDecompressor(coding, limit);
    const out: Buffer[] = [];
    let size = 0;
    d.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) d.destroy(new DecompressedTooLarge(limit));
      else out.push(c);
    });
    d.on('end', () => resolve(Buffer.concat(out)));
    d.on('error', reject);
    // Fed in wire-sized pieces, as a request body arrives.
    for (let i = 0; i < data.length; i += 16_384) d.write(data.subarray(i, i + 16_384));
    d.end();
  });
}

describe('compression codecs', () => {
  it("names codings as the collector's headers do", () => {
    expect(['', 'identity', 'gzip', 'x-gzip', 'deflate', 'zlib', 'zstd', 'snappy', 'x-snappy-framed', 'br'].map(codingOf)).toEqual([
      'identity',
      'identity',
      'gzip',
      'gzip',
      'deflate',
      'deflate',
      'zstd',
      'snappy',
      'x-snappy-framed',
      undefined,
    ]);
  });

  for (const c of ['gzip', 'deflate', 'zlib', 'zstd', 'snappy'] as const) {
    it(`${c}: compresses and decompresses, whole and as a stream, text and noise`, async () => {
      for (const input of [text, noise, Buffer.alloc(0)]) {
        const packed = await compress(c, input);
        if (input === text) expect(packed.length).toBeLessThan(input.length / 5);
        const coding = codingOf(c) as Exclude<Coding, 'identity'>;
        expect((await decompress(coding, packed, 1 << 24)).equals(input)).toBe(true);
        expect((await streamDecode(coding, packed, 1 << 24)).equals(input)).toBe(true);
      }
    });
  }

  it('zstd output is standard zstd (another decoder reads it)', async () => {
    expect(Buffer.from(fzstdDecompress(await compress('zstd', text))).equals(text)).toBe(true);
  });

  it('snappy: a block over HTTP, framed over gRPC; `snappy` decodes either', async () => {
    const block = await compress('snappy', text, { transport: 'http' });
    const framed = await compress('snappy', text, { transport: 'grpc' });
    expect(isFramedSnappy(block)).toBe(false);
    expect(isFramedSnappy(framed)).toBe(true);
    expect((await decompress('snappy', framed, 1 << 24)).equals(text)).toBe(true);
    expect((await decompress('x-snappy-framed', snappyFramedCompress(noise), 1 << 24)).equals(noise)).toBe(true);
  });

  it('framed snappy: a flipped byte fails its checksum (CRC-32C, as the format masks it)', async () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283); // the CRC-32C check value
    const framed = Buffer.from(snappyFramedCompress(noise.subarray(0, 1000)));
    framed[framed.length - 1]! ^= 0xff;
    await expect(decompress('snappy', framed, 1 << 24)).rejects.toThrow(/checksum mismatch/);
  });

  for (const c of ['gzip', 'deflate', 'zstd', 'snappy'] as const) {
    it(`${c}: a bomb stops at the limit, whole and as a stream`, async () => {
      const zeros = Buffer.alloc(32 * 1024 * 1024);
      const bomb = await compress(c, zeros);
      expect(bomb.length).toBeLessThan(zeros.length / 20);
      const coding = codingOf(c) as Exclude<Coding, 'identity'>;
      await expect(decompress(coding, bomb, 1024 * 1024)).rejects.toBeInstanceOf(DecompressedTooLarge);
      await expect(streamDecode(coding, bomb, 1024 * 1024)).rejects.toBeInstanceOf(DecompressedTooLarge);
    });
  }

  it('zstd: decoding stops inside one write that holds thousands of blocks', async () => {
    const bomb = await compress('zstd', Buffer.alloc(64 * 1024 * 1024));
    const d = createDecompressor('zstd', 256 * 1024);
    let produced = 0;
    d.on('data', (c: Buffer) => (produced += c.length));
    const failed = new Promise((resolve) => d.on('error', resolve));
    d.end(bomb); // the whole bomb in one write
    expect(await failed).toBeInstanceOf(DecompressedTooLarge);
    expect(produced).toBeLessThanOrEqual(256 * 1024);
  });

  // Issue 18: hostile messages that held the event loop (snappyjs, fzstd) are refused or decoded in one pass.
  it('snappy: the 7 bytes the gRPC fuzz target hung on are refused at once, whole and as a stream', async () => {
    const block = Buffer.from('2cfcc2a8cce6a1', 'hex');
    await expect(decompress('snappy', block, 1 << 22)).rejects.toThrow(/snappy block: a literal of 3872172227 bytes at byte 6 runs past the block's end/);
    await expect(streamDecode('snappy', block, 1 << 22)).rejects.toThrow(/runs past the block's end/);
  });

  it('zstd: a frame declaring a 1.875 GiB window, and 65,536 one-byte blocks, cost one pass and no window allocation', async () => {
    const frame = (wd: number, blocks: number): Buffer => {
      const block = Buffer.from([0x08, 0x00, 0x00, 0x61]); // a raw block holding "a"
      return Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, wd]), ...Array<Buffer>(blocks).fill(block), Buffer.from([0x01, 0x00, 0x00])]);
    };
    const rss = process.memoryUsage().rss;
    expect((await decompress('zstd', frame((20 << 3) | 7, 3), 1 << 22)).toString()).toBe('aaa');
    expect((await streamDecode('zstd', frame((20 << 3) | 7, 3), 1 << 22)).toString()).toBe('aaa');
    expect(process.memoryUsage().rss - rss).toBeLessThan(256 * 1024 * 1024);
    expect((await decompress('zstd', frame(13 << 3, 65_536), 1 << 22)).length).toBe(65_536);
  });
});
