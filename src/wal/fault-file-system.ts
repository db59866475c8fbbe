/**
 * A `WalFileSystem` for tests: the real file system underneath, with faults injected on demand.
 *  - `hook`: intercepts calls on open files (writev, write, truncate, datasync, ...) by path, to fail
 *    them, or do part of the work and then fail, as a disk can but cannot be made to on demand.
 *  - `volumeBytes`: a volume of that size: writes past it are short and then fail with ENOSPC, and
 *    `volume()` reports what is left (the stand-in for a small tmpfs where mounting one is not possible).
 *  - `crash()`: the process "dies": every later call fails, so nothing more reaches the disk, while
 *    calls already under way complete (a real crash might equally have come after them). It tracks, per
 *    file, how much was written and how much was durable (synced), so a test can tear the unsynced tail.
 */
import { basename } from 'node:path';
import { nodeFileSystem, type VolumeSpace, type WalFile, type WalFileSystem } from './file-system.js';

export type FileOp = 'read' | 'write' | 'writev' | 'writeFile' | 'truncate' | 'datasync' | 'sync' | 'close';

/** Returns undefined to let the call through, or a promise standing in for the call's result. */
export type FileHook = (op: FileOp, path: string, args: unknown[], real: (...args: unknown[]) => Promise<unknown>) => Promise<unknown> | undefined;

interface FileState {
  /** File size as written by this process (the largest end written, less truncations). */
  written: number;
  /** Size at the last completed fdatasync/fsync. */
  durable: number;
}

function enospc(op: string): Error {
  return Object.assign(new Error(`ENOSPC: no space left on device, ${op}`), { code: 'ENOSPC' });
}

export class FaultFileSystem implements WalFileSystem {
  hook: FileHook | undefined;
  /** Calls that failed with ENOSPC (the test reports what it exercised). */
  noSpaceErrors = 0;
  private dead = false;
  private readonly files = new Map<string, FileState>();
  /** Bytes in files of this file system (volume emulation: grows with writes, shrinks with cuts and deletes). */
  private usedBytes = 0;

  constructor(
    /** Size of the emulated volume (Infinity: the real one's). */
    public volumeBytes = Infinity,
    private readonly base: WalFileSystem = nodeFileSystem,
  ) {}

  /** From now on every call fails, as if the process had died. */
  crash(): void {
    this.dead = true;
  }

  /** The last segment file written (the active one at a crash) and its written and durable sizes. */
  activeSegment(): { path: string; writtenBytes: number; durableBytes: number } {
    const segs = [...this.files.keys()].filter((p) => basename(p).endsWith('.wal')).sort((a, b) => basename(a).localeCompare(basename(b)));
    const path = segs.at(-1);
    if (path === undefined) throw new Error('no segment was written');
    const st = this.files.get(path)!;
    return { path, writtenBytes: st.written, durableBytes: st.durable };
  }

  private alive(op: string): void {
    if (this.dead) throw Object.assign(new Error(`EIO: the process crashed (test), ${op}`), { code: 'EIO' });
  }

  private state(path: string): FileState {
    let st = this.files.get(path);
    if (!st) this.files.set(path, (st = { written: 0, durable: 0 }));
    return st;
  }

  private resized(st: FileState, size: number): void {
    this.usedBytes += size - st.written;
    st.written = size;
  }

  async open(path: string, flags: string | number): Promise<WalFile> {
    this.alive('open');
    const fh = await this.base.open(path, flags);
    const known = this.files.has(path);
    const st = this.state(path);
    if (flags === 'w') this.resized(st, 0);
    else if (!known && flags !== 'r') {
      // A file from before this file system was made (a reopen after a crash): what is there is durable.
      this.resized(st, await this.base.size(path).catch(() => 0));
      st.durable = st.written;
    }
    return this.wrap(path, fh, st);
  }

