/**
 * Opening a WAL directory: what is on disk becomes the segment list, the ledger position and the next
 * sequence, whatever state a crash or a full disk left it in.
 *
 * Invariants:
 *  1. Opening never fails because of damaged data: a torn or corrupt tail of the last segment is cut at
 *     the last good record (`truncatedTail`); corrupt records further back are left for the reader to skip
 *     and count; an unreadable ledger replays everything still on disk (at-least-once).
 *  2. Sequences never go backwards across an open: the next one follows the last good record, or the
 *     ledger position when no record is left.
 *  3. Leftovers of unfinished work are removed, never read as data: the ledger's temp file, an empty last
 *     segment (a roll that crashed or failed after creating it: its name would end the previous segment's
 *     records), and whole segments a durable ledger already covers (a crash between ledger write and delete).
 */
import { join } from 'node:path';
import { DIRECT_ALIGN, DirectAppender, STAGING_BYTES, alignedBuffer, probeDirectIo } from './direct.js';
import { RECORD_OK, RECORD_OVERHEAD, checkRecord, parseSegmentFileName, readSeq, recordBytes, resync, segmentFileName } from './format.js';
import { isNoSpace } from './file-system.js';
import { readLedger } from './ledger.js';
import { isZero, type Segment, type WalContext } from './segment.js';

export interface Recovered {
  /** The ledger's position: every record up to it was acknowledged. */
  ackedThrough: number;
  /** The last good record's sequence (the ledger position when there is none). */
  lastSeq: number;
  /** The active segment does not exist yet: the writer creates it. */
  createActive: boolean;
  /** Set when segments are to be written with O_DIRECT (asked for, and the probe passed). */
  direct: DirectAppender | undefined;
}

/** Fills `ctx.segments` (the last one active, not sealed) from `ctx.dir`. */
export async function recover(ctx: WalContext, wantDirect: boolean): Promise<Recovered> {
  const { fs, dir, log } = ctx;
  await fs.mkdir(dir);
  let direct: DirectAppender | undefined;
  if (wantDirect) {
    const staging = alignedBuffer(STAGING_BYTES);
    // A full volume must not stop the WAL from opening (draining it is what frees room).
    const probe = await probeDirectIo(dir, staging, fs).catch((err: unknown) => {
      if (isNoSpace(err)) return 'no-space' as const;
      throw err;
    });
    if (probe === true) direct = new DirectAppender(staging);
    else if (probe === false) log.info('WAL: the file system refuses direct I/O (O_DIRECT); writing through the page cache', { dir });
    else log.warn('WAL: no room on the volume to probe direct I/O (O_DIRECT); writing through the page cache', { dir });
  }
  const ledger = await readLedger(fs, dir, log);
  const ackedThrough = ledger.ackedThrough;

  const firstSeqs: number[] = [];
  for (const n of await fs.readdir(dir)) {
    const f = parseSegmentFileName(n);
    if (f !== undefined) firstSeqs.push(f);
  }
  firstSeqs.sort((a, b) => a - b);
  const segs: Segment[] = firstSeqs.map((f) => ({ firstSeq: f, path: join(dir, segmentFileName(f)), size: 0, durable: 0, sealed: true }));
  while (segs.length > 1 && (await fs.size(segs.at(-1)!.path)) === 0) {
    const empty = segs.pop()!;
    log.info('WAL removed an empty last segment left by an unfinished roll', { dir, segment: empty.path });
    await fs.unlink(empty.path);
  }
  while (segs.length > 1 && segs[1]!.firstSeq - 1 <= ackedThrough) {
    await fs.unlink(segs.shift()!.path).catch(() => {});
  }
  for (const s of segs) s.size = s.durable = await fs.size(s.path);

  let lastSeq = ackedThrough;
  const last = segs.at(-1);
  let createActive = false;
  if (last) {
    last.sealed = false;
    lastSeq = Math.max(lastSeq, await recoverTail(ctx, last));
  } else {
    segs.push({ firstSeq: ackedThrough + 1, path: join(dir, segmentFileName(ackedThrough + 1)), size: 0, durable: 0, sealed: false });
    createActive = true;
  }
  ctx.segments = segs;
  ctx.nextSeq = lastSeq + 1;
  for (const s of segs) ctx.bytesOnDisk += s.size;
  ctx.pending = Math.max(0, lastSeq - Math.max(ackedThrough, segs[0]!.firstSeq - 1));
  return { ackedThrough, lastSeq, createActive, direct };
}

/**
 * Finds the end of the last good record of the last segment and truncates anything after it; corrupt
 * records followed by valid ones are left for the reader to skip and count. Returns the last sequence.
 */
async function recoverTail(ctx: WalContext, seg: Segment): Promise<number> {
  const { fs, dir, log } = ctx;
  const buf = await fs.readFile(seg.path);
  let pos = 0;
  let goodEnd = 0;
  let lastSeq = seg.firstSeq - 1;
  while (pos < buf.length) {
    if (checkRecord(buf, pos, buf.length, buf.length - pos) === RECORD_OK && readSeq(buf, pos + 8) > lastSeq) {
      lastSeq = readSeq(buf, pos + 8);
      pos += recordBytes(buf, pos);
      goodEnd = pos;
      continue;
    }
    const next = resync(buf, pos + 1, buf.length, lastSeq + 1, lastSeq + 1 + Math.ceil((buf.length - pos) / RECORD_OVERHEAD));
    if (next < 0) break;
    pos = next;
  }
  if (goodEnd < buf.length) {
    const cut = buf.length - goodEnd;
    // Zeros short of a block after the last record: direct I/O's padding, left by a crash or kill.
    if (cut < DIRECT_ALIGN && isZero(buf, goodEnd)) {
      log.debug('WAL cut the padding after the last record', { dir, segment: seg.path, offset: goodEnd, bytes: cut });
    } else {
      ctx.truncatedTail += cut;
      log.warn('WAL segment had a torn or corrupt tail; truncated it at the last good record', { dir, segment: seg.path, offset: goodEnd, bytes: cut });
    }
    await fs.truncate(seg.path, goodEnd);
    const fh = await fs.open(seg.path, 'r+');
    await fh.sync().finally(() => fh.close());
  }
  seg.size = seg.durable = goodEnd;
  return lastSeq;
}
