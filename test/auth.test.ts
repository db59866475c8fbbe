/**
 * Authentication end to end, with the official OpenTelemetry JS SDK exporters as clients: each kind of
 * bad credential (wrong token, none, wrong password, a JWT for another audience or expired) is refused by
 * a real gateway over both OTLP/HTTP and OTLP/gRPC, nothing of a refused request reaches the exporter,
 * the refusal is counted, and the credential appears in no log line and no reply. A client asking
 * `Expect: 100-continue` is refused before it uploads its body.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import bcrypt from 'bcryptjs';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { Service } from '../src/service/service.js';
import { Logger } from '../src/telemetry/logger.js';
import { decodeStatus } from '../src/pdata/codec.js';
import { GrpcStatus } from '../src/grpc/status.js';
import { startGateway, receiverAddress } from './helpers/gateway.js';
import { authBy, gatewayYaml, otlpReceiver } from './helpers/configs.js';
import { makeLogs } from './helpers/sdk-data.js';
import { counterValue, makeLogsRequest, startHttpServer, type TestHttpServer } from './helpers/otlp-test-servers.js';
import { startIssuer, type TestIssuer } from './helpers/oidc-issuer.js';
import { sendLogsWithSdk } from './helpers/sdk-send.js';

const TOKEN = 'gw-token-7c1e99a04b';
const PASSWORD = 'wonderland-2718';

/** What a client sends and what it gets back. */
interface Outcome {
  ok: boolean;
  /** HTTP status (http) or gRPC status code (grpc) of a failure. */
  code: number | undefined;
  message: string;
}

let gateway: Service;
let sink: TestHttpServer;
let issuer: TestIssuer;
let logs: LogItem;
const logLines: string[] = [];
type LogItem = ReadableLogRecord[];

function config(): string {
  return gatewayYaml({
    extensions: {
      'bearertokenauth/in': { token: TOKEN },
      'basicauth/in': { htpasswd: { inline: `alice:${bcrypt.hashSync(PASSWORD, 8)}` } },
      oidc: { issuer_url: issuer.url, audience: 'gateway' },
    },
    receivers: {
      'otlp/bearer': otlpReceiver(['grpc', 'http'], authBy('bearertokenauth/in')),
      'otlp/basic': otlpReceiver(['grpc', 'http'], authBy('basicauth/in')),
      'otlp/oidc': otlpReceiver(['grpc', 'http'], authBy('oidc')),
    },
    exporters: { otlphttp: { endpoint: sink.url, compression: 'none', sending_queue: { enabled: false }, retry_on_failure: { enabled: false } } },
    pipelines: { logs: { receivers: ['otlp/bearer', 'otlp/basic', 'otlp/oidc'], exporters: ['otlphttp'] } },
  });
}

async function send(protocol: 'http' | 'grpc', receiver: string, headers: Record<string, string>): Promise<Outcome> {
  const result = await sendLogsWithSdk(protocol, receiverAddress(gateway, receiver, protocol), headers, logs);
  const err = result.error as (Error & { code?: number; data?: string }) | undefined;
  return { ok: result.code === ExportResultCode.SUCCESS, code: err?.code, message: err ? `${err.message} ${err.data ?? ''}` : '' };
}

const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

async function expectRefused(protocol: 'http' | 'grpc', receiver: string, headers: Record<string, string>, reason: RegExp): Promise<void> {
  const before = sink.requests.length;
  const refusedBefore = await counterValue(gateway.telemetry, 'gophership_receiver_unauthenticated_requests', {
    receiver,
    transport: protocol,
    reason: 'credentials',
  });
  const out = await send(protocol, receiver, headers);
  expect(out.ok, `${protocol} ${receiver} must be refused`).toBe(false);
  expect(out.code).toBe(protocol === 'http' ? 401 : GrpcStatus.UNAUTHENTICATED);
  expect(out.message).toMatch(reason);
  // Nothing of the request went on, and the refusal was counted.
  expect(sink.requests.length).toBe(before);
  expect(await counterValue(gateway.telemetry, 'gophership_receiver_unauthenticated_requests', { receiver, transport: protocol, reason: 'credentials' })).toBe(
    refusedBefore + 1,
  );
  // The credential is in no reply.
  for (const v of Object.values(headers)) expect(out.message).not.toContain(v.split(' ')[1]!);
}

