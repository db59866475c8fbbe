/**
 * A WAL on a small volume (issue 17, item 1): it refuses retryably before the volume is full, recovers by
 * itself once records are acknowledged (deleting acknowledged segments, the active one by rolling), leaves
 * nothing half-written when a write does meet ENOSPC, and takes appends again as soon as there is room,
 * with no reopen. On a real 20 MiB tmpfs where it can be mounted (root, CI), else on the file-system seam
 * emulating one (printed).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RetryableError } from '../core/errors.js';
import { smallVolume, type SmallVolume } from '../../test/helpers/small-volume.js';
import { WriteAheadLog, type WalOptions } from './index.js';

const MiB = 1024 * 1024;
const RECORD = 36 * 1024;
let vol: SmallVolume;
let dir: string;

beforeEach(async () => {
  vol = await smallVolume(20, 'wal.enospc');
  dir = join(vol.dir, 'wal');
});
afterEach(async () => {
  await vol.dispose();
});

const record = (id: number, size = RECORD): Buffer => {
  const b = Buffer.alloc(size, id & 0xff);
  b.writeUInt32BE(id, 0);
  return b;
};

function open(opts: Partial<WalOptions> = {}): Promise<WriteAheadLog> {
  // A budget far above the volume: only the volume can refuse.
  return WriteAheadLog.open({ dir, maxSizeBytes: 1 << 30, fileSystem: vol.fileSystem, checkpointIntervalMs: 5, ...opts });
}

/** Appends records from `firstId`, 16 at a time, until one is refused; returns the ids accepted and the refusal. */
async function fill(wal: WriteAheadLog, firstId: number): Promise<{ ids: number[]; refusal: unknown }> {
  const ids: number[] = [];
  for (let id = firstId; ; id += 16) {
    const wave = Array.from({ length: 16 }, (_, i) => id + i);
    const results = await Promise.allSettled(wave.map((i) => wal.append(record(i))));
    results.forEach((r, i) => r.status === 'fulfilled' && ids.push(wave[i]!));
    const refused = results.find((r) => r.status === 'rejected');
    if (refused) return { ids, refusal: (refused as PromiseRejectedResult).reason };
  }
}

/** Reads and acknowledges everything; returns the ids read, in order. */
async function drain(wal: WriteAheadLog): Promise<number[]> {
  const ids: number[] = [];
  for (let recs = await wal.read(64, 8 * MiB); recs.length > 0; recs = await wal.read(64, 8 * MiB)) {
    for (const r of recs) {
      ids.push(r.data.readUInt32BE(0));
      expect(r.data.equals(record(r.data.readUInt32BE(0), r.data.length))).toBe(true);
      expect(wal.ack(r.sequence)).toBe(true);
    }
  }
  await wal.flush();
  return ids;
}

async function strayFiles(): Promise<string[]> {
  return (await readdir(dir)).filter((n) => !n.endsWith('.wal') && n !== 'ledger.json' && n !== 'LOCK');
}

describe('WAL on a full volume', () => {
  for (const segmentSizeBytes of [undefined, 64 * MiB]) {
    const segments = segmentSizeBytes === undefined ? 'default segments (sized from the volume)' : '64 MiB segments (larger than the volume)';
    it(`refuses retryably before the volume is full, and once everything is acknowledged takes as much again with no reopen (${segments})`, async () => {
      const wal = await open({ segmentSizeBytes });
      let next = 1;
      let firstFill = 0;
      for (let round = 0; round < 3; round++) {
        const { ids, refusal } = await fill(wal, next);
        expect(refusal).toBeInstanceOf(RetryableError);
        expect((refusal as RetryableError).retryAfterMs).toBeGreaterThan(0);
        expect((refusal as Error).message).toMatch(/volume is nearly full/);
        // Most of the volume was used, and it was refused with room to spare: never full.
        expect(ids.length * RECORD).toBeGreaterThan(15 * MiB);
        expect(await vol.freeBytes()).toBeGreaterThan(0);
        expect(wal.stats().fillRatio).toBeGreaterThan(0.95);
        if (round === 0) firstFill = ids.length;
        else expect(ids.length).toBeGreaterThanOrEqual(firstFill - 2);
        expect(await drain(wal)).toEqual(ids);
        expect(wal.stats().usedBytes).toBe(0);
        next += ids.length;
        // Everything delivered: a 4 MiB record fits at once.
        await wal.append(record(next, 4 * MiB));
        expect(await drain(wal)).toEqual([next]);
        next++;
      }
      expect(await strayFiles()).toEqual([]);
      await wal.close();
    });
  }

  it('after a restart on a full volume, delivers the backlog and then takes appends again', async () => {
    let wal = await open({ segmentSizeBytes: 64 * MiB });
    const { ids } = await fill(wal, 1);
    await wal.close();
    wal = await open({ segmentSizeBytes: 64 * MiB });
    expect(await drain(wal)).toEqual(ids);
    await wal.append(record(9999, 4 * MiB));
    expect(await drain(wal)).toEqual([9999]);
    await wal.close();
  });

  it('a write that meets ENOSPC (another writer took the room) is cut back and refused, no temp file stays, and appends resume once there is room', async () => {
    const wal = await open({ fsync: 'always' });
    for (let id = 1; id <= 10; id++) await wal.append(record(id));
    const recs = await wal.read(5, 8 * MiB);
    // Another writer takes all but a little of the volume behind the WAL's back.
    const release = await vol.occupy((await vol.freeBytes()) - 8 * 1024);
    const err = await wal.append(record(11, 2 * MiB)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message, String(err)).toMatch(/volume (is nearly full|full)/);
    // Nothing half-written: the segments hold exactly the records (direct I/O pads the last block).
    let onDisk = 0;
    for (const f of (await readdir(dir)).filter((n) => n.endsWith('.wal'))) onDisk += (await stat(join(dir, f))).size;
    expect(onDisk - wal.stats().bytesOnDisk).toBeGreaterThanOrEqual(0);
    expect(onDisk - wal.stats().bytesOnDisk).toBeLessThan(4096);
    // Acknowledging writes the ledger: with no room it fails and leaves no ledger.json.tmp behind.
    for (const r of recs) wal.ack(r.sequence);
    await wal.flush();
    expect(await strayFiles()).toEqual([]);
    await release();
    // Room again: appends resume (the WAL looks at the volume again within a second), no reopen.
    const deadline = Date.now() + 5000;
    let seq: number | undefined;
    while (seq === undefined && Date.now() < deadline) {
      seq = await wal.append(record(11, 2 * MiB)).catch(async () => {
        await new Promise((r) => setTimeout(r, 100));
        return undefined;
      });
    }
    expect(seq).toBe(11);
    const rest = await drain(wal);
    expect(rest).toEqual([6, 7, 8, 9, 10, 11]);
    expect(await strayFiles()).toEqual([]);
    await wal.close();
  });
});
