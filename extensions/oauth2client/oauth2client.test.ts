/**
 * The oauth2client extension against a real token endpoint and real OTLP servers on 127.0.0.1: a gateway
 * exporting over HTTP and gRPC sends `Authorization: Bearer <token>` from the client-credentials flow,
 * renews the token expiry_buffer before it expires, falls back to client_id/client_secret in the form when
 * the server refuses Basic, and while the server refuses or is down holds the data (retryable refusals)
 * and delivers it once a token comes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service/service.js';
import { startGateway, receiverAddress } from '../../test/helpers/gateway.js';
import { authBy, gatewayYaml } from '../../test/helpers/configs.js';
import { configProblems } from '../../test/helpers/config-problems.js';
import {
  startHttpServer,
  startRawGrpcServer,
  type CapturedHttpRequest,
  type TestGrpcServer,
  type TestHttpServer,
} from '../../test/helpers/otlp-test-servers.js';
import { makeLogsRequest } from '../../test/helpers/otlp-test-servers.js';
import type { OAuth2ClientExtension } from './oauth2client.js';

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** A token endpoint: issues tok-1, tok-2, ... to client `app` / `s3cret` (Basic, or in the form when `formOnly`). */
async function tokenServer(opts: { expiresIn?: number; formOnly?: boolean } = {}): Promise<TestHttpServer & { issued: () => number }> {
  const srv = await startHttpServer();
  let issued = 0;
  srv.reply = (req: CapturedHttpRequest) => {
    const form = new URLSearchParams(req.body.toString());
    const byHeader = req.headers.authorization === basic('app', 's3cret');
    const byForm = form.get('client_id') === 'app' && form.get('client_secret') === 's3cret';
    if (form.get('grant_type') !== 'client_credentials' || !(opts.formOnly ? byForm : byHeader || byForm))
      return {
        status: 401,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ error: 'invalid_client', error_description: 'bad credentials' }),
      };
    issued++;
    const body = { access_token: `tok-${issued}`, token_type: 'bearer', ...(opts.expiresIn ? { expires_in: opts.expiresIn } : {}) };
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  };
  return Object.assign(srv, { issued: () => issued });
}

function config(tokenUrl: string, http: TestHttpServer, grpc: TestGrpcServer | undefined, ext: Record<string, unknown> = {}): string {
  return gatewayYaml({
    extensions: {
      oauth2client: {
        client_id: 'app',
        client_secret: 's3cret',
        token_url: tokenUrl,
        scopes: ['api.write', 'api.read'],
        endpoint_params: { audience: 'otel' },
        ...ext,
      },
    },
    exporters: {
      otlphttp: { endpoint: http.url, compression: 'none', retry_on_failure: { initial_interval: '50ms', max_interval: '200ms' }, ...authBy('oauth2client') },
      ...(grpc ? { otlp: { endpoint: grpc.endpoint, tls: { insecure: true }, compression: 'none', ...authBy('oauth2client') } } : {}),
    },
    pipelines: { logs: { exporters: grpc ? ['otlphttp', 'otlp'] : ['otlphttp'] } },
  });
}