beforeAll(async () => {
  sink = await startHttpServer();
  issuer = await startIssuer();
  logs = await makeLogs('auth', 2);
  const logger = new Logger('debug', {}, { write: (line: string) => void logLines.push(line) });
  gateway = await startGateway(config(), process.env, logger);
});

afterAll(async () => {
  await gateway?.shutdown(5000);
  await sink?.close();
  await issuer?.close();
});

describe('authenticated receivers with the SDK exporters as clients', () => {
  for (const protocol of ['http', 'grpc'] as const) {
    it(`${protocol}: the right bearer token, password and JWT are accepted and delivered`, async () => {
      const before = sink.requests.length;
      expect(await send(protocol, 'otlp/bearer', bearer(TOKEN))).toMatchObject({ ok: true });
      expect(await send(protocol, 'otlp/basic', basic('alice', PASSWORD))).toMatchObject({ ok: true });
      expect(await send(protocol, 'otlp/oidc', bearer(await issuer.sign({ sub: 'svc-a' }, { audience: 'gateway' })))).toMatchObject({ ok: true });
      expect(sink.requests.length).toBe(before + 3);
      // The credential is not forwarded downstream.
      for (const r of sink.requests) expect(r.headers.authorization).toBeUndefined();
    });

    it(`${protocol}: a wrong bearer token is refused`, async () => {
      await expectRefused(protocol, 'otlp/bearer', bearer('gw-token-guessed-1234'), /the bearer token is not accepted/);
    });

    it(`${protocol}: no credentials at all are refused`, async () => {
      await expectRefused(protocol, 'otlp/bearer', {}, /no Authorization header/);
      await expectRefused(protocol, 'otlp/basic', {}, /no Authorization header/);
      await expectRefused(protocol, 'otlp/oidc', {}, /no authorization header/);
    });

    it(`${protocol}: a wrong password, and an unknown user, are refused alike`, async () => {
      await expectRefused(protocol, 'otlp/basic', basic('alice', 'wonderland-2719'), /wrong user name or password/);
      await expectRefused(protocol, 'otlp/basic', basic('mallory', PASSWORD), /wrong user name or password/);
    });

    it(`${protocol}: a JWT for another audience is refused`, async () => {
      await expectRefused(protocol, 'otlp/oidc', bearer(await issuer.sign({ sub: 'svc-a' }, { audience: 'billing' })), /not for this audience/);
    });

    it(`${protocol}: an expired JWT is refused`, async () => {
      await expectRefused(
        protocol,
        'otlp/oidc',
        bearer(await issuer.sign({ sub: 'svc-a' }, { audience: 'gateway', expiresIn: Math.floor(Date.now() / 1000) - 5 })),
        /expired/,
      );
    });
  }

  it("the 401 body is a google.rpc.Status UNAUTHENTICATED in the request's content type", async () => {
    const url = `http://${receiverAddress(gateway, 'otlp/bearer', 'http')}/v1/logs`;
    const proto = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', authorization: 'Bearer nope-nope-nope' },
      body: makeLogsRequest(1, 1),
    });
    expect(proto.status).toBe(401);
    expect(proto.headers.get('content-type')).toBe('application/x-protobuf');
    expect(decodeStatus('proto', new Uint8Array(await proto.arrayBuffer()))).toMatchObject({
      code: GrpcStatus.UNAUTHENTICATED,
      message: 'authentication failed: the bearer token is not accepted',
    });
    const json = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(401);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(await json.json()).toEqual({ code: GrpcStatus.UNAUTHENTICATED, message: 'authentication failed: no Authorization header' });
  });

  it('Expect: 100-continue: a refused client gets 401 before it is asked for its body; an accepted one gets 100 Continue, then its answer', async () => {
    const [host, port] = receiverAddress(gateway, 'otlp/bearer', 'http').split(':') as [string, string];
    const body = Buffer.from(makeLogsRequest(1, 1));
    /** Sends the headers only; resolves to the first status line, then (if asked) sends the body and adds the next one. */
    const exchange = (token: string): Promise<string[]> =>
      new Promise((resolve) => {
        const socket = net.connect(Number(port), host);
        socket.on('error', () => {});
        let text = '';
        let sentBody = false;
        socket.on('data', (d: Buffer) => {
          text += d.toString('latin1');
          const lines = [...text.matchAll(/HTTP\/1\.1 \d+ [^\r]*/g)].map((m) => m[0]);
          if (lines[0] === 'HTTP/1.1 100 Continue' && !sentBody) {
            sentBody = true;
            socket.write(body);
          }
          if (lines.some((l) => !l.startsWith('HTTP/1.1 100 '))) {
            socket.destroy();
            resolve(lines);
          }
        });
        socket.write(
          `POST /v1/logs HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/x-protobuf\r\nauthorization: Bearer ${token}\r\n` +
            `content-length: ${body.length}\r\nexpect: 100-continue\r\n\r\n`,
        );
      });
    expect(await exchange('gw-token-guessed-1234')).toEqual(['HTTP/1.1 401 Unauthorized']);
    expect(await exchange(TOKEN)).toEqual(['HTTP/1.1 100 Continue', 'HTTP/1.1 200 OK']);
  });

  it('no credential sent in this file appears in any log line of the gateway (logging at debug)', () => {
    const text = logLines.join('\n');
    expect(text).toMatch(/refused an OTLP/);
    for (const secret of [TOKEN, PASSWORD, 'gw-token-guessed-1234', 'wonderland-2719', 'nope-nope-nope', 'eyJ']) expect(text).not.toContain(secret);
  });
});

