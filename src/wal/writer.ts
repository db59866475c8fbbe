/**
 * The WAL's writer: takes appends, writes them in groups at the end of the active segment, makes them
 * durable under the fsync policy (group commit) and rolls to a new segment. Accepted appends wait in an
 * AppendQueue (append-queue.ts) until the write loop takes them.
 *
 * Invariants:
 *  1. Sequences are assigned in write order, contiguously (+1 per record), and never go backwards; a
 *     failed write gives its sequences back, and the file is cut back to where that write began.
 *  2. A record never spans segments; a segment is named by the sequence of its first record.
 *  3. `append` resolves only once its record is durable under the policy; readers are woken only then.
 *  4. Only the active segment is written, and only at its end. While a failed write could not be cut
 *     back, nothing more is written into the segment and it is not sealed (two records would share a
 *     sequence otherwise).
 *  5. Room is checked before a record is accepted (room-check.ts): a full budget or disk is met with a
 *     retryable refusal, not a half-written record. Unacknowledged records are never deleted to make room.
 *  6. At most one fdatasync runs at a time. Writes go on beside it, and their records wait for the next
 *     one (a sync covers only what was written before it started). When one fails, everything it covered
 *     and everything written beside it is refused and never synced in that file (the segment is sealed);
 *     rolls, closes and the cut-back of a failed write wait for the one under way.
 */
import { join } from 'node:path';
import { RetryableError, codeOf } from '../core/errors.js';
import { DIRECT_ALIGN, type DirectAppender, directOpenFlags } from './direct.js';
import { checkRoom, neverFits, noRoom, RETRY_AFTER_MS, ROOM_RECLAIM, ROOM_ROLL, type RoomInput } from './room-check.js';
import { isNoSpace, shortWriteError, type WalFile } from './file-system.js';
import { AppendQueue } from './append-queue.js';
import { RECORD_OVERHEAD, crc32, metaBytes, segmentFileName, type Meta } from './format.js';
import { fsyncDir, type AckLedger } from './ledger.js';
import type { Segment, WalContext } from './segment.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface WriterOptions {
  segmentSize: number;
  maxSize: number;
  policy: FsyncPolicy;
  intervalMs: number;
  syncAfterBytes: number;
}

/** Upper bound of records per writev, keeping one write's latency bounded. */
const MAX_BATCH_RECORDS = 4096;

export class SegmentWriter {
  private active!: Segment;
  private fh!: WalFile;

  /** Appends accepted but not yet written. */
  private readonly queue = new AppendQueue();
  // Written but not yet fsynced: contiguous sequences from uFirstSeq.
  private uResolve: ((seq: number) => void)[] = [];
  private uReject: ((err: Error) => void)[] = [];
  private uFirstSeq = 0;

  private pumping = false;
  private kickScheduled = false;
  /**
   * The fdatasync under way, if any. Writes go on beside it (their records wait for the next one); at most
   * one runs at a time, and a roll or a close waits for it.
   */
  private syncing: Promise<void> | undefined;
  /**
   * An fdatasync of the active segment failed: records written to it since are never synced there (the
   * kernel may have dropped their pages and a second fdatasync could wrongly succeed): they are refused,
   * and the segment is rolled.
   */
  private syncFailed: Error | undefined;
  private pumpPromise: Promise<void> = Promise.resolve();
  /** The last pass of the write loop threw (drain stops on it). */
  private pumpFailed = false;
  /** Passes of the write loop that failed in a row. */
  private failedPasses = 0;
  private syncDue = false;
  private forceSync = 0;
  private needRoll = false;
  /** Acknowledged segments must be deleted before the queued appends are written (they need the room). */
  private needReclaim = false;
  /**
   * Where a failed write began, when cutting the file back there failed too: its bytes may still follow,
   * so nothing is written, and no segment sealed, until a cut succeeds (see cutFailedWrite).
   */
  private uncutAt: number | undefined;
  /**
   * Bytes of the batch being written: taken off the queue before the write and counted on disk only after
   * it, so without this an append arriving meanwhile would find them in neither and overrun the budget.
   */
  private writingBytes = 0;
  private syncTimer: NodeJS.Timeout | undefined;
  /** performance.now() when the last fdatasync started (interval policy: the next may start a window later). */
  private lastSyncStart = -Infinity;
  /** Bytes written since the last fdatasync started (interval policy: a sync is due at syncAfterBytes). */
  private unsyncedBytes = 0;
  syncs = 0;

