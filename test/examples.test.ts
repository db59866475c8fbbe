/**
 * The deployable files: every example config and every config under deploy/ passes the same validation
 * as `gophership validate`; docker-compose.yml, the Dockerfile, prometheus.yml and alerts.yml are
 * well-formed and refer only to things that exist (no Docker engine runs here, so `docker compose config`
 * cannot; this checks what it would). The image's HEALTHCHECK one-liner is run against a real gateway.
 */
import { execFile } from 'node:child_process';
import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../src/components.js';
import { formatProblem, loadConfigFiles } from '../src/config/load.js';
import { validateConfig, type ValidatedConfig } from '../src/config/validate.js';
import { parseLoadgenArgs } from '../src/tools/loadgen/cli.js';
import { startGateway } from './helpers/gateway.js';
import type { HealthCheckExtension } from '../extensions/health_check/health-check.js';
import { gatewayYaml, LOGS_TO_DEBUG } from './helpers/configs.js';

const ROOT = join(import.meta.dirname, '..');
const run = promisify(execFile);

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Validates a config file as `gophership validate` does; env empty so the files' defaults apply. */
async function validateFile(file: string, env: NodeJS.ProcessEnv = {}): Promise<ValidatedConfig> {
  const result = validateConfig(await loadConfigFiles([file], [], env), createRegistry());
  if (!result.ok) expect.fail(`${file} is invalid:\n${result.problems.map(formatProblem).join('\n')}`);
  return result.config;
}

