/**
 * The write loop's overlap: the next writes go on beside the fdatasync under way (at most one runs at a
 * time), their appends waiting for the next one. Each case holds the segment's fdatasyncs (and, where
 * it says so, its writes) open until the test lets them go or fails them, with and without O_DIRECT.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { walRecord } from '../../test/helpers/wal-record.js';
import { RetryableError } from '../core/errors.js';
import { WriteAheadLog, type WalOptions } from './index.js';
import { nodeFileSystem, type WalFile } from './file-system.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-wal-overlap-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const rec = walRecord;

async function segFiles(): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
}

const eio = (op: string): Error => Object.assign(new Error(`EIO: i/o error, ${op}`), { code: 'EIO' });

/** Settles to 'resolved' or to the error, so a test can look at a refusal without an unhandled rejection. */
const outcome = (p: Promise<number>): Promise<unknown> =>
  p.then(
    () => 'resolved',
    (e: unknown) => e,
  );

interface Gate {
  release: (err?: Error) => void;
  released: boolean;
}

/**
 * A file system whose segment fdatasyncs (and, while `holdWrites` is set, segment writes) wait until the
 * test lets them go or fails them; every segment write and fdatasync is logged in order.
 */
function heldFileSystem() {
  const log: string[] = [];
  const syncs: Gate[] = [];
  const writes: Gate[] = [];
  const state = { holdWrites: false };
  const gate = async <T>(list: Gate[], real: () => Promise<T>): Promise<T> => {
    const err = await new Promise<Error | undefined>((resolve) => {
      const g: Gate = { released: false, release: (e) => ((g.released = true), resolve(e)) };
      list.push(g);
    });
    if (err) throw err;
    return real();
  };
  const fileSystem = {
    ...nodeFileSystem,
    open: async (path: string, flags: string | number): Promise<WalFile> => {
      const fh = await nodeFileSystem.open(path, flags);
      if (!path.endsWith('.wal')) return fh;
      const write = async <T>(real: () => Promise<T>): Promise<T> => {
        const r = await (state.holdWrites ? gate(writes, real) : real());
        log.push('write');
        return r;
      };
      return Object.assign(Object.create(fh) as WalFile, {
        writev: (iov: Uint8Array[], pos?: number) => write(() => fh.writev(iov, pos)),
        write: (buf: Uint8Array, off: number, len: number, pos: number) => write(() => fh.write(buf, off, len, pos)),
        datasync: async () => {
          log.push('sync');
          await gate(syncs, () => fh.datasync());
          log.push('synced');
        },
      });
    },
  };
  const until = async (what: () => boolean): Promise<void> => {
    for (let i = 0; i < 1000 && !what(); i++) await new Promise((r) => setTimeout(r, 2));
    expect(what()).toBe(true);
  };
  /** Closes `wal`, letting go each fdatasync its close makes (held like the others) until it is closed. */
  const close = async (wal: WriteAheadLog): Promise<void> => {
    let closed = false;
    const closing = wal.close().finally(() => (closed = true));
    while (!closed) {
      for (const g of syncs) if (!g.released) g.release();
      await new Promise((r) => setTimeout(r, 2));
    }
    await closing;
  };
  return { log, syncs, writes, state, fileSystem, until, close };
}

