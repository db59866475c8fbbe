/**
 * Snappy in its two shapes: the block format (`snappy` over the collector's OTLP/HTTP) and the framing
 * format (`x-snappy-framed`, and the collector's gRPC snappy codec): a stream identifier, then chunks of
 * at most 64 KiB of data, each compressed or stored, each with a masked CRC-32C of its data. Blocks are
 * compressed by snappyjs and decoded by ./snappy-block.ts (snappyjs's decoder can be made to loop: see
 * there); the framing is a page of the format's spec, written here.
 */
import { createRequire } from 'node:module';
import { SnappyError, snappyBlockDecompress } from './snappy-block.js';

interface SnappyJs {
  compress(input: Uint8Array): Uint8Array;
}
const snappyjs = createRequire(import.meta.url)('snappyjs') as SnappyJs;

/** The stream identifier chunk that starts every framed stream. */
const STREAM_ID = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
const MAX_CHUNK_DATA = 65536;

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC32C_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The framing format's masked CRC (a CRC of data that holds CRCs would otherwise be weak). */
function maskedCrc(data: Uint8Array): number {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** Whether `bytes` start a framed stream (so a `snappy` body can be either shape). */
export function isFramedSnappy(bytes: Uint8Array): boolean {
  return bytes.length >= STREAM_ID.length && Buffer.from(bytes.buffer, bytes.byteOffset, STREAM_ID.length).equals(STREAM_ID);
}

export function snappyBlockCompress(data: Uint8Array): Buffer {
  const out = snappyjs.compress(data);
  return Buffer.from(out.buffer, out.byteOffset, out.length);
}

export function snappyFramedCompress(data: Uint8Array): Buffer {
  const parts: Buffer[] = [STREAM_ID];
  for (let off = 0; off < data.length || (off === 0 && data.length === 0 && parts.length === 1 && false); off += MAX_CHUNK_DATA) {
    const piece = data.subarray(off, off + MAX_CHUNK_DATA);
    const packed = snappyjs.compress(piece);
    // A piece that does not shrink is stored as it is (chunk type 0x01).
    const stored = packed.length >= piece.length;
    const body = stored ? piece : packed;
    const header = Buffer.alloc(8);
    header[0] = stored ? 0x01 : 0x00;
    header.writeUIntLE(body.length + 4, 1, 3);
    header.writeUInt32LE(maskedCrc(piece), 4);
    parts.push(header, Buffer.from(body.buffer, body.byteOffset, body.length));
  }
  return Buffer.concat(parts);
}

/** Decodes a framed stream, chunk by chunk, calling `emit` per chunk of data; the caller enforces limits there. */
export function snappyFramedDecode(stream: Uint8Array, emit: (data: Buffer) => void): void {
  let off = 0;
  let sawId = false;
  while (off < stream.length) {
    if (off + 4 > stream.length) throw new SnappyError('framed snappy: truncated chunk header');
    const type = stream[off]!;
    const len = stream[off + 1]! | (stream[off + 2]! << 8) | (stream[off + 3]! << 16);
    const start = off + 4;
    const end = start + len;
    if (end > stream.length) throw new SnappyError('framed snappy: truncated chunk');
    const chunk = stream.subarray(start, end);
    if (type === 0xff) {
      if (!Buffer.from(chunk).equals(STREAM_ID.subarray(4))) throw new SnappyError('framed snappy: bad stream identifier');
      sawId = true;
    } else if (!sawId) {
      throw new SnappyError('framed snappy: the stream does not start with its identifier');
    } else if (type === 0x00 || type === 0x01) {
      if (len < 4) throw new SnappyError('framed snappy: chunk too short for its checksum');
      const crc = Buffer.from(chunk.buffer, chunk.byteOffset, 4).readUInt32LE(0);
      const data =
        type === 0x00
          ? snappyBlockDecompress(chunk.subarray(4), MAX_CHUNK_DATA, () => new SnappyError('framed snappy: chunk larger than 64 KiB'))
          : Buffer.from(chunk.subarray(4));
      if (data.length > MAX_CHUNK_DATA) throw new SnappyError('framed snappy: chunk larger than 64 KiB');
      if (maskedCrc(data) !== crc) throw new SnappyError('framed snappy: checksum mismatch');
      emit(data);
    } else if (type <= 0x7f) {
      throw new SnappyError(`framed snappy: reserved chunk type 0x${type.toString(16)}`);
    }
    // 0x80-0xfe: skippable chunks (padding and the like).
    off = end;
  }
}
