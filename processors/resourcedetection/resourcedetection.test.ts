import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';
import { decodeRequest, requestFromJson, requestMessageToJson } from '../../src/pdata/codec.js';
import { counterValue, makeLogsRequest, makeMetricsRequest, makeTracesRequest, RecordingConsumer } from '../../test/helpers/otlp-test-servers.js';
import { detectHostname, hostArch, osType, parseResourceAttributes, readMachineId, type DetectOptions } from './detectors.js';
import { resourceDetectionProcessorFactory } from './factory.js';
import { ResourceDetectionProcessor } from './resourcedetection-processor.js';
import { testHost } from '../../test/helpers/host.js';
import { validConfig, settingsForTest } from '../../test/helpers/component-config.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gs-resdet-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
async function make(raw: Record<string, unknown>, opts: DetectOptions, signal: Signal = 'logs') {
  const cfg = validConfig(resourceDetectionProcessorFactory, raw);
  const settings = settingsForTest('resourcedetection', 'processor');
  const down = new RecordingConsumer();
  const proc = new ResourceDetectionProcessor(settings, cfg, signal, down, opts);
  await proc.start();
  return { proc, down, settings };
}

/** Resource attributes of each resource, as plain {key: value}. */
function resources(signal: Signal, bytes: Uint8Array): Record<string, unknown>[] {
  const m = decodeRequest(signal, bytes) as any;
  const list = m.resourceLogs ?? m.resourceSpans ?? m.resourceMetrics;
  return list.map((r: any) => Object.fromEntries((r.resource?.attributes ?? []).map((kv: any) => [kv.key, kv.value?.value.value])));
}

describe('env detector: OTEL_RESOURCE_ATTRIBUTES', () => {
  it('reads k=v pairs, trimmed, values percent-decoded', () => {
    expect(parseResourceAttributes(' service.name = checkout , deployment.environment=prod%20eu,team=a%2Cb ').attrs).toEqual(
      new Map([
        ['service.name', 'checkout'],
        ['deployment.environment', 'prod eu'],
        ['team', 'a,b'],
      ]),
    );
    expect(parseResourceAttributes(undefined).attrs.size).toBe(0);
    expect(parseResourceAttributes('k=').attrs).toEqual(new Map([['k', '']]));
  });

  it('discards a malformed value whole and says why', () => {
    const a = parseResourceAttributes('good=1,bad');
    expect(a.attrs.size).toBe(0);
    expect(a.error).toMatch(/"bad" is not key=value/);
    const b = parseResourceAttributes('k=%zz');
    expect(b.attrs.size).toBe(0);
    expect(b.error).toMatch(/percent-encoding/);
  });
});

