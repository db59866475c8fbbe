/**
 * The compatibility corpus (test/compat/*.yaml): collector-style configs, written from the collector's
 * documented key lists, that together use every key of every supported component. Each validates without
 * a problem and starts; every key the schemas mark "not supported yet" answers so when set; and
 * docs/compatibility.md matches a fresh rendering.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { AnyFactory, ComponentKind } from '../src/core/component.js';
import { parseComponentId } from '../src/core/component.js';
import { builtinFactories, createRegistry } from '../src/components.js';
import { renderCompatibility, notYetKeys } from '../src/cli/compatibility.js';
import { flattenSchema } from '../src/cli/reference.js';
import { formatProblem, loadConfigFiles } from '../src/config/load.js';
import { SERVICE_SECTION_SCHEMAS, validateConfig } from '../src/config/validate.js';
import { Service } from '../src/service/service.js';
import { expectFreshDoc } from './helpers/docs.js';
import { hasOpenssl, makeCertSet, type CertSet } from './helpers/certs.js';

const CORPUS = join(import.meta.dirname, 'compat');
const SECTION_KIND: Record<string, ComponentKind> = {
  receivers: 'receiver',
  processors: 'processor',
  exporters: 'exporter',
  extensions: 'extension',
  connectors: 'connector',
};
/** The exporter helper's keys are one shared schema: used by any exporter, they are covered for all. */
const SHARED_PREFIXES = ['sending_queue.', 'retry_on_failure.', 'dead_letter.'];

let dir: string;
let files: string[];
const openssl = hasOpenssl('the compatibility corpus start-up check (its TLS keys name certificates made at test time)');
let certs: CertSet;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-compat-'));
  if (openssl) certs = makeCertSet();
  files = (await readdir(CORPUS)).filter((f) => f.endsWith('.yaml')).sort();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What the corpus reads from the environment: a scratch directory, a token, and certificates made here. */
const env = () => ({
  COMPAT_DIR: dir,
  COMPAT_TOKEN: 'corpus-token',
  COMPAT_CA: certs.ca.certFile,
  COMPAT_CA_PEM: certs.ca.cert.toString(),
  COMPAT_SERVER_CERT: certs.server.certFile,
  COMPAT_SERVER_KEY: certs.server.keyFile,
  COMPAT_SERVER_CERT_PEM: certs.server.cert.toString(),
  COMPAT_SERVER_KEY_PEM: certs.server.key.toString(),
  COMPAT_CLIENT_CERT_PEM: certs.client.cert.toString(),
  COMPAT_CLIENT_KEY_PEM: certs.client.key.toString(),
});

