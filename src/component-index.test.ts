import { describe, expect, it } from 'vitest';
import { COMPONENT_INDEX, registryFor } from './component-index.js';
import { builtinFactories } from './components.js';
import { loadConfigFiles } from './config/load.js';
import { validateConfig } from './config/validate.js';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const KINDS = ['receiver', 'processor', 'exporter', 'connector', 'extension'] as const;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The folder of each kind's components, which is also its config section. */
const FOLDER = { receiver: 'receivers', processor: 'processors', exporter: 'exporters', connector: 'connectors', extension: 'extensions' } as const;

describe('component index (factories loaded only when named)', () => {
  it('names every built-in component as its factory does, in the same order', () => {
    expect(COMPONENT_INDEX.map((e) => [e.kind, e.metadata.type, e.metadata.aliases ?? []])).toEqual(
      builtinFactories.map((f) => [f.kind, f.type, f.aliases ?? []]),
    );
  });

  it("has one entry per component folder, loading that folder's own factory, which a registry for its type holds", async () => {
    const onDisk = KINDS.flatMap((k) =>
      readdirSync(join(ROOT, FOLDER[k]), { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => `${FOLDER[k]}/${d.name}`),
    );
    expect(COMPONENT_INDEX.map((e) => `${FOLDER[e.kind]}/${e.metadata.type}`).sort()).toEqual(onDisk.sort());
    for (const entry of COMPONENT_INDEX) {
      const { kind, metadata } = entry;
      const where = `${FOLDER[kind]}/${metadata.type}/factory.ts`;
      // The folder's factory module, imported on its own: an index entry that loads another folder's factory fails here.
      const exported = Object.values((await import(join(ROOT, where))) as Record<string, unknown>).filter(
        (v) => typeof v === 'object' && v !== null && 'kind' in v && 'create' in v,
      );
      expect(exported, `${where} exports one factory (kind, create)`).toHaveLength(1);
      const factory = await entry.load();
      expect(factory, `${where}: the index entry loads it`).toBe(exported[0]);
      expect([factory.kind, factory.type], where).toEqual([kind, metadata.type]);
      const registry = await registryFor({ [FOLDER[kind]]: { [metadata.type]: {} } });
      expect(registry.list(kind), where).toEqual([factory]);
      for (const name of [metadata.type, ...(metadata.aliases ?? [])]) expect(registry.find(kind, name), `${where}: found as ${name}`).toBe(factory);
    }
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
