/**
 * A segmented write-ahead log of byte records with group commit, one acknowledging reader and recovery.
 *
 * Invariants (the rest of the file keeps these true; tests check them):
 *  1. Sequences are assigned in write order, contiguously (+1 per record) for the life of the directory;
 *     they never go backwards across reopen (floor: the ledger's acked position). A missing sequence
 *     between two readable records therefore means exactly that many records were lost to corruption.
 *  2. A record never spans segments. A segment is named by the sequence of its first record, so a sealed
 *     segment's last sequence is the next segment's first minus one, without reading it.
 *  3. `append` resolves only after its record is on disk under the fsync policy; the reader never sees a
 *     record before that point (it reads up to the active segment's durable offset).
 *  4. Only the last (active) segment is ever written, and only at its end. Sealed segments are immutable
 *     until deleted whole.
 *  5. A segment is deleted only after the ledger that marks all its records acknowledged is durable;
 *     unacknowledged records are never deleted, not even to make room (appends are refused instead).
 *  6. Records are delivered in sequence order, each at most once per open; after reopen every record
 *     past the ledger position is delivered again (at-least-once).
 *  7. Opening never fails because of damaged data: a torn/corrupt tail of the last segment is truncated,
 *     corrupt records elsewhere are skipped by resynchronising on the next valid record, and counted.
 */
import { open, readdir, readFile, stat, truncate, unlink, mkdir, type FileHandle } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { PermanentError, RetryableError } from '../core/errors.js';
import { silentLogger, type Logger } from '../telemetry/logger.js';
import {
  HEADER_BYTES,
  MAX_META_BYTES,
  MAX_PAYLOAD_BYTES,
  META_LEN_BYTES,
  RECORD_NEED_MORE,
  RECORD_OK,
  RECORD_OVERHEAD,
  checkRecord,
  crc32,
  encodeHead,
  metaBytes,
  parseSegmentFileName,
  readSeq,
  recordBytes,
  resync,
  segmentFileName,
  type Meta,
} from './format.js';
import { DIRECT_ALIGN, DirectAppender, STAGING_BYTES, alignedBuffer, directOpenFlags, probeDirectIo } from './direct.js';
import { fsyncDir, readLedger, writeLedger } from './ledger.js';
import { lockDirectory } from './lock.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface WalOptions {
  /** Directory holding the segments and the ledger; created if missing. One open WAL per directory. */
  dir: string;
  /**
   * Maximum size of one segment file (default: a sixteenth of the disk budget, between 64 KiB and 64 MiB,
   * since space is freed a whole segment at a time). A larger record gets a segment of its own.
   */
  segmentSizeBytes?: number;
  /** Disk budget for all segments (default 1 GiB). When reached, appends reject with RetryableError. */
  maxSizeBytes?: number;
  /**
   * 'always': fdatasync each write group; 'interval' (default): at most one fdatasync per window, shared by
   * every append written meanwhile, or sooner once fsyncAfterBytes were written (an append on an idle log
   * syncs at once; under load it waits at most one window); 'never'.
   */
  fsync?: FsyncPolicy;
  /** Group-commit window for fsync 'interval' (default 10 ms). */
  fsyncIntervalMs?: number;
  /**
   * fsync 'interval' also syncs as soon as this many bytes were written since the last sync started
   * (default 1 MiB; Infinity: the window only), as PostgreSQL's wal_writer_flush_after beside
   * wal_writer_delay. Under heavy appends the window alone would hold every writer for up to a window
   * whatever the disk could do; data never waits longer than the window either way.
   */
  fsyncAfterBytes?: number;
  /** How often acknowledgements are checkpointed to the ledger and freed segments deleted (default 100 ms). */
  checkpointIntervalMs?: number;
  /** Bytes the reader loads per disk read (default 1 MiB; a bigger record is loaded whole). */
  readChunkBytes?: number;
  /**
   * Write segments with O_DIRECT from an aligned staging buffer (default true; see direct.ts): the page
   * cache's copy of every byte was the WAL's bound on the benchmark VM. Falls back to buffered writes,
   * with an info log, where the file system refuses direct I/O.
   */
  directIo?: boolean;
  logger?: Logger;
}

export interface WalRecord {
  readonly sequence: number;
  /** The appended bytes (a view into a read buffer shared with neighbouring records; copy to keep long). */
  readonly data: Buffer;
  /** The appended meta (empty when none was given). */
  readonly meta: Buffer;
}

export interface WalStats {
  /** Bytes of all segment files (written, including not yet fsynced). */
  bytesOnDisk: number;
  /** Bytes accepted by `append` but not yet written. */
  queuedBytes: number;
  maxSizeBytes: number;
  /**
   * What counts against maxSizeBytes: bytesOnDisk + queuedBytes, less the bytes of leading segments whose
   * records are all acknowledged (deleted once sealed and checkpointed).
   */
  usedBytes: number;
  /** usedBytes / maxSizeBytes. */
  fillRatio: number;
  /** Durable records not yet acknowledged (delivered or not). */
  pendingRecords: number;
  /** Records lost to corruption and skipped (counted from sequence gaps). */
  corruptRecordsSkipped: number;
  /** Bytes cut from a torn or corrupt tail of the last segment when opening. */
  truncatedTailBytes: number;
  segments: number;
  /** Sequence the next append will get. */
  nextSequence: number;
  /** Every record up to here is acknowledged. */
  ackedThrough: number;
}

