/** Generated docs must match a fresh rendering; the failure names the first line that differs. */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { expect } from 'vitest';

export async function expectFreshDoc(file: string, fresh: string): Promise<void> {
  const committed = await readFile(file, 'utf8');
  if (committed === fresh) return;
  const a = committed.split('\n');
  const b = fresh.split('\n');
  const i = a.findIndex((line, n) => line !== b[n]);
  expect.fail(
    `docs/${basename(file)} is stale: first difference at line ${i + 1}:\n  committed: ${a[i]}\n  generated: ${b[i]}\nRegenerate it with \`npm run docs\`.`,
  );
}