describe('system detector', () => {
  it('maps Node platform and arch to the semantic convention values', () => {
    expect(osType('linux')).toBe('linux');
    expect(osType('darwin')).toBe('darwin');
    expect(osType('win32')).toBe('windows');
    expect(hostArch('x64')).toBe('amd64');
    expect(hostArch('arm64')).toBe('arm64');
    expect(hostArch('ia32')).toBe('x86');
  });

  it('reads the first non-empty readable machine-id', async () => {
    const empty = path.join(dir, 'empty-id');
    const second = path.join(dir, 'dbus-id');
    await writeFile(empty, '\n');
    await writeFile(second, 'abc123\n');
    expect(await readMachineId([path.join(dir, 'missing'), empty, second])).toBe('abc123');
    expect(await readMachineId([path.join(dir, 'missing')])).toBeUndefined();
  });

  it('adds host.name and os.type by default, as the collector', async () => {
    const { proc } = await make({ detectors: ['system'], system: { hostname_sources: ['os'] } }, { machineIdPaths: [] });
    expect(Object.fromEntries(proc.detected)).toEqual({ 'host.name': os.hostname(), 'os.type': osType() });
  });

  it('adds host.name, os.type, host.arch and host.id when enabled', async () => {
    const idFile = path.join(dir, 'machine-id');
    await writeFile(idFile, 'feedface\n');
    const on = { enabled: true };
    const { proc, down } = await make(
      { detectors: ['system'], system: { hostname_sources: 'os', resource_attributes: { 'host.arch': on, 'host.id': on } } },
      { machineIdPaths: [idFile] },
    );
    await proc.consume(new Payload('logs', makeLogsRequest(2, 1)));
    for (const r of resources('logs', down.got[0]!.bytes)) {
      expect(r).toMatchObject({ 'host.name': os.hostname(), 'os.type': osType(), 'host.arch': hostArch(), 'host.id': 'feedface' });
    }
  });

  it('attributes (deprecated in the collector, which still reads it) keeps only the detected attributes it names', async () => {
    const { proc } = await make(
      { detectors: ['env', 'system'], system: { hostname_sources: ['os'] }, attributes: ['host.name', 'deployment.environment.name'] },
      { machineIdPaths: [], env: { OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod,team=core' } },
    );
    expect(Object.fromEntries(proc.detected)).toEqual({ 'host.name': os.hostname(), 'deployment.environment.name': 'prod' });
  });

  it('lets each system attribute be switched off', async () => {
    const { proc } = await make(
      { detectors: ['system'], system: { resource_attributes: { 'host.name': { enabled: false }, 'host.arch': { enabled: true } } } },
      { machineIdPaths: [] },
    );
    expect([...proc.detected.keys()]).toEqual(['os.type', 'host.arch']);
  });

  it('adds the list-valued network attributes and the OS and CPU ones when enabled', async () => {
    const on = { enabled: true };
    const ra = {
      'host.name': { enabled: false },
      'os.type': { enabled: false },
      'host.ip': on,
      'host.mac': on,
      'host.interface': on,
      'os.version': on,
      'os.description': on,
      'host.cpu.model.name': on,
    };
    const { proc, down } = await make({ detectors: ['system'], system: { resource_attributes: ra } }, { machineIdPaths: [] });
    const d = Object.fromEntries(proc.detected);
    const nics = Object.entries(os.networkInterfaces()).flatMap(([n, infos]) => (infos ?? []).filter((i) => !i.internal).map((i) => [n, i.address] as const));
    expect(d['host.ip']).toEqual(nics.map(([, a]) => a));
    expect(d['host.interface']).toEqual([...new Set(nics.map(([n]) => n))]);
    expect(d['os.version']).toBe(os.release());
    expect(d['os.description']).toBe(`${os.type()} ${os.release()}`);
    expect(d['host.cpu.model.name']).toBe(os.cpus()[0]!.model);
    await proc.consume(new Payload('logs', makeLogsRequest(1, 1)));
    const [r] = resources('logs', down.got[0]!.bytes);
    const list = r!['host.ip'] as { values: Array<{ value: { value: string } }> };
    expect(list.values.map((v) => v.value.value)).toEqual(d['host.ip']);
  });

  it('hostname_sources: the first source that answers names the host', async () => {
    expect(await detectHostname(['os'])).toBe(os.hostname());
    // cname has no answer for a name that is not in DNS; os answers next.
    expect(await detectHostname(['cname', 'os'])).toBe(os.hostname());
    expect(await detectHostname([])).toBeUndefined();
  });

  it('refuses the cloud detectors as not supported yet, and a misspelled one as unknown', () => {
    const issues: { path: string[]; message: string }[] = [];
    resourceDetectionProcessorFactory.config.parse({ gcp: {} }, ['p'], issues);
    resourceDetectionProcessorFactory.config.parse({ detectors: ['env', 'gcp', 'sytem'] }, ['p'], issues);
    expect(issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'p.gcp: not supported yet by GopherShip (settings of the gcp detector)',
      'p.detectors.1: detector "gcp" is not supported yet by GopherShip (it reads the gcp metadata of the platform the collector runs on); GopherShip has env and system',
      'p.detectors.2: unknown detector "sytem"; GopherShip has env and system',
    ]);
  });
});

describe('resourcedetection processor', () => {
  const env = { OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-env,deployment.environment=prod' };

  it('override (default true) replaces existing attributes and adds the rest, for every signal', async () => {
    for (const [signal, bytes] of [
      ['logs', makeLogsRequest(2, 3)],
      ['traces', makeTracesRequest(2)],
      ['metrics', makeMetricsRequest(2)],
    ] as [Signal, Uint8Array][]) {
      const { proc, down, settings } = await make({}, { env }, signal);
      await proc.consume(new Payload(signal, bytes));
      const out = down.got[0]!;
      for (const r of resources(signal, out.bytes)) expect(r).toEqual({ 'service.name': 'from-env', 'deployment.environment': 'prod' });
      // Records are carried through unchanged.
      const strip = (b: Uint8Array) => {
        const m = decodeRequest(signal, b) as any;
        for (const r of m.resourceLogs ?? m.resourceSpans ?? m.resourceMetrics) r.resource = undefined;
        return JSON.stringify(requestMessageToJson(signal, m));
      };
      expect(strip(out.bytes)).toBe(strip(bytes));
      const labels = { processor: 'resourcedetection', otel_signal: signal };
      expect(await counterValue(settings.telemetry, 'otelcol_processor_outgoing_items', labels)).toBe(out.itemCount);
    }
  });

  it('override: false keeps what the resource has and only adds what it lacks', async () => {
    const { proc, down } = await make({ override: false }, { env });
    await proc.consume(new Payload('logs', makeLogsRequest(1, 1, 'x')));
    expect(resources('logs', down.got[0]!.bytes)).toEqual([{ 'service.name': 'x-svc-0', 'deployment.environment': 'prod' }]);
  });

  it('an earlier detector wins over a later one', async () => {
    const { proc } = await make({ detectors: ['env', 'system'] }, { env: { OTEL_RESOURCE_ATTRIBUTES: 'host.name=from-env' }, machineIdPaths: [] });
    expect(proc.detected.get('host.name')).toBe('from-env');
    expect(proc.detected.get('os.type')).toBe(osType());
  });

  it('inserts a Resource into a ResourceLogs that has none', async () => {
    const bytes = requestFromJson('logs', JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'hi' } }] }] }] }));
    const { proc, down } = await make({}, { env });
    await proc.consume(new Payload('logs', bytes));
    expect(resources('logs', down.got[0]!.bytes)).toEqual([{ 'service.name': 'from-env', 'deployment.environment': 'prod' }]);
    expect(decodeRequest('logs', down.got[0]!.bytes).resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.body!.value.value).toBe('hi');
  });

  it('forwards a request that already carries the detected values as the same bytes', async () => {
    const { proc, down } = await make({}, { env });
    await proc.consume(new Payload('logs', makeLogsRequest(1, 2)));
    const enriched = down.got[0]!.bytes;
    await proc.consume(new Payload('logs', enriched));
    expect(down.got[1]!.bytes).toBe(enriched);
    expect(down.got[1]!.isDecoded).toBe(false);
  });

  it('passes requests untouched when nothing was detected', async () => {
    const { proc, down } = await make({ detectors: ['env'] }, { env: {} });
    const bytes = makeLogsRequest(1, 1);
    await proc.consume(new Payload('logs', bytes));
    expect(down.got[0]!.bytes).toBe(bytes);
  });

  it('logs a malformed OTEL_RESOURCE_ATTRIBUTES and goes on without it', async () => {
    const { proc, settings } = await make({}, { env: { OTEL_RESOURCE_ATTRIBUTES: 'oops' } });
    expect(proc.detected.size).toBe(0);
    expect(settings.logs.some((l) => String(l.msg ?? l.message).includes('OTEL_RESOURCE_ATTRIBUTES'))).toBe(true);
  });

  it('fails start when detection exceeds timeout', async () => {
    const issues: { path: string[]; message: string }[] = [];
    const cfg = resourceDetectionProcessorFactory.config.parse(
      { detectors: ['system'], timeout: '0s', system: { resource_attributes: { 'host.id': { enabled: true } } } },
      [],
      issues,
    );
    const settings = settingsForTest('resourcedetection', 'processor');
    const idFile = path.join(dir, 'slow-id');
    await writeFile(idFile, 'x'.repeat(1 << 20));
    const proc = new ResourceDetectionProcessor(settings, cfg, 'logs', new RecordingConsumer(), { machineIdPaths: [idFile] });
    await expect(proc.start()).rejects.toThrow(/timeout/);
  });

  it('the factory reads the process environment', async () => {
    const before = process.env.OTEL_RESOURCE_ATTRIBUTES;
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'k8s.cluster.name=c1';
    try {
      const settings = settingsForTest('resourcedetection', 'processor');
      const down = new RecordingConsumer();
      const proc = resourceDetectionProcessorFactory.create(settings, resourceDetectionProcessorFactory.config.defaults(), 'logs', down);
      await proc.start(testHost({ onFatal: () => {} }));
      await proc.consume(new Payload('logs', makeLogsRequest(1, 1)));
      expect(resources('logs', down.got[0]!.bytes)[0]).toMatchObject({ 'k8s.cluster.name': 'c1' });
      expect(resourceDetectionProcessorFactory.skippableUnderPressure).toBe(true);
    } finally {
      if (before === undefined) delete process.env.OTEL_RESOURCE_ATTRIBUTES;
      else process.env.OTEL_RESOURCE_ATTRIBUTES = before;
    }
  });
});
