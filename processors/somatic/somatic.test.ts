import http from 'node:http';
import http2 from 'node:http2';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { builtinFactories, createRegistry } from '../../src/components.js';
import type { ExporterFactory } from '../../src/core/component.js';
import type { Payload } from '../../src/pdata/payload.js';
import { PermanentError } from '../../src/core/errors.js';
import { readDeadLetterFile } from '../../src/exporterhelper/index.js';
import { countItems } from '../../src/pdata/wire.js';
import { s } from '../../src/core/schema.js';
import { formatProblem, loadConfigFiles } from '../../src/config/load.js';
import { validateConfig } from '../../src/config/validate.js';
import { decodeRequest, decodeStatus, requestFromJson } from '../../src/pdata/codec.js';
import { Service } from '../../src/service/service.js';
import { Logger } from '../../src/telemetry/logger.js';
import { runLoadgen } from '../../src/tools/loadgen/index.js';
import type { OtlpReceiver } from '../../receivers/otlp/factory.js';
import { RED } from '../../src/somatic/index.js';
import { appliedGrowthPercent, refreshHeapGrowth } from '../../src/core/heap-growth.js';
import { collectGarbage } from '../../src/core/gc.js';
import { tmpTakesDirectIo } from '../../test/helpers/direct-io.js';

/** Whether the temp dir takes O_DIRECT (else the WAL falls back to the page cache). */
const DIRECT_OK = await tmpTakesDirectIo();

/** An exporter that keeps every payload's bytes (test-only). */
const captured: Uint8Array[] = [];
const capture: ExporterFactory<Record<string, never>> = {
  kind: 'exporter',
  type: 'capture',
  description: 'test capture',
  stability: 'development',
  metrics: [],
  tests: { config: () => ({}) },
  signals: ['logs', 'traces', 'metrics'],
  config: s.object({}),
  create: () => ({
    start: async () => {},
    shutdown: async () => {},
    consume: async (p: Payload) => {
      captured.push(p.bytes.slice());
    },
  }),
};

/** An exporter that refuses everything permanently, as a strict backend refuses bad data (test-only). */
const refuse: ExporterFactory<Record<string, never>> = {
  ...capture,
  type: 'refuse',
  create: () => ({
    start: async () => {},
    shutdown: async () => {},
    consume: async () => {
      throw new PermanentError('HTTP 400: the backend refuses this data');
    },
  }),
};

const registry = createRegistry([...builtinFactories, capture, refuse]);
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  captured.length = 0;
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'gs-somatic-'));
  cleanup.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

async function gateway(
  somatic: Record<string, unknown>,
  walDir: string,
  processors = ['somatic', 'resource', 'batch'],
  exporter = 'capture',
): Promise<{ svc: Service; url: string; grpc: string }> {
  const cfgDir = await tempDir();
  const file = join(cfgDir, 'c.yaml');
  const cfg = {
    receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' }, grpc: { endpoint: '127.0.0.1:0' } } } },
    processors: {
      somatic: { ...somatic, wal: { directory: walDir, ...((somatic.wal as object) ?? {}) } },
      resource: { attributes: [{ key: 'enriched', value: 'yes', action: 'insert' }] },
      batch: { timeout: '20ms' },
    },
    exporters: { [exporter]: {} },
    service: { pipelines: { logs: { receivers: ['otlp'], processors, exporters: [exporter] } }, telemetry: { metrics: { address: '' } } },
  };
  await writeFile(file, JSON.stringify(cfg));
  const v = validateConfig(await loadConfigFiles([file], []), registry);
  if (!v.ok) throw new Error(v.problems.map(formatProblem).join('\n'));
  const svc = new Service(v.config, { logger: new Logger('error') });
  await svc.start();
  let stopped = false;
  cleanup.push(async () => {
    if (!stopped) await svc.shutdown(5000);
  });
  const origShutdown = svc.shutdown.bind(svc);
  svc.shutdown = (ms?: number) => {
    stopped = true;
    return origShutdown(ms);
  };
  const r = svc.component<OtlpReceiver>('receiver', 'otlp')!;
  return { svc, url: `http://127.0.0.1:${r.httpAddress!.port}`, grpc: `127.0.0.1:${r.grpcAddress!.port}` };
}

