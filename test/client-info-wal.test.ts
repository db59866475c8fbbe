/**
 * Client info kept through the gateway's two WALs: a request spilled to the somatic WAL in Red, or queued
 * in an exporter's WAL sending queue, reaches attributes `from_context`, batch `metadata_keys` and
 * headers_setter with the client it came from, after a restart too (the WAL record's tag keeps it:
 * src/pdata/record-tag.ts). Without it, every replayed or requeued request would leave as `anonymous`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Service } from '../src/service/service.js';
import { decodeRequest } from '../src/pdata/codec.js';
import { RED } from '../src/somatic/index.js';
import { startGateway, receiverAddress } from './helpers/gateway.js';
import { ORG_ID_FROM_TENANT, TENANT_FROM_METADATA, authBy, gatewayYaml, otlpReceiver } from './helpers/configs.js';
import { startHttpServer, type TestHttpServer } from './helpers/otlp-test-servers.js';
import { makeLogs, sdkBytes } from './helpers/sdk-data.js';
import { until } from './helpers/until.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'gs-client-info-'));
  cleanup.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

async function sink(): Promise<TestHttpServer> {
  const s = await startHttpServer();
  cleanup.push(() => s.close());
  return s;
}

async function gateway(yaml: string): Promise<Service> {
  const g = await startGateway(yaml);
  let stopped = false;
  const shutdown = g.shutdown.bind(g);
  g.shutdown = (ms?: number) => {
    stopped = true;
    return shutdown(ms);
  };
  cleanup.push(async () => {
    if (!stopped) await g.shutdown(5000);
  });
  return g;
}

/** One OTLP/HTTP logs request of `n` records, posted with the tenant header; resolves with the status. */
async function post(g: Service, tenant: string, n: number): Promise<number> {
  const body = sdkBytes.logs(await makeLogs(tenant, n));
  const res = await fetch(`http://${receiverAddress(g, 'otlp', 'http')}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', 'x-tenant': tenant },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

/** Per export request the sink saw: its X-Scope-OrgID header and the `tenant` attribute of each record. */
function exports(s: TestHttpServer): { header: string; tenants: string[] }[] {
  return s.requests.map((r) => {
    const req = decodeRequest('logs', r.body);
    const tenants: string[] = [];
    for (const rl of req.resourceLogs)
      for (const sl of rl.scopeLogs)
        for (const rec of sl.logRecords) tenants.push(String(rec.attributes.find((kv) => kv.key === 'tenant')?.value?.value.value));
    return { header: String(r.headers['x-scope-orgid']), tenants };
  });
}

/** OTLP/HTTP keeping client metadata in, X-Scope-OrgID from the client's x-tenant out, through `processors` to otlphttp. */
function tenantConfig(sinkUrl: string, exporter: Record<string, unknown>, processors?: Record<string, unknown>): string {
  return gatewayYaml({
    extensions: { headers_setter: { headers: [ORG_ID_FROM_TENANT] } },
    receivers: { otlp: otlpReceiver(['http'], { include_metadata: true }) },
    processors,
    exporters: { otlphttp: { endpoint: sinkUrl, compression: 'none', ...exporter, ...authBy('headers_setter') } },
    pipelines: { logs: { processors: processors && Object.keys(processors), exporters: ['otlphttp'] } },
  });
}

function somaticConfig(zone: 'red' | 'green', walDir: string, sinkUrl: string): string {
  return tenantConfig(
    sinkUrl,
    { sending_queue: { enabled: false } },
    {
      somatic: { force_zone: zone, wal: { directory: walDir } },
      attributes: { actions: [TENANT_FROM_METADATA] },
      batch: { timeout: '20ms', metadata_keys: ['x-tenant'] },
    },
  );
}

describe('client info through the WALs', () => {
  it('debt spilled in Red replays, after a restart, with its own client: from_context attributes, metadata_keys batches and headers_setter', async () => {
    const wal = await tempDir();
    const s = await sink();
    const red = await gateway(somaticConfig('red', wal, s.url));
    expect(red.pressure.runtime!.zone).toBe(RED);
    for (const tenant of ['acme', 'globex', 'acme', 'initech']) expect(await post(red, tenant, 5)).toBe(200);
    expect(s.requests.length).toBe(0); // acknowledged from the WAL only
    await red.shutdown(5000);

    const green = await gateway(somaticConfig('green', wal, s.url));
    await until(() => exports(s).reduce((n, e) => n + e.tenants.length, 0) === 20, 15_000);
    const seen = exports(s);
    // Every record has its own tenant back (the attributes processor read it from the replayed request),
    // and each export's header is that of every record in it: batches never mixed tenants.
    for (const e of seen) {
      expect(e.header).not.toBe('anonymous');
      expect(new Set(e.tenants)).toEqual(new Set([e.header]));
    }
    const perTenant = new Map<string, number>();
    for (const e of seen) perTenant.set(e.header, (perTenant.get(e.header) ?? 0) + e.tenants.length);
    expect(Object.fromEntries(perTenant)).toEqual({ acme: 10, globex: 5, initech: 5 });
    await until(() => green.pressure.runtime!.debts.get('logs')!.records() === 0, 15_000);
  });

  it("requests queued in an exporter's WAL sending queue leave after a restart with their client's headers", async () => {
    const queueDir = await tempDir();
    const s = await sink();
    // The downstream is down (503) while the first gateway runs: everything stays queued on disk.
    s.reply = () => ({ status: 503, headers: { 'retry-after': '1' } });
    const config = tenantConfig(s.url, {
      retry_on_failure: { initial_interval: '100ms', max_interval: '200ms', max_elapsed_time: 0 },
      sending_queue: { storage: 'wal', directory: queueDir },
    });
    const first = await gateway(config);
    for (const tenant of ['acme', 'globex']) expect(await post(first, tenant, 3)).toBe(200);
    await until(() => s.requests.length >= 2, 15_000); // tried (and refused) at least once
    await first.shutdown(2000);

    s.requests.length = 0;
    s.reply = () => ({ status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(0) });
    await gateway(config);
    await until(() => s.requests.length >= 2, 15_000);
    const headers = s.requests.map((r) => String(r.headers['x-scope-orgid'])).sort();
    expect(headers).toEqual(['acme', 'globex']);
  });
});
