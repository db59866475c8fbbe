/**
 * The WAL's one reader: hands out durable records in sequence order and registers them with the ledger.
 *
 * Invariants:
 *  1. It reads a segment only up to its durable offset (the whole file once sealed): a record is seen
 *     only after its append resolved, and no later write changes bytes it reads.
 *  2. Each record is handed out at most once per open, in sequence order; records at or below the
 *     ledger position found at open are passed over.
 *  3. A corrupt record is skipped by resynchronising on the next record whose CRC matches and whose
 *     sequence is plausible; the records lost are counted exactly from the sequence gap.
 */
import { HEADER_BYTES, RECORD_NEED_MORE, RECORD_OK, RECORD_OVERHEAD, checkRecord, readSeq, recordBytes, resync } from './format.js';
import { DIRECT_ALIGN } from './direct.js';
import type { WalFile } from './file-system.js';
import type { AckLedger, ReaderPosition } from './ledger.js';
import { isZero, segmentAfter, type Segment, type WalContext } from './segment.js';

export interface WalRecord {
  readonly sequence: number;
  /** The appended bytes (a view into a read buffer shared with neighbouring records; copy to keep long). */
  readonly data: Buffer;
  /** The appended meta (empty when none was given). */
  readonly meta: Buffer;
}

const MiB = 1024 * 1024;

export class SegmentReader implements ReaderPosition {
  segment: Segment;
  private off = 0;
  private fh: WalFile | undefined;
  private fhSeg: Segment | undefined;
  private buf: Buffer | undefined;
  private bufStart = 0;
  private bufLen = 0;
  expectSeq: number;
  private chain: Promise<unknown> = Promise.resolve();
  private waiters: (() => void)[] = [];
  private durableGen = 0;

  constructor(
    private readonly ctx: WalContext,
    private readonly ledger: AckLedger,
    /** Records up to here were acknowledged before this open; the reader passes over them. */
    private readonly skipThrough: number,
    private readonly chunkBytes: number,
  ) {
    this.segment = ctx.segments[0]!;
    this.expectSeq = this.segment.firstSeq;
  }

  /** See WriteAheadLog.read. */
  read(maxRecords = 1024, maxBytes = 16 * MiB): Promise<WalRecord[]> {
    const p = this.chain.then(() => this.readInner(maxRecords, maxBytes));
    this.chain = p.catch(() => {});
    return p;
  }

