/**
 * A segmented write-ahead log of byte records with group commit, one acknowledging reader and recovery:
 * the facade over its parts, each with its invariants written at its head.
 *
 *  - writer.ts    appends, group commit, rolls, room checks (budget and volume)
 *  - reader.ts    the one reader: in-order, once-per-open delivery, resync over corruption
 *  - ledger.ts    acknowledgements, the ledger file, deletion of acknowledged segments
 *  - recovery.ts  opening a directory whatever state a crash or a full disk left it in
 *  - file-system.ts  the seam every file operation goes through (tests inject faults there)
 *
 * Across the parts: sequences are contiguous and never go backwards; a record never spans segments;
 * `append` resolves only when durable and the reader sees nothing earlier; only the active segment's end
 * is written; segments are deleted only when the durable ledger covers them, never to make room;
 * opening never fails on damaged data, nor on a full volume.
 */
import { resolve as resolvePath } from 'node:path';
import { PermanentError } from '../core/errors.js';
import { silentLogger, type Logger } from '../telemetry/logger.js';
import { nodeFileSystem, type WalFileSystem } from './file-system.js';
import type { Meta } from './format.js';
import { AckLedger } from './ledger.js';
import { lockDirectory } from './lock.js';
import { SegmentReader, type WalRecord } from './reader.js';
import { recover } from './recovery.js';
import type { WalContext } from './segment.js';
import { VolumeRoom } from './volume-room.js';
import { SegmentWriter, type FsyncPolicy } from './writer.js';

export type { FsyncPolicy } from './writer.js';
export type { WalRecord } from './reader.js';

export interface WalOptions {
  /** Directory holding the segments and the ledger; created if missing. One open WAL per directory. */
  dir: string;
  /**
   * Maximum size of one segment file (default: a sixteenth of the disk budget or of the volume, whichever
   * is smaller, between 64 KiB and 64 MiB, since space is freed a whole segment at a time). A larger
   * record gets a segment of its own.
   */
  segmentSizeBytes?: number;
  /** Disk budget for all segments (default 1 GiB). When reached, appends reject with RetryableError. */
  maxSizeBytes?: number;
  /**
   * Bytes of the volume kept free: appends are refused (retryably) once taking them would leave less
   * (default: a sixty-fourth of the volume, 256 KiB to 64 MiB). 0: write until the disk is full.
   */
  minFreeBytes?: number;
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
  /** The file system (default: node:fs). Tests pass a wrapper that injects faults. */
  fileSystem?: WalFileSystem;
  logger?: Logger;
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
  /**
   * What the WAL may hold now: maxSizeBytes, or less when the volume is smaller or fuller (usedBytes plus
   * the volume's free space, less the reserve kept free, plus what acknowledged records hold).
   */
  capacityBytes: number;
  /** usedBytes / capacityBytes: 1 means appends are refused. */
  fillRatio: number;
  /** Free bytes of the volume (last measured, less what was written since; Infinity if unknown). */
  volumeFreeBytes: number;
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
/** Directories open in this process (a second open of one would corrupt it). */
const openDirs = new Set<string>();

function positiveInt(name: string, v: number | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (!(Number.isSafeInteger(v) || v === Infinity) || v < min) {
    throw new PermanentError(`WAL option ${name} must be an integer >= ${min}, got ${String(v)}`, { code: 'GS_WAL_MISUSE' });
  }
  return v;
}

export class WriteAheadLog {
  readonly dir: string;
  private readonly ctx: WalContext;
  private writer!: SegmentWriter;
  private reader!: SegmentReader;
  private ledger!: AckLedger;
  private readonly maxSize: number;
  private closePromise: Promise<void> | undefined;
  private directEnabled = false;
  /** Removes this process's LOCK file from the directory. */
  private unlock: () => Promise<void> = async () => {};

  private constructor(private readonly opts: WalOptions) {
    this.dir = resolvePath(opts.dir);
    this.maxSize = positiveInt('maxSizeBytes', opts.maxSizeBytes, DEFAULTS.maxSizeBytes, 64);
    positiveInt('segmentSizeBytes', opts.segmentSizeBytes, 64, 64);
    positiveInt('minFreeBytes', opts.minFreeBytes, 0, 0);
    const policy = opts.fsync ?? DEFAULTS.fsync;
    if (!['always', 'interval', 'never'].includes(policy)) {
      throw new PermanentError(`WAL option fsync must be 'always', 'interval' or 'never', got '${String(policy)}'`, { code: 'GS_WAL_MISUSE' });
    }
    const fs = opts.fileSystem ?? nodeFileSystem;
    const log = opts.logger ?? silentLogger;
    this.ctx = {
      dir: this.dir,
      fs,
      log,
      space: new VolumeRoom(fs, this.dir, opts.minFreeBytes, log),
      segments: [],
      nextSeq: 1,
      bytesOnDisk: 0,
      pending: 0,
      corrupt: 0,
      truncatedTail: 0,
      closed: false,
      released: false,
    };
  }

  /** Opens (creating or recovering) the WAL in `options.dir`. */
  static async open(options: WalOptions): Promise<WriteAheadLog> {
    const wal = new WriteAheadLog(options);
    if (openDirs.has(wal.dir)) {
      throw new PermanentError(`WAL directory ${wal.dir} is already open in this process; give each WAL its own directory`, { code: 'GS_WAL_IN_USE' });
    }
    openDirs.add(wal.dir);
    try {
      await wal.ctx.fs.mkdir(wal.dir);
      wal.unlock = await lockDirectory(wal.ctx.fs, wal.dir, wal.ctx.log);
      await wal.start();
    } catch (err) {
      openDirs.delete(wal.dir);
      await wal.writer?.closeHandle();
      await wal.unlock();
      throw err;
    }
    return wal;
  }

