/**
 * The ledger: which records are acknowledged, in memory and on disk.
 *
 * Invariants:
 *  1. `ledger.json` holds the contiguous acknowledged prefix (`ackedThrough`); it is replaced atomically
 *     (write `ledger.json.tmp`, fsync, rename, fsync the directory), so a crash leaves the old or the new
 *     one. A failed write removes its temp file: nothing half-written stays behind (a full disk included).
 *  2. The on-disk position never passes the in-memory one, and only moves forward.
 *  3. A segment is deleted only after a durable ledger covers every record in it, and never while the
 *     reader is in it or the writer may still append to it (only sealed segments are deleted).
 *  4. Out-of-order acks beyond the contiguous prefix live only in memory: after a crash those records
 *     are delivered again (at-least-once).
 */
import { join } from 'node:path';
import type { Logger } from '../telemetry/logger.js';
import type { WalFileSystem } from './file-system.js';
import type { Segment, WalContext } from './segment.js';

export const LEDGER_FILE = 'ledger.json';
const LEDGER_TMP = 'ledger.json.tmp';

export interface LedgerState {
  /** Every record with a sequence <= this is acknowledged (or was lost to corruption). */
  ackedThrough: number;
}

export async function readLedger(fs: WalFileSystem, dir: string, logger: Logger): Promise<LedgerState> {
  await fs.remove(join(dir, LEDGER_TMP));
  let text: string;
  try {
    text = (await fs.readFile(join(dir, LEDGER_FILE))).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ackedThrough: 0 };
    throw err;
  }
  try {
    const v = JSON.parse(text) as { version?: unknown; ackedThrough?: unknown };
    if (v.version === 1 && typeof v.ackedThrough === 'number' && Number.isSafeInteger(v.ackedThrough) && v.ackedThrough >= 0) {
      return { ackedThrough: v.ackedThrough };
    }
  } catch {
    // fall through: a damaged ledger must not stop the WAL from opening
  }
  // Starting from 0 redelivers acknowledged records (at-least-once) rather than losing unacknowledged ones.
  logger.warn('WAL ledger is unreadable; replaying every record still on disk', { dir, file: LEDGER_FILE });
  return { ackedThrough: 0 };
}

export async function writeLedger(fs: WalFileSystem, dir: string, state: LedgerState, syncDir: boolean): Promise<void> {
  const tmp = join(dir, LEDGER_TMP);
  try {
    const fh = await fs.open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify({ version: 1, ackedThrough: state.ackedThrough }) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, join(dir, LEDGER_FILE));
  } catch (err) {
    // A full disk fails the write after the open created the file: leave no empty temp file behind.
    await fs.remove(tmp).catch(() => {});
    throw err;
  }
  if (syncDir) await fsyncDir(fs, dir);
}

/** Makes created, renamed and deleted directory entries durable. */
export async function fsyncDir(fs: WalFileSystem, dir: string): Promise<void> {
  const dh = await fs.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** Where the reader stands, for the ledger: its segment and the sequence it expects next. */
export interface ReaderPosition {
  readonly segment: Segment;
  readonly expectSeq: number;
  /** Moves the reader off a sealed segment it has read to the end (so that it can be deleted). */
  leaveFinished(): Promise<void>;
}

/**
 * Acknowledgements of delivered records (any order), the contiguous acknowledged prefix, its checkpoint
 * to `ledger.json`, and the deletion of segments it covers (housekeeping).
 */
export class AckLedger {
  // Delivered records awaiting ack (sorted by sequence, from dHead).
  private dSeq: number[] = [];
  private dAcked: number[] = [];
  private dHead = 0;
  ackedThrough: number;
  private persistedThrough: number;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Set by the WAL once the reader exists. */
  reader!: () => ReaderPosition;

  constructor(
    private readonly ctx: WalContext,
    ackedThrough: number,
    private readonly checkpointMs: number,
    private readonly syncDir: boolean,
  ) {
    this.ackedThrough = this.persistedThrough = ackedThrough;
  }

  /** The reader handed out `seq` (in increasing order). */
  delivered(seq: number): void {
    this.dSeq.push(seq);
    this.dAcked.push(0);
  }

  /** See WriteAheadLog.ack. */
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
    this.ctx.pending = Math.max(0, this.ctx.pending - 1);
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

  /** Bytes of the leading segments whose records are all acknowledged (deleted once sealed and checkpointed). */
  acknowledgedBytes(): number {
    const segs = this.ctx.segments;
    let bytes = 0;
    for (let i = 0; i < segs.length; i++) {
      const last = i + 1 < segs.length ? segs[i + 1]!.firstSeq - 1 : this.ctx.nextSeq - 1;
      if (last > this.ackedThrough) break;
      bytes += segs[i]!.size;
    }
    return bytes;
  }

  /** Whether every record written so far is acknowledged. */
  allAcknowledged(): boolean {
    return this.ackedThrough >= this.ctx.nextSeq - 1;
  }

  scheduleCheckpoint(): void {
    if (this.checkpointTimer !== undefined || this.stopped) return;
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = undefined;
      void this.housekeep();
    }, this.checkpointMs);
    this.checkpointTimer.unref();
  }

  /** No more timed checkpoints (closing); `housekeep()` still runs when called. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.checkpointTimer);
    this.checkpointTimer = undefined;
  }

  /** Persists the acked position, then deletes the sealed segments it covers. Coalesces callers. */
  housekeep(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.run()
      .catch((err: unknown) => {
        this.ctx.log.error('WAL checkpoint failed; will retry', { dir: this.ctx.dir, error: err });
        this.scheduleCheckpoint();
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async run(): Promise<void> {
    const ctx = this.ctx;
    do {
      this.again = false;
      const reader = this.reader();
      await reader.leaveFinished();
      // With nothing delivered and unacked, everything before the reader is acked or was lost.
      if (this.dHead === this.dSeq.length) this.ackedThrough = Math.max(this.ackedThrough, reader.expectSeq - 1);
      const through = this.ackedThrough;
      if (through > this.persistedThrough) {
        await writeLedger(ctx.fs, ctx.dir, { ackedThrough: through }, this.syncDir);
        this.persistedThrough = through;
      }
      const segs = ctx.segments;
      while (segs.length > 1) {
        const s = segs[0]!;
        if (!s.sealed || s === this.reader().segment || segs[1]!.firstSeq - 1 > this.persistedThrough) break;
        // The reader is past it; its read handle (if still open) is closed when the reader loads the next.
        // Its bytes leave the budget as it leaves the segment list: counted while it is no longer there to
        // be reclaimed, an append made while the unlink is under way would be refused as over the budget.
        // The volume gets the room back once the file is gone.
        segs.shift();
        ctx.bytesOnDisk -= s.size;
        await ctx.fs.unlink(s.path).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') ctx.log.warn('WAL could not delete a segment', { dir: ctx.dir, segment: s.path, error: err });
        });
        ctx.space.freed(s.size);
      }
    } while (this.again && !ctx.released);
  }
}
