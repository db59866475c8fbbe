/**
 * The free space of the volume under a WAL directory, so that appends are refused (retryably) while a
 * reserve is still free, instead of failing half-written with ENOSPC once the disk is full: the budget
 * (`maxSizeBytes`) alone says nothing of a volume smaller than it, or shared with other writers.
 *
 * statfs is asked at open, when a refusal or a failed write needs a fresh figure, after segments are
 * deleted, and at least once a second while appending (another writer on the volume may take or free
 * room); in between, the WAL's own writes are counted down from the last figure.
 */
import type { Logger } from '../telemetry/logger.js';
import type { WalFileSystem } from './file-system.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** How old a measurement may be before an append asks again. */
const MAX_AGE_MS = 1000;

/** Default reserve: a sixty-fourth of the volume, 256 KiB to 64 MiB (room for ledgers, padding, others). */
export function defaultReserve(totalBytes: number): number {
  return Math.min(64 * MiB, Math.max(256 * KiB, Math.floor(totalBytes / 64)));
}

export class VolumeRoom {
  private free = Infinity;
  /** Size of the volume (Infinity until measured, or where statfs fails). */
  total = Infinity;
  reserve: number;
  private measuredAt = -Infinity;
  private measuring: Promise<void> | undefined;
  private warned = false;

  constructor(
    private readonly fs: WalFileSystem,
    private readonly dir: string,
    private readonly reserveOption: number | undefined,
    private readonly log: Logger,
  ) {
    this.reserve = reserveOption ?? 0;
  }

  /** Bytes that may still be written before only the reserve is left (negative: into the reserve). */
  room(): number {
    return this.free - this.reserve;
  }

  /** Free bytes of the volume, as last measured less what was written since. */
  freeBytes(): number {
    return this.free;
  }

  /** Whether the last measurement is older than a second. */
  stale(): boolean {
    return performance.now() - this.measuredAt > MAX_AGE_MS;
  }

  wrote(bytes: number): void {
    this.free -= bytes;
  }

  freed(bytes: number): void {
    this.free += bytes;
  }

  /** Asks the file system again (concurrent callers share one statfs). Never rejects. */
  measure(): Promise<void> {
    this.measuring ??= this.fs
      .volume(this.dir)
      .then(
        (v) => {
          this.free = v.freeBytes;
          this.total = v.totalBytes;
          this.reserve = this.reserveOption ?? defaultReserve(v.totalBytes);
        },
        (err: unknown) => {
          // Unknown free space: only the budget limits appends (as before statfs existed).
          this.free = Infinity;
          if (!this.warned) this.log.warn('WAL cannot read the free space of its volume (statfs); only max_size limits it', { dir: this.dir, error: err });
          this.warned = true;
        },
      )
      .finally(() => {
        this.measuredAt = performance.now();
        this.measuring = undefined;
      });
    return this.measuring;
  }
}