  /** See WriteAheadLog.next. */
  async next(maxRecords = 1024, maxBytes: number | (() => number) = 16 * MiB): Promise<WalRecord[]> {
    for (;;) {
      const gen = this.durableGen;
      const recs = await this.read(maxRecords, typeof maxBytes === 'function' ? maxBytes() : maxBytes);
      if (recs.length > 0 || this.ctx.closed) return recs;
      if (gen !== this.durableGen) continue;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** New durable records (or a close): wakes every `next` waiting. */
  wake(): void {
    this.durableGen++;
    const w = this.waiters;
    if (w.length === 0) return;
    this.waiters = [];
    for (const r of w) r();
  }

  /**
   * Moves past a sealed segment read to its end, and closes the read handle left open on it, so that
   * the ledger can delete it and the volume gets its room back (an open handle keeps a deleted file's
   * blocks). Queued behind reads in progress.
   */
  leaveFinished(): Promise<void> {
    const p = this.chain.then(async () => {
      const seg = this.segment;
      if (seg.sealed && this.off >= seg.size) this.nextSegment();
      if (this.fh !== undefined && this.fhSeg !== this.segment) {
        const fh = this.fh;
        this.fh = this.fhSeg = undefined;
        await fh.close();
      }
    });
    this.chain = p.catch(() => {});
    return p;
  }

  /** Waits for reads in progress, then closes the read handle. */
  async close(): Promise<void> {
    await this.chain;
    await this.fh?.close().catch(() => {});
    this.fh = this.fhSeg = undefined;
  }

  private async readInner(maxRecords: number, maxBytes: number): Promise<WalRecord[]> {
    const out: WalRecord[] = [];
    let bytes = 0;
    while (out.length < maxRecords && bytes < maxBytes && !this.ctx.released) {
      const seg = this.segment;
      const limit = seg.sealed ? seg.size : seg.durable;
      if (this.off >= limit) {
        if (!seg.sealed || !this.nextSegment()) break;
        continue;
      }
      const room = limit - this.off;
      let r = RECORD_NEED_MORE;
      if (this.buf !== undefined && this.off >= this.bufStart && this.off < this.bufStart + this.bufLen) {
        r = checkRecord(this.buf, this.off - this.bufStart, this.bufLen, room);
      }
      if (r === RECORD_NEED_MORE) {
        await this.load(seg, this.off, limit, HEADER_BYTES);
        r = checkRecord(this.buf!, 0, this.bufLen, room);
        if (r === RECORD_NEED_MORE && this.bufLen >= HEADER_BYTES) {
          await this.load(seg, this.off, limit, HEADER_BYTES + this.buf!.readUInt32BE(0));
          r = checkRecord(this.buf!, 0, this.bufLen, room);
        }
      }
      const b = this.buf!;
      const o = this.off - this.bufStart;
      const seq = r === RECORD_OK ? readSeq(b, o + 8) : 0;
      if (r !== RECORD_OK || seq < this.expectSeq) {
        await this.resync(seg, limit);
        continue;
      }
      if (seq > this.expectSeq) this.countGap(seq, seg);
      this.expectSeq = seq + 1;
      const total = recordBytes(b, o);
      this.off += total;
      if (seq <= this.skipThrough) continue;
      const metaEnd = o + RECORD_OVERHEAD + b.readUInt16BE(o + HEADER_BYTES);
      out.push({ sequence: seq, meta: b.subarray(o + RECORD_OVERHEAD, metaEnd), data: b.subarray(metaEnd, o + total) });
      this.ledger.delivered(seq);
      bytes += total;
      // Leave a finished sealed segment at once, so acks can delete it before the next read.
      if (seg.sealed && this.off >= seg.size) this.nextSegment();
    }
    return out;
  }

  /** Moves the reader from its finished sealed segment to the next one; false if there is none. */
  private nextSegment(): boolean {
    const seg = this.segment;
    const next = segmentAfter(this.ctx.segments, seg);
    if (!next) return false;
    this.countGap(next.firstSeq, seg);
    this.expectSeq = Math.max(this.expectSeq, next.firstSeq);
    this.segment = next;
    this.off = 0;
    this.buf = undefined;
    return true;
  }

  /** Loads [from, limit) of `seg` into a fresh buffer: a chunk, or at least `minBytes`. */
  private async load(seg: Segment, from: number, limit: number, minBytes: number): Promise<void> {
    let fh = this.fh;
    if (fh === undefined || this.fhSeg !== seg) {
      const old = fh;
      this.fh = this.fhSeg = undefined;
      await old?.close();
      fh = await this.ctx.fs.open(seg.path, 'r');
      this.fh = fh;
      this.fhSeg = seg;
    }
    const want = Math.min(limit - from, Math.max(this.chunkBytes, minBytes));
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await fh.read(buf, got, want - got, from + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.buf = buf;
    this.bufStart = from;
    this.bufLen = got;
  }

  /** Skips a corrupt record: scans forward to the next valid record of this segment, else its end. */
  private async resync(seg: Segment, limit: number): Promise<void> {
    const from = this.off;
    await this.load(seg, from, limit, limit - from);
    const b = this.buf!;
    const log = this.ctx.log;
    // O_DIRECT padding left on a sealed segment: its cut at the roll was not synced before a power cut.
    if (seg.sealed && limit - from < DIRECT_ALIGN && isZero(b.subarray(0, this.bufLen), 0)) {
      this.off = limit;
      log.debug('WAL passed over the padding at the end of a sealed segment', { dir: this.ctx.dir, segment: seg.path, offset: from });
      return;
    }
    const maxSeq = this.expectSeq + Math.ceil(this.bufLen / RECORD_OVERHEAD) + 1;
    const i = resync(b, 1, this.bufLen, this.expectSeq, maxSeq);
    // Without a next record in a sealed segment the loss is counted from the next segment's name; in the
    // active segment the durable end is a record boundary, and the loss is counted when the next arrives.
    this.off = i < 0 ? limit : from + i;
    log.warn('WAL skipped a corrupt record', { dir: this.ctx.dir, segment: seg.path, offset: from, resumedAt: this.off });
  }

  private countGap(nextSeq: number, seg: Segment): void {
    const lost = nextSeq - Math.max(this.expectSeq, this.skipThrough + 1);
    if (lost <= 0) return;
    this.ctx.corrupt += lost;
    this.ctx.pending = Math.max(0, this.ctx.pending - lost);
    this.ctx.log.warn('WAL records lost to corruption were skipped', {
      dir: this.ctx.dir,
      segment: seg.path,
      firstLost: Math.max(this.expectSeq, this.skipThrough + 1),
      count: lost,
    });
  }
}
