/**
 * O_DIRECT appends to a segment file.
 *
 * Why: through the page cache the kernel copies every written byte into it, and on the 2-core VM of
 * bench/RESULTS.md that copy cost 1.5-1.8 CPU seconds per GB, at 420-480 MB/s: it bounded the somatic
 * Red zone. Direct writes from an aligned buffer cost ~0.4 CPU s per GB and ran at 960-1060 MB/s
 * (bench/disk-ceiling.mjs). fdatasync is still what makes a write durable (device cache, file size).
 *
 * Direct I/O wants the memory address, the file offset and the length aligned to the device's block.
 * JavaScript cannot see addresses, so the bytes are copied into a staging buffer backed by WebAssembly
 * memory, which V8 allocates in whole pages (page-aligned); `probeDirectIo` checks this with a real
 * direct write before the WAL relies on it. Offsets and lengths are aligned to 4096, which covers 512-byte
 * and 4 KiB devices.
 *
 * Records do not end on block boundaries, so each write covers whole blocks: it starts at the block
 * holding the file's logical end, rewriting that partial block's bytes (kept in the staging buffer), and
 * its last block is padded with zeros. The file can therefore be up to 4095 bytes longer than its records;
 * the WAL cuts the padding when it seals a segment or closes, and recovery treats a zero tail shorter than
 * a block as padding. The bytes before the logical end never change, so readers of the durable region
 * (buffered reads; the kernel keeps the page cache coherent with direct writes) see no difference.
 */
import { constants } from 'node:fs';
import { join } from 'node:path';
import { nodeFileSystem, shortWriteError, type WalFile, type WalFileSystem } from './file-system.js';

/** Alignment of direct writes: offsets and lengths are multiples of this. */
export const DIRECT_ALIGN = 4096;
/** The staging buffer: larger write groups go out in chunks of this size. */
export const STAGING_BYTES = 4 * 1024 * 1024;
const WASM_PAGE = 65536;
// The project's lib setting has no DOM/wasm typings; this is the one constructor used.
declare const WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => { buffer: ArrayBuffer } };

/** open(2) flags of a segment written with O_DIRECT: an existing one, or a new one (must not exist). */
export function directOpenFlags(create: boolean): number {
  const f = constants.O_RDWR | constants.O_DIRECT;
  return create ? f | constants.O_CREAT | constants.O_EXCL : f;
}

/** A page-aligned buffer of `bytes` (WebAssembly memory; never grown, so never detached). */
export function alignedBuffer(bytes: number): Buffer {
  const pages = Math.ceil(bytes / WASM_PAGE);
  return Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, bytes);
}

/**
 * Whether `dir`'s file system takes direct writes from `staging`: one aligned block written to a probe file
 * with O_DIRECT (then removed). False when the file system or the buffer's alignment is refused (EINVAL);
 * other errors (permissions, a full disk) are thrown, as any write to the directory would hit them.
 */
export async function probeDirectIo(dir: string, staging: Buffer, fs: WalFileSystem = nodeFileSystem): Promise<boolean> {
  const path = join(dir, 'direct-io.probe');
  let fh: WalFile | undefined;
  try {
    fh = await fs.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_DIRECT);
    staging.fill(0, 0, DIRECT_ALIGN);
    const { bytesWritten } = await fh.write(staging, 0, DIRECT_ALIGN, 0);
    if (bytesWritten !== DIRECT_ALIGN) throw shortWriteError(bytesWritten, DIRECT_ALIGN);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EINVAL') return false;
    throw err;
  } finally {
    await fh?.close().catch(() => {});
    await fs.remove(path).catch(() => {});
  }
}

/**
 * Appends byte ranges at a segment's logical end with aligned direct writes. One per WAL: the staging
 * buffer is reused for every segment (`attach` moves it to the next).
 */
export class DirectAppender {
  private fh: WalFile | undefined;
  /** Bytes of the file's last partial block, at staging[0, tail). */
  private tail = 0;
  private readonly saved = Buffer.allocUnsafe(DIRECT_ALIGN);

  constructor(private readonly staging: Buffer) {
    if (staging.length < 2 * DIRECT_ALIGN || staging.length % DIRECT_ALIGN !== 0) {
      throw new RangeError(`staging buffer must be a multiple of ${DIRECT_ALIGN} bytes, at least two blocks`);
    }
  }

  /** Writes next to `fh` (opened with `directOpenFlags`), whose records end at `size`: loads its partial last block. */
  async attach(fh: WalFile, size: number): Promise<void> {
    this.fh = fh;
    this.tail = size % DIRECT_ALIGN;
    if (this.tail === 0) return;
    const { bytesRead } = await fh.read(this.staging, 0, DIRECT_ALIGN, size - this.tail);
    if (bytesRead < this.tail) throw new Error(`direct read of the last block returned ${bytesRead} of ${this.tail} bytes`);
  }

  /**
   * Writes `iov` (`bytes` in all) at logical offset `pos` (the end of the records written so far). On a
   * failed write it throws with the tail restored; the caller truncates the file back to `pos`.
   */
  async write(iov: readonly Uint8Array[], bytes: number, pos: number): Promise<void> {
    const fh = this.fh!;
    const st = this.staging;
    const cap = st.length;
    const keep = this.tail;
    if (pos % DIRECT_ALIGN !== keep) throw new Error(`direct append at ${pos} does not follow the staged tail (${keep} bytes)`);
    st.copy(this.saved, 0, 0, keep);
    let fileOff = pos - keep;
    let fill = keep;
    try {
      for (const part of iov) {
        let off = 0;
        while (off < part.length) {
          const n = Math.min(part.length - off, cap - fill);
          st.set(off === 0 && n === part.length ? part : part.subarray(off, off + n), fill);
          fill += n;
          off += n;
          if (fill === cap) {
            await writeAll(fh, st, cap, fileOff);
            fileOff += cap;
            fill = 0;
          }
        }
      }
      if (fill > 0) {
        const padded = Math.ceil(fill / DIRECT_ALIGN) * DIRECT_ALIGN;
        st.fill(0, fill, padded);
        await writeAll(fh, st, padded, fileOff);
      }
    } catch (err) {
      this.saved.copy(st, 0, 0, keep);
      this.tail = keep;
      throw err;
    }
    const end = pos + bytes;
    const tail = end % DIRECT_ALIGN;
    // The new partial last block moves to the front of the staging buffer for the next write.
    if (tail > 0 && fill !== tail) st.copyWithin(0, fill - tail, fill);
    this.tail = tail;
  }
}

async function writeAll(fh: WalFile, buf: Buffer, length: number, position: number): Promise<void> {
  const { bytesWritten } = await fh.write(buf, 0, length, position);
  if (bytesWritten !== length) throw shortWriteError(bytesWritten, length);
}
