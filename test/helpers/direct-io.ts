/**
 * Whether the OS temp dir's file system takes O_DIRECT, probed as the WAL probes it at open. Where it does
 * (ext4, xfs, tmpfs since Linux 6.6) the direct-I/O tests check the direct path; where it does not (tmpfs
 * on older kernels, some overlay setups) they check that the WAL fell back to the page cache.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIRECT_ALIGN, alignedBuffer, probeDirectIo } from '../../src/wal/direct.js';

let cached: Promise<boolean> | undefined;

export function tmpTakesDirectIo(): Promise<boolean> {
  cached ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gs-direct-probe-'));
    try {
      return await probeDirectIo(dir, alignedBuffer(2 * DIRECT_ALIGN));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return cached;
}