  private wrap(path: string, fh: WalFile, st: FileState): WalFile {
    const call = async (op: FileOp, args: unknown[], real: (...a: unknown[]) => Promise<unknown>): Promise<unknown> => {
      if (op !== 'close') this.alive(op);
      return (this.hook?.(op, path, args, real) ?? real(...args)) as Promise<unknown>;
    };
    // Room left on the emulated volume for a write of `want` bytes ending the file at `end`.
    const allowed = (pos: number, want: number): number => {
      if (this.volumeBytes === Infinity) return want;
      const growth = Math.max(0, pos + want - st.written);
      const left = this.volumeBytes - this.usedBytes;
      return growth <= left ? want : Math.max(0, want - (growth - left));
    };
    const grew = (pos: number, n: number): void => {
      if (pos + n > st.written) this.resized(st, pos + n);
    };
    const wrapped: WalFile = {
      read: ((...args: unknown[]) => call('read', args, (...a) => (fh.read as (...x: unknown[]) => Promise<unknown>)(...a))) as WalFile['read'],
      write: ((buf: Uint8Array, off: number, len: number, pos: number) =>
        call('write', [buf, off, len, pos], async () => {
          // Partial writes in whole blocks: O_DIRECT refuses anything else (a real volume does the same).
          const fit = allowed(pos, len);
          const n = fit === len ? len : fit - (fit % 4096);
          if (n === 0 && len > 0) {
            this.noSpaceErrors++;
            throw enospc('write');
          }
          const r = await fh.write(buf, off, n, pos);
          grew(pos, r.bytesWritten);
          return r;
        })) as WalFile['write'],
      writev: ((iov: Uint8Array[], pos: number) =>
        call('writev', [iov, pos], async (...a: unknown[]) => {
          const [v, p] = a as [Uint8Array[], number];
          const want = v.reduce((s, b) => s + b.length, 0);
          const n = allowed(p, want);
          if (n === 0 && want > 0) {
            this.noSpaceErrors++;
            throw enospc('write');
          }
          const parts: Uint8Array[] = [];
          let left = n;
          for (const b of v) {
            if (left === 0) break;
            parts.push(b.length <= left ? b : b.subarray(0, left));
            left -= Math.min(left, b.length);
          }
          const r = await fh.writev(parts, p);
          grew(p, r.bytesWritten);
          return { bytesWritten: r.bytesWritten, buffers: v };
        })) as WalFile['writev'],
      writeFile: ((data: string) =>
        call('writeFile', [data], async () => {
          const len = Buffer.byteLength(data);
          if (allowed(0, len) < len) {
            this.noSpaceErrors++;
            throw enospc('write');
          }
          await fh.writeFile(data);
          grew(0, len);
        })) as WalFile['writeFile'],
      truncate: ((len?: number) =>
        call('truncate', [len], async (...a: unknown[]) => {
          const l = (a[0] as number | undefined) ?? 0;
          await fh.truncate(l);
          this.resized(st, l);
          st.durable = Math.min(st.durable, l);
        })) as WalFile['truncate'],
      datasync: () =>
        call('datasync', [], async () => {
          const at = st.written;
          await fh.datasync();
          st.durable = Math.max(st.durable, at);
        }) as Promise<void>,
      sync: () =>
        call('sync', [], async () => {
          const at = st.written;
          await fh.sync();
          st.durable = Math.max(st.durable, at);
        }) as Promise<void>,
      close: () => call('close', [], () => fh.close()) as Promise<void>,
    };
    return wrapped;
  }

  async readdir(path: string): Promise<string[]> {
    this.alive('readdir');
    return this.base.readdir(path);
  }
  async readFile(path: string): Promise<Buffer> {
    this.alive('readFile');
    return this.base.readFile(path);
  }
  async size(path: string): Promise<number> {
    this.alive('stat');
    return this.base.size(path);
  }
  async truncate(path: string, length: number): Promise<void> {
    this.alive('truncate');
    await this.base.truncate(path, length);
    const st = this.state(path);
    this.resized(st, length);
    st.durable = Math.min(st.durable, length);
  }
  async rename(from: string, to: string): Promise<void> {
    this.alive('rename');
    await this.base.rename(from, to);
    const st = this.files.get(from);
    if (st) {
      const old = this.files.get(to);
      if (old) this.usedBytes -= old.written;
      this.files.delete(from);
      this.files.set(to, st);
    }
  }
  async unlink(path: string): Promise<void> {
    this.alive('unlink');
    await this.base.unlink(path);
    this.forget(path);
  }
  async remove(path: string): Promise<void> {
    this.alive('remove');
    await this.base.remove(path);
    this.forget(path);
  }
  async mkdir(path: string): Promise<void> {
    this.alive('mkdir');
    await this.base.mkdir(path);
  }
  async volume(path: string): Promise<VolumeSpace> {
    this.alive('statfs');
    if (this.volumeBytes === Infinity) return this.base.volume(path);
    return { freeBytes: Math.max(0, this.volumeBytes - this.usedBytes), totalBytes: this.volumeBytes };
  }

  private forget(path: string): void {
    const st = this.files.get(path);
    if (!st) return;
    this.usedBytes -= st.written;
    this.files.delete(path);
  }
}
