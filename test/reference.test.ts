/**
 * docs/reference.md is generated from the components' config schemas (npm run docs). It must match a
 * fresh rendering, and every registered component and every key of its schema must appear in it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flattenSchema, renderReference } from '../src/cli/reference.js';
import { builtinFactories } from '../src/components.js';
import { expectFreshDoc } from './helpers/docs.js';

const REFERENCE = join(import.meta.dirname, '..', 'docs', 'reference.md');

describe('docs/reference.md', () => {
  it('is up to date with the component schemas (run `npm run docs` when this fails)', async () => {
    await expectFreshDoc(REFERENCE, renderReference());
  });

  it('documents every registered component and every key of its schema', async () => {
    const text = await readFile(REFERENCE, 'utf8');
    expect(builtinFactories.length).toBeGreaterThan(0);
    for (const f of builtinFactories) {
      expect(text, `${f.kind} ${f.type} missing`).toContain(`### ${f.kind} \`${f.type}\``);
      for (const row of flattenSchema(f.config.doc())) {
        expect(text, `${f.kind} ${f.type}: key ${row.key} missing`).toContain(`| \`${row.key}\` |`);
      }
    }
  });

  it("documents every component's stability and metrics (from its metadata) and the service's own metrics", async () => {
    const { metricDisplayName } = await import('../src/cli/reference.js');
    const { SERVICE_METRICS } = await import('../src/telemetry/metrics.js');
    const text = await readFile(REFERENCE, 'utf8');
    for (const f of builtinFactories) {
      const section = text.slice(text.indexOf(`### ${f.kind} \`${f.type}\``)).split('\n### ')[0]!;
      expect(section, `${f.kind} ${f.type}: stability`).toContain(`stability: ${f.stability}`);
      for (const m of f.metrics)
        expect(section, `${f.kind} ${f.type}: metric ${m.name}`).toContain(`| \`${metricDisplayName(m)}\` | ${m.type} | \`${m.unit}\` |`);
    }
    for (const m of Object.values(SERVICE_METRICS)) expect(text).toContain(`| \`${m.name}\` |`);
    // And each under the name an explicit prometheus reader serves it by default.
    expect(text).toMatch(/^\| `otelcol_process_uptime` \| counter \| .* \| `otelcol_process_uptime_seconds_total` \|$/m);
    expect(text).toMatch(/^\| `otelcol_receiver_accepted_<items>` \| .* \| `otelcol_receiver_accepted_<items>_total` \|$/m);
  });

  it('documents every key of the service sections the schema checks (telemetry, processing)', async () => {
    const { SERVICE_SECTION_SCHEMAS } = await import('../src/config/validate.js');
    const text = await readFile(REFERENCE, 'utf8');
    for (const [name, schema] of Object.entries(SERVICE_SECTION_SCHEMAS)) {
      for (const row of flattenSchema(schema.doc(), `service.${name}`)) {
        if (row.type !== 'section') expect(text, `service key ${row.key} missing`).toContain(`| \`${row.key}\` |`);
      }
    }
    expect(text).toContain('| `service.telemetry.logs.encoding` |');
  });

  it('marks keys that must be set as (required) instead of showing an empty default', () => {
    const otlp = builtinFactories.find((f) => f.kind === 'exporter' && f.type === 'otlp')!;
    expect(flattenSchema(otlp.config.doc()).find((r) => r.key === 'endpoint')).toMatchObject({ default: '(required)' });
    const file = builtinFactories.find((f) => f.kind === 'exporter' && f.type === 'file')!;
    expect(flattenSchema(file.config.doc()).find((r) => r.key === 'path')).toMatchObject({ default: '(required)' });
    expect(flattenSchema(file.config.doc()).find((r) => r.key === 'format')!.default).toBe('`json`');
  });

  it('flattens nested sections, maps of sections and lists of sections into dotted keys', async () => {
    const { s } = await import('../src/core/schema.js');
    const schema = s.object({
      a: s.object({ b: s.int().default(3).describe('deep') }).describe('section a'),
      m: s.map(s.object({ x: s.string() })),
      l: s.array(s.object({ y: s.enum('p', 'q').default('p') })).default([]),
      d: s.duration().default(1500),
    });
    const rows = flattenSchema(schema.doc());
    expect(rows.map((r) => [r.key, r.type, r.default])).toEqual([
      ['a', 'section', ''],
      ['a.b', 'int', '`3`'],
      ['m', 'map of sections', ''],
      ['m.<name>.x', 'string', ''],
      ['l', 'list of sections', '`[]`'],
      ['l[].y', '`p` | `q`', '`p`'],
      ['d', 'duration', '`1500ms`'],
    ]);
  });
});

describe('docs/', () => {
  it('has the architecture, reference, durability and operations pages, and their relative links resolve', async () => {
    const { readdir, access } = await import('node:fs/promises');
    const { dirname } = await import('node:path');
    const dir = join(import.meta.dirname, '..', 'docs');
    const pages = (await readdir(dir)).filter((f) => f.endsWith('.md'));
    expect(pages).toEqual(expect.arrayContaining(['architecture.md', 'reference.md', 'durability.md', 'operations.md']));
    for (const page of pages) {
      const text = await readFile(join(dir, page), 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        await expect(access(join(dirname(join(dir, page)), target)), `${page} links to missing ${target}`).resolves.toBeUndefined();
      }
    }
    // The architecture page shows a diagram of the request path.
    expect(await readFile(join(dir, 'architecture.md'), 'utf8')).toContain('```mermaid');
  });
});
