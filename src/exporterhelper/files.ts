import { readFile } from 'node:fs/promises';
import { CodedError } from '../core/errors.js';

/** Reads a file named by a config key (TLS material), or undefined when the key is empty; errors name the key. */
export async function readOptionalFile(path: string, key: string): Promise<Buffer | undefined> {
  if (!path) return undefined;
  try {
    return await readFile(path);
  } catch (err) {
    throw new CodedError('GS_FILE_UNREADABLE', `${key}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}