/** Records captured, and how many of them sit in a resource carrying enriched=yes. */
function tally(): { records: number; enriched: number } {
  let records = 0;
  let enriched = 0;
  for (const b of captured) {
    const req = decodeRequest('logs', b);
    for (const rl of req.resourceLogs) {
      const n = rl.scopeLogs.reduce((a, sl) => a + sl.logRecords.length, 0);
      records += n;
      if (rl.resource?.attributes.some((kv) => kv.key === 'enriched')) enriched += n;
    }
  }
  return { records, enriched };
}

async function send(url: string, count: number, batch = 100) {
  const r = await runLoadgen({ endpoint: url, count, batch, workers: 4, maxAttempts: 1, bodySize: 64 });
  expect(r.failed).toBe(0);
  expect(r.acked).toBe(count);
  return r;
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function metric(svc: Service, name: string): Promise<number> {
  const text = (await svc.telemetry.registry.getSingleMetricAsString(name)) ?? '';
  let sum = 0;
  for (const m of text.matchAll(/^\S+(?:\{[^}]*\})? ([\d.e+-]+)$/gm)) sum += Number(m[1]);
  return sum;
}

describe('somatic processor', () => {
  it('Green runs the full pipeline', async () => {
    const { url } = await gateway({ force_zone: 'green' }, await tempDir());
    await send(url, 1000);
    await waitFor(() => tally().records === 1000);
    expect(tally().enriched).toBe(1000);
  });

  it('Yellow bypasses skippable processors, unless optional_processors says otherwise', async () => {
    const { url, svc } = await gateway({ force_zone: 'yellow' }, await tempDir());
    await send(url, 1000);
    expect(tally()).toEqual({ records: 1000, enriched: 0 });
    await svc.shutdown(5000);
    captured.length = 0;
    const g2 = await gateway({ force_zone: 'yellow', optional_processors: { resource: false } }, await tempDir());
    await send(g2.url, 1000);
    expect(tally()).toEqual({ records: 1000, enriched: 1000 });
  });

  it('keeps the heap-growth slack in Red while memory has room for it, and hands the limit back to V8 when it has not', async () => {
    // Red with room (forced; 1 GiB limit): the slack stays, or full GCs would halve Red's rate.
    const roomy = await gateway({ force_zone: 'red', memory_limit_mib: 1024 }, await tempDir());
    await waitFor(() => roomy.svc.pressure.runtime!.memoryRoomBytes() > 64 * 2 ** 20);
    expect(roomy.svc.pressure.runtime!.heapSlackFits).toBe(true);
    // The governor sizes the slack against this process's live heap, which here is the test runner's too
    // (~50 MB, more with garbage pending under load): collected first, so a 64 MB slack is >= 100 %.
    await waitFor(() => {
      collectGarbage();
      refreshHeapGrowth();
      return appliedGrowthPercent() >= 100;
    }, 5000);
    await roomy.svc.shutdown(5000);
    // The admission line far below the resident memory: no room under it, so V8's own limit (however much
    // this process's RSS moves meanwhile).
    const tight = await gateway(
      { force_zone: 'green', memory_limit_mib: Math.ceil(process.memoryUsage.rss() / 2 ** 20), admit_memory_ratio: 0.3 },
      await tempDir(),
    );
    // At the check that finds no room, not at the governor's next 1 s tick.
    await waitFor(() => tight.svc.pressure.runtime!.memoryRoomBytes() < 0);
    expect(appliedGrowthPercent()).toBe(0);
  });

  for (const direct of [true, false]) {
    it(`wal.direct_io: ${direct} writes the debt ${direct ? 'with O_DIRECT (the open segment padded to whole blocks)' : 'through the page cache (the segment ends on its records)'}`, async () => {
      const wal = await tempDir();
      const red = await gateway({ force_zone: 'red', wal: { direct_io: direct } }, wal);
      await send(red.url, 3000);
      const sub = (await readdir(wal))[0]!;
      const segs = (await readdir(join(wal, sub))).filter((n) => n.endsWith('.wal'));
      expect(segs.length).toBe(1);
      const size = (await stat(join(wal, sub, segs[0]!))).size;
      const debtBytes = await metric(red.svc, 'gophership_somatic_debt_bytes');
      expect(debtBytes).toBeGreaterThan(0);
      if (direct && DIRECT_OK) {
        expect(size % 4096).toBe(0);
        expect(size - debtBytes).toBeGreaterThan(0);
        expect(size - debtBytes).toBeLessThan(4096);
      } else expect(size).toBe(debtBytes);
    });
  }

  it('Red spills raw requests to the WAL and acknowledges; debt replays with full processing once the zone falls', async () => {
    const wal = await tempDir();
    const red = await gateway({ force_zone: 'red' }, wal);
    expect(red.svc.pressure.runtime!.zone).toBe(RED);
    await send(red.url, 3000);
    // Bodies of 1000 records (~170 KB) reach the WAL as the several pieces the HTTP parser delivered.
    await send(red.url, 2000, 1000);
    expect(captured.length).toBe(0); // acknowledged from the WAL, nothing exported yet
    expect(await metric(red.svc, 'gophership_somatic_debt_records')).toBe(32);
    expect(await metric(red.svc, 'gophership_somatic_spilled_items')).toBe(5000);
    await red.svc.shutdown(5000);

    // Yellow now: debt trickles back through the full pipeline (enriched) while fresh traffic is bypassed.
    const yellow = await gateway({ force_zone: 'yellow' }, wal);
    await send(yellow.url, 500);
    await waitFor(() => tally().records === 5500, 20_000);
    expect(tally()).toEqual({ records: 5500, enriched: 5000 });
    expect(await metric(yellow.svc, 'gophership_somatic_replayed_items')).toBe(5000);
    await waitFor(() => yellow.svc.pressure.runtime!.debts.get('logs')!.records() === 0);
  });

  it('replayed debt the pipeline refuses permanently goes to the dead-letter file, not away', async () => {
    const wal = await tempDir();
    const red = await gateway({ force_zone: 'red' }, wal);
    await send(red.url, 300);
    expect(await metric(red.svc, 'gophership_somatic_debt_records')).toBe(3);
    await red.svc.shutdown(5000);

    const green = await gateway({ force_zone: 'green' }, wal, ['somatic', 'resource', 'batch'], 'refuse');
    await waitFor(() => green.svc.pressure.runtime!.debts.get('logs')!.records() === 0, 20_000);
    const dead = await readDeadLetterFile(join(wal, 'logs.dead-letter'));
    // The debt as it was acknowledged (raw, before processing), each request once.
    expect(dead.map((d) => d.signal)).toEqual(['logs', 'logs', 'logs']);
    expect(dead.reduce((n, d) => n + countItems('logs', d.bytes), 0)).toBe(300);
    expect(await metric(green.svc, 'gophership_somatic_replay_dropped_items')).toBe(300);
  });

  it('past the WAL budget, Red refuses with 503 and a Retry-After', async () => {
    const { url, svc } = await gateway({ force_zone: 'red', wal: { max_size_mib: 1 } }, await tempDir());
    const body = bigRequest(300_000);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
      statuses.push(res.status);
      if (res.status === 503) retryAfter = res.headers.get('retry-after');
      await res.arrayBuffer();
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3)).toEqual([503, 503]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(await metric(svc, 'gophership_somatic_debt_records')).toBe(3);
  });

  it('in Red, a request larger than the whole WAL budget goes on down the pipeline (not refused as bad data)', async () => {
    const { url, svc } = await gateway({ force_zone: 'red', wal: { max_size_mib: 1 } }, await tempDir());
    const body = bigRequest(1_300_000);
    const res = await fetch(`${url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    await waitFor(() => tally().records === Math.ceil(1_300_000 / 1100), 5000);
    expect(await metric(svc, 'gophership_somatic_debt_records')).toBe(0);
  });
});

describe('admission gate in the otlp receiver', () => {
  it('refuses a request the in-flight budget cannot take before reading its body (HTTP 503 + Retry-After, gRPC UNAVAILABLE + RetryInfo)', async () => {
    const { url, grpc, svc } = await gateway({ memory_limit_mib: 64, inflight_budget_mib: 1 }, await tempDir());
    const port = Number(new URL(url).port);
    // A first request announces 800 KB and sends only its headers: it holds its admission.
    const held = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/v1/logs',
      headers: { 'content-type': 'application/x-protobuf', 'content-length': 800_000 },
    });
    held.on('error', () => {});
    held.flushHeaders();
    cleanup.push(async () => void held.destroy());
    await waitFor(() => svc.pressure.runtime!.gate.inFlight === 800_000, 5000);

    // The second is answered without sending a byte of its body.
    const reply = await new Promise<{ status: number; retryAfter: string | undefined; body: string }>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, method: 'POST', path: '/v1/logs', headers: { 'content-type': 'application/json', 'content-length': 800_000 } },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'], body }));
        },
      );
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(reply.status).toBe(503);
    expect(Number(reply.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(reply.body).toContain('memory pressure');

    // gRPC: refused on the first frame's length prefix.
    const session = http2.connect(`http://${grpc}`);
    cleanup.push(async () => void session.close());
    const stream = session.request({
      ':method': 'POST',
      ':path': '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
      'content-type': 'application/grpc',
    });
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(800_000, 1);
    stream.write(prefix);
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve));
    stream.on('error', () => {});
    expect(headers['grpc-status']).toBe('14');
    const details = decodeStatus('proto', Buffer.from(String(headers['grpc-status-details-bin']), 'base64'));
    expect(details?.retryDelayMs).toBeGreaterThanOrEqual(1000);

    // Once the first request goes away, its bytes are released.
    held.destroy();
    await waitFor(() => svc.pressure.runtime!.gate.inFlight === 0, 5000);
    expect(svc.pressure.runtime!.gate.refusedTotal).toBe(2);
  });
});