  /** What the room check reads (room-check.ts). */
  private readonly room: RoomInput;

  constructor(
    private readonly ctx: WalContext,
    private readonly opts: WriterOptions,
    private readonly ledger: AckLedger,
    private readonly direct: DirectAppender | undefined,
    /** Called when records became durable or a segment was sealed. */
    private readonly wakeReaders: () => void,
  ) {
    const { maxSize, segmentSize } = opts;
    this.room = { ctx, ledger, maxSize, segmentSize, direct: direct !== undefined, queued: () => this.queuedBytes, activeSize: () => this.active.size };
  }

  /** Opens the last segment of `ctx.segments` for appending (`create`: a new file). */
  async openActive(create: boolean): Promise<void> {
    const seg = this.ctx.segments.at(-1)!;
    this.fh = await this.openSegment(seg, create);
    if (create) await fsyncDir(this.ctx.fs, this.ctx.dir);
    this.active = seg;
  }

  get activeSegment(): Segment {
    return this.active;
  }

  /** Bytes of appends accepted but not yet written, the batch being written included (they count against the budget already). */
  get queuedBytes(): number {
    return this.queue.bytes + this.writingBytes;
  }

  private async openSegment(seg: Segment, create: boolean): Promise<WalFile> {
    const fh = await this.openSegmentFile(seg, create);
    if (!this.direct) return fh;
    try {
      await this.direct.attach(fh, seg.size);
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
    return fh;
  }

  /** Opens a segment file for writing, without moving the direct appender to it. */
  private openSegmentFile(seg: Segment, create: boolean): Promise<WalFile> {
    if (!this.direct) return this.ctx.fs.open(seg.path, create ? 'wx' : 'r+');
    return this.ctx.fs.open(seg.path, directOpenFlags(create));
  }

  /** Direct I/O: cuts the zero padding after the last record (a sealed or closed segment ends on its records). */
  private async cutPadding(): Promise<void> {
    if (this.direct && this.active.size % DIRECT_ALIGN !== 0) await this.fh.truncate(this.active.size);
  }

  // ---------------------------------------------------------------------------------------------------
  // Accepting

  /** See WriteAheadLog.append. */
  append(data: Uint8Array | readonly Uint8Array[], meta?: Meta): Promise<number> {
    const ctx = this.ctx;
    if (ctx.closed) return Promise.reject(new RetryableError(`WAL ${ctx.dir} is closed; the component is shutting down`, { code: 'GS_COMPONENT_STOPPED' }));
    const metaLen = metaBytes(meta);
    let dataLength = 0;
    if (data instanceof Uint8Array) dataLength = data.length;
    else for (const piece of data) dataLength += piece.length;
    const never = neverFits(this.room, meta, metaLen, dataLength);
    if (never) return Promise.reject(never);
    const size = RECORD_OVERHEAD + metaLen + dataLength;
    const refusal = this.makeRoom(size);
    if (refusal === 'measure') return ctx.space.measure().then(() => this.accept(data, meta, dataLength, size, this.makeRoom(size)));
    return this.accept(data, meta, dataLength, size, refusal);
  }

  private accept(
    data: Uint8Array | readonly Uint8Array[],
    meta: Meta | undefined,
    dataLength: number,
    size: number,
    refusal: Error | 'measure' | undefined,
  ): Promise<number> {
    if (refusal !== undefined) return Promise.reject(refusal === 'measure' ? noRoom(this.room, size) : refusal);
    if (this.ctx.closed)
      return Promise.reject(new RetryableError(`WAL ${this.ctx.dir} is closed; the component is shutting down`, { code: 'GS_COMPONENT_STOPPED' }));
    // Taken after the checks: a refused record costs no pass over its bytes.
    let dataCrc = 0;
    if (data instanceof Uint8Array) dataCrc = crc32(data);
    else for (const piece of data) dataCrc = crc32(piece, dataCrc);
    return new Promise<number>((resolve, reject) => {
      this.queue.push(data, dataLength, meta, dataCrc, size, resolve, reject);
      if (this.opts.policy === 'interval') this.scheduleSync();
      this.kick();
    });
  }

  /** The room check (room-check.ts); arranges the roll or reclaim it asks for. */
  private makeRoom(size: number): Error | 'measure' | undefined {
    const r = checkRoom(this.room, size);
    if (typeof r !== 'number') return r;
    if (r & ROOM_ROLL) this.needRoll = true;
    if (r & ROOM_RECLAIM) this.needReclaim = true;
    return undefined;
  }

  // ---------------------------------------------------------------------------------------------------
  // The write loop

  /**
   * Interval policy: the next fdatasync starts a window after the last one started, or at once when that
   * is already past (an idle log does not make a lone append wait out a window).
   */
  private scheduleSync(): void {
    if (this.syncTimer !== undefined || this.syncDue) return;
    const wait = this.lastSyncStart + this.opts.intervalMs - performance.now();
    if (wait <= 0) this.syncDue = true;
    else this.syncTimer = setTimeout(this.onSyncTimer, wait);
  }

  private readonly onSyncTimer = (): void => {
    this.syncTimer = undefined;
    // A timer counts from the event loop's cached clock, which lags behind a long tick: it can fire a few
    // ms before the window is over by performance.now(). Wait out the rest, or two syncs share a window.
    const rest = this.lastSyncStart + this.opts.intervalMs - performance.now();
    if (rest > 0) {
      this.syncTimer = setTimeout(this.onSyncTimer, rest);
      return;
    }
    this.syncDue = true;
    this.kick();
  };

  /** Starts the write loop after the current tick, so appends made in one tick share one writev. */
  private kick(): void {
    if (this.pumping || this.kickScheduled) return;
    this.kickScheduled = true;
    queueMicrotask(this.startPump);
  }

  private readonly startPump = (): void => {
    this.kickScheduled = false;
    if (this.pumping) return;
    this.pumping = true;
    this.pumpFailed = false;
    this.pumpPromise = this.pump().then(
      () => {
        this.pumping = false;
        this.failedPasses = 0;
        // A due sync that waits for the one under way is started when that one ends (startSync).
        if (!this.ctx.released && (this.queue.length > 0 || (this.syncDue && this.uResolve.length > 0 && this.syncing === undefined))) this.kick();
      },
      (err: unknown) => {
        this.pumping = false;
        this.pumpFailed = true;
        this.ctx.log.error('WAL write loop failed', { dir: this.ctx.dir, error: err });
        // A roll that failed (no room for a new file, an I/O error) leaves the active segment in use: one
        // more pass writes what waits there. Failing again, what waits is refused (retryably) rather than
        // left waiting for ever; the next append tries again.
        if (++this.failedPasses === 1 && !this.ctx.released) {
          this.kick();
          return;
        }
        this.failedPasses = 0;
        const e = new RetryableError(`WAL ${this.ctx.dir} cannot write: ${(err as Error).message}`, {
          cause: err,
          retryAfterMs: RETRY_AFTER_MS,
          code: codeOf(err) ?? 'GS_WAL_IO',
        });
        this.rejectQueued(e);
        this.rejectUnsynced(e);
      },
    );
  };

  private async pump(): Promise<void> {
    for (;;) {
      if (this.ctx.released) return;
      if (this.uncutAt !== undefined && !(await this.cutFailedWrite())) return;
      if (this.needRoll) {
        await this.roll();
        continue;
      }
      if (this.needReclaim) {
        // Queued appends were accepted on the room that deleting acknowledged segments frees.
        this.needReclaim = false;
        await this.ledger.housekeep();
        await this.ctx.space.measure();
        continue;
      }
      // A due sync starts before more writes, or a steady stream of appends would starve it. It is not
      // waited for: the next writes go on beside it, so that when it ends the bytes for the next one are
      // already written (a request that arrives during an fdatasync no longer waits for it, then for its
      // own write, then for the next fdatasync).
      if (this.uResolve.length > 0 && this.syncing === undefined && (this.syncDue || this.forceSync > 0 || this.opts.policy === 'always')) {
        this.syncDue = false;
        this.startSync();
        continue;
      }
      const queued = this.queue.length;
      if (queued > 0) {
        const firstSize = this.queue.recordSize(0);
        if (this.active.size > 0 && this.active.size + firstSize > this.opts.segmentSize) {
          await this.roll();
          continue;
        }
        // Take records while they fit the segment (an empty segment takes its first record whatever its size).
        let n = 1;
        let bytes = firstSize;
        const room = this.opts.segmentSize - this.active.size;
        while (n < queued && n < MAX_BATCH_RECORDS) {
          const s = this.queue.recordSize(n);
          if (bytes + s > room) break;
          bytes += s;
          n++;
        }
        await this.writeBatch(n, bytes);
        continue;
      }
      return;
    }
  }

  /**
   * After a write failed and so did cutting the file back to where it began: tries the cut again. Until it
   * succeeds nothing more is written into the segment, and it is not sealed, because the failed write's
   * records (given back their sequences) may still lie there: new records written over or after them, or
   * a restart reading a sealed segment to its end, would let two records share a sequence, and an
   * acknowledgement of one would then drop the other. Queued appends are refused (retryable) meanwhile;
   * each later append tries again. Returns whether writing may go on.
   */
  private async cutFailedWrite(): Promise<boolean> {
    const at = this.uncutAt!;
    try {
      await this.fh.truncate(at);
    } catch (err) {
      const e = new RetryableError(
        `WAL segment ${this.active.path} could not be cut back after a failed write (${(err as Error).message}); appends wait until it can: check the disk`,
        { cause: err, retryAfterMs: RETRY_AFTER_MS, code: 'GS_WAL_IO' },
      );
      this.rejectQueued(e);
      // Records written before the failure still get their fsync; it writes nothing new.
      if (this.uResolve.length > 0) await this.syncNow();
      return false;
    }
    this.uncutAt = undefined;
    this.ctx.log.info('WAL segment cut back after the failed write; appending again', { dir: this.ctx.dir, segment: this.active.path, at });
    return true;
  }

  /** Refuses every append not yet written, with `err`. */
  rejectQueued(err: Error): void {
    this.queue.rejectAll(err);
  }

  /** Refuses every append written but not yet synced, with `err`. */
  private rejectUnsynced(err: Error): void {
    const rejecters = this.uReject;
    this.uResolve = [];
    this.uReject = [];
    for (const r of rejecters) r(err);
  }

  private async writeBatch(n: number, bytes: number): Promise<void> {
    const startSeq = this.ctx.nextSeq;
    const { iov, resolvers, rejecters } = this.queue.take(n, bytes, startSeq);

    const ctx = this.ctx;
    const seg = this.active;
    const pos = seg.size;
    this.writingBytes += bytes;
    try {
      if (this.direct) await this.direct.write(iov, bytes, pos);
      else {
        const { bytesWritten } = await this.fh.writev(iov, pos);
        if (bytesWritten !== bytes) throw shortWriteError(bytesWritten, bytes);
      }
    } catch (err) {
      this.writingBytes -= bytes;
      // Cut the partial write so the segment ends on a record boundary, and give the sequences back. If
      // the cut fails, the next pass tries it again before anything else is written (cutFailedWrite).
      const cut = await this.fh.truncate(pos).then(
        () => true,
        () => false,
      );
      if (!cut) this.uncutAt = pos;
      const full = isNoSpace(err);
      const e = new RetryableError(
        full
          ? `WAL write to ${seg.path} found the volume full (${(err as Error).message}); space is freed as the reader acknowledges records: retry later`
          : `WAL write to ${seg.path} failed: ${(err as Error).message}`,
        { cause: err, retryAfterMs: RETRY_AFTER_MS, code: full ? 'GS_WAL_FULL' : 'GS_WAL_IO' },
      );
      for (const r of rejecters) r(e);
      ctx.log.error('WAL write failed', { dir: ctx.dir, segment: seg.path, error: err, cut_back: cut });
      // The volume had less room than counted (another writer took it): measure again, so the next
      // appends are refused before they are written, and reclaim what acknowledged records hold.
      if (full) {
        await ctx.space.measure();
        if (this.ledger.acknowledgedBytes() > 0) {
          if (this.ledger.allAcknowledged() && seg.size > 0) this.needRoll = true;
          this.needReclaim = true;
        }
      }
      return;
    }
    this.writingBytes -= bytes;
    ctx.nextSeq += n;
    seg.size += bytes;
    ctx.bytesOnDisk += bytes;
    ctx.space.wrote(bytes);
    // Written beside an fdatasync that failed: this file is not synced again (see syncFailed).
    if (this.syncFailed !== undefined) {
      for (const r of rejecters) r(this.syncFailed);
      return;
    }
    if (this.opts.policy === 'never') {
      seg.durable = seg.size;
      ctx.pending += n;
      for (let i = 0; i < n; i++) resolvers[i]!(startSeq + i);
      this.wakeReaders();
      return;
    }
    if (this.uResolve.length === 0) this.uFirstSeq = startSeq;
    for (let i = 0; i < n; i++) {
      this.uResolve.push(resolvers[i]!);
      this.uReject.push(rejecters[i]!);
    }
    // The window's sync may already have gone (it goes before writes); these records need the next one.
    if (this.opts.policy === 'interval') {
      this.unsyncedBytes += bytes;
      if (this.unsyncedBytes >= this.opts.syncAfterBytes) this.syncDue = true;
      else this.scheduleSync();
    }
  }

  /** Starts syncActive without waiting for it; the write loop runs again once it ends. */
  private startSync(): void {
    // syncActive settles its appends itself (a failed fdatasync refuses them); nothing awaits this promise
    // but a roll or a close, so it must not reject.
    const p = this.syncActive()
      .catch((err: unknown) => this.ctx.log.error('WAL fdatasync step failed', { dir: this.ctx.dir, error: err }))
      .finally(() => {
        if (this.syncing === p) this.syncing = undefined;
        if (!this.ctx.released && (this.queue.length > 0 || this.uResolve.length > 0 || this.needRoll)) this.kick();
      });
    this.syncing = p;
  }

  /** Waits for the fdatasync under way (if any), then syncs what was written since (if anything). */
  private async syncNow(): Promise<void> {
    while (this.syncing !== undefined) await this.syncing;
    await this.syncActive();
  }

  /** fdatasyncs the active segment and resolves every append written before the sync started. */
  private async syncActive(): Promise<void> {
    const seg = this.active;
    const upTo = seg.size;
    const resolvers = this.uResolve;
    const rejecters = this.uReject;
    const first = this.uFirstSeq;
    this.uResolve = [];
    this.uReject = [];
    if (upTo === seg.durable && resolvers.length === 0) return;
    // Any sync (a roll's too) serves a due one: a stale flag, or the window's timer, would let the next
    // append sync inside the window. Records written from here on schedule their own window.
    this.syncDue = false;
    if (this.syncTimer !== undefined) {
      clearTimeout(this.syncTimer);
      this.syncTimer = undefined;
    }
    this.unsyncedBytes = 0;
    this.lastSyncStart = performance.now();
    this.syncs++;
    try {
      await this.fh.datasync();
    } catch (err) {
      // After a failed fsync the kernel may have dropped the dirty pages: never trust this file again
      // for new writes. The records may or may not survive; the callers retry (at-least-once).
      const e = new RetryableError(`WAL fsync of ${seg.path} failed: ${(err as Error).message}`, {
        cause: err,
        retryAfterMs: RETRY_AFTER_MS,
        code: 'GS_WAL_IO',
      });
      for (const r of rejecters) r(e);
      // Records written beside it went to the same file: refused too, as is any write still under way.
      this.syncFailed = e;
      this.rejectUnsynced(e);
      this.ctx.log.error('WAL fsync failed; sealing the segment', { dir: this.ctx.dir, segment: seg.path, error: err });
      seg.durable = seg.size;
      this.needRoll = true;
      return;
    }
    seg.durable = upTo;
    this.ctx.pending += resolvers.length;
    for (let i = 0; i < resolvers.length; i++) resolvers[i]!(first + i);
    this.wakeReaders();
  }

  /** Seals the active segment and starts a new one named by the next sequence. */
  private async roll(): Promise<void> {
    const ctx = this.ctx;
    const old = this.active;
    while (this.syncing !== undefined) await this.syncing;
    // The padding goes before the sync, so that the sealed segment's size is durable with its records.
    await this.cutPadding().catch((err: unknown) => {
      ctx.log.warn('WAL could not cut the padding of a sealed segment; recovery skips it as a corrupt tail', { dir: ctx.dir, segment: old.path, error: err });
    });
    // needRoll after a failed fsync: that file is not synced again (its records were rejected). needRoll
    // from a reclaiming append: records written since it was set still need their sync, in this file.
    if (this.syncFailed === undefined && (!this.needRoll || this.uResolve.length > 0) && this.opts.policy !== 'never') await this.syncActive();
    if (ctx.released) return;
    this.needRoll = false;
    const firstSeq = ctx.nextSeq;
    const seg: Segment = { firstSeq, path: join(ctx.dir, segmentFileName(firstSeq)), size: 0, durable: 0, sealed: false };
    const fh = await this.openSegmentFile(seg, true);
    try {
      if (this.opts.policy !== 'never') await fsyncDir(ctx.fs, ctx.dir);
      // The appender moves to the new file only once the roll can no longer fail: until then the old
      // segment stays active, and the next write must go on into it.
      await this.direct?.attach(fh, 0);
    } catch (err) {
      await fh.close().catch(() => {});
      // Remove the unused file: left there, a retry would find it exists, and recovery would take it for
      // the last segment (ending the active one's records at its name, deleting them once that is acked).
      await ctx.fs.unlink(seg.path).catch((e: unknown) => {
        ctx.log.error('WAL could not remove the segment of a failed roll', { dir: ctx.dir, segment: seg.path, error: e });
      });
      throw err;
    }
    const oldFh = this.fh;
    old.sealed = true;
    old.durable = old.size;
    ctx.segments.push(seg);
    this.active = seg;
    this.fh = fh;
    this.syncFailed = undefined;
    await oldFh.close();
    this.wakeReaders();
    if (old.firstSeq <= this.ledger.ackedThrough) this.ledger.scheduleCheckpoint();
  }

  // ---------------------------------------------------------------------------------------------------
  // Draining and closing

  /**
   * Writes and syncs everything accepted. Stops (refusing what is left, retryably) when a pass of the
   * write loop fails or is blocked by a failed write it cannot cut back: a failing disk must not keep a
   * flush or close waiting for ever.
   */
  async drain(): Promise<void> {
    this.forceSync++;
    try {
      while (
        !this.ctx.released &&
        (this.queue.length > 0 ||
          this.uResolve.length > 0 ||
          this.pumping ||
          this.kickScheduled ||
          this.needRoll ||
          this.needReclaim ||
          this.syncing !== undefined)
      ) {
        if (!this.pumping) this.startPump();
        await this.pumpPromise;
        if (this.syncing !== undefined) {
          await this.syncing;
          continue;
        }
        // A failed pass is retried once by the loop itself (kickScheduled); then what waited is refused.
        if (this.kickScheduled) continue;
        if (this.pumpFailed || this.uncutAt !== undefined) {
          const e = new RetryableError(`WAL ${this.ctx.dir} could not write what it had accepted; check the disk`, {
            retryAfterMs: RETRY_AFTER_MS,
            code: 'GS_WAL_IO',
          });
          this.rejectQueued(e);
          this.rejectUnsynced(e);
          break;
        }
      }
      if (this.opts.policy === 'never' && !this.ctx.released) await this.fh.datasync();
    } finally {
      this.forceSync--;
    }
  }

  /** After drain(): cuts the padding and syncs the active segment. */
  async finish(): Promise<void> {
    while (this.syncing !== undefined) await this.syncing;
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    if (this.pumpFailed || this.uncutAt !== undefined) return;
    await this.cutPadding();
    if (this.opts.policy !== 'never') await this.fh.datasync();
  }

  /** Closes the active segment's handle (if it was opened). */
  async closeHandle(): Promise<void> {
    while (this.syncing !== undefined) await this.syncing;
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    await this.fh?.close().catch(() => {});
  }
}