describe('authenticator faults and misconfiguration', () => {
  it('an OIDC issuer that cannot be reached gives 503 / UNAVAILABLE (retryable), not 401', async () => {
    const down = await startIssuer();
    const gw = await startGateway(
      gatewayYaml({
        extensions: { oidc: { issuer_url: down.url, audience: 'gateway' } },
        receivers: { otlp: otlpReceiver(['grpc', 'http'], authBy('oidc')) },
        exporters: { debug: null },
        pipelines: { logs: { exporters: ['debug'] } },
      }),
    );
    try {
      const token = await down.sign({ sub: 'svc' }, { audience: 'gateway' });
      // The key set was never fetched: the first token needs the issuer, which is now gone.
      await down.close();
      const res = await fetch(`http://${receiverAddress(gw, 'otlp', 'http')}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: '{}',
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect((await res.json()) as unknown).toMatchObject({
        code: GrpcStatus.UNAVAILABLE,
        message: 'the authenticator could not check the credentials now; retry later',
      });
      const grpc = await sendLogsWithSdk('grpc', receiverAddress(gw, 'otlp', 'grpc'), { authorization: `Bearer ${token}` }, logs);
      expect((grpc.error as { code?: number } | undefined)?.code).toBe(GrpcStatus.UNAVAILABLE);
      // Counted as the authenticator's fault, not as wrong credentials.
      const refused = (reason: string) =>
        counterValue(gw.telemetry, 'gophership_receiver_unauthenticated_requests', { receiver: 'otlp', transport: 'http', reason });
      expect(await refused('credentials')).toBe(0);
      expect(await refused('unavailable')).toBe(1);
    } finally {
      await gw.shutdown(5000);
    }
  });

  it('a receiver whose authenticator cannot check incoming requests does not start, and says why', async () => {
    await expect(
      startGateway(
        gatewayYaml({
          extensions: { headers_setter: { headers: [{ key: 'x-a', value: 'b' }] } },
          receivers: { otlp: otlpReceiver(['http'], authBy('headers_setter')) },
          exporters: { debug: null },
          pipelines: { logs: { exporters: ['debug'] } },
        }),
      ),
    ).rejects.toThrow(/receiver otlp: protocols\.http\.auth\.authenticator: extension "headers_setter" cannot authenticate incoming requests/);
  });
});