async function post(gw: Service): Promise<number> {
  const res = await fetch(`http://${receiverAddress(gw, 'otlp', 'http')}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: Buffer.from(makeLogsRequest(1, 2)),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('oauth2client extension', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  it('sends the bearer token over HTTP and gRPC; the token request carries the flow, the scopes and endpoint_params', async () => {
    const tokens = await tokenServer({ expiresIn: 3600 });
    const [http, grpc] = [await startHttpServer(), await startRawGrpcServer()];
    cleanups.push(
      () => tokens.close(),
      () => http.close(),
      () => grpc.close(),
    );
    const gw = await startGateway(config(`${tokens.url}/oauth/token`, http, grpc));
    cleanups.push(() => gw.shutdown(5000));
    expect(await post(gw)).toBe(200);
    await expect.poll(() => http.requests.length + grpc.requests.length, { timeout: 10_000 }).toBe(2);
    expect(http.requests[0]!.headers.authorization).toBe('Bearer tok-1');
    expect(grpc.requests[0]!.headers.authorization).toBe('Bearer tok-1');
    const asked = tokens.requests[0]!;
    expect(asked.url).toBe('/oauth/token');
    expect(asked.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(asked.headers.authorization).toBe(basic('app', 's3cret'));
    expect(Object.fromEntries(new URLSearchParams(asked.body.toString()))).toEqual({
      grant_type: 'client_credentials',
      scope: 'api.write api.read',
      audience: 'otel',
    });
    // One token serves both exporters until it is due.
    expect(tokens.issued()).toBe(1);
  });

  it('renews the token expiry_buffer before it expires, and exports carry the new one', async () => {
    // A 3 s token renewed 2 s early: a new one about every second, each export carrying the current one.
    const tokens = await tokenServer({ expiresIn: 3 });
    const http = await startHttpServer();
    cleanups.push(
      () => tokens.close(),
      () => http.close(),
    );
    const gw = await startGateway(config(tokens.url, http, undefined, { expiry_buffer: '2s' }));
    cleanups.push(() => gw.shutdown(5000));
    expect(tokens.issued()).toBe(1);
    expect(await post(gw)).toBe(200);
    await expect.poll(() => http.requests.length, { timeout: 10_000 }).toBe(1);
    const first = Number(/^Bearer tok-(\d+)$/.exec(String(http.requests[0]!.headers.authorization))![1]);
    await expect.poll(() => tokens.issued(), { timeout: 5000 }).toBeGreaterThanOrEqual(first + 1);
    expect(await post(gw)).toBe(200);
    await expect.poll(() => http.requests.length, { timeout: 10_000 }).toBe(2);
    const second = Number(/^Bearer tok-(\d+)$/.exec(String(http.requests[1]!.headers.authorization))![1]);
    expect(second).toBeGreaterThan(first);
  });

  it('falls back to the credentials in the form when the server refuses Basic, and keeps that style', async () => {
    const tokens = await tokenServer({ expiresIn: 1, formOnly: true });
    const http = await startHttpServer();
    cleanups.push(
      () => tokens.close(),
      () => http.close(),
    );
    const gw = await startGateway(config(tokens.url, http, undefined, { expiry_buffer: '0s' }));
    cleanups.push(() => gw.shutdown(5000));
    await expect.poll(() => tokens.issued(), { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    const styles = tokens.requests.map((r) => (r.headers.authorization ? 'header' : 'form'));
    expect(styles.slice(0, 3)).toEqual(['header', 'form', 'form']);
    expect(await post(gw)).toBe(200);
    await expect.poll(() => http.requests.length, { timeout: 10_000 }).toBe(1);
    expect(http.requests[0]!.headers.authorization).toMatch(/^Bearer tok-\d$/);
  });

  it('while the server refuses, exports wait (retryable) with the reason, and go once a token comes; nothing is lost', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gs-oauth2-'));
    const secretFile = join(dir, 'secret');
    await writeFile(secretFile, 'wrong\n');
    const tokens = await tokenServer({ expiresIn: 3600 });
    const http = await startHttpServer();
    cleanups.push(
      () => tokens.close(),
      () => http.close(),
      () => rm(dir, { recursive: true, force: true }),
    );
    const gw = await startGateway(config(tokens.url, http, undefined, { client_secret: '', client_secret_file: secretFile }));
    cleanups.push(() => gw.shutdown(5000));
    const ext = gw.component<OAuth2ClientExtension>('extension', 'oauth2client')!;
    await expect.poll(() => ext.requests, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    const headers: Record<string, string> = {};
    expect(() => ext.applyHeaders(headers)).toThrow(
      /no valid OAuth2 token from http:\/\/127\.0\.0\.1:\d+\/ yet \(token endpoint answered 401 \(invalid_client: bad credentials\)\); the export is retried/,
    );
    // Accepted into the sending queue, held while the token is refused.
    expect(await post(gw)).toBe(200);
    expect(http.requests).toHaveLength(0);
    // The secret file is read at each token request: fixing it lets the next one through.
    await writeFile(secretFile, 's3cret\n');
    await expect.poll(() => http.requests.length, { timeout: 40_000 }).toBe(1);
    expect(http.requests[0]!.headers.authorization).toBe('Bearer tok-1');
  }, 60_000);

  it('stops at once while a token request hangs (timeout 0: none of its own)', async () => {
    const tokens = await startHttpServer();
    tokens.reply = () => ({ status: 200, delayMs: 60_000 });
    const http = await startHttpServer();
    cleanups.push(
      () => tokens.close(),
      () => http.close(),
    );
    const gw = await startGateway(config(tokens.url, http, undefined));
    await expect.poll(() => tokens.requests.length, { timeout: 5000 }).toBe(1);
    const started = Date.now();
    await gw.shutdown(30_000);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('refuses a config without client_id, client_secret or token_url, naming each key', async () => {
    const http = await startHttpServer();
    cleanups.push(() => http.close());
    const problems = (await configProblems(config('http://127.0.0.1:9/token', http, undefined, { client_id: '', client_secret: '', token_url: '' }))).join(
      '\n',
    );
    expect(problems).toMatch(/extensions\.oauth2client\.client_id: no client_id: set client_id or client_id_file/);
    expect(problems).toMatch(/extensions\.oauth2client\.client_secret: no client_secret: set client_secret or client_secret_file/);
    expect(problems).toMatch(/extensions\.oauth2client\.token_url: no token_url/);
  });
});
