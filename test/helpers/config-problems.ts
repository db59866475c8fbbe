/** Validates YAML config text as `gophership validate` would; returns its problems, the file named FILE. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistry } from '../../src/components.js';
import { formatProblem, loadConfigFiles } from '../../src/config/load.js';
import { validateConfig } from '../../src/config/validate.js';

export async function configProblems(yaml: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'gs-cfg-'));
  try {
    const file = join(dir, 'config.yaml');
    await writeFile(file, yaml);
    const result = validateConfig(await loadConfigFiles([file], [], {}), createRegistry());
    return result.ok ? [] : result.problems.map((p) => formatProblem(p).replace(file, 'FILE'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
