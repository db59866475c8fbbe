/**
 * The snappy block decoder (the format's description is a page: a varint of the uncompressed length, then
 * elements, each a literal run or a copy of earlier output). Written here rather than taken from snappyjs,
 * whose decoder (0.7.0, its last release) reads a literal's 4-byte length as a signed 32-bit number: a
 * length with its top bit set moves its read position back by up to 2 GiB, and it then walks that distance
 * forward over undefined bytes one at a time, a synchronous loop of a minute on a 7-byte message
 * (`2c fc c2 a8 cc e6 a1`, found by bench/fuzz.mjs on the gRPC receiver). It also accepts copies from
 * before the start of the output and blocks that do not fill the length they declare.
 *
 * Every element here consumes at least one input byte and at least one byte of the declared output, and
 * every length and offset is checked (as an unsigned number) against what is left before it is used, so
 * decoding takes at most one step per input byte and never writes past what the block declares.
 */
import { NEXT, copyBytes, readVarint } from '../pdata/wire-primitives.js';

export class SnappyError extends Error {}

/** The uncompressed length a block declares (its leading varint), read before anything is decoded. */
export function snappyBlockLength(block: Uint8Array): number {
  let length: number;
  try {
    length = readVarint(block, 0, block.length);
  } catch {
    throw new SnappyError('snappy block: bad length header');
  }
  // Snappy's header is a 32-bit length: at most 5 bytes.
  if (NEXT > 5 || length > 0xffffffff) throw new SnappyError('snappy block: bad length header');
  return length;
}

/** Decodes one block, refusing before decoding when it declares more than `limit` bytes. */
export function snappyBlockDecompress(block: Uint8Array, limit: number, tooLarge: () => Error): Buffer {
  const length = snappyBlockLength(block);
  if (length > limit) throw tooLarge();
  let pos = NEXT;
  const end = block.length;
  const out = Buffer.allocUnsafe(length);
  let outPos = 0;
  while (pos < end) {
    const tag = block[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      // A literal: its length - 1 in the tag's upper 6 bits, or (60-63) in the next 1-4 bytes, little-endian.
      let len = tag >>> 2;
      if (len >= 60) {
        const bytes = len - 59;
        if (bytes > end - pos) throw new SnappyError(`snappy block: literal length cut short at byte ${pos - 1}`);
        len = 0;
        // Arithmetic, not bit operators: a 4-byte length stays unsigned.
        for (let i = bytes - 1; i >= 0; i--) len = len * 256 + block[pos + i]!;
        pos += bytes;
      }
      len += 1;
      if (len > end - pos) throw new SnappyError(`snappy block: a literal of ${len} bytes at byte ${pos} runs past the block's end`);
      if (len > length - outPos) throw new SnappyError(`snappy block: more data than the ${length} bytes the block declares`);
      outPos = copyBytes(block, pos, pos + len, out, outPos);
      pos += len;
      continue;
    }
    // A copy of `len` bytes from `offset` bytes back in the output, the offset in 1, 2 or 4 bytes.
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (pos >= end) throw new SnappyError('snappy block: copy cut short');
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | block[pos++]!;
    } else if (kind === 2) {
      if (2 > end - pos) throw new SnappyError('snappy block: copy cut short');
      len = (tag >>> 2) + 1;
      offset = block[pos]! | (block[pos + 1]! << 8);
      pos += 2;
    } else {
      if (4 > end - pos) throw new SnappyError('snappy block: copy cut short');
      len = (tag >>> 2) + 1;
      offset = (block[pos]! | (block[pos + 1]! << 8) | (block[pos + 2]! << 16) | (block[pos + 3]! << 24)) >>> 0;
      pos += 4;
    }
    if (offset === 0 || offset > outPos) throw new SnappyError(`snappy block: a copy at byte ${pos} reaches ${offset} bytes back from output byte ${outPos}`);
    if (len > length - outPos) throw new SnappyError(`snappy block: more data than the ${length} bytes the block declares`);
    if (offset >= len) outPos = copyBytes(out, outPos - offset, outPos - offset + len, out, outPos);
    else {
      // Overlapping: the copy repeats the last `offset` bytes, so it goes byte by byte, forward.
      for (let i = 0; i < len; i++) out[outPos + i] = out[outPos - offset + i]!;
      outPos += len;
    }
  }
  if (outPos !== length) throw new SnappyError(`snappy block: holds ${outPos} bytes of data but declares ${length}`);
  return out;
}
