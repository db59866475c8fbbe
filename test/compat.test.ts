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
import { formatProblem, indentQuotedContinuations, loadConfigFiles } from '../src/config/load.js';
import { SERVICE_SECTION_SCHEMAS, validateConfig } from '../src/config/validate.js';
import { Service } from '../src/service/service.js';
import { expectFreshDoc } from './helpers/docs.js';
import { hasOpenssl, makeCertSet, type CertSet } from './helpers/certs.js';
import { configProblems } from './helpers/config-problems.js';
import { COLLECTOR_ONLY_COMPONENTS, type CollectorOnlyComponent } from '../src/config/collector-components.js';
import { RENAMED_KEYS } from '../src/config/collector-keys.js';

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
      // Read as the loader reads it (a quoted value may continue at its key's indentation, as Go's YAML takes it).
      const raw = parseYaml(indentQuotedContinuations(await readFile(join(CORPUS, file), 'utf8'))) as Record<string, Record<string, unknown>>;
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

describe('keys of older collectors (src/config/collector-keys.ts)', () => {
  const registry = createRegistry();

  it('lists only keys the schemas do not read, each answered with what to write now', () => {
    let checked = 0;
    for (const r of RENAMED_KEYS) {
      for (const type of r.types) {
        const factory = registry.find(r.kind, type)!;
        expect(factory?.type, `${r.kind} ${type}`).toBe(type);
        for (const key of r.paths) {
          const section = `${r.kind}s`;
          const loaded = { raw: { [section]: { [type]: withKey(key, 'x') } }, locations: new Map(), problems: [], warnings: [] };
          const result = validateConfig(loaded, registry);
          const problems = result.ok ? [] : result.problems.map(formatProblem).filter((p) => p.startsWith(`${section}.${type}.${key}:`));
          const last = key.split('.').pop()!;
          expect(problems, `${r.kind} ${type} ${key}`).toEqual([
            `${section}.${type}.${key}: "${last}" is a key of older collectors, which the collector no longer reads; ${r.use !== undefined ? `write ${r.use}` : `remove it: ${r.remove}`}`,
          ]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(20);
  });

  it('a config copied from an older collector answers each such key at its file:line', async () => {
    const problems = await configProblems(`receivers:
  otlp:
    protocols:
      grpc:
        tls_settings:
          cert_file: server.crt
          key_file: server.key
      http:
        cors_allowed_origins: ["https://*.example.com"]
processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 1500
    ballast_size_mib: 683
exporters:
  otlp:
    endpoint: tempo:4317
    insecure: true
  otlphttp:
    endpoint: https://backend:4318
    batcher:
      enabled: true
  debug:
    loglevel: debug
    verbosity: basic
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter]
      exporters: [otlp, otlphttp, debug]
`);
    expect(problems).toEqual([
      'FILE:5: receivers.otlp.protocols.grpc.tls_settings: "tls_settings" is a key of older collectors, which the collector no longer reads; write tls (the same cert_file, key_file, client_ca_file keys under it)',
      'FILE:9: receivers.otlp.protocols.http.cors_allowed_origins: "cors_allowed_origins" is a key of older collectors, which the collector no longer reads; write cors.allowed_origins',
      'FILE:14: processors.memory_limiter.ballast_size_mib: "ballast_size_mib" is a key of older collectors, which the collector no longer reads; remove it: the collector dropped the ballast with the memory_ballast extension; the limits work without it',
      'FILE:18: exporters.otlp.insecure: "insecure" is a key of older collectors, which the collector no longer reads; write tls.insecure',
      'FILE:21: exporters.otlphttp.batcher: "batcher" is a key of older collectors, which the collector no longer reads; write sending_queue.batch (its flush_timeout, min_size, max_size and sizer)',
      'FILE:24: exporters.debug.loglevel: "loglevel" is a key of older collectors, which the collector no longer reads; write verbosity (basic, normal or detailed; the logging exporter\'s loglevel: debug is detailed)',
    ]);
  });

  it('a key of another component type, or a typo near a real key, keeps the plain unknown-key answer', async () => {
    const problems = await configProblems(`receivers:
  otlp:
    protocols:
      grpc:
exporters:
  otlphttp:
    endpoint: https://backend:4318
    insecure: true
  otlp:
    endpoint: backend:4317
    tls:
      insecur: true
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp, otlphttp]
`);
    expect(problems).toEqual([
      expect.stringMatching(/^FILE:8: exporters\.otlphttp\.insecure: unknown key; valid keys here: /),
      'FILE:12: exporters.otlp.tls.insecur: unknown key; did you mean "insecure"?',
    ]);
  });
});

describe('docs/compatibility.md', () => {
  it('is up to date (run `npm run docs` when this fails)', async () => {
    await expectFreshDoc(join(import.meta.dirname, '..', 'docs', 'compatibility.md'), renderCompatibility());
  });
});

describe('collector component types GopherShip lacks (src/config/collector-components.ts)', () => {
  const registry = createRegistry();
  const names = (c: CollectorOnlyComponent) => [c.type, ...(c.aliases ?? [])];
  const sectionOf = (kind: ComponentKind) => `${kind}s`;
  const REMOVED = /" was removed from the collector in v\d+\.\d+\.\d+; use .+ \((GopherShip has it|not in GopherShip yet)\)(: .+)?$/;

  it('lists no type or alias GopherShip builds in', () => {
    const builtIn = COLLECTOR_ONLY_COMPONENTS.flatMap((c) =>
      names(c)
        .filter((n) => registry.find(c.kind, n))
        .map((n) => `${c.kind} ${n}`),
    );
    expect(builtIn, 'GopherShip builds these in: drop them from the table').toEqual([]);
  });

  it("the collector's snake_case names of built-in components name them (the 2026 renames)", () => {
    const renamed: Array<[ComponentKind, string, string]> = [
      ['exporter', 'otlp_grpc', 'otlp'],
      ['exporter', 'otlp_http', 'otlphttp'],
      ['exporter', 'load_balancing', 'loadbalancing'],
      ['processor', 'resource_detection', 'resourcedetection'],
      ['connector', 'span_metrics', 'spanmetrics'],
    ];
    for (const [kind, name, type] of renamed) expect(registry.find(kind, name)?.type, `${kind} ${name}`).toBe(type);
  });

  it('names each kind and type (or alias) once', () => {
    const all = COLLECTOR_ONLY_COMPONENTS.flatMap((c) => names(c).map((n) => `${c.kind} ${n}`));
    expect(all.filter((n, i) => all.indexOf(n) !== i)).toEqual([]);
    expect(COLLECTOR_ONLY_COMPONENTS.length).toBeGreaterThan(190);
  });

  it('says "GopherShip has it" of a replacement only when it does', () => {
    for (const c of COLLECTOR_ONLY_COMPONENTS.filter((e) => e.removed)) {
      const { builtin, use } = c.removed!;
      if (builtin) expect(registry.find(builtin.kind, builtin.type), `${c.kind} ${c.type}`).toBeDefined();
      else expect(use, `${c.kind} ${c.type}: its replacement is not built in`).toMatch(/^the \S+ (receiver|processor|exporter|extension|connector)$/);
      if (builtin) expect(use).toBe(`the ${builtin.type} ${builtin.kind}`);
    }
  });

  it('each type and alias is refused once, as not supported yet or as removed with its replacement', () => {
    let removed = 0;
    for (const c of COLLECTOR_ONLY_COMPONENTS) {
      for (const name of names(c)) {
        const section = sectionOf(c.kind);
        const loaded = { raw: { [section]: { [name]: {} }, service: { pipelines: {} } }, locations: new Map(), problems: [], warnings: [] };
        const result = validateConfig(loaded, registry);
        const problems = result.ok ? [] : result.problems.map(formatProblem).filter((p) => p.startsWith(`${section}.`));
        expect(problems, `${c.kind} ${name}`).toHaveLength(1);
        if (c.removed) {
          removed++;
          expect(problems[0]).toMatch(new RegExp(`^${section}\\.${name}: ${c.kind} type "${name}`));
          expect(problems[0]).toMatch(REMOVED);
        } else expect(problems[0]).toBe(`${section}.${name}: ${c.kind} type "${name}": not supported yet by GopherShip (${c.what})`);
      }
    }
    expect(removed).toBeGreaterThanOrEqual(10);
  });

  it('a config naming collector types answers each at its file:line, by the name the config wrote', async () => {
    const problems = await configProblems(`receivers:
  otlp:
    protocols:
      grpc:
  k8s_cluster:
    auth_type: serviceAccount
  file_log/pods:
    include: [/var/log/pods/*/*/*.log]
  opencensus:
processors:
  k8sattributes:
  metricstarttime:
exporters:
  logging:
    verbosity: detailed
  jaeger:
    endpoint: jaeger:14250
  otelarrow:
    endpoint: backend:4317
  load_balancing:
    protocol: { otlp: { tls: { insecure: true } } }
    resolver: { static: { hostnames: [gateway-1:4317] } }
extensions:
  headers_setter:
    headers: [{ key: X-Tenant, from_context: tenant }]
  sigv4auth:
    region: us-east-1
  file_storage:
    directory: /var/lib/otelcol
  k8s_observer:
connectors:
  servicegraph:
service:
  extensions: [headers_setter]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger]
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        'FILE:5: receivers.k8s_cluster: receiver type "k8s_cluster": not supported yet by GopherShip (collects Kubernetes cluster metrics)',
        'FILE:7: receivers.file_log/pods: receiver type "file_log": not supported yet by GopherShip (tails log files)',
        'FILE:9: receivers.opencensus: receiver type "opencensus" was removed from the collector in v0.134.0; use the otlp receiver (GopherShip has it)',
        'FILE:11: processors.k8sattributes: processor type "k8sattributes": not supported yet by GopherShip (adds Kubernetes pod metadata to telemetry)',
        'FILE:12: processors.metricstarttime: processor type "metricstarttime": not supported yet by GopherShip (sets start times of cumulative metrics)',
        'FILE:14: exporters.logging: exporter type "logging" was removed from the collector in v0.111.0; use the debug exporter (GopherShip has it)',
        'FILE:16: exporters.jaeger: exporter type "jaeger" was removed from the collector in v0.85.0; use the otlp exporter (GopherShip has it): Jaeger takes OTLP',
        'FILE:18: exporters.otelarrow: exporter type "otelarrow": not supported yet by GopherShip (sends OTLP as Apache Arrow streams)',
        'FILE:26: extensions.sigv4auth: extension type "sigv4auth": not supported yet by GopherShip (signs outgoing requests with AWS SigV4)',
        'FILE:28: extensions.file_storage: extension type "file_storage": not supported yet by GopherShip (stores persistent queue data in files (bbolt))',
        'FILE:30: extensions.k8s_observer: extension type "k8s_observer": not supported yet by GopherShip (discovers Kubernetes pods, ports and nodes)',
        'FILE:32: connectors.servicegraph: connector type "servicegraph": not supported yet by GopherShip (builds service-graph metrics from spans)',
      ]),
    );
    // Nothing else: headers_setter and load_balancing (the loadbalancing exporter's new name) are built in and validate, the pipeline's references resolve to the declared ids.
    expect(problems).toHaveLength(12);
    expect(problems.filter((p) => p.includes('headers_setter') || /unknown \w+ type/.test(p))).toEqual([]);
  });

  it("the otelcol-contrib package's default config (v0.105, and its `logging` form before v0.86) answers only not-yet and removed types", async () => {
    const file = join(import.meta.dirname, 'fixtures', 'collector-configs', 'otelcol-contrib-default-v0.105.yaml');
    const text = await readFile(file, 'utf8');
    for (const yaml of [text, text.replace(/\bdebug\b/g, 'logging')]) {
      const problems = await configProblems(yaml);
      expect(problems.length).toBeGreaterThanOrEqual(4);
      // pprof and zpages are built in: their sections and places in service.extensions validate.
      expect(problems.filter((p) => p.includes('pprof') || p.includes('zpages'))).toEqual([]);
      for (const p of problems)
        expect(p).toMatch(/^FILE:\d+: \w+\.\w+: \w+ type "\w+(": not supported yet by GopherShip \(.+\)$|" was removed from the collector in v)/);
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            /^FILE:\d+: receivers\.opencensus: receiver type "opencensus" was removed from the collector in v0\.134\.0; use the otlp receiver/,
          ),
          expect.stringMatching(/^FILE:\d+: receivers\.prometheus: receiver type "prometheus": not supported yet/),
          expect.stringMatching(/^FILE:\d+: receivers\.jaeger: receiver type "jaeger": not supported yet/),
          expect.stringMatching(/^FILE:\d+: receivers\.zipkin: receiver type "zipkin": not supported yet/),
        ]),
      );
    }
  });
});
