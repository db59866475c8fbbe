/**
 * The WAL's I/O thread (io-thread.ts) against real files in the OS temp dir: writes from the shared staging
 * buffer land where asked, failures come back with their errno code, `poll` settles what ended without the
 * event loop, close refuses what is left; and a WAL on the real file system, which writes through the
 * thread, gives back after a reopen every record it acknowledged.
 */
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tmpTakesDirectIo } from '../../test/helpers/direct-io.js';
import { DIRECT_ALIGN, alignedBuffer } from './direct.js';
import { IoThread, threadedFile } from './io-thread.js';
import { WriteAheadLog } from './wal.js';

const DIRECT_OK = await tmpTakesDirectIo();
let dir: string;
let io: IoThread | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-io-thread-'));
});
afterEach(async () => {
  await io?.close();
  io = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('IoThread', () => {
  it('writes ranges of the shared staging buffer at the positions asked, one after another, and syncs', async () => {
    const staging = alignedBuffer(4 * DIRECT_ALIGN, true);
    io = new IoThread(staging);
    const fh = await open(join(dir, 'f'), 'w+');
    staging.fill(0x61, 0, DIRECT_ALIGN);
    staging.fill(0x62, DIRECT_ALIGN, 2 * DIRECT_ALIGN);
    // Given in one go: the thread runs them in order, so the second write lands over the first's tail.
    const writes = [io.write(fh.fd, 0, DIRECT_ALIGN, 0), io.write(fh.fd, DIRECT_ALIGN, 100, 10)];
    expect(await Promise.all(writes)).toEqual([DIRECT_ALIGN, 100]);
    await io.datasync(fh.fd);
    const back = await readFile(join(dir, 'f'));
    expect(back.length).toBe(DIRECT_ALIGN);
    expect(back.subarray(0, 10).every((b) => b === 0x61)).toBe(true);
    expect(back.subarray(10, 110).every((b) => b === 0x62)).toBe(true);
    expect(back.subarray(110).every((b) => b === 0x61)).toBe(true);
    await fh.close();
  });

  it('refuses a failed call with its errno code, and goes on with the next', async () => {
    const staging = alignedBuffer(2 * DIRECT_ALIGN, true);
    io = new IoThread(staging);
    const ro = await open(join(dir, 'ro'), 'w+').then(async (fh) => {
      await fh.close();
      return open(join(dir, 'ro'), 'r');
    });
    await expect(io.write(ro.fd, 0, 16, 0)).rejects.toMatchObject({ code: 'EBADF' });
    const rw = await open(join(dir, 'rw'), 'w+');
    expect(await io.write(rw.fd, 0, 16, 0)).toBe(16);
    await Promise.all([ro.close(), rw.close()]);
  });

  it('poll settles an operation that ended without the event loop turning', async () => {
    const staging = alignedBuffer(2 * DIRECT_ALIGN, true);
    io = new IoThread(staging);
    const fh = await open(join(dir, 'f'), 'w+');
    let settled = false;
    const done = io.write(fh.fd, 0, 64, 0).then((n) => {
      settled = true;
      return n;
    });
    // Synchronously: the thread's message cannot be delivered meanwhile, only the shared memory seen.
    const until = Date.now() + 5000;
    while (io.inFlight > 0 && Date.now() < until) io.poll();
    expect(io.inFlight).toBe(0);
    await Promise.resolve();
    expect(settled).toBe(true);
    expect(await done).toBe(64);
    await fh.close();
  });

  it('close refuses the calls made after it', async () => {
    const staging = alignedBuffer(2 * DIRECT_ALIGN, true);
    const closing = new IoThread(staging);
    await closing.close();
    await expect(closing.datasync(0)).rejects.toThrow(/closed/);
  });

  it('takes only a shared staging buffer, and a threaded file sends other buffers to the handle itself', async () => {
    expect(() => new IoThread(alignedBuffer(2 * DIRECT_ALIGN))).toThrow(TypeError);
    const staging = alignedBuffer(2 * DIRECT_ALIGN, true);
    io = new IoThread(staging);
    const fh = await open(join(dir, 'f'), 'w+');
    const file = threadedFile(fh, io, staging);
    await file.write(Buffer.from('plain'), 0, 5, 0);
    staging.write('staged', 0);
    await file.write(staging, 0, 6, 5);
    await file.datasync();
    expect((await readFile(join(dir, 'f'))).toString()).toBe('plainstaged');
    await fh.close();
  });
});

describe('a WAL writing through the I/O thread', () => {
  it('gives back after a reopen every record it acknowledged, in order', async () => {
    // Where the temp dir refuses O_DIRECT the WAL writes through the page cache, without the thread.
    const walDir = join(dir, 'wal');
    let wal = await WriteAheadLog.open({ dir: walDir, fsync: 'interval', fsyncIntervalMs: 5, fsyncAfterBytes: 256 * 1024, segmentSizeBytes: 1 << 20 });
    const bodies = Array.from({ length: 60 }, (_, i) => Buffer.alloc(10_000 + i * 997, i + 1));
    // Pieces as a receiver keeps them; records cross segments (1 MiB) and sync windows.
    const seqs = await Promise.all(bodies.map((b, i) => wal.append([b.subarray(0, 777), b.subarray(777)], i)));
    expect(seqs).toEqual(bodies.map((_, i) => i + 1));
    await wal.close();
    wal = await WriteAheadLog.open({ dir: walDir });
    const got: Buffer[] = [];
    for (;;) {
      const rs = await wal.read(100);
      if (rs.length === 0) break;
      for (const r of rs) got.push(Buffer.from(r.data));
    }
    expect(got.length).toBe(bodies.length);
    for (let i = 0; i < bodies.length; i++) expect(got[i]!.equals(bodies[i]!)).toBe(true);
    expect(wal.directIo).toBe(DIRECT_OK);
    await wal.close();
  });
});
