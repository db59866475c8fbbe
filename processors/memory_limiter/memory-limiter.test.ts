import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigIssue } from '../../src/core/schema.js';
import { RetryableError } from '../../src/core/errors.js';
import { Payload } from '../../src/pdata/payload.js';
import type { Service } from '../../src/service/service.js';
import { receiverAddress, startGateway } from '../../test/helpers/gateway.js';
import { grpcExport } from '../../test/helpers/grpc-call.js';
import { gatewayYaml, otlpReceiver } from '../../test/helpers/configs.js';
import { counterValue, makeLogsRequest, RecordingConsumer, testSettings } from '../../test/helpers/otlp-test-servers.js';
import { limitsOf, memoryLimiterProcessorConfig } from './config.js';
import { memoryLimiterProcessorFactory } from './factory.js';
import { REFUSED_MESSAGE, type MemoryLimiterProcessor } from './memory-limiter-processor.js';

let dir: string;
const services: Service[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-memlimit-'));
});
afterEach(async () => {
  for (const s of services.splice(0)) await s.shutdown();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const parse = (raw: unknown) => {
  const issues: ConfigIssue[] = [];
  const config = memoryLimiterProcessorConfig.parse(raw, ['processors', 'memory_limiter'], issues);
  return { config, problems: issues.map((i) => `${i.path.join('.')}: ${i.message}`) };
};

describe('memory_limiter config', () => {
  it("takes the collector's keys; spike defaults to 20 % of the limit", () => {
    const { config, problems } = parse({ check_interval: '1s', limit_mib: 4000, spike_limit_mib: 800 });
    expect(problems).toEqual([]);
    expect(limitsOf(config)).toEqual({ hard: 4000 * 2 ** 20, soft: 3200 * 2 ** 20 });
    expect(limitsOf(parse({ check_interval: '1s', limit_mib: 1000 }).config).soft).toBe(800 * 2 ** 20);
    const pct = parse({ check_interval: '1s', limit_percentage: 50, spike_limit_percentage: 10 }).config;
    expect(limitsOf(pct, 1000)).toEqual({ hard: 500, soft: 400 });
  });

  it('refuses what the collector refuses', () => {
    expect(parse({}).problems).toEqual([
      'processors.memory_limiter.check_interval: must be greater than zero (e.g. 1s)',
      'processors.memory_limiter.limit_mib: set limit_mib or limit_percentage (the hard memory limit)',
    ]);
    expect(parse({ check_interval: '1s', limit_mib: 100, spike_limit_mib: 100 }).problems).toEqual([
      'processors.memory_limiter.spike_limit_mib: must be smaller than limit_mib (100)',
    ]);
    expect(parse({ check_interval: '1s', limit_percentage: 20, spike_limit_percentage: 30 }).problems).toEqual([
      'processors.memory_limiter.spike_limit_percentage: must be smaller than limit_percentage (20)',
    ]);
    expect(parse({ check_interval: '1s', limit_mib: 100, limit_mb: 3 }).problems).toEqual([
      'processors.memory_limiter.limit_mb: unknown key; did you mean "limit_mib"?',
    ]);
  });
});

describe('memory_limiter state machine', () => {
  it('passes data below the soft limit, refuses it retryably above, and forces collections above the limits', async () => {
    const settings = testSettings('memory_limiter', 'processor');
    const next = new RecordingConsumer();
    const { config } = parse({
      check_interval: '1h',
      limit_mib: 1000,
      spike_limit_mib: 200,
      min_gc_interval_when_soft_limited: '10s',
      min_gc_interval_when_hard_limited: '0s',
    });
    const proc = memoryLimiterProcessorFactory.create(settings, config, 'logs', next) as MemoryLimiterProcessor;
    const runtime = settings.pressure.runtime!;
    await proc.start();
    try {
      const set = (mib: number) => (runtime.values.heap = (mib * 2 ** 20) / runtime.settings.memoryLimitBytes);
      const payload = () => new Payload('logs', makeLogsRequest(1, 2));
      set(500);
      proc.onCheck(0);
      await proc.consume(payload());
      expect(next.got).toHaveLength(1);

      set(850); // above the soft limit (800), below the hard one
      proc.onCheck(1000);
      const err = await proc.consume(payload()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RetryableError);
      expect((err as Error).message).toContain(REFUSED_MESSAGE);
      expect(next.got).toHaveLength(1);
      const collected = () => counterValue(settings.telemetry, 'gophership_memory_limiter_forced_collections', { processor: 'memory_limiter' });
      expect(await collected()).toBe(1);
      proc.onCheck(5000); // soft: at most one forced collection per 10 s
      expect(await collected()).toBe(1);
      set(1100); // above the hard limit: one at every check
      proc.onCheck(6000);
      proc.onCheck(7000);
      expect(await collected()).toBe(3);

      set(300);
      proc.onCheck(8000);
      await proc.consume(payload());
      expect(next.got).toHaveLength(2);
      expect(settings.logs.map((l) => l.msg)).toEqual(
        expect.arrayContaining(['memory usage is above the soft limit; refusing data', 'memory usage is back below the soft limit; accepting data']),
      );
    } finally {
      await proc.shutdown();
      settings.telemetry.close();
    }
  });
});

/** OTLP/HTTP and OTLP/gRPC through a memory_limiter of `limitMib` (spike a quarter of it) into a proto file `out`. */
const limitedGateway = (limitMib: number, out: string): string =>
  gatewayYaml({
    receivers: { otlp: otlpReceiver(['http', 'grpc']) },
    processors: { memory_limiter: { check_interval: '50ms', limit_mib: limitMib, spike_limit_mib: Math.floor(limitMib / 4) } },
    exporters: { file: { path: out, format: 'proto' } },
    pipelines: { logs: { processors: ['memory_limiter'], exporters: ['file'] } },
  });

describe('memory_limiter in a gateway', () => {
  it('above its limit every request is refused retryably, before its body is read, and the gateway lives on', async () => {
    const out = join(dir, 'over.pb');
    // A limit far below what this process already uses: the collector's would refuse everything too.
    const service = await startGateway(limitedGateway(8, out));
    services.push(service);
    await sleep(200); // the first checks measure memory
    const body = makeLogsRequest(1, 50);
    const http = await fetch(`http://${receiverAddress(service, 'otlp', 'http')}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body,
    });
    expect(http.status).toBe(503);
    expect(Number(http.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await http.arrayBuffer();
    const grpc = await grpcExport(receiverAddress(service, 'otlp', 'grpc'), body);
    expect(grpc.status).toBe(14); // UNAVAILABLE: retryable
    expect(grpc.details).toBe(true);
    // Refused at the gate: no body was read into the pipeline, nothing was written.
    expect(await counterValue(service.telemetry, 'gophership_receiver_received_bytes', { receiver: 'otlp', transport: 'http' })).toBe(0);
    expect(await readFile(out)).toHaveLength(0);
    expect(await counterValue(service.telemetry, 'gophership_memory_limiter_forced_collections', { processor: 'memory_limiter' })).toBeGreaterThan(0);
    // Still serving: a second refusal, not a crash.
    const again = await fetch(`http://${receiverAddress(service, 'otlp', 'http')}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body,
    });
    expect(again.status).toBe(503);
    await again.arrayBuffer();
  });

  it('below its limit data flows', async () => {
    const out = join(dir, 'under.pb');
    const used = process.memoryUsage();
    const limit = Math.ceil((used.rss + used.heapUsed + used.external) / 2 ** 20) + 1024;
    const service = await startGateway(limitedGateway(limit, out));
    services.push(service);
    await sleep(200);
    const body = makeLogsRequest(1, 50);
    const http = await fetch(`http://${receiverAddress(service, 'otlp', 'http')}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body,
    });
    expect(http.status).toBe(200);
    await http.arrayBuffer();
    expect((await grpcExport(receiverAddress(service, 'otlp', 'grpc'), body)).status).toBe(0);
    await service.shutdown();
    services.pop();
    expect((await readFile(out)).length).toBe(2 * (4 + body.length));
  });
});