for (const directIo of [false, true]) {
  describe(`WAL writes beside the fdatasync under way (${directIo ? 'O_DIRECT' : 'page cache'})`, () => {
    const held = heldFileSystem;
    const openWal = (h: ReturnType<typeof heldFileSystem>, opts: Partial<WalOptions> = {}) =>
      WriteAheadLog.open({
        dir,
        segmentSizeBytes: 1 << 20,
        checkpointIntervalMs: 1,
        fsync: 'interval',
        fsyncIntervalMs: 1,
        directIo,
        fileSystem: h.fileSystem,
        ...opts,
      });

    it('an append arriving during an fdatasync is written beside it and resolves only after the next one', async () => {
      const h = held();
      const { log, syncs, until } = h;
      const wal = await openWal(h);
      const done: string[] = [];
      const a = wal.append(rec(1)).then(() => done.push('a'));
      await until(() => syncs.length === 1); // an idle log syncs at once
      const b = wal.append(rec(2)).then(() => done.push('b'));
      // B is written while A's fdatasync is under way, and waits (past its window too) for a sync of its own.
      await until(() => log.join(',') === 'write,sync,write');
      await new Promise((r) => setTimeout(r, 20));
      expect(done).toEqual([]);
      expect(syncs.length).toBe(1);
      syncs[0]!.release();
      await a;
      await until(() => syncs.length === 2);
      expect(done).toEqual(['a']);
      expect(log.join(',')).toBe('write,sync,write,synced,sync');
      syncs[1]!.release();
      await b;
      expect(done).toEqual(['a', 'b']);
      expect(wal.syncCount).toBe(2);
      await h.close(wal);
    });

    it('when an fdatasync fails, appends written beside it are refused too and the next go to a new segment', async () => {
      const h = held();
      const { log, syncs, until } = h;
      const wal = await openWal(h);
      const a = outcome(wal.append(rec(1)));
      await until(() => syncs.length === 1);
      const b = outcome(wal.append(rec(2)));
      await until(() => log.join(',') === 'write,sync,write');
      syncs[0]!.release(eio('fdatasync'));
      // The file may have lost B's pages with A's: a second fdatasync of it could succeed and lie.
      expect(await a).toBeInstanceOf(RetryableError);
      expect(await b).toBeInstanceOf(RetryableError);
      expect(log.filter((e) => e === 'sync').length).toBe(1);
      const c = wal.append(rec(3));
      await until(() => syncs.length === 2);
      syncs[1]!.release();
      await c;
      expect(await segFiles()).toHaveLength(2);
      await h.close(wal);
    });

    it('an fdatasync that fails while a write beside it is still under way: that write is refused when it ends, never synced in that file', async () => {
      const h = held();
      const { log, syncs, writes, state, until } = h;
      const wal = await openWal(h);
      const a = outcome(wal.append(rec(1)));
      await until(() => syncs.length === 1);
      state.holdWrites = true;
      const b = outcome(wal.append(rec(2)));
      await until(() => writes.length === 1);
      syncs[0]!.release(eio('fdatasync'));
      expect(await a).toBeInstanceOf(RetryableError);
      // B's write is still under way: it is not settled until it ends, and then it is refused.
      await new Promise((r) => setTimeout(r, 20));
      let bSettled = false;
      void b.then(() => (bSettled = true));
      await Promise.resolve();
      expect(bSettled).toBe(false);
      state.holdWrites = false;
      for (const g of writes) g.release();
      expect(await b).toBeInstanceOf(RetryableError);
      expect(log.filter((e) => e === 'sync').length).toBe(1);
      // The failed file is sealed; the next append goes to a new segment and is synced there.
      const c = wal.append(rec(3));
      await until(() => syncs.length === 2);
      syncs[1]!.release();
      expect(await c).toBeGreaterThan(0);
      expect(await segFiles()).toHaveLength(2);
      await h.close(wal);
    });

    it('a write that fails beside an fdatasync is cut back and refused; the fdatasync still acknowledges what it covered', async () => {
      const h = held();
      const { syncs, writes, state, until } = h;
      const wal = await openWal(h);
      const a = wal.append(rec(1));
      await until(() => syncs.length === 1);
      state.holdWrites = true;
      const b = outcome(wal.append(rec(2)));
      await until(() => writes.length === 1);
      state.holdWrites = false;
      writes[0]!.release(eio('write'));
      expect(await b).toBeInstanceOf(RetryableError);
      syncs[0]!.release();
      expect(await a).toBe(1);
      // B's sequence was given back: C takes it, in the same segment.
      const c = wal.append(rec(3));
      await until(() => syncs.length === 2);
      syncs[1]!.release();
      expect(await c).toBe(2);
      await h.close(wal);
      expect(await segFiles()).toHaveLength(1);
      const again = await WriteAheadLog.open({ dir, segmentSizeBytes: 1 << 20, directIo });
      const got = await again.read(10);
      expect(got.map((r) => [r.sequence, r.data.readUInt32BE(0)])).toEqual([
        [1, 1],
        [2, 3],
      ]);
      expect(again.stats()).toMatchObject({ truncatedTailBytes: 0, corruptRecordsSkipped: 0 });
      await again.close();
    });

    it('close waits for the fdatasync under way, then syncs what was written beside it: every record is there after reopen', async () => {
      const h = held();
      const { log, syncs, until } = h;
      const wal = await openWal(h);
      const a = wal.append(rec(1));
      await until(() => syncs.length === 1);
      const b = wal.append(rec(2));
      await until(() => log.join(',') === 'write,sync,write');
      let closed = false;
      const closing = wal.close().then(() => (closed = true));
      await new Promise((r) => setTimeout(r, 20));
      // Nothing else syncs, and close does not finish, while the first fdatasync is under way.
      expect(syncs.length).toBe(1);
      expect(closed).toBe(false);
      syncs[0]!.release();
      expect(await a).toBe(1);
      await until(() => syncs.length === 2);
      expect(closed).toBe(false);
      syncs[1]!.release();
      expect(await b).toBe(2);
      await until(() => syncs.length >= 3 || closed);
      for (const g of syncs.slice(2)) g.release();
      await closing;
      const again = await WriteAheadLog.open({ dir, segmentSizeBytes: 1 << 20, directIo });
      expect((await again.read(10)).map((r) => r.data.readUInt32BE(0))).toEqual([1, 2]);
      await again.close();
    });

    it('a roll waits for the fdatasync under way: the next segment is made only after it ended', async () => {
      const h = held();
      const { log, syncs, until } = h;
      // A fills most of a segment; B does not fit behind it.
      const wal = await openWal(h, { segmentSizeBytes: 64 * 1024 });
      const a = wal.append(rec(1, 40_000));
      await until(() => syncs.length === 1);
      const b = wal.append(rec(2, 40_000));
      await new Promise((r) => setTimeout(r, 20));
      // No cut, sync or new file beside A's fdatasync: the roll waits for it.
      expect(log.join(',')).toBe('write,sync');
      expect(await segFiles()).toHaveLength(1);
      syncs[0]!.release();
      expect(await a).toBe(1);
      await until(() => syncs.length === 2);
      expect(await segFiles()).toHaveLength(2);
      syncs[1]!.release();
      expect(await b).toBe(2);
      await h.close(wal);
    });
  });
}
