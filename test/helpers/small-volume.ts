/**
 * A small volume for disk-full tests: a real tmpfs of the asked size where this process may mount one
 * (root: here and in CI), else the WAL's file-system seam emulating a volume of that size (writes past it
 * are short, then fail with ENOSPC; statfs reports what is left). Each test prints which one it used.
 * In CI (CI=true) the real volume is mandatory: a run that cannot mount fails instead of falling back.
 * GS_SMALL_VOLUME=emulated forces the fallback (to check it where mounting works).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, unlink, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FaultFileSystem } from '../../src/wal/fault-file-system.js';
import type { WalFileSystem } from '../../src/wal/index.js';

const run = promisify(execFile);

export interface SmallVolume {
  /** The mount point (tmpfs) or a temp directory (emulated). */
  dir: string;
  kind: 'tmpfs' | 'emulated';
  /** For the WAL: undefined on a real volume (node:fs), the emulating seam otherwise. */
  fileSystem: WalFileSystem | undefined;
  /** Free bytes of the volume now. */
  freeBytes(): Promise<number>;
  /** Takes `bytes` of the volume with a file that is not the WAL's (another writer); returns its release. */
  occupy(bytes: number): Promise<() => Promise<void>>;
  /** Unmounts (tmpfs) and removes the directory. */
  dispose(): Promise<void>;
}

/** Whether a tmpfs can be mounted here (root and a working mount(8)). */
export async function canMountTmpfs(): Promise<boolean> {
  // GS_SMALL_VOLUME=emulated runs the fallback where a mount would work (to check the fallback itself).
  if (process.getuid?.() !== 0 || process.env.GS_SMALL_VOLUME === 'emulated') return false;
  const dir = await mkdtemp(join(tmpdir(), 'gs-mount-probe-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
    await run('umount', [dir]);
    return true;
  } catch {
    return false;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A tmpfs of `mib` MiB; undefined where it cannot be mounted (and CI is not set). */
export async function mountTmpfs(mib: number, label: string): Promise<SmallVolume | undefined> {
  if (!(await canMountTmpfs())) {
    if (process.env.CI === 'true') throw new Error(`${label}: CI must run this test on a real small volume: mounting a tmpfs needs root (mount -t tmpfs)`);
    return undefined;
  }
  const dir = await mkdtemp(join(tmpdir(), 'gs-small-volume-'));
  await run('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir]);
  console.log(`${label}: disk-full case on a real ${mib} MiB tmpfs at ${dir}`);
  return {
    dir,
    kind: 'tmpfs',
    fileSystem: undefined,
    freeBytes: async () => {
      const s = await statfs(dir);
      return s.bavail * s.bsize;
    },
    occupy: async (bytes) => {
      const f = join(dir, `occupied-${Math.random().toString(36).slice(2)}`);
      // Written in pieces: a write that does not fit fails, and the file keeps what did.
      const piece = Buffer.alloc(64 * 1024, 1);
      const fh = await open(f, 'w');
      try {
        for (let off = 0; off < bytes; off += piece.length) {
          const n = Math.min(piece.length, bytes - off);
          await fh.write(piece, 0, n, off).catch(() => {});
        }
      } finally {
        await fh.close();
      }
      return () => unlink(f);
    },
    dispose: async () => {
      await run('umount', ['-l', dir]).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A real tmpfs where possible, else the seam emulating one of `mib` MiB (printing which). */
export async function smallVolume(mib: number, label: string): Promise<SmallVolume> {
  const real = await mountTmpfs(mib, label);
  if (real) return real;
  const dir = await mkdtemp(join(tmpdir(), 'gs-small-volume-'));
  const fs = new FaultFileSystem(mib * 1024 * 1024);
  console.log(`${label}: cannot mount a tmpfs (not root): disk-full case on the WAL's file-system seam, an emulated ${mib} MiB volume with injected ENOSPC`);
  return {
    dir,
    kind: 'emulated',
    fileSystem: fs,
    freeBytes: async () => (await fs.volume(dir)).freeBytes,
    occupy: async (bytes) => {
      fs.volumeBytes -= bytes;
      return async () => {
        fs.volumeBytes += bytes;
      };
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