/** What `crashForTesting` leaves behind, so a test can also tear the unsynced tail like a power cut. */
export interface CrashInfo {
  activeSegmentPath: string;
  durableBytes: number;
  writtenBytes: number;
}

interface Segment {
  readonly firstSeq: number;
  readonly path: string;
  /** Bytes written. */
  size: number;
  /** Bytes known durable (== size once sealed). */
  durable: number;
  sealed: boolean;
}

const MiB = 1024 * 1024;
const DEFAULTS = {
  maxSizeBytes: 1024 * MiB,
  fsync: 'interval' as FsyncPolicy,
  fsyncIntervalMs: 10,
  fsyncAfterBytes: MiB,
  checkpointIntervalMs: 100,
  readChunkBytes: MiB,
};
/** Segments are a small part of the budget (space is freed a whole segment at a time), 64 KiB to 64 MiB. */
export function defaultSegmentSize(maxSizeBytes: number): number {
  return Math.min(64 * MiB, Math.max(64 * 1024, Math.floor(maxSizeBytes / 16)));
}
/** Upper bound of records per writev, keeping one write's latency bounded. */
const MAX_BATCH_RECORDS = 4096;
const openDirs = new Set<string>();

function positiveInt(name: string, v: number | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (!(Number.isSafeInteger(v) || v === Infinity) || v < min) {
    throw new PermanentError(`WAL option ${name} must be an integer >= ${min}, got ${String(v)}`);
  }
  return v;
}

export class WriteAheadLog {
  readonly dir: string;
  private readonly segmentSize: number;
  private readonly maxSize: number;
  private readonly policy: FsyncPolicy;
  private readonly intervalMs: number;
  private readonly syncAfterBytes: number;
  private readonly checkpointMs: number;
  private readonly chunkBytes: number;
  private readonly log: Logger;
  /** Set when segments are written with O_DIRECT (directIo asked for and the probe passed). */
  private direct: DirectAppender | undefined;
  private readonly wantDirect: boolean;

  private segments: Segment[] = [];
  private active!: Segment;
  private activeFh!: FileHandle;
  private nextSeq = 1;

  // Appends not yet written (parallel arrays from qHead, to avoid an object per record).
  private qData: (Uint8Array | readonly Uint8Array[])[] = [];
  private qLen: number[] = [];
  private qMeta: (Meta | undefined)[] = [];
  private qCrc: number[] = [];
  private qResolve: ((seq: number) => void)[] = [];
  private qReject: ((err: Error) => void)[] = [];
  private qHead = 0;
  private queuedBytes = 0;
  // Written but not yet fsynced: contiguous sequences from uFirstSeq.
  private uResolve: ((seq: number) => void)[] = [];
  private uReject: ((err: Error) => void)[] = [];
  private uFirstSeq = 0;

  private pumping = false;
  private kickScheduled = false;
  private pumpPromise: Promise<void> = Promise.resolve();
  private syncDue = false;
  private forceSync = 0;
  private needRoll = false;
  /**
   * Where a failed write began, when cutting the file back there failed too: its bytes may still follow,
   * so nothing is written, and no segment sealed, until a cut succeeds (see cutFailedWrite).
   */
  private uncutAt: number | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  /** performance.now() when the last fdatasync started (interval policy: the next may start a window later). */
  private lastSyncStart = -Infinity;
  /** Bytes written since the last fdatasync started (interval policy: a sync is due at syncAfterBytes). */
  private unsyncedBytes = 0;
  private syncs = 0;

  private bytesOnDisk = 0;
  private pending = 0;
  private corrupt = 0;
  private truncatedTail = 0;
  private closed = false;
  private aborted = false;
  private closePromise: Promise<void> | undefined;
  private released = false;
  /** Removes this process's LOCK file from the directory. */
  private unlock: () => Promise<void> = async () => {};

  // Reader state.
  private rSeg!: Segment;
  private rOff = 0;
  private rFh: FileHandle | undefined;
  private rFhSeg: Segment | undefined;
  private rBuf: Buffer | undefined;
  private rBufStart = 0;
  private rBufLen = 0;
  private expectSeq = 1;
  /** Records up to here were acknowledged before this open; the reader passes over them. */
  private skipThrough = 0;
  private readChain: Promise<unknown> = Promise.resolve();
  private waiters: (() => void)[] = [];
  private durableGen = 0;
  // Delivered records awaiting ack (sorted by sequence, from dHead).
  private dSeq: number[] = [];
  private dAcked: number[] = [];
  private dHead = 0;
  private ackedThrough = 0;
  private persistedThrough = 0;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private hkRunning: Promise<void> | undefined;
  private hkAgain = false;

  private constructor(opts: WalOptions) {
    this.dir = resolvePath(opts.dir);
    this.maxSize = positiveInt('maxSizeBytes', opts.maxSizeBytes, DEFAULTS.maxSizeBytes, 64);
    this.segmentSize = positiveInt('segmentSizeBytes', opts.segmentSizeBytes, defaultSegmentSize(this.maxSize), 64);
    this.policy = opts.fsync ?? DEFAULTS.fsync;
    if (!['always', 'interval', 'never'].includes(this.policy)) {
      throw new PermanentError(`WAL option fsync must be 'always', 'interval' or 'never', got '${String(this.policy)}'`);
    }
    this.intervalMs = positiveInt('fsyncIntervalMs', opts.fsyncIntervalMs, DEFAULTS.fsyncIntervalMs, 0);
    this.syncAfterBytes = positiveInt('fsyncAfterBytes', opts.fsyncAfterBytes, DEFAULTS.fsyncAfterBytes, 1);
    this.checkpointMs = positiveInt('checkpointIntervalMs', opts.checkpointIntervalMs, DEFAULTS.checkpointIntervalMs, 0);
    this.chunkBytes = positiveInt('readChunkBytes', opts.readChunkBytes, DEFAULTS.readChunkBytes, 64);
    this.log = opts.logger ?? silentLogger;
    this.wantDirect = opts.directIo ?? true;
  }

