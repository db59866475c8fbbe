/**
 * The disk budget while a write is under way: the batch being written has left the append queue but is
 * not on disk yet, and must still count, or appends arriving meanwhile overrun max_size_bytes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RetryableError } from '../core/errors.js';
import { WriteAheadLog } from './index.js';
import { FaultFileSystem } from './fault-file-system.js';
import { walRecord as rec } from '../../test/helpers/wal-record.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-wal-budget-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('WriteAheadLog disk budget', () => {
  it('counts the batch being written: appends arriving during the write cannot overrun max_size_bytes', async () => {
    const fs = new FaultFileSystem();
    const wal = await WriteAheadLog.open({ dir, segmentSizeBytes: 1 << 20, maxSizeBytes: 2048, directIo: false, fsync: 'never', fileSystem: fs });
    // Hold the first write of a record open until the test lets it go.
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    let writing = 0;
    fs.hook = (op, path, args, real) => {
      if (op !== 'writev' || !path.endsWith('.wal') || writing++ > 0) return undefined;
      return held.then(() => real(...args));
    };
    const first = wal.append(rec(0));
    for (let i = 0; i < 500 && writing === 0; i++) await new Promise((r) => setTimeout(r, 2));
    expect(writing).toBe(1);
    // 118 bytes a record on disk: 17 fit 2048, an 18th does not, whether or not the first has landed.
    const more: Promise<number>[] = [];
    for (let i = 1; i < 18; i++) more.push(wal.append(rec(i)));
    const settled = await Promise.allSettled(more.slice(16));
    expect(settled[0]!.status).toBe('rejected');
    expect((settled[0] as PromiseRejectedResult).reason).toBeInstanceOf(RetryableError);
    expect(String((settled[0] as PromiseRejectedResult).reason.message)).toMatch(/is full/);
    release();
    expect(await first).toBe(1);
    expect(await Promise.all(more.slice(0, 16))).toEqual(Array.from({ length: 16 }, (_, i) => i + 2));
    const st = wal.stats();
    expect(st.bytesOnDisk).toBe(17 * 118);
    expect(st.usedBytes).toBeLessThanOrEqual(2048);
    await wal.close();
  });
});
