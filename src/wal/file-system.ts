/**
 * The WAL's seam to the file system: every file operation of the WAL (segments, ledger, lock, direct-I/O
 * probe, free-space query) goes through a `WalFileSystem`. Production uses `nodeFileSystem` (node:fs);
 * tests hand in a wrapper that injects faults (a failed or short write, a failed truncate, ENOSPC, a
 * process that dies mid-I/O) where the real file system cannot be made to fail on demand.
 */
import { open, mkdir, readdir, readFile, rename, rm, stat, statfs, truncate, unlink, type FileHandle } from 'node:fs/promises';

/** The calls the WAL makes on an open file (a subset of node's FileHandle). */
export type WalFile = Pick<FileHandle, 'read' | 'write' | 'writev' | 'writeFile' | 'truncate' | 'datasync' | 'sync' | 'close'>;

export interface VolumeSpace {
  freeBytes: number;
  totalBytes: number;
}

export interface WalFileSystem {
  /** open(2): `flags` as node's `fs.open` takes them ('r', 'r+', 'w', 'wx' or a number). */
  open(path: string, flags: string | number): Promise<WalFile>;
  readdir(path: string): Promise<string[]>;
  readFile(path: string): Promise<Buffer>;
  size(path: string): Promise<number>;
  truncate(path: string, length: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Removes a file if it exists. */
  remove(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  /** The volume holding `path` (statfs): bytes an unprivileged writer may still write, and its size. */
  volume(path: string): Promise<VolumeSpace>;
}

export const nodeFileSystem: WalFileSystem = {
  open: (path, flags) => open(path, flags),
  readdir: (path) => readdir(path),
  readFile: (path) => readFile(path),
  size: async (path) => (await stat(path)).size,
  truncate: (path, length) => truncate(path, length),
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  remove: (path) => rm(path, { force: true }),
  mkdir: async (path) => {
    await mkdir(path, { recursive: true });
  },
  volume: async (path) => {
    const s = await statfs(path);
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  },
};

/** Whether an error means the volume has no room (ENOSPC, EDQUOT, or the short write that announces it). */
export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SHORT_WRITE';
}

/** A write that wrote less than asked: the kernel does that when the volume fills mid-write. */
export function shortWriteError(written: number, wanted: number): Error {
  return Object.assign(new Error(`short write (${written} of ${wanted} bytes); is the disk full?`), { code: 'SHORT_WRITE' });
}
