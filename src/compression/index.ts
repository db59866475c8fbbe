/**
 * The collector's compressions, one module for the receiver (decompression with a limit on the
 * decompressed size, so a bomb is refused, never inflated whole) and the exporters (compression):
 * gzip, deflate/zlib (node:zlib), zstd (libzstd as WebAssembly, ./zstd.ts) and snappy (block and framed,
 * ./snappy.ts and ./snappy-block.ts).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { isFramedSnappy, snappyBlockCompress, snappyFramedCompress, snappyFramedDecode } from './snappy.js';
import { snappyBlockDecompress } from './snappy-block.js';
import { loadZstd, zstdCompress, zstdDecompress, ZstdTooLarge } from './zstd.js';

export type Coding = 'identity' | 'gzip' | 'deflate' | 'zstd' | 'snappy' | 'x-snappy-framed';

/** The compressions an exporter's `compression` key takes (none = identity). */
export const EXPORTER_COMPRESSIONS = ['gzip', 'zstd', 'snappy', 'deflate', 'zlib', 'none'] as const;
export type ExporterCompression = (typeof EXPORTER_COMPRESSIONS)[number];

/** A Content-Encoding or grpc-encoding value as a coding (undefined: not one the gateway reads). */
export function codingOf(header: string | undefined): Coding | undefined {
  switch ((header ?? '').trim().toLowerCase()) {
    case '':
    case 'identity':
      return 'identity';
    case 'gzip':
    case 'x-gzip':
      return 'gzip';
    case 'deflate':
    case 'zlib':
      return 'deflate';
    case 'zstd':
      return 'zstd';
    case 'snappy':
      return 'snappy';
    case 'x-snappy-framed':
      return 'x-snappy-framed';
    default:
      return undefined;
  }
}

/** What the receiver lists in grpc-accept-encoding and names in its refusals. */
export const ACCEPTED_CODINGS = 'identity,gzip,deflate,zstd,snappy';

/** The decompressed data passed the limit; the receiver answers 413 / RESOURCE_EXHAUSTED. */
export class DecompressedTooLarge extends Error {
  readonly code = 'ERR_BUFFER_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`decompressed data is over ${limit} bytes`);
  }
}

const INFLATE_CHUNK = 64 * 1024;

/**
 * zstd and snappy as a stream: the body (at most the receiver's limit, which the caller holds the wire
 * bytes to) is kept as it arrives and decoded whole at its end, each decoder stopping at `limit`.
 */
class WholeBodyDecoder extends Transform {
  private readonly pending: Buffer[] = [];
  constructor(
    private readonly coding: 'zstd' | 'snappy' | 'x-snappy-framed',
    private readonly limit: number,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending.push(chunk);
    done();
  }
  override _flush(done: TransformCallback): void {
    decodeWhole(this.coding, Buffer.concat(this.pending), this.limit).then(
      (parts) => {
        for (const p of parts) this.push(p);
        done();
      },
      (err: Error) => done(err),
    );
  }
}

/** Decodes a whole zstd or snappy body into pieces of at most `limit` bytes in all, or DecompressedTooLarge. */
async function decodeWhole(coding: 'snappy' | 'x-snappy-framed' | 'zstd', whole: Buffer, limit: number): Promise<Buffer[]> {
  if (coding === 'zstd') {
    try {
      return [await zstdDecompress(whole, limit)];
    } catch (err) {
      throw err instanceof ZstdTooLarge ? new DecompressedTooLarge(limit) : err;
    }
  }
  // `snappy` arrives as a block from today's collectors and framed from older ones (and over gRPC).
  if (coding === 'snappy' && !isFramedSnappy(whole)) return [snappyBlockDecompress(whole, limit, () => new DecompressedTooLarge(limit))];
  const parts: Buffer[] = [];
  let size = 0;
  snappyFramedDecode(whole, (d) => {
    size += d.length;
    if (size > limit) throw new DecompressedTooLarge(limit);
    parts.push(d);
  });
  return parts;
}

/**
 * A stream that decompresses `coding`. zstd and snappy fail with DecompressedTooLarge once the output
 * would pass `limit`; zlib's output comes in `INFLATE_CHUNK` pieces with backpressure, so the reader's own
 * count of what it collects stops a gzip bomb in time.
 */
export function createDecompressor(coding: Exclude<Coding, 'identity'>, limit: number): Transform {
  if (coding === 'gzip') return zlib.createGunzip({ chunkSize: INFLATE_CHUNK });
  if (coding === 'deflate') return zlib.createInflate({ chunkSize: INFLATE_CHUNK });
  return new WholeBodyDecoder(coding, limit);
}

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);

