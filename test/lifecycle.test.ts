/**
 * The generic lifecycle test, as the collector's generated component tests: every built-in factory (the
 * registry's list, so a new one is picked up without touching this file) is created from the minimal real
 * config its metadata gives (`tests.config`: ports 0, files under a temp dir) and must start and shut down,
 * shut down twice, shut down without a start, and leave nothing behind that stops a fresh instance with the
 * same config from starting. Each declared metric must exist once the component is created, and every
 * metric a service registers must be declared by some component or the service.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { builtinFactories } from '../src/components.js';
import type { AnyFactory, Component } from '../src/core/component.js';
import type { Consumer } from '../src/core/consumer.js';
import type { LifecycleContext, MetricDef } from '../src/core/metadata.js';
import { ITEM_NOUN, SIGNALS, type Signal } from '../src/core/signal.js';
import type { Payload } from '../src/pdata/payload.js';
import { SERVICE_METRICS } from '../src/telemetry/metrics.js';
import { testSettings } from './helpers/otlp-test-servers.js';
import { testHost } from './helpers/host.js';
import { NatsCluster, hasNatsServer } from './helpers/nats-server.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sink: Consumer = { consume: async (_p: Payload) => {} };

// The fixtures factories ask for (metadata tests.requires), started once: a JetStream server whose stream
// OTLP stores otlp.> (the nats components' defaults), where nats-server is installed (mandatory under CI).
const needsNats = builtinFactories.some((f) => f.tests.requires?.includes('nats-jetstream'));
const natsAvailable = needsNats && hasNatsServer('the lifecycle test of the nats components');
let nats: NatsCluster | undefined;
let natsDir: string | undefined;
beforeAll(async () => {
  if (!natsAvailable) return;
  natsDir = await mkdtemp(path.join(os.tmpdir(), 'gs-lifecycle-nats-'));
  nats = await NatsCluster.start(natsDir, 1);
  const nc = await connect({ servers: nats.urls });
  await (await jetstreamManager(nc)).streams.add({ name: 'OTLP', subjects: ['otlp.>'] });
  await nc.close();
}, 60_000);
afterAll(async () => {
  await nats?.stop();
  if (natsDir) await rm(natsDir, { recursive: true, force: true });
});

/** Whether the fixtures `f` requires can run here. */
function runnable(f: AnyFactory): boolean {
  return !f.tests.requires?.includes('nats-jetstream') || natsAvailable;
}

/** One instance of `f`, built as the service would, with its metadata's test config; `fatal` collects reportFatalError. */
async function instance(f: AnyFactory, dir: string) {
  const issues: { path: string[]; message: string }[] = [];
  const ctx: LifecycleContext = { dir, natsUrl: nats?.urls[0] };
  const config = f.config.parse(f.tests.config(ctx), [], issues);
  expect(issues, `${f.kind} ${f.type}: its metadata's tests.config does not validate`).toEqual([]);
  const signal: Signal = 'signals' in f ? f.signals[0]! : 'logs';
  if ('signals' in f) expect(f.checkPipeline?.(config, { signal, index: 0, workers: '1' }), `${f.kind} ${f.type}: checkPipeline`).toBeUndefined();
  const settings = { ...testSettings(f.type, f.kind), pipelineId: signal };
  cleanups.push(() => settings.telemetry.close());
  let component: Component;
  switch (f.kind) {
    case 'receiver':
      component = f.create(settings, config, Object.fromEntries(f.signals.map((s) => [s, sink])));
      break;
    case 'processor':
      component = f.create(settings, config, signal, sink);
      break;
    case 'exporter':
    case 'extension':
      component = f.create(settings, config);
      break;
    case 'connector': {
      // The first signal pair it connects, feeding one pipeline of the `to` signal named after it.
      const [from, to] = SIGNALS.flatMap((a) => SIGNALS.filter((b) => f.supports(a, b)).map((b) => [a, b] as const))[0]!;
      const place = { from, to, pipelines: [to] };
      expect(f.checkGraph?.(config, place), `${f.kind} ${f.type}: checkGraph`).toBeUndefined();
      component = f.create(settings, config, place, new Map([[to, sink]]));
      break;
    }
  }
  const fatal: Error[] = [];
  const host = testHost({ onFatal: (err) => void fatal.push(err) });
  return { component, host, fatal, settings };
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gs-lifecycle-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The names a metric is registered under (one per signal for per-signal metrics). */
function registeredNames(m: MetricDef): string[] {
  return m.perSignal ? SIGNALS.map((s) => `${m.name}_${ITEM_NOUN[s]}`) : [m.name];
}

describe.each(builtinFactories.filter(runnable).map((f) => ({ name: `${f.kind} ${f.type}`, f })))('lifecycle: $name', ({ f }) => {
  it('starts and shuts down', async () => {
    const { component, host, fatal } = await instance(f, await tempDir());
    await expect(component.start(host)).resolves.toBeUndefined();
    await expect(component.shutdown()).resolves.toBeUndefined();
    expect(fatal).toEqual([]);
  });

  it('shuts down twice', async () => {
    const { component, host, fatal } = await instance(f, await tempDir());
    await component.start(host);
    await component.shutdown();
    await expect(component.shutdown()).resolves.toBeUndefined();
    expect(fatal).toEqual([]);
  });

  it('shuts down without a start', async () => {
    const { component } = await instance(f, await tempDir());
    await expect(component.shutdown()).resolves.toBeUndefined();
  });

  it('leaves nothing behind: a fresh instance with the same config starts after it', async () => {
    const dir = await tempDir();
    const first = await instance(f, dir);
    await first.component.start(first.host);
    await first.component.shutdown();
    const second = await instance(f, dir);
    await second.component.start(second.host);
    await second.component.shutdown();
    expect([...first.fatal, ...second.fatal]).toEqual([]);
  });

  it('registers every metric its metadata declares, with its type and description', async () => {
    const { settings } = await instance(f, await tempDir());
    for (const m of f.metrics) {
      for (const name of registeredNames(m)) {
        const metric = settings.telemetry.registry.getSingleMetric(name);
        expect(metric, `${f.kind} ${f.type} declares ${name}, which is not registered`).toBeDefined();
        const got = await metric!.get();
        expect(got.type).toBe(m.type);
        expect(got.help.startsWith(m.description)).toBe(true);
      }
    }
  });
});

describe('metric metadata', () => {
  it('every metric a service with every built-in component registers is declared by a component or the service', async () => {
    const dir = await tempDir();
    const declared = new Set([...builtinFactories.flatMap((f) => f.metrics), ...Object.values(SERVICE_METRICS)].flatMap(registeredNames));
    for (const f of builtinFactories.filter(runnable)) {
      const { settings } = await instance(f, dir);
      // prom-client's default process and Node.js metrics carry their own documentation.
      const undeclared = settings.telemetry.registry
        .getMetricsAsArray()
        .map((m) => m.name)
        .filter((n) => !declared.has(n) && !/^gophership_(process|nodejs)_/.test(n));
      expect(undeclared, `${f.kind} ${f.type} registers metrics no metadata declares`).toEqual([]);
    }
  });
});
