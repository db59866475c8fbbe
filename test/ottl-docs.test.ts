/**
 * Every YAML example in docs/ottl.md validates: a block with its own `service:` as it is; a block of
 * processors is placed in a pipeline of each signal it has statements or conditions for.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createRegistry } from '../src/components.js';
import { formatProblem, loadConfigFiles } from '../src/config/load.js';
import { validateConfig } from '../src/config/validate.js';

const DOC = join(import.meta.dirname, '..', 'docs', 'ottl.md');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-ottl-docs-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SIGNAL_KEYS: Record<string, string[]> = {
  traces: ['trace_statements', 'traces', 'spans'],
  metrics: ['metric_statements', 'metrics'],
  logs: ['log_statements', 'logs'],
};

function completed(block: Record<string, any>): Record<string, any> {
  if (block.service) return block;
  const pipelines: Record<string, unknown> = {};
  for (const [id, cfg] of Object.entries(block.processors as Record<string, Record<string, unknown>>)) {
    for (const [signal, keys] of Object.entries(SIGNAL_KEYS)) {
      if (keys.some((k) => k in cfg)) pipelines[`${signal}/${id.replace('/', '-')}`] = { receivers: ['otlp'], processors: [id], exporters: ['debug'] };
    }
  }
  return { receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } } }, exporters: { debug: null }, ...block, service: { pipelines } };
}

describe('docs/ottl.md', async () => {
  const text = await readFile(DOC, 'utf8');
  const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

  it('has examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
  });

  it.each(blocks.map((b, i) => [i, b] as const))('example %i validates', async (i, block) => {
    const file = join(dir, `example-${i}.yaml`);
    // `$$` in a config file is a literal `$` (env expansion), as users write it.
    await writeFile(file, stringify(completed(parse(block) as Record<string, any>)));
    const result = validateConfig(await loadConfigFiles([file], [], {}), createRegistry());
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([]);
  });
});
