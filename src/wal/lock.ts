/**
 * One process per WAL directory. Two gateways on one directory would write the same segment files over
 * each other and delete what the other has not delivered, silently. A `LOCK` file names the holder
 * (`pid@host`); another live process on this host holding it refuses the open. A lock left by a process
 * that is gone (kill -9, a crash) is taken over; so is one written on another host, whose liveness cannot
 * be checked from here (a restarted pod or container gets a new host name or the same pid): that case is
 * logged, since shared storage mounted by two hosts at once is not something a lock file can stop.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PermanentError } from '../core/errors.js';
import type { Logger } from '../telemetry/logger.js';
import { isNoSpace, type WalFileSystem } from './file-system.js';

const LOCK_FILE = 'LOCK';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `dir` for this process; returns the release function (removes the lock file). */
export async function lockDirectory(fs: WalFileSystem, dir: string, log: Logger): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  const me = `${process.pid}@${hostname()}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await fs.open(path, 'wx');
      try {
        await fh.writeFile(`${me}\n`);
      } catch (err) {
        // A full volume must not stop the WAL from opening (and draining, which frees room): the lock
        // file exists but names nobody, so it guards this host's other processes less until restarted.
        if (!isNoSpace(err)) throw err;
        log.warn('WAL could not write its LOCK file (the volume is full); continuing with an empty one', { dir });
      } finally {
        await fh.close();
      }
      return () => fs.unlink(path).catch(() => {});
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
    }
    const holder = (
      await fs
        .readFile(path)
        .then((b) => b.toString('utf8'))
        .catch(() => '')
    ).trim();
    const m = /^(\d+)@(.*)$/.exec(holder);
    const pid = m ? Number(m[1]) : 0;
    if (m && m[2] === hostname() && pid !== process.pid && alive(pid)) {
      throw new PermanentError(`WAL directory ${dir} is in use by process ${pid} (${path}); give each gateway its own directory`, { code: 'GS_WAL_IN_USE' });
    }
    if (m && m[2] !== hostname()) log.warn('WAL directory was locked by a process on another host; taking it over', { dir, holder });
    await fs.unlink(path).catch(() => {});
  }
}
