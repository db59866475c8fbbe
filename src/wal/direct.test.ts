/**
 * O_DIRECT appends (direct.ts) against real files in the OS temp dir: the probe, and the block
 * arithmetic of the staged partial tail across writes, chunks and re-attaching.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, stat, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tmpTakesDirectIo } from '../../test/helpers/direct-io.js';
import { DIRECT_ALIGN, DirectAppender, alignedBuffer, directOpenFlags, probeDirectIo } from './direct.js';

const TMPFS_MAGIC = 0x01021994;
// Where the temp dir's file system refuses O_DIRECT, the appender cannot run there: those tests then check
// the refusal the WAL falls back on.
const DIRECT_OK = await tmpTakesDirectIo();
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-direct-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('probeDirectIo', () => {
  it('passes for the page-aligned staging buffer and refuses a misaligned one (EINVAL), leaving no file', async () => {
    const staging = alignedBuffer(4 * DIRECT_ALIGN);
    expect(await probeDirectIo(dir, staging)).toBe(DIRECT_OK);
    // tmpfs takes direct I/O from any address; block devices need the address aligned (512 here).
    const tmpfs = (await statfs(dir)).type === TMPFS_MAGIC;
    expect(await probeDirectIo(dir, staging.subarray(16))).toBe(DIRECT_OK && tmpfs);
    await expect(stat(join(dir, 'direct-io.probe'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('DirectAppender', () => {
  it('writes ranges of every size at the logical end, across chunks, re-attaching to a file that was closed', async () => {
    if (!DIRECT_OK) {
      await expect(
        open(join(dir, 'seg'), directOpenFlags(true)).then((fh) => fh.write(alignedBuffer(DIRECT_ALIGN), 0, DIRECT_ALIGN, 0).finally(() => fh.close())),
      ).rejects.toMatchObject({ code: 'EINVAL' });
      return;
    }
    // A small staging buffer (3 blocks), so that records span chunks and whole-chunk flushes happen.
    const appender = new DirectAppender(alignedBuffer(3 * DIRECT_ALIGN));
    const path = join(dir, 'seg');
    const expected: Buffer[] = [];
    let size = 0;
    let fh = await open(path, directOpenFlags(true));
    await appender.attach(fh, 0);
    const sizes = [0, 1, 17, DIRECT_ALIGN - 1, DIRECT_ALIGN, 1, 3 * DIRECT_ALIGN, 5 * DIRECT_ALIGN + 123, 2 * DIRECT_ALIGN - 5, 4000, 96];
    for (let i = 0; i < sizes.length; i++) {
      const parts = [randomBytes(sizes[i]!), randomBytes(i * 37)];
      const bytes = parts[0]!.length + parts[1]!.length;
      await appender.write(parts, bytes, size);
      expected.push(...parts);
      size += bytes;
      const onDisk = await readFile(path);
      // The records, then zeros to the end of the block.
      expect(onDisk.length).toBe(Math.ceil(size / DIRECT_ALIGN) * DIRECT_ALIGN);
      expect(onDisk.subarray(0, size).equals(Buffer.concat(expected))).toBe(true);
      expect(onDisk.subarray(size).every((b) => b === 0)).toBe(true);
      if (i % 4 === 3) {
        // Cut the padding and re-open, as the WAL does when it closes and recovers.
        await fh.truncate(size);
        await fh.close();
        fh = await open(path, directOpenFlags(false));
        await appender.attach(fh, size);
      }
    }
    await fh.close();
  });

  it('refuses an append that does not start at the end it staged', async () => {
    const appender = new DirectAppender(alignedBuffer(2 * DIRECT_ALIGN));
    // The check comes before any I/O, so it holds on a file opened without O_DIRECT too.
    const fh = await open(join(dir, 'seg'), DIRECT_OK ? directOpenFlags(true) : 'w+');
    try {
      await appender.attach(fh, 0);
      await appender.write([Buffer.alloc(10, 1)], 10, 0);
      await expect(appender.write([Buffer.alloc(10, 2)], 10, 12)).rejects.toThrow(/does not follow the staged tail/);
    } finally {
      await fh.close();
    }
  });
});