describe('examples/', () => {
  it('has the three deployments, each a valid config', async () => {
    const files = (await readdir(join(ROOT, 'examples'))).filter((f) => f.endsWith('.yaml')).sort();
    expect(files).toEqual(expect.arrayContaining(['agent.yaml', 'gateway-durable.yaml', 'gateway-secure.yaml', 'logs-fanout.yaml']));
    for (const f of files) await validateFile(join(ROOT, 'examples', f));
  });

  it('agent.yaml forwards every signal to the gateway', async () => {
    const c = await validateFile(join(ROOT, 'examples/agent.yaml'), { GATEWAY_ENDPOINT: 'gw.example:4317' });
    expect(c.service.pipelines.map((p) => p.signal).sort()).toEqual(['logs', 'metrics', 'traces']);
    for (const p of c.service.pipelines) expect(p.exporters).toEqual(['otlp/gateway']);
    expect((c.exporters.get('otlp/gateway')!.config as { endpoint: string }).endpoint).toBe('gw.example:4317');
  });

  it('gateway-durable.yaml queues on a WAL and leads every pipeline with the somatic processor', async () => {
    const c = await validateFile(join(ROOT, 'examples/gateway-durable.yaml'), { DATA_DIR: '/data' });
    const q = (c.exporters.get('otlp/backend')!.config as { sending_queue: { enabled: boolean; storage: string; directory: string } }).sending_queue;
    expect(q).toMatchObject({ enabled: true, storage: 'wal', directory: '/data/queue' });
    for (const p of c.service.pipelines) expect(p.processors[0]).toBe('somatic');
  });

  it('gateway-secure.yaml authenticates every receiver protocol and every exporter, and keeps tenants apart', async () => {
    const c = await validateFile(join(ROOT, 'examples/gateway-secure.yaml'));
    const authOf = (x: unknown) => (x as { auth?: { authenticator: string } } | undefined)?.auth?.authenticator;
    for (const [id, r] of c.receivers) {
      const protocols = (r.config as { protocols: Record<string, unknown> }).protocols;
      for (const [name, p] of Object.entries(protocols)) {
        if (p === undefined) continue;
        expect(authOf(p), `${id} ${name}`).toBeDefined();
        expect(c.service.extensions).toContain(authOf(p));
        expect((p as { include_metadata: boolean }).include_metadata).toBe(true);
        // Tokens never cross the network in clear text: every protocol serves TLS.
        expect((p as { tls?: { cert_file: string } }).tls?.cert_file, `${id} ${name} tls`).toBeTruthy();
      }
    }
    for (const [id, e] of c.exporters) expect(authOf(e.config), id).toBeDefined();
    // The self-metrics and status page (the gateway's traffic, on the network) are served over TLS too.
    expect(c.service.telemetry.metrics.tls?.cert_file).toBeTruthy();
    // The header headers_setter forwards is one the batch keeps apart.
    const setter = c.extensions.get('headers_setter/tenant')!.config as { headers: { from_context: string }[] };
    const batch = c.processors.get('batch')!.config as { metadata_keys: string[] };
    expect(batch.metadata_keys).toContain(setter.headers[0]!.from_context);
  });

  it("gateway-secure.yaml's run line sets every variable the file reads (followed literally, nothing goes out as a placeholder)", async () => {
    const text = await readFile(join(ROOT, 'examples/gateway-secure.yaml'), 'utf8');
    const runLines = text
      .split('\n')
      .filter((l) => l.startsWith('#   '))
      .join(' ');
    const read = [...new Set([...text.matchAll(/\$\{env:([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!))];
    expect(read.length).toBeGreaterThan(5);
    for (const name of read) expect(runLines, name).toMatch(new RegExp(`\\b${name}=`));
  });

  it('logs-fanout.yaml sends logs only, to two backends through two pipelines', async () => {
    const c = await validateFile(join(ROOT, 'examples/logs-fanout.yaml'));
    expect(c.service.pipelines.every((p) => p.signal === 'logs')).toBe(true);
    expect(new Set(c.service.pipelines.flatMap((p) => p.exporters))).toEqual(new Set(['otlphttp/search', 'otlp/archive']));
    expect(new Set(c.service.pipelines.flatMap((p) => p.receivers))).toEqual(new Set(['otlp']));
  });
});

describe('docker-compose.yml', () => {
  type Service = {
    build?: string | { context: string };
    image?: string;
    command?: string[];
    volumes?: string[];
    environment?: Record<string, string>;
    ports?: string[];
    depends_on?: string[] | Record<string, { condition: string }>;
    healthcheck?: { disable?: boolean };
    profiles?: string[];
  };
  const load = async () => {
    const text = await readFile(join(ROOT, 'docker-compose.yml'), 'utf8');
    // Compose reads YAML 1.1 merge keys (`<<: *gophership`).
    return parseYaml(text, { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
  };

  it('has the app, the gateway, a downstream and Prometheus, each with an image or a build that exists', async () => {
    const compose = await load();
    // Without a profile: the four of the default topology; the jetstream profile adds its own.
    expect(
      Object.keys(compose.services)
        .filter((n) => !compose.services[n]!.profiles)
        .sort(),
    ).toEqual(['app', 'downstream', 'gateway', 'prometheus']);
    expect(
      Object.keys(compose.services)
        .filter((n) => compose.services[n]!.profiles?.includes('jetstream'))
        .sort(),
    ).toEqual(['edge', 'nats-1', 'nats-2', 'nats-3', 'processing']);
    for (const [name, svc] of Object.entries(compose.services)) {
      expect(svc.image ?? svc.build, `${name} needs an image or a build`).toBeTruthy();
      if (svc.build) {
        const ctx = typeof svc.build === 'string' ? svc.build : svc.build.context;
        expect(await exists(join(ROOT, ctx, 'Dockerfile')), `${name}: no Dockerfile in ${ctx}`).toBe(true);
      }
      for (const port of svc.ports ?? []) expect(port, `${name} port`).toMatch(/^\d+:\d+$/);
      const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
      for (const d of deps) expect(compose.services, `${name} depends on ${d}`).toHaveProperty(d);
    }
    expect(compose.services.prometheus!.image).toMatch(/^prom\/prometheus:v\d/);
  });

  it('mounts only files that exist and volumes that are declared', async () => {
    const compose = await load();
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const v of svc.volumes ?? []) {
        const [source] = v.split(':');
        if (source!.startsWith('.')) expect(await exists(join(ROOT, source!)), `${name} mounts missing ${source}`).toBe(true);
        else expect(compose.volumes, `${name} uses undeclared volume ${source}`).toHaveProperty(source!);
      }
    }
  });

  it('waits with service_healthy only on GopherShip services whose config serves the health check the image asks', async () => {
    const compose = await load();
    for (const [name, svc] of Object.entries(compose.services)) {
      if (Array.isArray(svc.depends_on)) continue;
      for (const [dep, { condition }] of Object.entries(svc.depends_on ?? {})) {
        if (condition !== 'service_healthy') continue;
        // A service without a health check never becomes healthy: its dependants would never start.
        const d = compose.services[dep]!;
        expect(d.build, `${name} waits for ${dep} to be healthy, which has no HEALTHCHECK`).toBeTruthy();
        expect(d.healthcheck?.disable, `${name} waits for ${dep}, whose health check is disabled`).not.toBe(true);
        const target = d.command![d.command!.indexOf('--config') + 1]!;
        const file = join(ROOT, (d.volumes ?? []).find((v) => v.split(':')[1] === target)!.split(':')[0]!);
        const config = await validateFile(file, d.environment ?? {});
        expect((config.extensions.get('health_check')?.config as { endpoint: string } | undefined)?.endpoint, `${dep}'s health_check`).toBe('0.0.0.0:13133');
      }
    }
    // The processing tier's receiver needs the stream, which the edge creates before it reports healthy.
    expect(compose.services.processing!.depends_on).toMatchObject({ edge: { condition: 'service_healthy' } });
  });

  it('runs GopherShip services on mounted configs that validate, the gateway durably', async () => {
    const compose = await load();
    for (const name of ['gateway', 'downstream']) {
      const svc = compose.services[name]!;
      const target = svc.command![svc.command!.indexOf('--config') + 1]!;
      const mount = (svc.volumes ?? []).find((v) => v.split(':')[1] === target);
      expect(mount, `${name}: ${target} is not mounted`).toBeDefined();
      const file = join(ROOT, mount!.split(':')[0]!);
      const config = await validateFile(file, svc.environment ?? {});
      // Its data lives in the named volume at the image's data directory.
      expect(svc.volumes).toContain(`${name}-data:/var/lib/gophership`);
      expect(config.service.telemetry.metrics.address).toBe('0.0.0.0:8888');
      if (name === 'gateway') {
        const exp = [...config.exporters.values()][0]!;
        expect((exp.config as { sending_queue: { storage: string } }).sending_queue.storage).toBe('wal');
        expect((exp.config as { endpoint: string }).endpoint).toBe('downstream:4317');
        expect(config.service.pipelines.every((p) => p.processors[0] === 'somatic')).toBe(true);
      }
    }
  });

  it('jetstream profile: three routed JetStream servers, an edge publishing R3 and a processing tier consuming it', async () => {
    const compose = await load();
    for (const n of ['nats-1', 'nats-2', 'nats-3']) {
      const cmd = compose.services[n]!.command!;
      expect(compose.services[n]!.image).toMatch(/^nats:2\./);
      expect(cmd).toContain('--jetstream');
      const routes = cmd[cmd.indexOf('--routes') + 1]!.split(',');
      expect(routes.sort()).toEqual(['nats-1', 'nats-2', 'nats-3'].filter((o) => o !== n).map((o) => `nats://${o}:6222`));
    }
    const edge = await validateFile(join(ROOT, 'deploy/jetstream/edge.yaml'));
    const nats = edge.exporters.get('nats')!.config as { stream: { replicas: number; name: string }; servers: string[] };
    expect(nats.stream.replicas).toBe(3);
    expect(nats.servers).toEqual(['nats://nats-1:4222', 'nats://nats-2:4222', 'nats://nats-3:4222']);
    const processing = await validateFile(join(ROOT, 'deploy/jetstream/processing.yaml'), compose.services.processing!.environment ?? {});
    expect((processing.receivers.get('nats')!.config as { stream: string }).stream).toBe(nats.stream.name);
  });

  it('runs the load generator with flags it accepts, pointed at the gateway', async () => {
    const app = (await load()).services.app!;
    expect(app.command![0]).toBe('loadgen');
    const parsed = parseLoadgenArgs(app.command!.slice(1));
    expect(parsed.options.endpoint).toBe('http://gateway:4318');
    // setTimeout holds at most 2^31-1 ms; a longer duration would end the load at once.
    expect(parsed.options.durationMs!).toBeLessThan(2 ** 31 - 1);
    expect(app.healthcheck?.disable).toBe(true);
  });

  it("points Prometheus at both GopherShips' metrics ports, with alert rules that parse", async () => {
    const prom = parseYaml(await readFile(join(ROOT, 'deploy/prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };
    const targets = prom.scrape_configs.flatMap((s) => s.static_configs.flatMap((c) => c.targets));
    expect(targets.sort()).toEqual(['downstream:8888', 'gateway:8888']);
    expect(prom.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
    const alerts = parseYaml(await readFile(join(ROOT, 'deploy/alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const rules = alerts.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(5);
    for (const r of rules) {
      expect(r.alert).toMatch(/^GopherShip/);
      // Every metric an alert names is one the gateway exports (by prefix).
      for (const m of r.expr.match(/\b(otelcol|gophership)_[a-z_]+/g) ?? [])
        expect(m).toMatch(/^(otelcol_(receiver|exporter|process)|gophership_(somatic|event_loop))_/);
    }
  });
});

describe('Dockerfile', () => {
  const lines = async () => (await readFile(join(ROOT, 'Dockerfile'), 'utf8')).split('\n');

  it('builds on node:20-slim in stages and runs as a non-root user with a data volume', async () => {
    const text = (await lines()).join('\n');
    const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms.every((f) => f === 'node:20-slim')).toBe(true);
    expect(text).toMatch(/RUN npm ci\b/);
    expect(text).toMatch(/npm ci --omit=dev/);
    expect(text).toMatch(/npx tsc -p tsconfig.json/);
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^VOLUME \["\/var\/lib\/gophership"\]$/m);
    expect(text).toMatch(/^ENTRYPOINT \["node", "\/app\/bin\/gophership.js"\]$/m);
  });

  it("the build stage copies every folder tsconfig.json compiles (a missing one fails the image's tsc)", async () => {
    const tsconfig = JSON.parse(await readFile(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
    const roots = [...new Set(tsconfig.include.map((glob) => glob.split('/')[0]!))];
    const text = (await lines()).join('\n');
    const buildStage = text.slice(0, text.indexOf('\nFROM ', text.indexOf('FROM ') + 1));
    const copied = [...buildStage.matchAll(/^COPY (?!--from)(\S+) \S+$/gm)].map((m) => m[1]);
    expect(roots.filter((r) => !copied.includes(r))).toEqual([]);
  });

  it('copies only paths that exist and are not excluded from the build context', async () => {
    const ignore = (await readFile(join(ROOT, '.dockerignore'), 'utf8'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const line of await lines()) {
      const m = /^COPY (?!--from)(.+) (\S+)$/.exec(line);
      if (!m) continue;
      for (const src of m[1]!.split(/\s+/)) {
        expect(await exists(join(ROOT, src)), `COPY ${src}: missing`).toBe(true);
        expect(ignore, `COPY ${src} is excluded by .dockerignore`).not.toContain(src.split('/')[0]);
      }
    }
  });

  it('has an image default config that validates and serves health_check where the HEALTHCHECK asks', async () => {
    const c = await validateFile(join(ROOT, 'deploy/container.yaml'));
    expect((c.extensions.get('health_check')!.config as { endpoint: string }).endpoint).toBe('0.0.0.0:13133');
    expect((await lines()).join('\n')).toContain("'http://127.0.0.1:13133/'");
  });

  it('HEALTHCHECK one-liner exits 0 against a serving health_check and 1 when nothing answers', async () => {
    const text = (await lines()).join('\n');
    const m = /CMD \["node", "-e", "(.+)"\]/.exec(text);
    expect(m).not.toBeNull();
    const code = JSON.parse(`"${m![1]}"`) as string;
    const gw = await startGateway(gatewayYaml({ ...LOGS_TO_DEBUG, extensions: { health_check: { endpoint: '127.0.0.1:0' } } }));
    const port = gw.component<HealthCheckExtension>('extension', 'health_check')!.port;
    try {
      const ok = await run(process.execPath, ['-e', code], { env: { ...process.env, GOPHERSHIP_HEALTH_URL: `http://127.0.0.1:${port}/` } });
      expect(ok.stderr).toBe('');
      gw.telemetry.health = 'draining';
      await expect(run(process.execPath, ['-e', code], { env: { ...process.env, GOPHERSHIP_HEALTH_URL: `http://127.0.0.1:${port}/` } })).rejects.toMatchObject({
        code: 1,
      });
    } finally {
      await gw.shutdown(2000);
    }
    await expect(run(process.execPath, ['-e', code], { env: { ...process.env, GOPHERSHIP_HEALTH_URL: `http://127.0.0.1:${port}/` } })).rejects.toMatchObject({
      code: 1,
    });
  });
});

describe('deploy/kubernetes', () => {
  const DIR = join(ROOT, 'deploy/kubernetes');
  type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, any> };
  const manifest = async (f: string) => parseYaml(await readFile(join(DIR, f), 'utf8')) as Manifest;

  it('lists in its kustomization exactly the manifests beside it, and a ConfigMap of a config that validates', async () => {
    const k = parseYaml(await readFile(join(DIR, 'kustomization.yaml'), 'utf8')) as {
      resources: string[];
      configMapGenerator: Array<{ name: string; files: string[] }>;
    };
    const files = (await readdir(DIR)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'gateway.yaml');
    expect([...k.resources].sort()).toEqual(files.sort());
    expect(k.configMapGenerator[0]!.files).toEqual(['gateway.yaml']);
    const c = await validateFile(join(DIR, 'gateway.yaml'));
    expect(c.service.workers).toBe('auto');
    expect(c.service.pipelines.every((p) => p.processors[0] === 'somatic')).toBe(true);
  });

  it('runs the gateway with probes on the health check, its data on a volume and its config from the ConfigMap', async () => {
    const d = await manifest('deployment.yaml');
    expect(d.kind).toBe('Deployment');
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    const config = await validateFile(join(DIR, 'gateway.yaml'), Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value])));
    const health = config.extensions.get('health_check')!.config as { endpoint: string; path: string };
    const healthPort = Number(health.endpoint.split(':').pop());
    const ports = Object.fromEntries(c.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]));
    for (const probe of [c.readinessProbe, c.livenessProbe]) {
      expect(ports[probe.httpGet.port]).toBe(healthPort);
      expect(probe.httpGet.path).toBe(health.path);
    }
    expect(c.args).toEqual(['--config', '/etc/gophership/gateway.yaml', '--shutdown-timeout', '30s']);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(30);
    const mounts = Object.fromEntries(c.volumeMounts.map((m: { name: string; mountPath: string }) => [m.mountPath, m.name]));
    expect(mounts['/etc/gophership']).toBe('config');
    expect(mounts['/var/lib/gophership']).toBe('data');
    expect(pod.volumes.find((v: { name: string }) => v.name === 'config').configMap.name).toBe('gophership-config');
    // The somatic limit stays under the container's memory limit.
    const limitMiB = Number(String(c.resources.limits.memory).replace('Gi', '')) * 1024;
    expect((config.processors.get('somatic')!.config as { memory_limit_mib: number }).memory_limit_mib).toBeLessThan(limitMiB);
  });

  it('selects the pods from both Services, the PDB and the HPA, the headless one for DNS resolution', async () => {
    const labels = (await manifest('deployment.yaml')).spec.template.metadata.labels;
    for (const f of ['service.yaml', 'service-headless.yaml']) {
      const s = await manifest(f);
      expect(s.spec.selector).toEqual(labels);
    }
    expect((await manifest('service-headless.yaml')).spec.clusterIP).toBe('None');
    expect((await manifest('pdb.yaml')).spec.selector.matchLabels).toEqual(labels);
    const hpa = await manifest('hpa.yaml');
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'gophership' });
    expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
  });
});
