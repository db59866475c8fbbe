/**
 * Protobuf wire primitives: the one varint reader, the one varint writer, tags, skips and
 * length-delimited fields. Every wire walk of the gateway (scans, validation, the wire editor, the sink's
 * walk, redaction, loadgen's templates) reads and writes through these, so a fix to framing lands once.
 *
 * Hot-path shape: the functions are small enough for V8 to inline into a caller's loop and allocate
 * nothing. A reader returns its value and leaves the position after it in the exported binding `NEXT`
 * (module state: every walk is synchronous and single-threaded, so no cursor object is passed around).
 * Tags and lengths are nearly always one or two bytes, which `readVarint` reads before it calls the long
 * path; `readVarint64` is that long path, exact to 64 bits (halves in `LO`/`HI`) for int64 values.
 */

import { CodedError } from '../core/errors.js';

/** Bytes that are not a valid message (code GS_REQUEST_MALFORMED). */
export class WireFormatError extends CodedError {
  override readonly name = 'WireFormatError';
  /** Byte offset of the fault in the buffer that was read, or -1 when not known. */
  readonly at: number;
  constructor(message: string, at = -1) {
    super('GS_REQUEST_MALFORMED', message);
    this.at = at;
  }
}

/** Wire types. */
export const WT_VARINT = 0;
export const WT_I64 = 1;
export const WT_LEN = 2;
export const WT_GROUP_START = 3;
export const WT_GROUP_END = 4;
export const WT_I32 = 5;

/** The tag of field `field` with wire type `wireType`. */
export const tagOf = (field: number, wireType: number): number => field * 8 + wireType;
/** The tag of length-delimited field `field`. */
export const lenTag = (field: number): number => field * 8 + WT_LEN;

// `var`, not `let`: an importer's every read of an exported `let` carries a check that it is initialised
// (the temporal dead zone), which measured ~8% of the wire editor's walk; a `var` binding has none.
/* eslint-disable no-var */
/** The position after the value the last reader read (read right after the call). */
export var NEXT = 0;
/** The low and high unsigned 32-bit halves of the last varint readVarint64 read. */
export var LO = 0;
export var HI = 0;
/* eslint-enable no-var */

/**
 * Reads the varint at buf[pos] (before `end`); returns its value (exact up to 2^53) and sets NEXT. Throws
 * WireFormatError when it is truncated or longer than 10 bytes. One-byte varints (most tags and lengths)
 * return before the loop: measured against a plain loop and a version with a two-byte path too, this
 * shape was the fastest across the wire editor, the scans and validation.
 */
export function readVarint(buf: Uint8Array, pos: number, end: number): number {
  if (pos >= end) throw new WireFormatError('truncated varint', pos);
  let b = buf[pos++]!;
  if (b < 0x80) {
    NEXT = pos;
    return b;
  }
  let result = b & 0x7f;
  let mul = 128;
  for (let i = 1; i < 10; i++) {
    if (pos >= end) throw new WireFormatError('truncated varint', pos - i);
    b = buf[pos++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) {
      NEXT = pos;
      return result;
    }
    mul *= 128;
  }
  throw new WireFormatError('varint longer than 10 bytes', pos - 10);
}

/**
 * Reads the varint at buf[pos] exactly to 64 bits, for int64 values: sets LO and HI (unsigned halves) and
 * NEXT. Up to 7 bytes (49 bits) the number readVarint returns is exact; longer ones are split from their
 * bytes.
 */
export function readVarint64(buf: Uint8Array, pos: number, end: number): void {
  const v = readVarint(buf, pos, end);
  const n = NEXT - pos;
  if (n < 8) {
    LO = v % 4294967296;
    HI = (v - LO) / 4294967296;
    return;
  }
  const b4 = buf[pos + 4]! & 0x7f;
  LO = ((buf[pos]! & 0x7f) | ((buf[pos + 1]! & 0x7f) << 7) | ((buf[pos + 2]! & 0x7f) << 14) | ((buf[pos + 3]! & 0x7f) << 21) | (b4 << 28)) >>> 0;
  HI =
    ((b4 >>> 4) |
      (group(buf, pos, 5, n) << 3) |
      (group(buf, pos, 6, n) << 10) |
      (group(buf, pos, 7, n) << 17) |
      (group(buf, pos, 8, n) << 24) |
      (group(buf, pos, 9, n) << 31)) >>>
    0;
}

/** The 7 value bits of byte i of an n-byte varint at buf[pos], or 0 past its end. */
const group = (buf: Uint8Array, pos: number, i: number, n: number): number => (i < n ? buf[pos + i]! & 0x7f : 0);

/** The int64 value of the last readVarint64 (two's complement). */
export function int64FromHalves(): bigint {
  return BigInt.asIntN(64, (BigInt(HI) << 32n) | BigInt(LO));
}

/**
 * Skips the value of a field with tag `tag` whose value starts at pos; returns the position after it.
 * Groups (deprecated, absent from OTLP) are not skipped here: validate.ts walks them itself.
 */
