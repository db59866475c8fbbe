/**
 * The ledger: the reader's acknowledged position, the only mutable metadata of a WAL. It is replaced
 * atomically (write temp, fsync, rename, fsync the directory), so a crash leaves the old or the new one.
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../telemetry/logger.js';

export const LEDGER_FILE = 'ledger.json';
const LEDGER_TMP = 'ledger.json.tmp';

export interface LedgerState {
  /** Every record with a sequence <= this is acknowledged (or was lost to corruption). */
  ackedThrough: number;
}

export async function readLedger(dir: string, logger: Logger): Promise<LedgerState> {
  await rm(join(dir, LEDGER_TMP), { force: true });
  let text: string;
  try {
    text = await readFile(join(dir, LEDGER_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ackedThrough: 0 };
    throw err;
  }
  try {
    const v = JSON.parse(text) as { version?: unknown; ackedThrough?: unknown };
    if (v.version === 1 && typeof v.ackedThrough === 'number' && Number.isSafeInteger(v.ackedThrough) && v.ackedThrough >= 0) {
      return { ackedThrough: v.ackedThrough };
    }
  } catch {
    // fall through: a damaged ledger must not stop the WAL from opening
  }
  // Starting from 0 redelivers acknowledged records (at-least-once) rather than losing unacknowledged ones.
  logger.warn('WAL ledger is unreadable; replaying every record still on disk', { dir, file: LEDGER_FILE });
  return { ackedThrough: 0 };
}

export async function writeLedger(dir: string, state: LedgerState, syncDir: boolean): Promise<void> {
  const tmp = join(dir, LEDGER_TMP);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify({ version: 1, ackedThrough: state.ackedThrough }) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, LEDGER_FILE));
  if (syncDir) await fsyncDir(dir);
}

/** Makes created, renamed and deleted directory entries durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