describe('admission gate and bodies that grow while read', () => {
  it('a gzip body that fits compressed but not inflated is refused while it inflates (HTTP 503, gRPC UNAVAILABLE, both retryable)', async () => {
    // A memory limit far above this process's RSS, so the 1 MiB in-flight budget is the cap that binds.
    const { url, grpc, svc } = await gateway({ memory_limit_mib: 8192, inflight_budget_mib: 1 }, await tempDir());
    const gate = svc.pressure.runtime!.gate;
    const port = Number(new URL(url).port);
    const held = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/v1/logs',
      headers: { 'content-type': 'application/x-protobuf', 'content-length': 700_000 },
    });
    held.on('error', () => {});
    held.flushHeaders();
    cleanup.push(async () => void held.destroy());
    await waitFor(() => gate.inFlight === 700_000, 5000);

    const plain = bigRequest(600_000);
    const gz = zlib.gzipSync(plain);
    // The compressed size fits beside what is held; inflated it does not.
    expect(gate.inFlight + gz.length).toBeLessThan(gate.cap);
    expect(gate.inFlight + plain.length).toBeGreaterThan(gate.cap);
    const res = await fetch(`${url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, body: gz });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(decodeStatus('proto', new Uint8Array(await res.arrayBuffer()))!.message).toContain('memory pressure');

    // gRPC: the message is read (its compressed length fits), then refused once inflated.
    const session = http2.connect(`http://${grpc}`);
    cleanup.push(async () => void session.close());
    const stream = session.request({
      ':method': 'POST',
      ':path': '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
      'content-type': 'application/grpc',
      'grpc-encoding': 'gzip',
    });
    const prefix = Buffer.alloc(5);
    prefix[0] = 1;
    prefix.writeUInt32BE(gz.length, 1);
    stream.end(Buffer.concat([prefix, gz]));
    stream.on('error', () => {});
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve));
    expect(headers['grpc-status']).toBe('14');
    expect(decodeStatus('proto', Buffer.from(String(headers['grpc-status-details-bin']), 'base64'))?.retryDelayMs).toBeGreaterThanOrEqual(1000);

    // Not the body's fault: once the held request goes, the same body is taken.
    held.destroy();
    await waitFor(() => gate.inFlight === 0, 5000);
    const again = await fetch(`${url}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
      body: gz,
    });
    expect(again.status).toBe(200);
    await again.arrayBuffer();
    await waitFor(() => gate.inFlight === 0, 5000);
  });
});

/** One protobuf logs request of about `size` bytes. */
function bigRequest(size: number): Uint8Array {
  const records = Math.ceil(size / 1100);
  const logRecords = Array.from({ length: records }, (_, i) => ({ timeUnixNano: '1', body: { stringValue: 'x'.repeat(1000) + i } }));
  return requestFromJson('logs', JSON.stringify({ resourceLogs: [{ resource: {}, scopeLogs: [{ scope: {}, logRecords }] }] }));
}