export function skipField(buf: Uint8Array, pos: number, end: number, tag: number): number {
  switch (tag & 7) {
    case WT_VARINT:
      readVarint(buf, pos, end);
      return NEXT;
    case WT_I64:
      if (pos + 8 > end) throw new WireFormatError('truncated fixed64', pos);
      return pos + 8;
    case WT_LEN:
      return lenEnd(buf, pos, end);
    case WT_I32:
      if (pos + 4 > end) throw new WireFormatError('truncated fixed32', pos);
      return pos + 4;
    default:
      throw new WireFormatError(`unsupported wire type ${tag & 7}`, pos);
  }
}

/**
 * Reads the length prefix of a length-delimited field at pos: sets NEXT to the content's start and
 * returns its end. Throws WireFormatError when the content would overrun `end`.
 */
export function lenEnd(buf: Uint8Array, pos: number, end: number): number {
  const len = readVarint(buf, pos, end);
  const e = NEXT + len;
  if (e > end) throw new WireFormatError('length-delimited field overruns its message', pos);
  return e;
}

/** A content range of a field. */
export interface Range {
  start: number;
  end: number;
}

/**
 * Finds the last length-delimited `field` in message buf[start:end] (last wins, as for a decoded scalar);
 * writes its content range into `out` and returns true, or returns false when absent.
 */
export function findLenField(buf: Uint8Array, start: number, end: number, field: number, out: Range): boolean {
  const want = lenTag(field);
  let found = false;
  let pos = start;
  while (pos < end) {
    const tag = readVarint(buf, pos, end);
    pos = NEXT;
    if (tag === want) {
      const e = lenEnd(buf, pos, end);
      out.start = NEXT;
      out.end = e;
      found = true;
      pos = e;
    } else pos = skipField(buf, pos, end, tag);
  }
  return found;
}

/** Reads the last varint `field` of message buf[start:end] as a number (low 32 bits, signed), or `absent`. */
export function findVarintField(buf: Uint8Array, start: number, end: number, field: number, absent: number): number {
  const want = field * 8;
  let value = absent;
  let pos = start;
  while (pos < end) {
    const tag = readVarint(buf, pos, end);
    pos = NEXT;
    if (tag === want) {
      readVarint64(buf, pos, end);
      value = LO | 0;
      pos = NEXT;
    } else pos = skipField(buf, pos, end, tag);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------
// Writing

/** Bytes the varint of non-negative integer n (up to 2^53) takes. */
export function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 5;
  for (n = Math.floor(n / 0x800000000); n > 0; n = Math.floor(n / 128)) size++;
  return size;
}

/** Writes non-negative integer n (up to 2^53) as a varint at out[pos]; returns the position after it. */
export function writeVarint(out: Uint8Array, pos: number, n: number): number {
  // Past 32 bits the bit operators do not reach: peel 7 bits at a time with arithmetic first.
  while (n > 0xffffffff) {
    out[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  while (n > 0x7f) {
    out[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[pos++] = n;
  return pos;
}

const MAX_SAFE = 0x1fffffffffffffn;

/** Bytes the varint of int64 v takes (negative values take 10, as two's complement). */
export function int64VarintSize(v: bigint): number {
  const u = BigInt.asUintN(64, v);
  return u <= MAX_SAFE ? varintSize(Number(u)) : 4 + varintSize(Number(u >> 28n));
}

/** Writes int64 v as a varint (two's complement, as protobuf's int64) at out[pos]; returns the position after. */
export function writeInt64Varint(out: Uint8Array, pos: number, v: bigint): number {
  const u = BigInt.asUintN(64, v);
  if (u <= MAX_SAFE) return writeVarint(out, pos, Number(u));
  // Above 2^53 a number loses bits: the low 28 bits go first, the rest (< 2^36) is an exact number.
  let low = Number(u & 0xfffffffn);
  for (let i = 0; i < 4; i++, low >>>= 7) out[pos++] = (low & 0x7f) | 0x80;
  return writeVarint(out, pos, Number(u >> 28n));
}

/**
 * Copies src[s:e] into dst at d; returns the position after. Runs shorter than 48 bytes use a byte loop
 * (~1.2 ns/byte here), longer ones TypedArray#set of a plain Uint8Array view (~60 ns whatever the size;
 * Buffer#subarray and Buffer#copy cost more, through the FastBuffer species constructor).
 */
export function copyBytes(src: Uint8Array, s: number, e: number, dst: Uint8Array, d: number): number {
  const n = e - s;
  if (n < 48) {
    for (let i = 0; i < n; i++) dst[d + i] = src[s + i]!;
  } else dst.set(new Uint8Array(src.buffer, src.byteOffset + s, n), d);
  return d + n;
}

/** Writes the tag and length prefix of a field of `len` content bytes at out[pos]; returns where the content goes. */
export function writeFieldHead(out: Uint8Array, pos: number, tag: number, len: number): number {
  return writeVarint(out, writeVarint(out, pos, tag), len);
}

/** A length-delimited field (tag, length, content) as a new Buffer: for config-time encoding, not per record. */
export function encodeLenField(field: number, content: Uint8Array): Buffer {
  const tag = lenTag(field);
  const out = Buffer.allocUnsafe(varintSize(tag) + varintSize(content.length) + content.length);
  out.set(content, writeFieldHead(out, 0, tag, content.length));
  return out;
}

/** `b` as a Buffer over the same memory (no copy): for toString/readDoubleLE on a plain Uint8Array. */
export const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
