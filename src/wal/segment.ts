/**
 * What the WAL's parts (writer, reader, ledger, recovery) share: the segment list and the counters that
 * stats() reports. One `WalContext` per open WAL; each part owns the fields its comment names.
 */
import type { Logger } from '../telemetry/logger.js';
import type { WalFileSystem } from './file-system.js';
import type { VolumeRoom } from './volume-room.js';

export interface Segment {
  readonly firstSeq: number;
  readonly path: string;
  /** Bytes written (the records' end; direct I/O padding excluded). */
  size: number;
  /** Bytes known durable (== size once sealed). */
  durable: number;
  sealed: boolean;
}

export interface WalContext {
  readonly dir: string;
  readonly fs: WalFileSystem;
  readonly log: Logger;
  /** Free space of the volume, as last measured and since counted. */
  readonly space: VolumeRoom;
  /** Segments in sequence order; the last is the active one (writer appends, ledger deletes the first). */
  segments: Segment[];
  /** Sequence the next written record gets (writer). */
  nextSeq: number;
  /** Bytes of all segment files (writer adds, ledger subtracts). */
  bytesOnDisk: number;
  /** Durable records not yet acknowledged (writer adds, ledger and reader subtract). */
  pending: number;
  /** Records lost to corruption (reader). */
  corrupt: number;
  /** Bytes cut from a torn tail at open (recovery). */
  truncatedTail: number;
  /** No more appends (close). */
  closed: boolean;
  /** File handles closed and the directory released. */
  released: boolean;
}

export function segmentAfter(segments: readonly Segment[], seg: Segment): Segment | undefined {
  const i = segments.indexOf(seg);
  return i >= 0 ? segments[i + 1] : segments.find((s) => s.firstSeq > seg.firstSeq);
}

export function isZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}