/** Decompresses a whole message (a gRPC frame), refusing output past `limit` with DecompressedTooLarge. */
export async function decompress(coding: Exclude<Coding, 'identity'>, data: Uint8Array, limit: number): Promise<Buffer> {
  if (coding === 'gzip' || coding === 'deflate') {
    try {
      return await (coding === 'gzip' ? gunzip : inflate)(data, { maxOutputLength: limit });
    } catch (err) {
      throw (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? new DecompressedTooLarge(limit) : err;
    }
  }
  const parts = await decodeWhole(coding, Buffer.from(data.buffer, data.byteOffset, data.length), limit);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** Loads what `compression` needs before the first send (the zstd encoder is WebAssembly, loaded once). */
export async function prepareCompression(compression: ExporterCompression): Promise<void> {
  if (compression === 'zstd') await loadZstd();
}

const gzip = promisify(zlib.gzip) as (buf: Uint8Array, opts: zlib.ZlibOptions) => Promise<Buffer>;
const deflate = promisify(zlib.deflate) as (buf: Uint8Array, opts: zlib.ZlibOptions) => Promise<Buffer>;

/**
 * Checks compression_params.level as the collector's configcompression does: gzip, zlib and deflate take
 * -1 (their default), 0 (unset: the default) or 1-9; zstd takes any level (the nearest it has is used).
 * Returns the problem, or undefined.
 */
export function compressionLevelProblem(compression: ExporterCompression, level: number): string | undefined {
  if (compression !== 'gzip' && compression !== 'zlib' && compression !== 'deflate') return undefined;
  if (level === -2) return "not supported yet by GopherShip (HuffmanOnly, -2: Node's zlib takes it as a strategy, not a level)";
  if (level < -1 || level > 9) return `${level} is not a ${compression} level: -1 (default), 0 (default) or 1-9`;
  return undefined;
}

/** zstd's level when none is given. */
const ZSTD_DEFAULT_LEVEL = 3;

/**
 * The level to hand the codec: 0 is "unset", the codec's default (zlib's -1, zstd's 3), as the collector
 * reads it; a zstd level is kept within 1-22.
 */
export function codecLevel(compression: ExporterCompression, level: number): number {
  if (compression === 'zstd') return level === 0 ? ZSTD_DEFAULT_LEVEL : Math.min(22, Math.max(1, level));
  return level === 0 ? zlib.constants.Z_DEFAULT_COMPRESSION : level;
}

/**
 * Compresses a request body. `level` is the codec's own (gzip/zlib 1-9, zstd 1-22). Snappy is a block
 * over HTTP (as today's collector sends it) and framed over gRPC (the collector's gRPC snappy codec).
 */
export async function compress(
  compression: Exclude<ExporterCompression, 'none'>,
  data: Uint8Array,
  opts: { level?: number; transport?: 'http' | 'grpc' } = {},
): Promise<Buffer> {
  switch (compression) {
    case 'gzip':
      return gzip(data, opts.level === undefined ? {} : { level: opts.level });
    case 'deflate':
    case 'zlib':
      return deflate(data, opts.level === undefined ? {} : { level: opts.level });
    case 'zstd':
      return zstdCompress(data, opts.level ?? ZSTD_DEFAULT_LEVEL);
    case 'snappy':
      return opts.transport === 'grpc' ? snappyFramedCompress(data) : snappyBlockCompress(data);
  }
}

/** Output pieces of a streamed compression: large enough that a request body is a few dozen of them. */
const STREAM_CHUNK_BYTES = 64 * 1024;

/**
 * gzip or deflate over the pieces of a body as they are (a batch's requests, a body as it arrived), without
 * joining them first: the join would be a second copy of the whole batch, in memory for as long as the
 * compression and the send take, which no memory ledger counts (measured under a flood: ten consumers
 * compressing 3.5 MB batches held ~35 MB of such copies). Resolves to the compressed stream's pieces.
 */
export function compressPieces(compression: 'gzip' | 'deflate' | 'zlib', pieces: readonly Uint8Array[], level?: number): Promise<Buffer[]> {
  const opts: zlib.ZlibOptions = { chunkSize: STREAM_CHUNK_BYTES, ...(level === undefined ? {} : { level }) };
  const z = compression === 'gzip' ? zlib.createGzip(opts) : zlib.createDeflate(opts);
  return new Promise<Buffer[]>((resolve, reject) => {
    const out: Buffer[] = [];
    z.on('data', (c: Buffer) => out.push(c));
    z.once('end', () => resolve(out));
    z.once('error', reject);
    for (const p of pieces) z.write(p);
    z.end();
  });
}

/** The header value naming a compression (`zlib` travels as `deflate`, its HTTP name). */
export function encodingName(compression: Exclude<ExporterCompression, 'none'>): string {
  return compression === 'zlib' ? 'deflate' : compression;
}
