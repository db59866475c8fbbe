import { describe, expect, it } from 'vitest';
import { COMPONENT_INDEX, registryFor } from './component-index.js';
import { builtinFactories } from './components.js';
import { loadConfigFiles } from './config/load.js';
import { validateConfig } from './config/validate.js';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';

const KINDS = ['receiver', 'processor', 'exporter', 'connector', 'extension'] as const;

describe('component index (factories loaded only when named)', () => {
  it('names every built-in component as its factory does, in the same order, and loads that very factory', async () => {
    expect(COMPONENT_INDEX.map((e) => [e.kind, e.metadata.type, e.metadata.aliases ?? []])).toEqual(
      builtinFactories.map((f) => [f.kind, f.type, f.aliases ?? []]),
    );
    const loaded = await Promise.all(COMPONENT_INDEX.map((e) => e.load()));
    loaded.forEach((f, i) => expect(f).toBe(builtinFactories[i]));
  });

  it('holds only the types a configuration names (IDs with names, aliases included)', async () => {
    const raw = {
      receivers: { otlp: {}, 'otlp/2': {} },
      processors: { batch: {}, 'batch/x': {} },
      exporters: { otlphttp: {}, 'otlp_http/b': {} },
      service: { pipelines: {} },
    };
    const registry = await registryFor(raw);
    const held = Object.fromEntries(KINDS.map((k) => [k, registry.list(k).map((f) => f.type)]));
    expect(held).toEqual({ receiver: ['otlp'], processor: ['batch'], exporter: ['otlphttp'], connector: [], extension: [] });
    expect(registry.find('exporter', 'otlp_http')?.type).toBe('otlphttp');
    expect(registry.find('processor', 'transform')).toBeUndefined();
  });

  it('loads every factory when a type is unknown, so the validator can name the known ones', async () => {
    const dir = await mkdtemp(join(os.tmpdir(), 'gs-index-'));
    try {
      const file = join(dir, 'c.yaml');
      await writeFile(
        file,
        'receivers: { otlp: {} }\nprocessors: { batchh: {} }\nexporters: { debug: {} }\nservice: { pipelines: { logs: { receivers: [otlp], processors: [batchh], exporters: [debug] } } }\n',
      );
      const loaded = await loadConfigFiles([file], []);
      const registry = await registryFor(loaded.raw);
      expect(registry.list('processor').length).toBe(builtinFactories.filter((f) => f.kind === 'processor').length);
      const result = validateConfig(loaded, registry);
      expect(result.ok).toBe(false);
      expect(JSON.stringify(result.ok ? [] : result.problems)).toContain('did you mean \\"batch\\"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
