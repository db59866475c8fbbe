/**
 * Gateway to gateway with authentication on both sides: SDK exporters -> gateway A -> (otlp and
 * otlphttp exporters, each with bearertokenauth) -> gateway B (receivers with bearertokenauth) -> sink.
 * And client metadata end to end: a tenant header kept by A's receiver (include_metadata) goes through a
 * batch processor (metadata_keys) into a record attribute (attributes from_context) and onto the export
 * (headers_setter from_context), per tenant, over HTTP and gRPC.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportResultCode } from '@opentelemetry/core';
import type { Service } from '../src/service/service.js';
import { decodeRequest } from '../src/pdata/codec.js';
import type { ExportLogsServiceRequest } from '../proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';
import { startGateway, receiverAddress } from './helpers/gateway.js';
import { ORG_ID_FROM_TENANT, TENANT_FROM_METADATA, authBy, gatewayYaml, otlpReceiver } from './helpers/configs.js';
import { makeLogs, sdkBytes } from './helpers/sdk-data.js';
import { itemsOf } from './helpers/otlp-items.js';
import { sendLogsWithSdk } from './helpers/sdk-send.js';
import { counterValue, startHttpServer, type TestHttpServer } from './helpers/otlp-test-servers.js';

const TOKEN = 'chain-token-51d0c7';

async function exportLogs(protocol: 'http' | 'grpc', address: string, headers: Record<string, string>, tag: string): Promise<string[]> {
  const items = await makeLogs(tag, 3);
  const result = await sendLogsWithSdk(protocol, address, headers, items);
  if (result.code !== ExportResultCode.SUCCESS) throw result.error ?? new Error('export failed');
  return itemsOf('logs', sdkBytes.logs(items));
}

describe('gateway A -> gateway B with bearer auth on the exporters and the receivers', () => {
  let a: Service;
  let b: Service;
  let sink: TestHttpServer;

  beforeAll(async () => {
    sink = await startHttpServer();
    b = await startGateway(
      gatewayYaml({
        extensions: { bearertokenauth: { token: TOKEN } },
        receivers: { otlp: otlpReceiver(['grpc', 'http'], authBy('bearertokenauth')) },
        exporters: { otlphttp: { endpoint: sink.url, compression: 'none' } },
        pipelines: { logs: { exporters: ['otlphttp'] } },
      }),
    );
    const bHttp = `http://${receiverAddress(b, 'otlp', 'http')}`;
    a = await startGateway(
      gatewayYaml({
        extensions: { 'bearertokenauth/b': { token: TOKEN }, 'bearertokenauth/stale': { token: 'chain-token-000000' } },
        receivers: { otlp: otlpReceiver(['grpc', 'http']), 'otlp/stale': otlpReceiver() },
        exporters: {
          'otlp/b': { endpoint: receiverAddress(b, 'otlp', 'grpc'), tls: { insecure: true }, ...authBy('bearertokenauth/b') },
          'otlphttp/b': { endpoint: bHttp, ...authBy('bearertokenauth/b') },
          'otlphttp/stale': { endpoint: bHttp, sending_queue: { enabled: false }, retry_on_failure: { enabled: false }, ...authBy('bearertokenauth/stale') },
        },
        pipelines: {
          logs: { exporters: ['otlp/b', 'otlphttp/b'] },
          'logs/stale': { receivers: ['otlp/stale'], exporters: ['otlphttp/stale'] },
        },
      }),
    );
  });

  afterAll(async () => {
    await a?.shutdown(5000);
    await b?.shutdown(5000);
    await sink?.close();
  });

  it('every record sent to A arrives at the sink through both authenticated hops', async () => {
    const sent = [
      ...(await exportLogs('http', receiverAddress(a, 'otlp', 'http'), {}, 'via-http')),
      ...(await exportLogs('grpc', receiverAddress(a, 'otlp', 'grpc'), {}, 'via-grpc')),
    ];
    // Each record once per exporter of A (otlp/b and otlphttp/b), after A's queues drained.
    await expect.poll(() => sink.requests.flatMap((r) => itemsOf('logs', r.body)).length, { timeout: 10_000 }).toBe(sent.length * 2);
    const got = sink.requests.flatMap((r) => itemsOf('logs', r.body));
    expect(got.sort()).toEqual([...sent, ...sent].sort());
    expect(
      await counterValue(b.telemetry, 'gophership_receiver_unauthenticated_requests', { receiver: 'otlp', transport: 'grpc', reason: 'credentials' }),
    ).toBe(0);
  });

  it('an exporter with a stale token is refused by B, and A tells its client (nothing reaches the sink)', async () => {
    const before = sink.requests.length;
    const err = (await exportLogs('http', receiverAddress(a, 'otlp/stale', 'http'), {}, 'stale').then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: number; data?: string } | undefined;
    // B's 401 is a permanent failure of A's export, which A answers as such (400) naming B's refusal.
    expect(err?.code).toBe(400);
    expect(err?.data).toMatch(/HTTP 401: authentication failed: the bearer token is not accepted/);
    expect(err?.data).not.toContain('chain-token');
    expect(
      await counterValue(b.telemetry, 'gophership_receiver_unauthenticated_requests', { receiver: 'otlp', transport: 'http', reason: 'credentials' }),
    ).toBe(1);
    expect(sink.requests.length).toBe(before);
  });
});

describe('client metadata: include_metadata -> batch metadata_keys -> attributes from_context -> headers_setter', () => {
  let a: Service;
  let sink: TestHttpServer;

  beforeAll(async () => {
    sink = await startHttpServer();
    const sha1 = Buffer.from(await crypto.subtle.digest('SHA-1', new TextEncoder().encode('pw-a'))).toString('base64');
    a = await startGateway(
      gatewayYaml({
        extensions: {
          basicauth: { htpasswd: { inline: `svc-a:{SHA}${sha1}` } },
          headers_setter: {
            headers: [ORG_ID_FROM_TENANT, { key: 'X-Caller', from_context: 'auth.username' }, { key: 'X-Leaked-Credential', from_context: 'authorization' }],
          },
        },
        receivers: { otlp: otlpReceiver(['grpc', 'http'], { include_metadata: true, ...authBy('basicauth') }) },
        processors: {
          batch: { timeout: '50ms', metadata_keys: ['x-tenant'] },
          attributes: { actions: [TENANT_FROM_METADATA] },
        },
        exporters: { otlphttp: { endpoint: sink.url, compression: 'none', ...authBy('headers_setter') } },
        pipelines: { logs: { processors: ['attributes', 'batch'], exporters: ['otlphttp'] } },
      }),
    );
  });

  afterAll(async () => {
    await a?.shutdown(5000);
    await sink?.close();
  });

  const auth = { Authorization: `Basic ${Buffer.from('svc-a:pw-a').toString('base64')}` };

  it("each tenant's records carry its tenant as an attribute and leave with its X-Scope-OrgID, over HTTP and gRPC", async () => {
    await Promise.all([
      exportLogs('http', receiverAddress(a, 'otlp', 'http'), { ...auth, 'X-Tenant': 'acme' }, 'acme-http'),
      exportLogs('grpc', receiverAddress(a, 'otlp', 'grpc'), { ...auth, 'x-tenant': 'globex' }, 'globex-grpc'),
      exportLogs('http', receiverAddress(a, 'otlp', 'http'), auth, 'nobody'),
    ]);
    await expect.poll(() => sink.requests.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    const seen = new Map<string, Set<string>>();
    for (const r of sink.requests) {
      const orgId = String(r.headers['x-scope-orgid']);
      expect(r.headers['x-caller']).toBe('svc-a');
      // Neither the incoming credential nor any header named after it is passed on.
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers['x-leaked-credential']).toBeUndefined();
      const req = decodeRequest('logs', r.body) as ExportLogsServiceRequest;
      for (const rl of req.resourceLogs) {
        for (const sl of rl.scopeLogs) {
          for (const rec of sl.logRecords) {
            const tenant = rec.attributes.find((kv) => kv.key === 'tenant')?.value?.value.value;
            const set = seen.get(orgId) ?? new Set();
            set.add(String(tenant));
            seen.set(orgId, set);
          }
        }
      }
    }
    // A batch never mixes tenants: each export's header matches every record's attribute.
    expect(Object.fromEntries([...seen].map(([k, v]) => [k, [...v]]))).toEqual({ acme: ['acme'], globex: ['globex'], anonymous: ['undefined'] });
  });
});
