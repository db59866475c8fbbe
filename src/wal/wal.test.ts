import { mkdtemp, readdir, readFile, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { walRecord } from '../../test/helpers/wal-record.js';
import { PermanentError, RetryableError } from '../core/errors.js';
import { randomBytes } from 'node:crypto';
import { tmpTakesDirectIo } from '../../test/helpers/direct-io.js';
import { DIRECT_ALIGN, STAGING_BYTES } from './direct.js';
import { metaNumber, WriteAheadLog, type FsyncPolicy, type WalOptions } from './index.js';
import { FaultFileSystem } from './fault-file-system.js';
import { nodeFileSystem } from './file-system.js';
import { Logger } from '../telemetry/logger.js';

/** Whether the temp dir takes O_DIRECT (else a WAL asked for it writes through the page cache). */
const DIRECT_OK = await tmpTakesDirectIo();
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-wal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const rec = walRecord;

async function segFiles(d = dir): Promise<string[]> {
  return (await readdir(d)).filter((n) => n.endsWith('.wal')).sort();
}

async function openWal(opts: Partial<WalOptions> = {}): Promise<WriteAheadLog> {
  return WriteAheadLog.open({ dir, segmentSizeBytes: 1024, checkpointIntervalMs: 1, ...opts });
}

describe('WriteAheadLog', () => {
  for (const fsync of ['always', 'interval', 'never'] as FsyncPolicy[]) {
    it(`appends, reads in order and survives reopen (fsync ${fsync})`, async () => {
      const wal = await openWal({ fsync, fsyncIntervalMs: 2 });
      const seqs = await Promise.all(Array.from({ length: 50 }, (_, i) => wal.append(rec(i), i)));
      expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      const got = await wal.read(20);
      expect(got.map((r) => r.sequence)).toEqual(seqs.slice(0, 20));
      expect(got.every((r, i) => r.data.equals(rec(i)) && metaNumber(r.meta) === i)).toBe(true);
      for (const r of got) expect(wal.ack(r.sequence)).toBe(true);
      expect(wal.stats().pendingRecords).toBe(30);
      await wal.close();

      const again = await openWal({ fsync });
      expect(again.stats().pendingRecords).toBe(30);
      const rest = await again.read(1000);
      expect(rest.map((r) => r.sequence)).toEqual(seqs.slice(20));
      expect(rest.every((r) => r.data.equals(rec(r.sequence - 1)))).toBe(true);
      expect(await again.append(rec(99))).toBe(51);
      await again.close();
    });
  }

  for (const directIo of [true, false]) {
    it(`writes a record given as pieces as the same record joined, empty pieces too, and reads it back after reopen (${directIo ? 'O_DIRECT' : 'page cache'})`, async () => {
      const wal = await openWal({ segmentSizeBytes: 64 * 1024, directIo });
      const records = Array.from({ length: 30 }, (_, i) => randomBytes(100 + i * 997));
      const seqs = await Promise.all(
        records.map((r, i) => {
          if (i % 3 === 0) return wal.append(r, i);
          // Cut into pieces at varying places, with an empty piece among them.
          const a = (i * 131) % r.length;
          const b = Math.min(r.length, a + 1 + ((i * 71) % 500));
          return wal.append([r.subarray(0, a), new Uint8Array(0), r.subarray(a, b), r.subarray(b)], i);
        }),
      );
      expect(seqs).toEqual(records.map((_, i) => i + 1));
      await wal.close();
      const again = await openWal({ segmentSizeBytes: 64 * 1024, directIo });
      expect(again.stats().corruptRecordsSkipped).toBe(0);
      const got = await again.read(1000);
      expect(got.map((r) => r.sequence)).toEqual(seqs);
      for (const r of got) {
        expect(Buffer.compare(r.data, records[r.sequence - 1]!)).toBe(0);
        expect(metaNumber(r.meta)).toBe(r.sequence - 1);
      }
      await again.close();
    });
  }

  it('after a failed write whose cut-back failed too, writes nothing more until a cut succeeds; no sequence is shared after reopen', async () => {
    // A write that fails half-way and a truncate that fails cannot be made to happen on demand on a real
    // file system without root, so the file-system seam injects them: the write lands its first piece
    // for real (stale bytes on disk), then fails; the truncates fail until `cutWorks`.
    const fs = new FaultFileSystem();
    const wal = await openWal({ segmentSizeBytes: 1 << 20, directIo: false, fsync: 'always', fileSystem: fs });
    expect(await Promise.all([0, 1, 2].map((i) => wal.append(rec(i, 300))))).toEqual([1, 2, 3]);
    let failNextWrite = true;
    let cutWorks = false;
    fs.hook = (op, path, args, real) => {
      if (!path.endsWith('.wal')) return undefined;
      if (op === 'writev' && failNextWrite) {
        failNextWrite = false;
        const [iov, pos] = args as [Uint8Array[], number];
        // header + data of the first record: a whole stale record
        return real(iov.slice(0, 2), pos).then(() => {
          throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
        });
      }
      if (op === 'truncate' && !cutWorks) return Promise.reject(Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' }));
      return undefined;
    };
    const failed = await Promise.allSettled([wal.append(rec(10, 300)), wal.append(rec(11, 300))]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(String((failed[0] as PromiseRejectedResult).reason.message)).toMatch(/WAL write to .* failed: EIO/);
    // The stale record (sequence 4, given back) is still on disk: a shorter record must not go over it.
    const refused = await wal.append(rec(20, 10)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RetryableError);
    expect((refused as Error).message).toMatch(/could not be cut back after a failed write .*EIO.*check the disk/);
    cutWorks = true;
    expect(await wal.append(rec(21, 10))).toBe(4);
    expect(await wal.append(rec(22, 10))).toBe(5);
    fs.hook = undefined;
    await wal.close();
    const again = await openWal({ segmentSizeBytes: 1 << 20, directIo: false });
    const got = await again.read(100);
    expect(got.map((r) => r.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(got.map((r) => r.data.readUInt32BE(0))).toEqual([0, 1, 2, 21, 22]);
    expect(again.stats().corruptRecordsSkipped).toBe(0);
    await again.close();
  });

  it('refuses a record in pieces that can never fit by its whole size', async () => {
    const wal = await openWal({ maxSizeBytes: 4096, segmentSizeBytes: 4096 });
    const err = await wal.append([Buffer.alloc(3000), Buffer.alloc(3000)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/record of 6000 bytes can never fit/);
    await wal.close();
  });

  it('never delivers a record twice in one open and returns [] when caught up', async () => {
    const wal = await openWal();
    await wal.append(rec(1));
    expect((await wal.read()).length).toBe(1);
    expect(await wal.read()).toEqual([]);
    expect(wal.ack(1)).toBe(true);
    expect(wal.ack(1)).toBe(false);
    expect(wal.ack(12345)).toBe(false);
    await wal.close();
  });

  it('rolls segments, deletes a segment only when all its records are acked, out-of-order acks included', async () => {
    const wal = await openWal({ segmentSizeBytes: 512 });
    // 118-byte records: 4 per 512-byte segment.
    for (let i = 0; i < 12; i++) await wal.append(rec(i));
    expect(await segFiles()).toHaveLength(3);
    const recs = await wal.read(100);
    expect(recs).toHaveLength(12);
    // Ack the first segment except its first record, in reverse order: nothing may be deleted.
    for (const s of [4, 3, 2]) wal.ack(s);
    await wal.flush();
    expect(await segFiles()).toHaveLength(3);
    expect(wal.stats().ackedThrough).toBe(0);
    wal.ack(1);
    await wal.flush();
    expect(wal.stats().ackedThrough).toBe(4);
    expect(await segFiles()).toHaveLength(2);
    for (let s = 5; s <= 12; s++) wal.ack(s);
    await wal.flush();
    // The active segment stays even when fully acked.
    expect(await segFiles()).toEqual(['00000000000000000009.wal']);
    expect(wal.stats()).toMatchObject({ pendingRecords: 0, segments: 1, bytesOnDisk: 4 * 118 });
    await wal.close();
    const again = await openWal({ segmentSizeBytes: 512 });
    expect(await again.read()).toEqual([]);
    expect(await again.append(rec(1))).toBe(13);
    await again.close();
  });

  it('gives a record larger than a segment a segment of its own', async () => {
    const wal = await openWal({ segmentSizeBytes: 256 });
    await wal.append(rec(1, 50));
    await wal.append(rec(2, 1000));
    await wal.append(rec(3, 50));
    expect(await segFiles()).toHaveLength(3);
    expect((await stat(join(dir, '00000000000000000002.wal'))).size).toBe(1018);
    await wal.close();
    const again = await openWal({ segmentSizeBytes: 256, readChunkBytes: 64 });
    const got = await again.read();
    expect(got.map((r) => r.data.length)).toEqual([50, 1000, 50]);
    expect(got[1]!.data.equals(rec(2, 1000))).toBe(true);
    await again.close();
  });

  it('next() waits for an append and the async iterator ends on close', async () => {
    const wal = await openWal();
    const waiting = wal.next();
    await new Promise((r) => setTimeout(r, 20));
    await wal.append(Buffer.from('late'), Buffer.from('m'));
    const [r] = await waiting;
    expect(r!.data.toString()).toBe('late');
    expect(r!.meta.toString()).toBe('m');
    const seen: number[] = [];
    const it = (async () => {
      for await (const x of wal) {
        seen.push(x.sequence);
        wal.ack(x.sequence);
      }
    })();
    await wal.append(Buffer.from('a'));
    await wal.append(Buffer.from('b'));
    await new Promise((r) => setTimeout(r, 20));
    await wal.close();
    await it;
    expect(seen).toEqual([2, 3]);
  });

  it('truncates a torn tail on open and keeps appending after it', async () => {
    const wal = await openWal();
    for (let i = 0; i < 3; i++) await wal.append(rec(i));
    await wal.close();
    const [f] = await segFiles();
    await appendFile(join(dir, f!), Buffer.from([0, 0, 0, 200, 1, 2, 3, 4, 5]));
    const again = await openWal();
    expect(again.stats()).toMatchObject({ truncatedTailBytes: 9, pendingRecords: 3, nextSequence: 4 });
    expect(await again.append(rec(3))).toBe(4);
    expect((await again.read()).map((r) => r.sequence)).toEqual([1, 2, 3, 4]);
    await again.close();
  });

  it('skips and counts a corrupt record in the middle (resync to the next valid record)', async () => {
    const wal = await openWal({ segmentSizeBytes: 4096 });
    for (let i = 0; i < 6; i++) await wal.append(rec(i));
    await wal.close();
    const p = join(dir, (await segFiles())[0]!);
    const b = await readFile(p);
    b[118 * 2 + 40] ^= 0xff; // inside record 3's data
    b[118 * 4 + 1] ^= 0xff; // record 5's length
    await writeFile(p, b);
    const again = await openWal({ segmentSizeBytes: 4096 });
    const got = await again.read();
    expect(got.map((r) => r.sequence)).toEqual([1, 2, 4, 6]);
    expect(again.stats()).toMatchObject({ corruptRecordsSkipped: 2, pendingRecords: 4, truncatedTailBytes: 0 });
    for (const r of got) again.ack(r.sequence);
    expect(again.stats().pendingRecords).toBe(0);
    await again.close();
  });

  it('skips the rest of a sealed segment when nothing valid follows the corruption', async () => {
    const wal = await openWal({ segmentSizeBytes: 512 });
    for (let i = 0; i < 8; i++) await wal.append(rec(i));
    await wal.close();
    const p = join(dir, (await segFiles())[0]!);
    const b = await readFile(p);
    b[118 * 3 + 20] ^= 0x01; // last record of the first segment
    await writeFile(p, b);
    const again = await openWal({ segmentSizeBytes: 512 });
    expect((await again.read()).map((r) => r.sequence)).toEqual([1, 2, 3, 5, 6, 7, 8]);
    expect(again.stats().corruptRecordsSkipped).toBe(1);
    await again.close();
  });

  it('opens over garbage segments and a damaged ledger without refusing to start', async () => {
    await writeFile(join(dir, '00000000000000000001.wal'), Buffer.alloc(300, 0xab));
    await writeFile(join(dir, '00000000000000000009.wal'), Buffer.alloc(10, 0x00));
    await writeFile(join(dir, 'ledger.json'), '{not json');
    const wal = await openWal();
    expect(await wal.read()).toEqual([]);
    expect(await wal.append(rec(1))).toBe(9);
    expect((await wal.read()).map((r) => r.sequence)).toEqual([9]);
    expect(wal.stats().corruptRecordsSkipped).toBe(8);
    await wal.close();
  });

  it('drops an empty last segment left by an unfinished roll, whose name must not end the records before it', async () => {
    const wal = await openWal();
    for (let i = 1; i <= 3; i++) await wal.append(rec(i));
    const got = await wal.read();
    wal.ack(got[0]!.sequence);
    wal.ack(got[1]!.sequence);
    await wal.close(); // the ledger says 1-2 are acknowledged; 3 is not
    // The file a roll would have created before writing record 3 had it not been written already (a roll
    // whose directory fsync failed kept appending to the old segment, or one that crashed).
    await writeFile(join(dir, '00000000000000000003.wal'), Buffer.alloc(0));
    const again = await openWal();
    expect((await again.read()).map((r) => r.data.readUInt32BE(0))).toEqual([3]);
    expect(await segFiles()).toEqual(['00000000000000000001.wal']);
    expect(await again.append(rec(4))).toBe(4);
    await again.close();
  });

  it('passes over zero padding left at the end of a sealed segment without calling it corrupt', async () => {
    const wal = await openWal({ segmentSizeBytes: 512, directIo: false });
    for (let i = 1; i <= 8; i++) await wal.append(rec(i));
    await wal.close();
    const files = await segFiles();
    expect(files.length).toBeGreaterThan(1);
    // O_DIRECT pads a segment to whole blocks until it is sealed; a power cut can undo the cut.
    await appendFile(join(dir, files[0]!), Buffer.alloc(300));
    const lines: string[] = [];
    const again = await openWal({ segmentSizeBytes: 512, directIo: false, logger: new Logger('debug', {}, { write: (l) => void lines.push(l) }) });
    expect((await again.read()).map((r) => r.data.readUInt32BE(0))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(again.stats().corruptRecordsSkipped).toBe(0);
    expect(lines.some((l) => l.includes('skipped a corrupt record'))).toBe(false);
    expect(lines.some((l) => l.includes('passed over the padding'))).toBe(true);
    await again.close();
  });

  it('refuses a second open of the same directory and appends after close', async () => {
    const wal = await openWal();
    await expect(openWal()).rejects.toThrow(/already open/);
    await wal.close();
    await expect(wal.append(rec(1))).rejects.toBeInstanceOf(RetryableError);
  });

  it('fills the disk budget, rejects with RetryableError, and accepts again once acks free segments', async () => {
    const wal = await openWal({ segmentSizeBytes: 512, maxSizeBytes: 2048 });
    const seqs: number[] = [];
    let err: unknown;
    for (let i = 0; i < 100 && err === undefined; i++) {
      try {
        seqs.push(await wal.append(rec(i)));
      } catch (e) {
        err = e;
      }
    }
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message).toMatch(/WAL directory .* is full .*acknowledges/);
    expect(seqs.length).toBe(17); // 17 * 118 = 2006 bytes; one more would exceed 2048
    expect(wal.stats().fillRatio).toBeGreaterThan(0.97);
    // Reading without acking frees nothing.
    const recs = await wal.read(8);
    await wal.flush();
    await expect(wal.append(rec(0))).rejects.toBeInstanceOf(RetryableError);
    for (const r of recs) wal.ack(r.sequence);
    await wal.flush();
    expect(wal.stats().segments).toBe(3);
    expect(await wal.append(rec(200))).toBe(18);
    // Nothing unacknowledged was deleted.
    const rest = await wal.read();
    expect(rest.map((r) => r.sequence)).toEqual(Array.from({ length: 10 }, (_, i) => i + 9));
    await expect(wal.append(rec(1, 5000))).rejects.toBeInstanceOf(PermanentError);
    await wal.close();
  });

  it('a full budget whose active segment holds only acknowledged records takes appends again, after a restart too', async () => {
    // A segment larger than the budget (the somatic WAL had 64 MiB segments whatever its budget): the
    // active segment is never sealed by size, so only reclaiming it frees the budget.
    const fill = async (wal: WriteAheadLog): Promise<number> => {
      let n = 0;
      for (;;) {
        try {
          await wal.append(rec(n));
          n++;
        } catch (e) {
          expect(e).toBeInstanceOf(RetryableError);
          return n;
        }
      }
    };
    const drain = async (wal: WriteAheadLog): Promise<number> => {
      let n = 0;
      for (let recs = await wal.read(); recs.length > 0; recs = await wal.read()) for (const r of recs) n += Number(wal.ack(r.sequence));
      await wal.flush();
      return n;
    };
    let wal = await openWal({ segmentSizeBytes: 1 << 20, maxSizeBytes: 2048 });
    const first = await fill(wal);
    expect(first).toBe(17);
    expect(wal.stats().fillRatio).toBeGreaterThan(0.97);
    expect(await drain(wal)).toBe(first);
    // Delivered: nothing counts against the budget any more, though the active segment is still on disk.
    expect(wal.stats().bytesOnDisk).toBeGreaterThan(2000);
    expect(wal.stats().usedBytes).toBe(0);
    expect(wal.stats().fillRatio).toBe(0);
    // Everything is acknowledged: the next fill takes as much again.
    expect(await fill(wal)).toBe(first);
    expect(await drain(wal)).toBe(first);
    await wal.close();
    wal = await openWal({ segmentSizeBytes: 1 << 20, maxSizeBytes: 2048 });
    expect(await fill(wal)).toBe(first);
    // Nothing unacknowledged is reclaimed: the records just written are all still there.
    const recs = await wal.read(100);
    expect(recs.map((r) => r.data.readUInt32BE(0))).toEqual(Array.from({ length: first }, (_, i) => i));
    await wal.close();
    expect((await segFiles()).length).toBeLessThanOrEqual(2);
  });

  it('a delivered segment being deleted no longer counts against the budget while its unlink is under way', async () => {
    let release: () => void = () => {};
    let unlinking = 0;
    const held = new Promise<void>((r) => (release = r));
    const fileSystem = {
      ...nodeFileSystem,
      unlink: async (path: string) => {
        if (path.endsWith('.wal')) {
          unlinking++;
          await held;
        }
        return nodeFileSystem.unlink(path);
      },
    };
    const wal = await openWal({ segmentSizeBytes: 1 << 20, maxSizeBytes: 2048, fileSystem });
    let n = 0;
    // Fill the budget, deliver and acknowledge everything: the active segment holds only acknowledged records.
    for (;;) {
      try {
        await wal.append(rec(n));
        n++;
      } catch {
        break;
      }
    }
    expect(n).toBe(17);
    for (const r of await wal.read(100)) wal.ack(r.sequence);
    await wal.flush();
    // The next append rolls that segment so that it can be deleted; its deletion waits here.
    await wal.append(rec(n++));
    for (let i = 0; i < 500 && unlinking === 0; i++) await new Promise((r) => setTimeout(r, 2));
    expect(unlinking).toBe(1);
    // Meanwhile the budget holds what it held before: 16 more records of the same size.
    for (let i = 0; i < 15; i++) await wal.append(rec(n++));
    expect(wal.stats().usedBytes).toBeLessThanOrEqual(2048);
    release();
    await wal.close();
  });

  it('sizes segments from the budget by default (a sixteenth, 64 KiB to 64 MiB)', async () => {
    const { defaultSegmentSize } = await import('./wal.js');
    expect(defaultSegmentSize(1 << 20)).toBe(64 * 1024);
    expect(defaultSegmentSize(256 << 20)).toBe(16 << 20);
    expect(defaultSegmentSize(4096 * 2 ** 20)).toBe(64 * 2 ** 20);
  });

  for (const fsync of ['always', 'interval'] as FsyncPolicy[]) {
    it(`resolves appends while a steady stream keeps arriving (fsync ${fsync})`, async () => {
      const wal = await openWal({ segmentSizeBytes: 1 << 20, fsync, fsyncIntervalMs: 5 });
      let stop = false;
      let inflight = 0;
      const stream = (async () => {
        // Keep the write queue non-empty at every turn of the write loop.
        while (!stop) {
          for (let i = 0; i < 20 && inflight < 4000; i++) {
            inflight++;
            void wal
              .append(rec(1, 2000))
              .finally(() => inflight--)
              .catch(() => {});
          }
          await new Promise((r) => setImmediate(r));
        }
      })();
      await new Promise((r) => setTimeout(r, 50));
      const t0 = Date.now();
      await wal.append(rec(2));
      const latency = Date.now() - t0;
      stop = true;
      await stream;
      await wal.close();
      expect(latency).toBeLessThan(1000);
    });
  }

  it('interval mode: an append on an idle log syncs at once, not after a window', async () => {
    const wal = await openWal({ segmentSizeBytes: 1 << 20, fsync: 'interval', fsyncIntervalMs: 5000 });
    const t0 = performance.now();
    await wal.append(rec(1, 64));
    // Waiting out the window would take 5 s; an fdatasync here takes milliseconds (seconds at worst on a disk
    // other jobs keep busy, hence the wide window).
    expect(performance.now() - t0).toBeLessThan(2500);
    expect(wal.syncCount).toBe(1);
    await wal.close();
  });

  it('interval mode: a steady stream of appends shares at most one fdatasync per window', async () => {
    const wal = await openWal({ segmentSizeBytes: 1 << 22, fsync: 'interval', fsyncIntervalMs: 50 });
    const t0 = performance.now();
    let n = 0;
    // One append per event-loop turn for ~500 ms: a sync each would be hundreds.
    while (performance.now() - t0 < 500) {
      await Promise.race([wal.append(rec(n++, 64)), new Promise((r) => setImmediate(r))]);
    }
    await wal.append(rec(n++, 64));
    const elapsed = performance.now() - t0;
    expect(n).toBeGreaterThan(50);
    // One at the start (idle log), then at most one per 50 ms window, one more for the last append.
    expect(wal.syncCount).toBeLessThanOrEqual(Math.ceil(elapsed / 50) + 2);
    await wal.close();
  });

  // docs/durability.md: one fdatasync per window, or sooner once fsyncAfterBytes were written since the last
  // one started. Checked on every pair of consecutive fdatasyncs of a segment, timed where they start.
  for (const [name, afterBytes] of [
    ['the window alone', Infinity],
    ['the window or 64 KiB', 64 * 1024],
  ] as const) {
    it(`interval mode under closed-loop appenders: no fdatasync starts within a window of the last unless the bytes were written (${name})`, async () => {
      // With the byte threshold, a window long enough that syncs by bytes come inside it even on a slow disk.
      const windowMs = afterBytes === Infinity ? 20 : 200;
      const events: { at: number; bytes: number }[] = [];
      const fileSystem = {
        ...nodeFileSystem,
        open: async (path: string, flags: string | number) => {
          const fh = await nodeFileSystem.open(path, flags);
          if (!path.endsWith('.wal')) return fh;
          return Object.assign(Object.create(fh) as typeof fh, {
            writev: async (iov: Uint8Array[], pos?: number) => {
              const r = await fh.writev(iov, pos);
              events.push({ at: -1, bytes: r.bytesWritten });
              return r;
            },
            datasync: () => {
              events.push({ at: performance.now(), bytes: 0 });
              return fh.datasync();
            },
          });
        },
      };
      const wal = await openWal({
        segmentSizeBytes: 1 << 28,
        fsync: 'interval',
        fsyncIntervalMs: windowMs,
        fsyncAfterBytes: afterBytes,
        directIo: false,
        fileSystem,
      });
      // 8 appenders, each appending again once its last append resolved (the bench's closed loop).
      const end = performance.now() + 400;
      let appends = 0;
      await Promise.all(
        Array.from({ length: 8 }, async (_, c) => {
          while (performance.now() < end) await wal.append(rec(c * 100_000 + appends++, 20_000));
        }),
      );
      const syncs = wal.syncCount;
      // close() syncs once more whatever the window (the segment's last sync): not part of the stream.
      const seen = events.length;
      await wal.close();
      let last: number | undefined;
      let bytesSince = 0;
      let early = 0;
      let byBytes = 0;
      for (const e of events.slice(0, seen)) {
        if (e.at < 0) {
          bytesSince += e.bytes;
          continue;
        }
        if (last !== undefined && e.at - last < windowMs - 1) {
          if (bytesSince < afterBytes) early++;
          else byBytes++;
        }
        last = e.at;
        bytesSince = 0;
      }
      expect(appends).toBeGreaterThan(16);
      expect(syncs).toBeGreaterThan(2);
      expect(early).toBe(0);
      // With a byte threshold the syncs come sooner than the window under this load; without, never.
      if (afterBytes === Infinity) expect(byBytes).toBe(0);
      else expect(byBytes).toBeGreaterThan(0);
    });
  }

  it('interval mode: once fsyncAfterBytes were written a sync is due before the window ends', async () => {
    // A window long enough that a sync by bytes stays well inside it even on a disk other jobs keep busy.
    const wal = await openWal({ segmentSizeBytes: 1 << 22, fsync: 'interval', fsyncIntervalMs: 4000, fsyncAfterBytes: 64 * 1024 });
    await wal.append(rec(0, 64)); // an idle log syncs at once; the next window ends 4 s from here
    const t0 = performance.now();
    await Promise.all([wal.append(rec(1, 40_000)), wal.append(rec(2, 40_000))]); // 80 KB written: past 64 KiB
    expect(performance.now() - t0).toBeLessThan(2500);
    expect(wal.syncCount).toBe(2);
    // Below the threshold an append waits for the window that the last sync opened (it started after t0,
    // so the append resolves no sooner than t0 + 4 s, however long that sync took).
    await wal.append(rec(3, 64));
    expect(performance.now() - t0).toBeGreaterThan(3950);
    expect(wal.syncCount).toBe(3);
    await wal.close();
  });

  it('groups concurrent appends into few fsyncs in interval mode', async () => {
    const wal = await openWal({ segmentSizeBytes: 1 << 20, fsync: 'interval', fsyncIntervalMs: 5 });
    const t0 = Date.now();
    const seqs = await Promise.all(Array.from({ length: 2000 }, (_, i) => wal.append(rec(i, 64))));
    expect(new Set(seqs).size).toBe(2000);
    expect(Date.now() - t0).toBeLessThan(2000);
    await wal.close();
  });
});

describe('rolling a reclaimed active segment', () => {
  for (const directIo of [true, false]) {
    it(`syncs records written just before the roll, so the reader never sees one before its append resolved (${directIo ? 'O_DIRECT' : 'page cache'})`, async () => {
      // A segment larger than the budget: only the reclaim path (needRoll, set by an append while every
      // record written so far is acknowledged) seals it. A long window, so only a roll's own sync can
      // make the record written just before that roll durable.
      const wal = await openWal({ segmentSizeBytes: 1 << 20, maxSizeBytes: 2048, fsyncIntervalMs: 60_000, fsyncAfterBytes: Infinity, directIo });
      expect(wal.directIo).toBe(directIo && DIRECT_OK);
      expect(await wal.append(rec(1, 1000))).toBe(1);
      const [r1] = await wal.read();
      expect(wal.ack(r1!.sequence)).toBe(true);
      let aResolved = false;
      const pA = wal.append(rec(2, 500)).then((s) => ((aResolved = true), s));
      // Let the write loop start writing A (one microtask), then append B while A's write is in flight:
      // B only fits once the acknowledged active segment is reclaimed, so it asks for a roll.
      await Promise.resolve();
      await Promise.resolve();
      const pB = wal.append(rec(3, 1100));
      for (let i = 0; i < 200 && wal.stats().segments < 2; i++) await new Promise((r) => setTimeout(r, 5));
      expect(wal.stats().segments).toBe(2);
      // A is in the sealed segment now; the reader may see it only once its append resolved (invariant 3).
      const got = await wal.read();
      expect(got.map((r) => r.sequence)).toContain(2);
      expect(aResolved, 'the reader saw record 2 before its append resolved (never fsynced)').toBe(true);
      await wal.flush();
      expect(await pA).toBe(2);
      expect(await pB).toBe(3);
      await wal.close();
    });
  }
});

describe('WriteAheadLog with O_DIRECT segments', () => {
  it('writes through the aligned staging buffer (a record larger than it too), cuts the padding when it seals or closes', async () => {
    const wal = await openWal({ segmentSizeBytes: 64 * 1024, directIo: true });
    expect(wal.directIo).toBe(DIRECT_OK);
    const big = randomBytes(STAGING_BYTES + 12_345);
    const small = [rec(1, 333), rec(2, 70_000), big, rec(4, 4)];
    for (const d of small) await wal.append(d);
    // The active segment is padded to whole blocks while open.
    const files = await segFiles();
    const active = files.at(-1)!;
    if (DIRECT_OK) expect((await stat(join(dir, active))).size % DIRECT_ALIGN).toBe(0);
    const st = wal.stats();
    await wal.close();
    // Sealed and closed segments end on their last record.
    let total = 0;
    for (const f of await segFiles()) total += (await stat(join(dir, f))).size;
    expect(total).toBe(st.bytesOnDisk);
    const again = await openWal({ segmentSizeBytes: 64 * 1024, directIo: true });
    const got = await again.read(100, 64 << 20);
    expect(got.map((r) => r.data.equals(small[r.sequence - 1]!))).toEqual([true, true, true, true]);
    expect(again.stats()).toMatchObject({ truncatedTailBytes: 0, corruptRecordsSkipped: 0 });
    await again.close();
  });

  it('after a crash, cuts the zero padding quietly (not counted as a torn tail) and appends after the last record', async () => {
    const lines: string[] = [];
    const logger = new Logger('debug', {}, { write: (l) => void lines.push(l) });
    const fs = new FaultFileSystem();
    const wal = await openWal({ directIo: true, logger, fileSystem: fs });
    for (let i = 1; i <= 3; i++) await wal.append(rec(i, 50));
    // The process dies: nothing more reaches the disk (close cannot cut the padding).
    fs.crash();
    await wal.close().catch(() => {});
    const info = fs.activeSegment();
    // Three records of 18 + 50 bytes, padded to a block with O_DIRECT.
    expect((await stat(info.path)).size).toBe(DIRECT_OK ? DIRECT_ALIGN : 3 * 68);
    const again = await openWal({ directIo: true, logger });
    expect(again.stats()).toMatchObject({ truncatedTailBytes: 0, pendingRecords: 3, nextSequence: 4 });
    expect(lines.some((l) => l.includes('cut the padding after the last record'))).toBe(DIRECT_OK);
    expect(lines.some((l) => l.includes('torn or corrupt tail'))).toBe(false);
    expect(await again.append(rec(4, 50))).toBe(4);
    expect((await again.read()).map((r) => r.data.readUInt32BE(0))).toEqual([1, 2, 3, 4]);
    await again.close();
  });
});

describe('the directory lock', () => {
  it('takes over a LOCK written on another host (with a warning naming the holder) or unreadable, and writes its own', async () => {
    const lines: string[] = [];
    const logger = new Logger('info', {}, { write: (l) => void lines.push(l) });
    const lock = join(dir, 'LOCK');
    await writeFile(lock, '4242@some-other-host\n');
    const wal = await openWal({ logger });
    expect((await readFile(lock, 'utf8')).trim()).toBe(`${process.pid}@${hostname()}`);
    const warn = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.level === 'warn');
    expect(warn).toMatchObject({ msg: expect.stringMatching(/locked by a process on another host/), holder: '4242@some-other-host' });
    await wal.append(rec(1));
    await wal.close();
    // Closing releases the lock; a lock file that names nobody is taken over too.
    await expect(stat(lock)).rejects.toThrow();
    await writeFile(lock, 'not a holder\n');
    const again = await openWal();
    expect((await readFile(lock, 'utf8')).trim()).toBe(`${process.pid}@${hostname()}`);
    expect(again.stats().pendingRecords).toBe(1);
    await again.close();
  });
});