/** Dotted key paths of a config value, lists as `[]`, as flattenSchema writes them. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => keyPaths(v, `${prefix}[]`)).concat(prefix ? [prefix] : []);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => {
      const key = prefix ? (prefix.endsWith('[]') ? `${prefix}.${k}` : `${prefix}.${k}`) : k;
      return [key, ...keyPaths(v, key)];
    });
  }
  return prefix ? [prefix] : [];
}

const isLeaf = (type: string) => !['section', 'not supported yet', 'map of sections', 'list of sections'].includes(type);
const covered = (row: string, used: Set<string>) => {
  const re = new RegExp(`^${row.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/<name>/g, '[^.]+')}(\\.|\\[\\]|$)`);
  return [...used].some((u) => re.test(u));
};

describe('compatibility corpus (test/compat/*.yaml)', () => {
  it('has configs to check', () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
  });

  it.runIf(openssl)('every config validates without a problem or a warning, and starts and stops', async () => {
    for (const file of files) {
      const loaded = await loadConfigFiles([join(CORPUS, file)], [], env());
      const result = validateConfig(loaded, createRegistry());
      expect(result.ok ? [] : result.problems.map(formatProblem), file).toEqual([]);
      expect(loaded.warnings.map(formatProblem), file).toEqual([]);
      if (!result.ok) continue;
      const service = new Service(result.config);
      await service.start();
      await service.shutdown();
    }
  });

  it('together the configs use every key of every supported component and of service.telemetry', async () => {
    const registry = createRegistry();
    const used = new Map<AnyFactory, Set<string>>();
    const sharedUsed = new Set<string>();
    const telemetryUsed = new Set<string>();
    for (const file of files) {
      const raw = parseYaml(await readFile(join(CORPUS, file), 'utf8')) as Record<string, Record<string, unknown>>;
      for (const [section, kind] of Object.entries(SECTION_KIND)) {
        for (const [id, cfg] of Object.entries(raw[section] ?? {})) {
          const factory = registry.find(kind, parseComponentId(id)!.type)!;
          const set = used.get(factory) ?? new Set<string>();
          for (const k of keyPaths(cfg)) {
            set.add(k);
            if (kind === 'exporter' && SHARED_PREFIXES.some((p) => k.startsWith(p))) sharedUsed.add(k);
          }
          used.set(factory, set);
        }
      }
      for (const k of keyPaths((raw.service as Record<string, unknown> | undefined)?.telemetry)) telemetryUsed.add(k);
    }
    const missing: string[] = [];
    for (const f of builtinFactories.filter((b) => !b.gophershipOnly || used.has(b))) {
      const set = used.get(f) ?? new Set<string>();
      for (const row of flattenSchema(f.config.doc()).filter((r) => isLeaf(r.type))) {
        const shared = f.kind === 'exporter' && SHARED_PREFIXES.some((p) => row.key.startsWith(p));
        if (!covered(row.key, shared ? sharedUsed : set)) missing.push(`${f.kind} ${f.type}: ${row.key}`);
      }
    }
    for (const row of flattenSchema(SERVICE_SECTION_SCHEMAS.telemetry.doc()).filter((r) => isLeaf(r.type))) {
      if (!covered(row.key, telemetryUsed)) missing.push(`service.telemetry: ${row.key}`);
    }
    expect(missing, 'add these keys to a config in test/compat/ (in the shape the collector documents)').toEqual([]);
  });
});

/** A raw config with `value` at the flattened `key` (`a.b[].c`: a list of one map). */
function withKey(key: string, value: unknown): Record<string, unknown> {
  const parts = key.replace(/<name>/g, 'x').split('.');
  const root: Record<string, unknown> = {};
  let cur: Record<string, unknown> = root;
  parts.forEach((part, i) => {
    const list = part.endsWith('[]');
    const name = list ? part.slice(0, -2) : part;
    const last = i === parts.length - 1;
    if (last) cur[name] = list ? [value] : value;
    else if (list) {
      const item: Record<string, unknown> = {};
      cur[name] = [item];
      cur = item;
    } else {
      const next: Record<string, unknown> = {};
      cur[name] = next;
      cur = next;
    }
  });
  return root;
}

describe('keys the collector has and GopherShip lacks', () => {
  it('each one, when set, answers "<path>: not supported yet by GopherShip (what it does)"', () => {
    let checked = 0;
    for (const f of builtinFactories) {
      for (const { key, what } of notYetKeys(f.config.doc())) {
        const issues: { path: string[]; message: string }[] = [];
        f.config.parse(withKey(key, 'x'), [f.type], issues);
        const messages = issues.map((i) => `${i.path.join('.').replace(/\.0(\.|$)/g, '[]$1')}: ${i.message}`);
        expect(messages, `${f.kind} ${f.type} ${key}`).toContain(`${f.type}.${key}: not supported yet by GopherShip (${what})`);
        checked++;
      }
    }
    for (const { key, what } of notYetKeys(SERVICE_SECTION_SCHEMAS.telemetry.doc())) {
      const issues: { path: string[]; message: string }[] = [];
      SERVICE_SECTION_SCHEMAS.telemetry.parse(withKey(key, 'x'), ['service', 'telemetry'], issues);
      expect(
        issues.map((i) => `${i.path.join('.').replace(/\.0(\.|$)/g, '[]$1')}: ${i.message}`),
        key,
      ).toContain(`service.telemetry.${key}: not supported yet by GopherShip (${what})`);
      checked++;
    }
    expect(checked).toBeGreaterThan(30);
  });
});

describe('docs/compatibility.md', () => {
  it('is up to date (run `npm run docs` when this fails)', async () => {
    await expectFreshDoc(join(import.meta.dirname, '..', 'docs', 'compatibility.md'), renderCompatibility());
  });

  it('every collector-only component type is refused as not supported yet, once', async () => {
    const { COLLECTOR_ONLY_COMPONENTS } = await import('../src/config/collector-components.js');
    const registry = createRegistry();
    for (const c of COLLECTOR_ONLY_COMPONENTS) {
      if (c.kind !== 'connector' && registry.find(c.kind, c.type)) continue;
      const section = c.kind === 'connector' ? 'connectors' : `${c.kind}s`;
      const loaded = { raw: { [section]: { [c.type]: {} }, service: { pipelines: {} } }, locations: new Map(), problems: [], warnings: [] };
      const result = validateConfig(loaded, registry);
      const problems = result.ok ? [] : result.problems.map(formatProblem).filter((p) => p.startsWith(`${section}.`));
      expect(problems).toEqual([`${section}.${c.type}: ${c.kind} type "${c.type}": not supported yet by GopherShip (${c.what})`]);
    }
  });
});