  private async start(): Promise<void> {
    const { ctx, opts } = this;
    await ctx.space.measure();
    const recovered = await recover(ctx, opts.directIo ?? true);
    this.directEnabled = recovered.direct !== undefined;
    this.ledger = new AckLedger(
      ctx,
      recovered.ackedThrough,
      positiveInt('checkpointIntervalMs', opts.checkpointIntervalMs, DEFAULTS.checkpointIntervalMs, 0),
      opts.fsync !== 'never',
    );
    this.reader = new SegmentReader(ctx, this.ledger, recovered.ackedThrough, positiveInt('readChunkBytes', opts.readChunkBytes, DEFAULTS.readChunkBytes, 64));
    this.ledger.reader = () => this.reader;
    // A volume smaller than the budget bounds the segments too: space is freed a whole segment at a time.
    const segmentSize = opts.segmentSizeBytes ?? defaultSegmentSize(Math.min(this.maxSize, ctx.space.total));
    this.writer = new SegmentWriter(
      ctx,
      {
        segmentSize,
        maxSize: this.maxSize,
        policy: opts.fsync ?? DEFAULTS.fsync,
        intervalMs: positiveInt('fsyncIntervalMs', opts.fsyncIntervalMs, DEFAULTS.fsyncIntervalMs, 0),
        syncAfterBytes: positiveInt('fsyncAfterBytes', opts.fsyncAfterBytes, DEFAULTS.fsyncAfterBytes, 1),
      },
      this.ledger,
      recovered.direct,
      () => this.reader.wake(),
    );
    await this.writer.openActive(recovered.createActive);
    ctx.log.debug('WAL opened', { dir: ctx.dir, segments: ctx.segments.length, pending: ctx.pending, nextSequence: ctx.nextSeq });
  }

  /**
   * Appends one record. Resolves with its sequence once it is durable under the fsync policy; rejects
   * with RetryableError when the disk budget or the volume is full (until acknowledged records free room)
   * or the disk fails, PermanentError when the record can never fit. The bytes must not be modified until
   * the promise settles (they are written in place). `data` may be consecutive pieces (a body as it
   * arrived): they are written as one record, not joined.
   */
  append(data: Uint8Array | readonly Uint8Array[], meta?: Meta): Promise<number> {
    return this.writer.append(data, meta);
  }

  /**
   * Returns up to `maxRecords` records (and about `maxBytes`) that follow the last one returned, possibly
   * none. Records stay pending until `ack`ed.
   */
  read(maxRecords?: number, maxBytes?: number): Promise<WalRecord[]> {
    return this.reader.read(maxRecords, maxBytes);
  }

  /**
   * Like `read`, but waits until at least one record is available. Returns [] only once closed.
   * `maxBytes` may be a function, asked at each read: a limit that changes while this waits.
   */
  next(maxRecords?: number, maxBytes?: number | (() => number)): Promise<WalRecord[]> {
    return this.reader.next(maxRecords, maxBytes);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<WalRecord, void, unknown> {
    for (;;) {
      const recs = await this.next(256);
      if (recs.length === 0) return;
      for (const r of recs) yield r;
    }
  }

  /**
   * Acknowledges a delivered record (any order). Returns false when `sequence` is not a delivered,
   * unacknowledged record. The ledger follows the contiguous acknowledged prefix, checkpointed
   * every checkpointIntervalMs; segments wholly acknowledged are then deleted.
   */
  ack(sequence: number): boolean {
    return this.ledger.ack(sequence);
  }

  /** Writes and fsyncs every accepted append, checkpoints acks and deletes freed segments. */
  async flush(): Promise<void> {
    if (this.ctx.released) return;
    await this.writer.drain();
    await this.ledger.housekeep();
  }

  /** fdatasyncs done so far (telemetry and tests). */
  get syncCount(): number {
    return this.writer.syncs;
  }

  /** Whether segments are written with O_DIRECT (asked for, and the file system takes it). */
  get directIo(): boolean {
    return this.directEnabled;
  }

  stats(): WalStats {
    const ctx = this.ctx;
    const reclaimable = this.ledger.acknowledgedBytes();
    const queued = this.writer.queuedBytes;
    const used = ctx.bytesOnDisk - reclaimable + queued;
    const space = ctx.space;
    const capacity = Math.max(0, Math.min(this.maxSize, used + Math.max(0, space.room() - queued + reclaimable)));
    return {
      bytesOnDisk: ctx.bytesOnDisk,
      queuedBytes: queued,
      maxSizeBytes: this.maxSize,
      usedBytes: used,
      capacityBytes: capacity,
      fillRatio: capacity === Infinity ? 0 : capacity === 0 ? 1 : used / capacity,
      volumeFreeBytes: space.freeBytes(),
      pendingRecords: ctx.pending,
      corruptRecordsSkipped: ctx.corrupt,
      truncatedTailBytes: ctx.truncatedTail,
      segments: ctx.segments.length,
      nextSequence: ctx.nextSeq,
      ackedThrough: this.ledger.ackedThrough,
    };
  }

  /** Stops taking appends, writes and fsyncs what was accepted, checkpoints acks, releases the directory. */
  close(): Promise<void> {
    if (!this.closePromise) {
      this.ctx.closed = true;
      this.closePromise = (async () => {
        try {
          await this.writer.drain();
          await this.writer.finish();
          this.ledger.stop();
          await this.ledger.housekeep();
        } finally {
          await this.release();
        }
      })();
    }
    return this.closePromise;
  }

  private async release(): Promise<void> {
    this.ctx.released = true;
    this.ledger.stop();
    await this.writer.closeHandle();
    await this.reader.close();
    openDirs.delete(this.dir);
    await this.unlock();
    this.reader.wake();
  }
}
