/**
 * Fails when proto/gen is stale: regenerates the code from proto/*.proto into a temp dir (offline, with the
 * local buf and protoc-gen-es) and compares it file by file with what is committed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const committed = path.join(root, 'proto', 'gen');

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, base)));
    else out.push(path.relative(base, p));
  }
  return out.sort();
}

describe('proto/gen', () => {
  let tmp: string | undefined;
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('matches a fresh `npm run generate` (run it and commit proto/gen if this fails)', async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'gophership-gen-'));
    const out = path.join(tmp, 'gen');
    await promisify(execFile)(process.execPath, [path.join(root, 'proto', 'generate.mjs'), out], { cwd: root });

    const fresh = await listFiles(out);
    const have = await listFiles(committed);
    expect(fresh.length).toBeGreaterThanOrEqual(10);
    expect(have).toEqual(fresh);
    for (const f of fresh) {
      const [a, b] = await Promise.all([readFile(path.join(out, f), 'utf8'), readFile(path.join(committed, f), 'utf8')]);
      expect(b, `proto/gen/${f} differs from freshly generated code`).toBe(a);
    }
  });
});
