/**
 * Model-based property test: random sequences of append / read / ack / crash (optionally tearing the
 * unsynced tail) / clean reopen / corrupt-a-byte / flush against an in-memory model of what must hold.
 */
import { mkdtemp, open, readdir, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tmpTakesDirectIo } from '../../test/helpers/direct-io.js';
import { DIRECT_ALIGN } from './direct.js';
import { metaNumber, WriteAheadLog, type FsyncPolicy, type WalOptions } from './index.js';
import { FaultFileSystem } from './fault-file-system.js';

type Cmd =
  | { t: 'append'; sizes: number[]; wait: boolean; metaKind: number }
  | { t: 'read'; max: number }
  | { t: 'ack'; picks: number[] }
  | { t: 'crash'; tear: number; garbage: boolean }
  | { t: 'reopen' }
  | { t: 'corrupt'; pick: number; at: number; xor: number }
  | { t: 'flush' };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('append' as const),
      sizes: fc.array(fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max: 200 }) }, { weight: 1, arbitrary: fc.integer({ min: 500, max: 900 }) }), {
        minLength: 1,
        maxLength: 8,
      }),
      wait: fc.boolean(),
      metaKind: fc.integer({ min: 0, max: 2 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('read' as const), max: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('ack' as const), picks: fc.array(fc.nat(), { maxLength: 10 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('crash' as const), tear: fc.nat(), garbage: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reopen' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('corrupt' as const), pick: fc.nat(), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('flush' as const) }) },
);

interface ModelRec {
  id: number;
  data: Buffer;
  meta: Buffer;
  /** The append promise resolved: the record must never be lost unless corrupted. */
  resolved: boolean;
  acked: boolean;
  corrupted: boolean;
}

const TAG = 0x4753_5231; // "GSR1"
function makeData(id: number, size: number): Buffer {
  const b = Buffer.alloc(Math.max(8, size));
  for (let i = 8; i < b.length; i++) b[i] = (id * 31 + i * 7) & 0xff;
  b.writeUInt32BE(TAG, 0);
  b.writeUInt32BE(id, 4);
  return b;
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((n) => n.endsWith('.wal'))
    .sort()
    .map((n) => join(dir, n));
}

/** Whether the temp dir takes O_DIRECT; where it does not, a WAL asked for it writes through the page cache. */
const DIRECT_OK = await tmpTakesDirectIo();

async function runScenario(policy: FsyncPolicy, directIo: boolean, cmds: Cmd[]): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gs-wal-model-'));
  // O_DIRECT: segments of a few blocks, so that appends continue a partially written block (which direct
  // writes rewrite from the staged copy) as well as start segments; with the page cache, many tiny ones.
  const opts: WalOptions = {
    dir,
    segmentSizeBytes: directIo ? 12 * 1024 : 512,
    fsync: policy,
    fsyncIntervalMs: 1,
    checkpointIntervalMs: 1,
    readChunkBytes: 256,
    directIo,
  };
  const recs = new Map<number, ModelRec>();
  let nextId = 1;
  // Each open gets its own file system seam: a crash kills it (every later call fails), as a process dies.
  let fs = new FaultFileSystem();
  let wal = await WriteAheadLog.open({ ...opts, fileSystem: fs });
  // Per open: what was delivered (id -> sequence), for the at-most-once-per-open check.
  let delivered = new Map<number, number>();
  let lastSeq = 0;
  let inflight: { rec: ModelRec; p: Promise<number> }[] = [];
  // Accounting since this open: pending = base + resolved - acked - corrupt found.
  let base = wal.stats().pendingRecords;
  let corruptAtOpen = 0;
  let resolvedSinceOpen = 0;
  let ackedSinceOpen = 0;
  let corruptTotal = 0;
  let truncations = 0;
  /** After a clean close, nothing at or below this sequence may be delivered again. */
  let noRedeliveryThrough = 0;

  const settle = async (): Promise<void> => {
    const batch = inflight;
    inflight = [];
    const results = await Promise.allSettled(batch.map((x) => x.p));
    results.forEach((r, i) => {
      expect(r.status, 'an append failed without a crash').toBe('fulfilled');
      batch[i]!.rec.resolved = true;
      resolvedSinceOpen++;
    });
  };

  const checkAccounting = (): void => {
    const st = wal.stats();
    const corruptFound = st.corruptRecordsSkipped - corruptAtOpen;
    expect(st.pendingRecords).toBe(Math.max(0, base + resolvedSinceOpen - ackedSinceOpen - corruptFound));
  };

  const checkDisk = async (): Promise<void> => {
    const files = await segmentFiles(dir);
    let total = 0;
    let lastSize = 0;
    for (const f of files) total += lastSize = (await stat(f)).size;
    const st = wal.stats();
    expect(wal.directIo).toBe(directIo && DIRECT_OK);
    // Direct I/O pads the active (last) segment to a whole block; sealed segments end on their records.
    const padding = total - st.bytesOnDisk;
    if (wal.directIo && padding > 0) {
      expect(padding).toBeLessThan(DIRECT_ALIGN);
      expect(lastSize % DIRECT_ALIGN).toBe(0);
    } else expect(padding).toBe(0);
    expect(st.segments).toBe(files.length);
  };

  const onOpen = async (): Promise<void> => {
    const st = wal.stats();
    base = st.pendingRecords;
    corruptAtOpen = 0;
    truncations += st.truncatedTailBytes > 0 ? 1 : 0;
    resolvedSinceOpen = ackedSinceOpen = 0;
    delivered = new Map();
    lastSeq = 0;
    // Every resolved, unacknowledged, uncorrupted record must be among the pending ones.
    let mustSurvive = 0;
    for (const r of recs.values()) if (r.resolved && !r.acked && !r.corrupted) mustSurvive++;
    expect(base).toBeGreaterThanOrEqual(mustSurvive);
    await checkDisk();
  };

  const readSome = async (max: number): Promise<number> => {
    const got = await wal.read(max);
    for (const r of got) {
      expect(r.sequence).toBeGreaterThan(lastSeq);
      lastSeq = r.sequence;
      expect(r.sequence).toBeGreaterThan(noRedeliveryThrough);
      expect(r.data.readUInt32BE(0)).toBe(TAG);
      const id = r.data.readUInt32BE(4);
      const m = recs.get(id);
      expect(m, `unknown record id ${id}`).toBeDefined();
      expect(r.data.equals(m!.data)).toBe(true);
      expect(r.meta.equals(m!.meta)).toBe(true);
      expect(delivered.has(id), `record ${id} delivered twice in one open`).toBe(false);
      delivered.set(id, r.sequence);
    }
    return got.length;
  };

  const afterReopen = async (): Promise<void> => {
    fs = new FaultFileSystem();
    wal = await WriteAheadLog.open({ ...opts, fileSystem: fs });
    await onOpen();
  };

  try {
    await onOpen();
    for (const c of cmds) {
      if (c.t !== 'crash') await settle();
      switch (c.t) {
        case 'append': {
          const ps: Promise<number>[] = [];
          for (const size of c.sizes) {
            const id = nextId++;
            const meta = c.metaKind === 0 ? Buffer.alloc(0) : c.metaKind === 1 ? Buffer.from([0, 0, (id >> 8) & 0xff, id & 0xff]) : Buffer.from(`m${id}`);
            const rec: ModelRec = { id, data: makeData(id, size), meta, resolved: false, acked: false, corrupted: false };
            recs.set(id, rec);
            const p = wal.append(rec.data, c.metaKind === 1 ? id & 0xffff : c.metaKind === 2 ? meta : undefined);
            p.catch(() => {});
            inflight.push({ rec, p });
            ps.push(p);
          }
          if (c.wait) await settle();
          break;
        }
        case 'read':
          await readSome(c.max);
          break;
        case 'ack': {
          const open = [...delivered.entries()].filter(([id]) => !recs.get(id)!.acked);
          for (const pick of c.picks) {
            if (open.length === 0) break;
            const [[id, seq]] = open.splice(pick % open.length, 1) as [[number, number]];
            expect(wal.ack(seq)).toBe(true);
            recs.get(id)!.acked = true;
            ackedSinceOpen++;
          }
          break;
        }
        case 'crash': {
          // The process dies: nothing more reaches the disk; what was under way completes; the WAL's
          // close then fails every write and sync, refusing what had not resolved.
          fs.crash();
          await wal.close().catch(() => {});
          const info = fs.activeSegment();
          const results = await Promise.allSettled(inflight.map((x) => x.p));
          results.forEach((r, i) => {
            if (r.status === 'fulfilled') inflight[i]!.rec.resolved = true;
          });
          inflight = [];
          corruptTotal += wal.stats().corruptRecordsSkipped - corruptAtOpen;
          // A power cut loses any part of what was written but not fsynced, and may leave garbage.
          // (fsync 'never' resolves on the write: a crash of the process, not of the machine, keeps it.)
          if (policy !== 'never' && info.writtenBytes > info.durableBytes) {
            const keep = info.durableBytes + (c.tear % (info.writtenBytes - info.durableBytes + 1));
            await truncate(info.path, keep);
            if (c.garbage) {
              const fh = await open(info.path, 'a');
              await fh.write(Buffer.from([0, 0, 1, 0, 9, 9, 9, 9, 9, 9, 9]));
              await fh.close();
            }
          }
          noRedeliveryThrough = 0;
          await afterReopen();
          break;
        }
        case 'reopen': {
          await wal.close();
          corruptTotal += wal.stats().corruptRecordsSkipped - corruptAtOpen;
          const through = wal.stats().ackedThrough;
          // The ledger may only cover records that were acknowledged (or lost to corruption).
          for (const [id, seq] of delivered) {
            const r = recs.get(id)!;
            if (seq <= through) expect(r.acked || r.corrupted).toBe(true);
          }
          noRedeliveryThrough = through;
          await afterReopen();
          break;
        }
        case 'corrupt': {
          // Flip one byte inside one record still on disk; the model then allows that record to be lost.
          const candidates = [...recs.values()].filter((r) => !r.corrupted && (r.resolved || !r.acked));
          if (candidates.length === 0) break;
          const target = candidates[c.pick % candidates.length]!;
          for (const f of await segmentFiles(dir)) {
            // The WAL's checkpoint deletes a fully acknowledged segment in the background, so a listed
            // file may be gone by now; it is patched in place ('r+' never creates it again).
            let fh: Awaited<ReturnType<typeof open>>;
            try {
              fh = await open(f, 'r+');
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
              throw err;
            }
            try {
              const buf = await fh.readFile();
              const at = buf.indexOf(target.data);
              if (at < 0 || target.data.length < 8) continue;
              const start = at - 18 - target.meta.length;
              if (start < 0) continue;
              const pos = start + (c.at % (at + target.data.length - start));
              await fh.write(Buffer.from([buf[pos]! ^ c.xor]), 0, 1, pos);
              target.corrupted = true;
              break;
            } finally {
              await fh.close();
            }
          }
          break;
        }
        case 'flush':
          await wal.flush();
          await checkDisk();
          break;
      }
      if (inflight.length === 0) checkAccounting();
    }

    // Final: reopen from disk, drain everything, and check nothing durable was lost.
    await settle();
    await wal.close();
    corruptTotal += wal.stats().corruptRecordsSkipped - corruptAtOpen;
    noRedeliveryThrough = wal.stats().ackedThrough;
    await afterReopen();
    while ((await readSome(1000)) > 0);
    let lost = 0;
    for (const r of recs.values()) {
      if (!r.resolved || r.acked || delivered.has(r.id)) continue;
      expect(r.corrupted, `record ${r.id} was resolved, never acked or corrupted, and is lost`).toBe(true);
      lost++;
    }
    corruptTotal += wal.stats().corruptRecordsSkipped;
    if (lost > 0) expect(corruptTotal + truncations).toBeGreaterThan(0);
    for (const seq of delivered.values()) expect(wal.ack(seq)).toBe(true);
    ackedSinceOpen += delivered.size;
    checkAccounting();
    await wal.flush();
    expect(wal.stats()).toMatchObject({ pendingRecords: 0, segments: 1 });
    await checkDisk();
    await wal.close();
  } finally {
    await wal.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

describe('WriteAheadLog model', () => {
  // `checkDisk` asserts which mode ran (O_DIRECT where the temp dir takes it: ext4 here and in CI).
  for (const directIo of [true, false]) {
    for (const [policy, runs] of [
      ['interval', 50],
      ['always', 20],
      ['never', 30],
    ] as const) {
      it(`matches the model under random append/read/ack/crash/corrupt sequences (fsync ${policy}, ${directIo ? 'O_DIRECT' : 'page cache'})`, async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(cmdArb, { minLength: 5, maxLength: 40 }), (cmds) => runScenario(policy, directIo, cmds)),
          { numRuns: runs },
        );
      }, 30_000);
    }
  }

  it('meta numbers round-trip', () => {
    expect(metaNumber(Buffer.from([0xff, 0, 0, 1]))).toBe(0xff00_0001);
    expect(metaNumber(Buffer.alloc(0))).toBeUndefined();
  });
});
