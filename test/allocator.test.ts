/**
 * The allocator setting the memory limit relies on (src/core/allocator.ts): every way the project starts
 * the gateway sets it, and a gateway started without it under a somatic memory limit says so.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MMAP_THRESHOLD_TUNABLE, onGlibc } from '../src/core/allocator.js';
import { killGatewayChild, startGatewayChild, type GatewayChild } from './helpers/gateway-child.js';
import { logsToDebug } from './helpers/configs.js';

const ROOT = join(import.meta.dirname, '..');
const WARNING = `GLIBC_TUNABLES=${MMAP_THRESHOLD_TUNABLE}`;

let dir: string;
const children: GatewayChild[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-allocator-'));
});
afterAll(async () => {
  for (const c of children) await killGatewayChild(c);
  await rm(dir, { recursive: true, force: true });
});

const somaticYaml = logsToDebug()
  .replace('exporters:\n  debug:\n', 'processors:\n  somatic:\n    memory_limit_mib: 256\nexporters:\n  debug:\n')
  .replace('      exporters: [debug]', '      processors: [somatic]\n      exporters: [debug]');

/** Starts a somatic gateway child with `env`; its stderr once started. */
async function startedStderr(name: string, env: NodeJS.ProcessEnv): Promise<{ stderr: string; environ: string }> {
  const g = await startGatewayChild(somaticYaml, join(dir, `${name}.yaml`), [], [], undefined, env);
  children.push(g);
  const environ = process.platform === 'linux' ? await readFile(`/proc/${g.pid}/environ`, 'utf8') : '';
  g.child.kill('SIGTERM');
  await g.exited;
  return { stderr: g.stderr(), environ };
}

describe('the allocator setting behind memory_limit_mib', () => {
  it('is set by npm start and the container image', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(`GLIBC_TUNABLES=${MMAP_THRESHOLD_TUNABLE} node bin/gophership.js`);
    const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(new RegExp(`^ENV GLIBC_TUNABLES=${MMAP_THRESHOLD_TUNABLE.replace(/\./g, '\\.')}$`, 'm'));
  });

  it.runIf(onGlibc())(
    'a somatic gateway started without it warns, naming the variable; with it, it does not',
    async () => {
      const untuned = await startedStderr('untuned', { GLIBC_TUNABLES: '' });
      expect(untuned.stderr).toContain(WARNING);
      expect(untuned.stderr).toContain('memory_limit_mib');
      const tuned = await startedStderr('tuned', {});
      expect(tuned.environ.split('\0')).toContain(`GLIBC_TUNABLES=${MMAP_THRESHOLD_TUNABLE}`);
      expect(tuned.stderr).toContain('somatic zone controller started');
      expect(tuned.stderr).not.toContain(WARNING);
    },
    30_000,
  );
});