  /** Opens (creating or recovering) the WAL in `options.dir`. */
  static async open(options: WalOptions): Promise<WriteAheadLog> {
    const wal = new WriteAheadLog(options);
    if (openDirs.has(wal.dir)) {
      throw new PermanentError(`WAL directory ${wal.dir} is already open in this process; give each WAL its own directory`);
    }
    openDirs.add(wal.dir);
    try {
      await mkdir(wal.dir, { recursive: true });
      wal.unlock = await lockDirectory(wal.dir, wal.log);
      await wal.recover();
    } catch (err) {
      openDirs.delete(wal.dir);
      await wal.activeFh?.close().catch(() => {});
      await wal.unlock();
      throw err;
    }
    return wal;
  }

  // ---------------------------------------------------------------------------------------------------
  // Recovery

  private async recover(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    if (this.wantDirect) {
      const staging = alignedBuffer(STAGING_BYTES);
      if (await probeDirectIo(this.dir, staging)) this.direct = new DirectAppender(staging);
      else this.log.info('WAL: the file system refuses direct I/O (O_DIRECT); writing through the page cache', { dir: this.dir });
    }
    const ledger = await readLedger(this.dir, this.log);
    this.ackedThrough = this.persistedThrough = this.skipThrough = ledger.ackedThrough;

    const names = await readdir(this.dir);
    const firstSeqs: number[] = [];
    for (const n of names) {
      const f = parseSegmentFileName(n);
      if (f !== undefined) firstSeqs.push(f);
    }
    firstSeqs.sort((a, b) => a - b);
    for (const f of firstSeqs) {
      this.segments.push({ firstSeq: f, path: join(this.dir, segmentFileName(f)), size: 0, durable: 0, sealed: true });
    }
    // An empty last segment (a roll that crashed, or failed, after creating it) holds nothing, and its name
    // would wrongly end the previous segment's records: without it the previous one is active again.
    while (this.segments.length > 1 && (await stat(this.segments.at(-1)!.path)).size === 0) {
      const empty = this.segments.pop()!;
      this.log.info('WAL removed an empty last segment left by an unfinished roll', { dir: this.dir, segment: empty.path });
      await unlink(empty.path);
    }
    // Whole segments acknowledged before a crash that came between ledger write and delete.
    while (this.segments.length > 1 && this.segments[1]!.firstSeq - 1 <= this.ackedThrough) {
      await unlink(this.segments.shift()!.path).catch(() => {});
    }
    for (const s of this.segments) s.size = s.durable = (await stat(s.path)).size;

    let lastSeq = this.ackedThrough;
    const last = this.segments.at(-1);
    if (last) {
      last.sealed = false;
      lastSeq = Math.max(lastSeq, await this.recoverTail(last));
      this.active = last;
      this.activeFh = await this.openSegment(last, false);
    } else {
      const seg: Segment = { firstSeq: this.ackedThrough + 1, path: join(this.dir, segmentFileName(this.ackedThrough + 1)), size: 0, durable: 0, sealed: false };
      this.activeFh = await this.openSegment(seg, true);
      await fsyncDir(this.dir);
      this.segments.push(seg);
      this.active = seg;
    }
    this.nextSeq = lastSeq + 1;
    for (const s of this.segments) this.bytesOnDisk += s.size;
    const first = this.segments[0]!;
    this.pending = Math.max(0, lastSeq - Math.max(this.ackedThrough, first.firstSeq - 1));
    this.rSeg = first;
    this.expectSeq = first.firstSeq;
    this.log.debug('WAL opened', { dir: this.dir, segments: this.segments.length, pending: this.pending, nextSequence: this.nextSeq });
  }

