/**
 * zstd both ways through libzstd, the reference implementation, compiled to WebAssembly by
 * @bokuweb/zstd-wasm (loaded once, on first use).
 *
 * Decompression calls ZSTD_decompress into an output buffer of exactly `limit` bytes: the frame's window is
 * the output itself, so the work is one pass over input and output and the memory is `limit` whatever the
 * frame declares. The streaming decoder of fzstd (the pure-JS decoder used before) allocates the window a
 * frame header declares (up to 1.9 GiB from a 6-byte header) and shifts that whole window for every block:
 * a 21-byte message cost 6 s of synchronous CPU and 1.9 GiB of RSS, and 1 MiB of 4-byte blocks under an
 * 8 MiB window would hold the event loop for minutes (issue 18, the class of the snappy hang).
 *
 * The package's own `decompress` sizes its output from the frame's declared content size (a number the
 * client picks), so its module is called directly, at the path of the pinned version's build.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface ZstdPackage {
  init(): Promise<void>;
  compress(data: Uint8Array, level?: number): Uint8Array;
}
interface ZstdModule {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  /** Bytes written to dst, or a negative error code (-code of zstd_errors.h). */
  _ZSTD_decompress(dst: number, dstCapacity: number, src: number, srcSize: number): number;
}

/** The output would pass the caller's limit (ZSTD_error_dstSize_tooSmall). */
export class ZstdTooLarge extends Error {}
export class ZstdError extends Error {}

const require = createRequire(import.meta.url);
let loaded: Promise<{ pkg: ZstdPackage; module: ZstdModule }> | undefined;

/** Loads and initialises libzstd once (compile and instantiate the WebAssembly). */
export function loadZstd(): Promise<{ pkg: ZstdPackage; module: ZstdModule }> {
  loaded ??= (async () => {
    const pkg = require('@bokuweb/zstd-wasm') as ZstdPackage;
    await pkg.init();
    const { Module } = require(join(dirname(require.resolve('@bokuweb/zstd-wasm')), 'module.js')) as { Module: ZstdModule };
    return { pkg, module: Module };
  })();
  return loaded;
}

export async function zstdCompress(data: Uint8Array, level: number): Promise<Buffer> {
  const out = (await loadZstd()).pkg.compress(data, level);
  return Buffer.from(out.buffer, out.byteOffset, out.length);
}

/** zstd_errors.h codes a client's bytes can cause, by name. */
const ERRORS: Record<number, string> = {
  1: 'generic error',
  10: 'not zstd data (unknown frame magic)',
  12: 'unsupported zstd version',
  14: 'unsupported frame parameter',
  16: "the frame's window is too large",
  20: 'corrupted data',
  22: 'checksum mismatch',
  24: 'bad literals header',
  32: 'needs a dictionary',
  64: 'out of memory',
  72: 'truncated or trailing data',
};

/**
 * Decompresses every frame of `data` (skippable frames included) into at most `limit` bytes; throws
 * ZstdTooLarge when the output would pass `limit`, ZstdError naming the fault when the data is not zstd.
 */
export async function zstdDecompress(data: Uint8Array, limit: number): Promise<Buffer> {
  const { module } = await loadZstd();
  if (data.length === 0) return Buffer.alloc(0);
  const src = module._malloc(data.length);
  const dst = module._malloc(Math.max(1, limit));
  try {
    if (src === 0 || dst === 0) throw new ZstdError(`zstd: no memory for ${data.length} bytes in and ${limit} out`);
    // HEAPU8 is read after the mallocs: a growing heap replaces it.
    module.HEAPU8.set(data, src);
    const n = module._ZSTD_decompress(dst, limit, src, data.length);
    if (n === -70) throw new ZstdTooLarge(`zstd: decompressed data is over ${limit} bytes`);
    if (n < 0) throw new ZstdError(`zstd: ${ERRORS[-n] ?? `error ${-n}`}`);
    return Buffer.from(module.HEAPU8.subarray(dst, dst + n));
  } finally {
    module._free(src);
    module._free(dst);
  }
}
