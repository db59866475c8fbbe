/**
 * On-disk record format of the WAL (all integers big-endian):
 *
 *   [length u32][crc32 u32][sequence u64][metaLength u16][meta][data]
 *   |<------------- header 16 ------------->|<------ payload (length bytes) ------>|
 *
 * `length` is the payload length, `crc32` (zlib) covers sequence + payload. The payload always begins with
 * the 2-byte meta length so a record can carry a small caller tag beside its bytes.
 * The CRC is taken over data first, then sequence + metaLength + meta:
 *   crc32 = zlib.crc32(sequence‖metaLength‖meta, zlib.crc32(data))
 * so the expensive part (the data) can be computed when `append` is called, overlapping the previous write,
 * and only the few header bytes are added when the sequence is assigned.
 */
import { crc32 } from 'node:zlib';

export const HEADER_BYTES = 16;
export const META_LEN_BYTES = 2;
/** Fixed bytes of one record besides meta and data. */
export const RECORD_OVERHEAD = HEADER_BYTES + META_LEN_BYTES;
export const MAX_META_BYTES = 0xffff;
/** `length` is a u32; keep well clear of it (and of Buffer limits). */
export const MAX_PAYLOAD_BYTES = 0xffff_ffff - 1;

export const SEGMENT_SUFFIX = '.wal';
/** Segment files are named by the sequence of their first record, zero-padded so names sort numerically. */
export function segmentFileName(firstSeq: number): string {
  return String(firstSeq).padStart(20, '0') + SEGMENT_SUFFIX;
}
export function parseSegmentFileName(name: string): number | undefined {
  const m = /^(\d{20})\.wal$/.exec(name);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

export function readSeq(buf: Buffer, off: number): number {
  return buf.readUInt32BE(off) * 0x1_0000_0000 + buf.readUInt32BE(off + 4);
}
export function writeSeq(buf: Buffer, off: number, seq: number): void {
  buf.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), off);
  buf.writeUInt32BE(seq >>> 0, off + 4);
}

/** A record's caller tag: bytes, or a u32 stored as 4 big-endian bytes (read it back with `metaNumber`). */
export type Meta = Uint8Array | number;

export function metaBytes(meta: Meta | undefined): number {
  return meta === undefined ? 0 : typeof meta === 'number' ? 4 : meta.length;
}

/** Reads back a meta written as a number (undefined when the record's meta is not 4 bytes). */
export function metaNumber(meta: Uint8Array): number | undefined {
  return meta.length === 4 ? ((meta[0]! << 24) >>> 0) + (meta[1]! << 16) + (meta[2]! << 8) + meta[3]! : undefined;
}

/**
 * Writes header + meta of one record into `dst` at `off` (RECORD_OVERHEAD + meta.length bytes) and
 * finishes the CRC from `dataCrc` (zlib.crc32 of the `dataLength` data bytes), without copying data.
 */
export function encodeHead(dst: Buffer, off: number, seq: number, meta: Meta | undefined, dataLength: number, dataCrc: number): number {
  const metaLen = metaBytes(meta);
  const end = off + RECORD_OVERHEAD + metaLen;
  dst.writeUInt32BE(META_LEN_BYTES + metaLen + dataLength, off);
  writeSeq(dst, off + 8, seq);
  dst.writeUInt16BE(metaLen, off + HEADER_BYTES);
  if (typeof meta === 'number') dst.writeUInt32BE(meta, off + RECORD_OVERHEAD);
  else if (metaLen > 0) dst.set(meta!, off + RECORD_OVERHEAD);
  const crc = crc32(dst.subarray(off + 8, end), dataCrc);
  dst.writeUInt32BE(crc, off + 4);
  return end;
}

/** Result codes of `checkRecord`. */
export const RECORD_OK = 0;
/** Not enough bytes in `buf` to decide (only when `buf` ends before `limit`). */
export const RECORD_NEED_MORE = 1;
export const RECORD_BAD = 2;

/**
 * Validates the record starting at `off` in `buf`, where `avail` bytes of buf are loaded and the record may
 * extend at most to `roomAfter` bytes past `off` (the end of the segment's valid region).
 */
export function checkRecord(buf: Buffer, off: number, avail: number, roomAfter: number): number {
  if (roomAfter < HEADER_BYTES + META_LEN_BYTES) return RECORD_BAD;
  if (avail - off < HEADER_BYTES) return RECORD_NEED_MORE;
  const len = buf.readUInt32BE(off);
  if (len < META_LEN_BYTES || HEADER_BYTES + len > roomAfter) return RECORD_BAD;
  if (avail - off < HEADER_BYTES + len) return RECORD_NEED_MORE;
  const metaLen = buf.readUInt16BE(off + HEADER_BYTES);
  if (META_LEN_BYTES + metaLen > len) return RECORD_BAD;
  const dataStart = off + RECORD_OVERHEAD + metaLen;
  const crc = crc32(buf.subarray(off + 8, dataStart), crc32(buf.subarray(dataStart, off + HEADER_BYTES + len)));
  return crc === buf.readUInt32BE(off + 4) ? RECORD_OK : RECORD_BAD;
}

/** Total bytes of the record at `off` (valid only after checkRecord returned RECORD_OK). */
export function recordBytes(buf: Buffer, off: number): number {
  return HEADER_BYTES + buf.readUInt32BE(off);
}

/**
 * Scans `buf[from, end)` for the next offset that holds a whole valid record whose sequence lies in
 * [minSeq, maxSeq]. Used to resynchronise after a corrupt record: a CRC match at a plausible sequence is
 * a real record boundary with overwhelming probability. Returns -1 when none is found.
 */
export function resync(buf: Buffer, from: number, end: number, minSeq: number, maxSeq: number): number {
  for (let i = from; i + RECORD_OVERHEAD <= end; i++) {
    const len = buf.readUInt32BE(i);
    if (len < META_LEN_BYTES || i + HEADER_BYTES + len > end) continue;
    const seq = readSeq(buf, i + 8);
    if (seq < minSeq || seq > maxSeq) continue;
    if (checkRecord(buf, i, end, end - i) === RECORD_OK) return i;
  }
  return -1;
}

export { crc32 };
