/**
 * The dead-letter file: requests that failed permanently (or ran out of retries) are appended here instead
 * of being dropped, so an operator can inspect or replay them. One record per request, big-endian:
 *
 *   [length u32][signal u8][request bytes (length)]      signal: 1 logs, 2 traces, 3 metrics
 *
 * (the file exporter's `proto` framing with the signal added, since one file holds every signal).
 * Each write is fdatasync'd before it resolves: a WAL record is acknowledged only after that.
 */
import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Signal } from '../core/signal.js';

export const SIGNAL_CODE: Readonly<Record<Signal, number>> = { logs: 1, traces: 2, metrics: 3 };
export const SIGNAL_OF_CODE: readonly (Signal | undefined)[] = [undefined, 'logs', 'traces', 'metrics'];

export class DeadLetterFile {
  private handle: FileHandle | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  readonly path: string;

  constructor(file: string) {
    this.path = path.resolve(file);
  }

  async open(): Promise<void> {
    await mkdir(path.dirname(this.path), { recursive: true });
    this.handle = await open(this.path, 'a');
  }

  /** Appends one request and syncs it; writes are serialized so records never interleave. */
  write(signal: Signal, bytes: Uint8Array): Promise<void> {
    const run = async (): Promise<void> => {
      this.handle ??= await open(this.path, 'a');
      const hdr = Buffer.allocUnsafe(5);
      hdr.writeUInt32BE(bytes.length, 0);
      hdr.writeUInt8(SIGNAL_CODE[signal], 4);
      const total = 5 + bytes.length;
      let written = (await this.handle.writev([hdr, bytes])).bytesWritten;
      if (written < total) {
        const all = Buffer.concat([hdr, bytes]);
        while (written < total) written += (await this.handle.write(all, written, total - written)).bytesWritten;
      }
      await this.handle.datasync();
    };
    const p = this.chain.then(run);
    this.chain = p.catch(() => {});
    return p;
  }

  async close(): Promise<void> {
    await this.chain;
    const h = this.handle;
    this.handle = undefined;
    await h?.close();
  }
}

/** Reads a dead-letter file back (tools and tests); a torn last record is ignored. */
export async function readDeadLetterFile(file: string): Promise<{ signal: Signal; bytes: Buffer }[]> {
  const buf = await readFile(file);
  const out: { signal: Signal; bytes: Buffer }[] = [];
  let pos = 0;
  while (pos + 5 <= buf.length) {
    const len = buf.readUInt32BE(pos);
    const signal = SIGNAL_OF_CODE[buf[pos + 4]!];
    if (!signal) throw new Error(`${file}: offset ${pos}: unknown signal code ${buf[pos + 4]}; not a dead-letter file?`);
    if (pos + 5 + len > buf.length) break;
    out.push({ signal, bytes: buf.subarray(pos + 5, pos + 5 + len) });
    pos += 5 + len;
  }
  return out;
}