  /** Opens a segment for appending at its end (`create`: a new file, which must not exist). */
  private async openSegment(seg: Segment, create: boolean): Promise<FileHandle> {
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
  private openSegmentFile(seg: Segment, create: boolean): Promise<FileHandle> {
    if (!this.direct) return open(seg.path, create ? 'wx' : 'r+');
    return open(seg.path, directOpenFlags(create));
  }

  /** Direct I/O: cuts the zero padding after the last record (a sealed or closed segment ends on its records). */
  private async cutPadding(fh: FileHandle, seg: Segment): Promise<void> {
    if (this.direct && seg.size % DIRECT_ALIGN !== 0) await fh.truncate(seg.size);
  }

  /**
   * Finds the end of the last good record of the last segment and truncates anything after it; corrupt
   * records followed by valid ones are left for the reader to skip and count. Returns the last sequence.
   */
  private async recoverTail(seg: Segment): Promise<number> {
    const buf = await readFile(seg.path);
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
        this.log.debug('WAL cut the padding after the last record', { dir: this.dir, segment: seg.path, offset: goodEnd, bytes: cut });
      } else {
        this.truncatedTail += cut;
        this.log.warn('WAL segment had a torn or corrupt tail; truncated it at the last good record', {
          dir: this.dir, segment: seg.path, offset: goodEnd, bytes: cut,
        });
      }
      await truncate(seg.path, goodEnd);
      const fh = await open(seg.path, 'r+');
      await fh.sync().finally(() => fh.close());
    }
    seg.size = seg.durable = goodEnd;
    return lastSeq;
  }

  // ---------------------------------------------------------------------------------------------------
  // Appending

  /**
   * Appends one record. Resolves with its sequence once it is durable under the fsync policy; rejects
   * with RetryableError when the disk budget is full or the disk fails, PermanentError when the record
   * can never fit. The bytes must not be modified until the promise settles (they are written in place).
   * `data` may be consecutive pieces (a body as it arrived): they are written as one record, not joined.
   */
  append(data: Uint8Array | readonly Uint8Array[], meta?: Meta): Promise<number> {
    if (this.closed) return Promise.reject(new RetryableError(`WAL ${this.dir} is closed; the component is shutting down`));
    const metaLen = metaBytes(meta);
    if (typeof meta === 'number' && !(Number.isInteger(meta) && meta >= 0 && meta <= 0xffff_ffff)) {
      return Promise.reject(new PermanentError(`WAL meta number must be a u32, got ${meta}`));
    }
    if (metaLen > MAX_META_BYTES) {
      return Promise.reject(new PermanentError(`WAL meta is ${metaLen} bytes; at most ${MAX_META_BYTES} are allowed`));
    }
    let dataLength = 0;
    let dataCrc = 0;
    if (data instanceof Uint8Array) dataLength = data.length;
    else for (const piece of data) dataLength += piece.length;
    const size = RECORD_OVERHEAD + metaLen + dataLength;
    if (META_LEN_BYTES + metaLen + dataLength > MAX_PAYLOAD_BYTES || size > this.maxSize) {
      return Promise.reject(new PermanentError(
        `record of ${dataLength} bytes can never fit the WAL in ${this.dir} (max_size_bytes ${this.maxSize}); split it or raise max_size_bytes`,
      ));
    }
    if (this.bytesOnDisk + this.queuedBytes + size > this.maxSize) {
      // Acknowledged records still on disk do not count: sealed segments wait for housekeeping to delete
      // them, and the active one is sealed only when an accepted append rolls it, so counting it would
      // refuse every append for good (restarts included) once the reader had caught up.
      const reclaimable = this.acknowledgedBytes();
      if (reclaimable > 0 && this.bytesOnDisk - reclaimable + this.queuedBytes + size <= this.maxSize) {
        if (this.ackedThrough >= this.nextSeq - 1 && this.active.size > 0) this.needRoll = true;
        this.scheduleCheckpoint();
      } else return Promise.reject(new RetryableError(
        `WAL directory ${this.dir} is full (${this.bytesOnDisk + this.queuedBytes} of max_size_bytes ${this.maxSize} used): ` +
          'space is freed only when the reader acknowledges records; retry later, fix the downstream so the backlog drains, or raise max_size_bytes',
        { retryAfterMs: 1000 },
      ));
    }
    this.queuedBytes += size;
    // Taken after the checks: a refused record costs no pass over its bytes.
    if (data instanceof Uint8Array) dataCrc = crc32(data);
    else for (const piece of data) dataCrc = crc32(piece, dataCrc);
    return new Promise<number>((resolve, reject) => {
      this.qData.push(data);
      this.qLen.push(dataLength);
      this.qMeta.push(meta);
      this.qCrc.push(dataCrc);
      this.qResolve.push(resolve);
      this.qReject.push(reject);
      if (this.policy === 'interval') this.scheduleSync();
      this.kick();
    });
  }

  /**
   * Interval policy: the next fdatasync starts a window after the last one started, or at once when that
   * is already past (an idle log does not make a lone append wait out a window).
   */
  private scheduleSync(): void {
    if (this.syncTimer !== undefined || this.syncDue) return;
    const wait = this.lastSyncStart + this.intervalMs - performance.now();
    if (wait <= 0) this.syncDue = true;
    else this.syncTimer = setTimeout(this.onSyncTimer, wait);
  }

  /** fdatasyncs done so far (telemetry and tests). */
  get syncCount(): number {
    return this.syncs;
  }

  private readonly onSyncTimer = (): void => {
    this.syncTimer = undefined;
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
    this.pumpPromise = this.pump().then(
      () => {
        this.pumping = false;
        if (!this.aborted && (this.qLength() > 0 || (this.syncDue && this.uResolve.length > 0))) this.kick();
      },
      (err: unknown) => {
        this.pumping = false;
        this.log.error('WAL write loop failed', { dir: this.dir, error: err });
      },
    );
  };

  private qLength(): number {
    return this.qData.length - this.qHead;
  }

  private async pump(): Promise<void> {
    for (;;) {
      if (this.aborted) return;
      if (this.uncutAt !== undefined && !(await this.cutFailedWrite())) return;
      if (this.needRoll) {
        await this.roll();
        continue;
      }
      // A due sync goes before more writes, or a steady stream of appends would starve it. (Running it
      // beside the next write measured no faster, with the page cache or with direct I/O.)
      if (this.uResolve.length > 0 && (this.syncDue || this.forceSync > 0 || this.policy === 'always')) {
        this.syncDue = false;
        await this.syncActive();
        continue;
      }
      const queued = this.qLength();
      if (queued > 0) {
        const firstSize = RECORD_OVERHEAD + metaBytes(this.qMeta[this.qHead]) + this.qLen[this.qHead]!;
        if (this.active.size > 0 && this.active.size + firstSize > this.segmentSize) {
          await this.roll();
          continue;
        }
        // Take records while they fit the segment (an empty segment takes its first record whatever its size).
        let n = 1;
        let bytes = firstSize;
        const room = this.segmentSize - this.active.size;
        while (n < queued && n < MAX_BATCH_RECORDS) {
          const i = this.qHead + n;
          const s = RECORD_OVERHEAD + metaBytes(this.qMeta[i]) + this.qLen[i]!;
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
      await this.activeFh.truncate(at);
    } catch (err) {
      const e = new RetryableError(
        `WAL segment ${this.active.path} could not be cut back after a failed write (${(err as Error).message}); appends wait until it can: check the disk`,
        { cause: err, retryAfterMs: 1000 },
      );
      this.rejectQueued(e);
      // Records written before the failure still get their fsync; it writes nothing new.
      if (this.uResolve.length > 0) await this.syncActive();
      return false;
    }
    this.uncutAt = undefined;
    this.log.info('WAL segment cut back after the failed write; appending again', { dir: this.dir, segment: this.active.path, at });
    return true;
  }

  /** Refuses every append not yet written, with `err`. */
  private rejectQueued(err: Error): void {
    for (let i = this.qHead; i < this.qReject.length; i++) this.qReject[i]!(err);
    this.qData = [];
    this.qLen = [];
    this.qMeta = [];
    this.qCrc = [];
    this.qResolve = [];
    this.qReject = [];
    this.qHead = 0;
    this.queuedBytes = 0;
  }

  private async writeBatch(n: number, bytes: number): Promise<void> {
    const h = this.qHead;
    const startSeq = this.nextSeq;
    let headBytes = 0;
    for (let i = 0; i < n; i++) headBytes += RECORD_OVERHEAD + metaBytes(this.qMeta[h + i]);
    const heads = Buffer.allocUnsafe(headBytes);
    const iov: Uint8Array[] = [];
    let off = 0;
    for (let i = 0; i < n; i++) {
      const data = this.qData[h + i]!;
      const end = encodeHead(heads, off, startSeq + i, this.qMeta[h + i], this.qLen[h + i]!, this.qCrc[h + i]!);
      iov.push(heads.subarray(off, end));
      if (data instanceof Uint8Array) {
        if (data.length > 0) iov.push(data);
      } else for (const piece of data) if (piece.length > 0) iov.push(piece);
      off = end;
    }
    const resolvers = this.qResolve.slice(h, h + n);
    const rejecters = this.qReject.slice(h, h + n);
    this.qHead += n;
    if (this.qHead === this.qData.length) {
      this.qData.length = this.qLen.length = this.qMeta.length = this.qCrc.length = this.qResolve.length = this.qReject.length = this.qHead = 0;
    } else if (this.qHead > 4096 && this.qHead * 2 > this.qData.length) {
      this.qData.splice(0, this.qHead);
      this.qLen.splice(0, this.qHead);
      this.qMeta.splice(0, this.qHead);
      this.qCrc.splice(0, this.qHead);
      this.qResolve.splice(0, this.qHead);
      this.qReject.splice(0, this.qHead);
      this.qHead = 0;
    }
    this.queuedBytes -= bytes;

    const seg = this.active;
    const pos = seg.size;
    try {
      if (this.direct) await this.direct.write(iov, bytes, pos);
      else {
        const { bytesWritten } = await this.activeFh.writev(iov, pos);
        if (bytesWritten !== bytes) throw new Error(`short write (${bytesWritten} of ${bytes} bytes); is the disk full?`);
      }
    } catch (err) {
      // Cut the partial write so the segment ends on a record boundary, and give the sequences back. If
      // the cut fails, the next pass tries it again before anything else is written (cutFailedWrite).
      const cut = await this.activeFh.truncate(pos).then(
        () => true,
        () => false,
      );
      if (!cut) this.uncutAt = pos;
      const e = new RetryableError(`WAL write to ${seg.path} failed: ${(err as Error).message}`, { cause: err, retryAfterMs: 1000 });
      for (const r of rejecters) r(e);
      this.log.error('WAL write failed', { dir: this.dir, segment: seg.path, error: err, cut_back: cut });
      return;
    }
    this.nextSeq += n;
    seg.size += bytes;
    this.bytesOnDisk += bytes;
    if (this.policy === 'never') {
      seg.durable = seg.size;
      this.pending += n;
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
    if (this.policy === 'interval') {
      this.unsyncedBytes += bytes;
      if (this.unsyncedBytes >= this.syncAfterBytes) this.syncDue = true;
      else this.scheduleSync();
    }
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
      await this.activeFh.datasync();
    } catch (err) {
      // After a failed fsync the kernel may have dropped the dirty pages: never trust this file again
      // for new writes. The records may or may not survive; the callers retry (at-least-once).
      const e = new RetryableError(`WAL fsync of ${seg.path} failed: ${(err as Error).message}`, { cause: err, retryAfterMs: 1000 });
      for (const r of rejecters) r(e);
      this.log.error('WAL fsync failed; sealing the segment', { dir: this.dir, segment: seg.path, error: err });
      seg.durable = seg.size;
      this.needRoll = true;
      return;
    }
    seg.durable = upTo;
    this.pending += resolvers.length;
    for (let i = 0; i < resolvers.length; i++) resolvers[i]!(first + i);
    this.wakeReaders();
  }

  /** Seals the active segment and starts a new one named by the next sequence. */
  private async roll(): Promise<void> {
    const old = this.active;
    // The padding goes before the sync, so that the sealed segment's size is durable with its records.
    await this.cutPadding(this.activeFh, old).catch((err: unknown) => {
      this.log.warn('WAL could not cut the padding of a sealed segment; recovery skips it as a corrupt tail', { dir: this.dir, segment: old.path, error: err });
    });
    // needRoll after a failed fsync: that file is not synced again (its records were rejected). needRoll
    // from a reclaiming append: records written since it was set still need their sync, in this file.
    if ((!this.needRoll || this.uResolve.length > 0) && this.policy !== 'never') await this.syncActive();
    if (this.aborted) return;
    this.needRoll = false;
    const firstSeq = this.nextSeq;
    const seg: Segment = { firstSeq, path: join(this.dir, segmentFileName(firstSeq)), size: 0, durable: 0, sealed: false };
    const fh = await this.openSegmentFile(seg, true);
    try {
      if (this.policy !== 'never') await fsyncDir(this.dir);
      // The appender moves to the new file only once the roll can no longer fail: until then the old
      // segment stays active, and the next write must go on into it.
      await this.direct?.attach(fh, 0);
    } catch (err) {
      await fh.close().catch(() => {});
      // Remove the unused file: left there, a retry would find it exists, and recovery would take it for
      // the last segment (ending the active one's records at its name, deleting them once that is acked).
      await unlink(seg.path).catch((e: unknown) => {
        this.log.error('WAL could not remove the segment of a failed roll', { dir: this.dir, segment: seg.path, error: e });
      });
      throw err;
    }
    const oldFh = this.activeFh;
    old.sealed = true;
    old.durable = old.size;
    this.segments.push(seg);
    this.active = seg;
    this.activeFh = fh;
    await oldFh.close();
    this.wakeReaders();
    if (old.firstSeq <= this.ackedThrough) this.scheduleCheckpoint();
  }

  /** Bytes of the leading segments whose records are all acknowledged (deleted once sealed and checkpointed). */
  private acknowledgedBytes(): number {
    let bytes = 0;
    for (let i = 0; i < this.segments.length; i++) {
      const seg = this.segments[i]!;
      const last = i + 1 < this.segments.length ? this.segments[i + 1]!.firstSeq - 1 : this.nextSeq - 1;
      if (last > this.ackedThrough) break;
      bytes += seg.size;
    }
    return bytes;
  }

  // ---------------------------------------------------------------------------------------------------
  // Reading

  /**
   * Returns up to `maxRecords` records (and about `maxBytes`) that follow the last one returned, possibly
   * none. Records stay pending until `ack`ed.
   */
  read(maxRecords = 1024, maxBytes = 16 * MiB): Promise<WalRecord[]> {
    const p = this.readChain.then(() => this.readInner(maxRecords, maxBytes));
    this.readChain = p.catch(() => {});
    return p;
  }

  /**
   * Like `read`, but waits until at least one record is available. Returns [] only once closed.
   * `maxBytes` may be a function, asked at each read: a limit that changes while this waits.
   */
  async next(maxRecords = 1024, maxBytes: number | (() => number) = 16 * MiB): Promise<WalRecord[]> {
    for (;;) {
      const gen = this.durableGen;
      const recs = await this.read(maxRecords, typeof maxBytes === 'function' ? maxBytes() : maxBytes);
      if (recs.length > 0 || this.closed) return recs;
      if (gen !== this.durableGen) continue;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<WalRecord, void, unknown> {
    for (;;) {
      const recs = await this.next(256);
      if (recs.length === 0) return;
      for (const r of recs) yield r;
    }
  }

  private wakeReaders(): void {
    this.durableGen++;
    const w = this.waiters;
    if (w.length === 0) return;
    this.waiters = [];
    for (const r of w) r();
  }

  private segmentAfter(seg: Segment): Segment | undefined {
    const i = this.segments.indexOf(seg);
    return i >= 0 ? this.segments[i + 1] : this.segments.find((s) => s.firstSeq > seg.firstSeq);
  }

  private async readInner(maxRecords: number, maxBytes: number): Promise<WalRecord[]> {
    const out: WalRecord[] = [];
    let bytes = 0;
    while (out.length < maxRecords && bytes < maxBytes && !this.released) {
      const seg = this.rSeg;
      const limit = seg.sealed ? seg.size : seg.durable;
      if (this.rOff >= limit) {
        if (!seg.sealed || !this.nextSegment()) break;
        continue;
      }
      const room = limit - this.rOff;
      let r = RECORD_NEED_MORE;
      if (this.rBuf !== undefined && this.rOff >= this.rBufStart && this.rOff < this.rBufStart + this.rBufLen) {
        r = checkRecord(this.rBuf, this.rOff - this.rBufStart, this.rBufLen, room);
      }
      if (r === RECORD_NEED_MORE) {
        await this.load(seg, this.rOff, limit, HEADER_BYTES);
        r = checkRecord(this.rBuf!, 0, this.rBufLen, room);
        if (r === RECORD_NEED_MORE && this.rBufLen >= HEADER_BYTES) {
          await this.load(seg, this.rOff, limit, HEADER_BYTES + this.rBuf!.readUInt32BE(0));
          r = checkRecord(this.rBuf!, 0, this.rBufLen, room);
        }
      }
      const b = this.rBuf!;
      const o = this.rOff - this.rBufStart;
      const seq = r === RECORD_OK ? readSeq(b, o + 8) : 0;
      if (r !== RECORD_OK || seq < this.expectSeq) {
        await this.resyncReader(seg, limit);
        continue;
      }
      if (seq > this.expectSeq) this.countGap(seq, seg);
      this.expectSeq = seq + 1;
      const total = recordBytes(b, o);
      this.rOff += total;
      if (seq <= this.skipThrough) continue;
      const metaEnd = o + RECORD_OVERHEAD + b.readUInt16BE(o + HEADER_BYTES);
      out.push({ sequence: seq, meta: b.subarray(o + RECORD_OVERHEAD, metaEnd), data: b.subarray(metaEnd, o + total) });
      this.dSeq.push(seq);
      this.dAcked.push(0);
      bytes += total;
      // Leave a finished sealed segment at once, so acks can delete it before the next read.
      if (seg.sealed && this.rOff >= seg.size) this.nextSegment();
    }
    return out;
  }

  /** Moves the reader from its finished sealed segment to the next one; false if there is none. */
  private nextSegment(): boolean {
    const seg = this.rSeg;
    const next = this.segmentAfter(seg);
    if (!next) return false;
    this.countGap(next.firstSeq, seg);
    this.expectSeq = Math.max(this.expectSeq, next.firstSeq);
    this.rSeg = next;
    this.rOff = 0;
    this.rBuf = undefined;
    return true;
  }

  /** Loads [from, limit) of `seg` into a fresh buffer: a chunk, or at least `minBytes`. */
  private async load(seg: Segment, from: number, limit: number, minBytes: number): Promise<void> {
    let fh = this.rFh;
    if (fh === undefined || this.rFhSeg !== seg) {
      const old = fh;
      this.rFh = this.rFhSeg = undefined;
      await old?.close();
      fh = await open(seg.path, 'r');
      this.rFh = fh;
      this.rFhSeg = seg;
    }
    const want = Math.min(limit - from, Math.max(this.chunkBytes, minBytes));
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await fh.read(buf, got, want - got, from + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.rBuf = buf;
    this.rBufStart = from;
    this.rBufLen = got;
  }

  /** Skips a corrupt record: scans forward to the next valid record of this segment, else its end. */
  private async resyncReader(seg: Segment, limit: number): Promise<void> {
    const from = this.rOff;
    await this.load(seg, from, limit, limit - from);
    const b = this.rBuf!;
    // O_DIRECT padding left on a sealed segment: its cut at the roll was not synced before a power cut.
    if (seg.sealed && limit - from < DIRECT_ALIGN && isZero(b.subarray(0, this.rBufLen), 0)) {
      this.rOff = limit;
      this.log.debug('WAL passed over the padding at the end of a sealed segment', { dir: this.dir, segment: seg.path, offset: from });
      return;
    }
    const maxSeq = this.expectSeq + Math.ceil(this.rBufLen / RECORD_OVERHEAD) + 1;
    const i = resync(b, 1, this.rBufLen, this.expectSeq, maxSeq);
    // Without a next record in a sealed segment the loss is counted from the next segment's name; in the
    // active segment the durable end is a record boundary, and the loss is counted when the next arrives.
    this.rOff = i < 0 ? limit : from + i;
    this.log.warn('WAL skipped a corrupt record', { dir: this.dir, segment: seg.path, offset: from, resumedAt: this.rOff });
  }

  private countGap(nextSeq: number, seg: Segment): void {
    const lost = nextSeq - Math.max(this.expectSeq, this.skipThrough + 1);
    if (lost <= 0) return;
    this.corrupt += lost;
    this.pending = Math.max(0, this.pending - lost);
    this.log.warn('WAL records lost to corruption were skipped', {
      dir: this.dir, segment: seg.path, firstLost: Math.max(this.expectSeq, this.skipThrough + 1), count: lost,
    });
  }

  // ---------------------------------------------------------------------------------------------------
  // Acknowledging

  /**
   * Acknowledges a delivered record (any order). Returns false when `sequence` is not a delivered,
   * unacknowledged record. The ledger follows the contiguous acknowledged prefix, checkpointed
   * every checkpointIntervalMs; segments wholly acknowledged are then deleted.
   */
  ack(sequence: number): boolean {
    const s = this.dSeq;
    let lo = this.dHead;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid]! < sequence) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= s.length || s[lo] !== sequence || this.dAcked[lo] === 1) return false;
    this.dAcked[lo] = 1;
    this.pending = Math.max(0, this.pending - 1);
    if (lo === this.dHead) {
      while (this.dHead < s.length && this.dAcked[this.dHead] === 1) this.ackedThrough = s[this.dHead++]!;
      if (this.dHead === s.length) {
        s.length = this.dAcked.length = this.dHead = 0;
      } else if (this.dHead > 4096 && this.dHead * 2 > s.length) {
        s.splice(0, this.dHead);
        this.dAcked.splice(0, this.dHead);
        this.dHead = 0;
      }
      this.scheduleCheckpoint();
    }
    return true;
  }

  private scheduleCheckpoint(): void {
    if (this.checkpointTimer !== undefined || this.closed) return;
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = undefined;
      void this.housekeep();
    }, this.checkpointMs);
    this.checkpointTimer.unref();
  }

  /** Persists the acked position, then deletes the sealed segments it covers. Coalesces callers. */
  private housekeep(): Promise<void> {
    if (this.hkRunning) {
      this.hkAgain = true;
      return this.hkRunning;
    }
    const run = async (): Promise<void> => {
      do {
        this.hkAgain = false;
        // With nothing delivered and unacked, everything before the reader is acked or was lost.
        if (this.dHead === this.dSeq.length) this.ackedThrough = Math.max(this.ackedThrough, this.expectSeq - 1);
        const through = this.ackedThrough;
        if (through > this.persistedThrough) {
          await writeLedger(this.dir, { ackedThrough: through }, this.policy !== 'never');
          this.persistedThrough = through;
        }
        while (this.segments.length > 1) {
          const s = this.segments[0]!;
          if (!s.sealed || s === this.rSeg || this.segments[1]!.firstSeq - 1 > this.persistedThrough) break;
          // The reader is past it; its read handle (if still open) is closed when the reader loads the next.
          this.segments.shift();
          await unlink(s.path).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'ENOENT') this.log.warn('WAL could not delete a segment', { dir: this.dir, segment: s.path, error: err });
          });
          this.bytesOnDisk -= s.size;
        }
      } while (this.hkAgain && !this.aborted);
    };
    this.hkRunning = run()
      .catch((err: unknown) => {
        this.log.error('WAL checkpoint failed; will retry', { dir: this.dir, error: err });
        this.scheduleCheckpoint();
      })
      .finally(() => {
        this.hkRunning = undefined;
      });
    return this.hkRunning;
  }

  // ---------------------------------------------------------------------------------------------------
  // Lifecycle

  /** Writes and fsyncs every accepted append, checkpoints acks and deletes freed segments. */
  async flush(): Promise<void> {
    if (this.released) return;
    await this.drainWrites();
    await this.housekeep();
  }

  private async drainWrites(): Promise<void> {
    this.forceSync++;
    try {
      while (!this.aborted && (this.qLength() > 0 || this.uResolve.length > 0 || this.pumping || this.kickScheduled || this.needRoll)) {
        if (!this.pumping) this.startPump();
        await this.pumpPromise;
      }
      if (this.policy === 'never' && !this.aborted) await this.activeFh.datasync();
    } finally {
      this.forceSync--;
    }
  }

  stats(): WalStats {
    const used = this.bytesOnDisk - this.acknowledgedBytes() + this.queuedBytes;
    return {
      bytesOnDisk: this.bytesOnDisk,
      queuedBytes: this.queuedBytes,
      maxSizeBytes: this.maxSize,
      usedBytes: used,
      fillRatio: this.maxSize === Infinity ? 0 : used / this.maxSize,
      pendingRecords: this.pending,
      corruptRecordsSkipped: this.corrupt,
      truncatedTailBytes: this.truncatedTail,
      segments: this.segments.length,
      nextSequence: this.nextSeq,
      ackedThrough: this.ackedThrough,
    };
  }

  /** Stops taking appends, writes and fsyncs what was accepted, checkpoints acks, releases the directory. */
  close(): Promise<void> {
    if (!this.closePromise) {
      this.closed = true;
      this.closePromise = (async () => {
        try {
          await this.drainWrites();
          if (!this.aborted) await this.cutPadding(this.activeFh, this.active);
          if (this.policy !== 'never') await this.activeFh.datasync();
          clearTimeout(this.syncTimer);
          clearTimeout(this.checkpointTimer);
          this.checkpointTimer = undefined;
          await this.housekeep();
          await this.readChain;
        } finally {
          await this.release();
        }
      })();
    }
    return this.closePromise;
  }

  /**
   * Test hook simulating a crash: stops without flushing. Unwritten and unsynced appends are rejected
   * (as if the process died before they resolved); I/O already in flight is awaited, since a real crash
   * might equally have come after it. The caller may then tear the unsynced tail using the returned info.
   */
  async crashForTesting(): Promise<CrashInfo> {
    this.closed = true;
    this.aborted = true;
    clearTimeout(this.syncTimer);
    clearTimeout(this.checkpointTimer);
    this.checkpointTimer = undefined;
    const e = new RetryableError(`WAL ${this.dir} crashed (test)`);
    this.rejectQueued(e);
    await this.pumpPromise;
    for (const r of this.uReject) r(e);
    this.uResolve = [];
    this.uReject = [];
    await this.hkRunning;
    await this.readChain;
    const info = { activeSegmentPath: this.active.path, durableBytes: this.active.durable, writtenBytes: this.active.size };
    this.closePromise = this.release();
    await this.closePromise;
    return info;
  }

  private async release(): Promise<void> {
    this.released = true;
    await this.activeFh.close().catch(() => {});
    await this.rFh?.close().catch(() => {});
    this.rFh = this.rFhSeg = undefined;
    openDirs.delete(this.dir);
    await this.unlock();
    this.wakeReaders();
  }

  /** Whether segments are written with O_DIRECT (asked for, and the file system takes it). */
  get directIo(): boolean {
    return this.direct !== undefined;
  }
}

function isZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}
