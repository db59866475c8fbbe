/**
 * What the writer checks before it accepts a record (writer.ts, invariant 5): that it can ever fit (meta,
 * size), and whether it fits the disk
 * budget (`maxSizeBytes`) and the volume's free space less its reserve. Acknowledged records still on disk
 * count as free: an append that needs their room has the write loop roll the active segment (when it holds
 * only acknowledged records) and delete them before it is written. Unacknowledged records never make room.
 */
import { PermanentError, RetryableError } from '../core/errors.js';
import { DIRECT_ALIGN } from './direct.js';
import { MAX_META_BYTES, MAX_PAYLOAD_BYTES, META_LEN_BYTES, RECORD_OVERHEAD, type Meta } from './format.js';
import type { AckLedger } from './ledger.js';
import type { WalContext } from './segment.js';

/** Retry-After of the WAL's retryable refusals (full, I/O). */
export const RETRY_AFTER_MS = 1000;

/** What the check reads of the writer. */
export interface RoomInput {
  readonly ctx: WalContext;
  readonly ledger: AckLedger;
  readonly maxSize: number;
  readonly segmentSize: number;
  /** Bytes of appends accepted but not yet written (they count already). */
  readonly queued: () => number;
  readonly activeSize: () => number;
  /** Direct I/O: each write is padded to a block. */
  readonly direct: boolean;
}

/** Why a record (`metaLen` + `dataLength` bytes) can never be taken, or undefined. */
export function neverFits(w: RoomInput, meta: Meta | undefined, metaLen: number, dataLength: number): PermanentError | undefined {
  if (typeof meta === 'number' && !(Number.isInteger(meta) && meta >= 0 && meta <= 0xffff_ffff)) {
    return new PermanentError(`WAL meta number must be a u32, got ${meta}`, { code: 'GS_WAL_MISUSE' });
  }
  if (metaLen > MAX_META_BYTES) return new PermanentError(`WAL meta is ${metaLen} bytes; at most ${MAX_META_BYTES} are allowed`, { code: 'GS_WAL_MISUSE' });
  if (META_LEN_BYTES + metaLen + dataLength > MAX_PAYLOAD_BYTES || RECORD_OVERHEAD + metaLen + dataLength > w.maxSize) {
    return new PermanentError(
      `record of ${dataLength} bytes can never fit the WAL in ${w.ctx.dir} (max_size_bytes ${w.maxSize}); split it or raise max_size_bytes`,
      { code: 'GS_WAL_RECORD_TOO_LARGE' },
    );
  }
  return undefined;
}

/** The record fits; flags ask the write loop to roll the active segment and/or delete acknowledged ones first. */
export const ROOM_FITS = 0;
export const ROOM_ROLL = 1;
export const ROOM_RECLAIM = 2;

/**
 * Whether a record of `size` bytes fits the budget and the volume (ROOM_FITS, with ROOM_ROLL / ROOM_RECLAIM
 * when acknowledged segments must go first), needs a fresh look at the volume first ('measure': the last
 * one is old), or is refused.
 */
export function checkRoom(w: RoomInput, size: number): number | Error | 'measure' {
  const { ctx, ledger } = w;
  const space = ctx.space;
  const used = ctx.bytesOnDisk + w.queued();
  // Direct I/O pads each write to a block: the volume may need that much more than the records.
  const needOnVolume = w.queued() + size + (w.direct ? DIRECT_ALIGN : 0);
  const fitsBudget = used + size <= w.maxSize;
  const fitsVolume = needOnVolume <= space.room();
  if (fitsBudget && fitsVolume) {
    if (space.stale()) void space.measure();
    // The reader has caught up and the active segment is large for the room there is (a segment sized
    // for a bigger budget, or large records): roll it now so that it is deleted, not kept until full.
    if (w.activeSize() >= reclaimActiveAt(w) && ledger.allAcknowledged()) {
      ledger.scheduleCheckpoint();
      return ROOM_ROLL;
    }
    return ROOM_FITS;
  }
  // Acknowledged records still on disk do not count: sealed segments wait for housekeeping to delete
  // them, and the active one is sealed only when an append rolls it, so counting it would refuse every
  // append for good (restarts included) once the reader had caught up.
  const reclaimable = ledger.acknowledgedBytes();
  if (reclaimable > 0 && used - reclaimable + size <= w.maxSize && needOnVolume <= space.room() + reclaimable) {
    let flags = ledger.allAcknowledged() && w.activeSize() > 0 ? ROOM_ROLL : ROOM_FITS;
    if (fitsVolume) ledger.scheduleCheckpoint();
    else flags |= ROOM_RECLAIM;
    return flags;
  }
  if (!fitsVolume && space.stale()) return 'measure';
  return fitsBudget
    ? noRoom(w, size)
    : new RetryableError(
        `WAL directory ${ctx.dir} is full (${used} of max_size_bytes ${w.maxSize} used): ` +
          'space is freed only when the reader acknowledges records; retry later, fix the downstream so the backlog drains, or raise max_size_bytes',
        { retryAfterMs: RETRY_AFTER_MS, code: 'GS_WAL_FULL' },
      );
}

/** Size from which a fully acknowledged active segment is rolled to be deleted: a sixteenth of the room. */
function reclaimActiveAt(w: RoomInput): number {
  return Math.max(64 * 1024, Math.min(w.segmentSize, Math.min(w.maxSize, w.ctx.space.total) / 16));
}

/** The refusal of a record of `size` bytes the volume has no room for. */
export function noRoom(w: RoomInput, size: number): RetryableError {
  const space = w.ctx.space;
  return new RetryableError(
    `WAL directory ${w.ctx.dir}: its volume is nearly full (${Math.max(0, space.freeBytes())} bytes free, ${space.reserve} kept free, ` +
      `${w.queued() + size} needed): space is freed as the reader acknowledges records; retry later, or free or grow the volume`,
    { retryAfterMs: RETRY_AFTER_MS, code: 'GS_WAL_FULL' },
  );
}
