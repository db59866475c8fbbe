/**
 * A backend that echoes the credential it refused: the collector's bearertokenauth answers a wrong token
 * with "scheme or token does not match: <the Authorization header>", over HTTP and gRPC alike. The
 * gateway passes a downstream's refusal on to its own client and into its logs, so without care its
 * backend credential (the exporter's bearer token, a configured API-key header) would reach every app
 * that can send to it. The exporters take the credentials they sent out of such a message. And a gRPC
 * exporter that sends a token over a plaintext connection says so at start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { Service } from '../src/service/service.js';
import { Logger } from '../src/telemetry/logger.js';
import { GrpcStatus } from '../src/grpc/status.js';
import { startGateway, receiverAddress } from './helpers/gateway.js';
import { authBy, gatewayYaml, otlpReceiver } from './helpers/configs.js';
import { makeLogs } from './helpers/sdk-data.js';
import { sendLogsWithSdk } from './helpers/sdk-send.js';
import { startHttpServer, startRawGrpcServer, type TestGrpcServer, type TestHttpServer } from './helpers/otlp-test-servers.js';

const UPSTREAM_TOKEN = 'upstream-token-6f2d90ab';
const API_KEY = 'api-key-c81e5d3370';

let gateway: Service;
let httpBackend: TestHttpServer;
let grpcBackend: TestGrpcServer;
let records: ReadableLogRecord[];
const logLines: string[] = [];

beforeAll(async () => {
  records = await makeLogs('echo', 2);
  httpBackend = await startHttpServer();
  // As the collector's bearertokenauth and an API gateway might answer: the refused credentials, echoed.
  httpBackend.reply = (req) => ({
    status: 401,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: 16, message: `scheme or token does not match: ${req.headers.authorization}; api key ${req.headers['x-api-key']}` }),
  });
  grpcBackend = await startRawGrpcServer();
  grpcBackend.reply = (req) => ({
    code: GrpcStatus.UNAUTHENTICATED,
    message: `scheme or token does not match: ${String(req.headers.authorization)}; api key ${String(req.headers['x-api-key'])}`,
  });
  const exporterSettings = {
    headers: { 'x-api-key': API_KEY },
    ...authBy('bearertokenauth/upstream'),
    sending_queue: { enabled: false },
    retry_on_failure: { enabled: false },
  };
  const logger = new Logger('debug', {}, { write: (line: string) => void logLines.push(line) });
  gateway = await startGateway(
    gatewayYaml({
      extensions: { 'bearertokenauth/upstream': { token: UPSTREAM_TOKEN } },
      receivers: { 'otlp/in-http': otlpReceiver(['http']), 'otlp/in-grpc': otlpReceiver(['http']) },
      exporters: {
        otlphttp: { endpoint: httpBackend.url, compression: 'none', ...exporterSettings },
        otlp: { endpoint: grpcBackend.endpoint, tls: { insecure: true }, compression: 'none', ...exporterSettings },
      },
      pipelines: { 'logs/http': { receivers: ['otlp/in-http'], exporters: ['otlphttp'] }, 'logs/grpc': { receivers: ['otlp/in-grpc'], exporters: ['otlp'] } },
    }),
    process.env,
    logger,
  );
});

afterAll(async () => {
  await gateway?.shutdown(5000);
  await httpBackend?.close();
  await grpcBackend?.close();
});

describe("a downstream's refusal that echoes the credentials the exporter sent", () => {
  for (const [receiver, exporter] of [
    ['otlp/in-http', 'otlphttp'],
    ['otlp/in-grpc', 'otlp'],
  ] as const) {
    it(`${exporter}: reaches the gateway's client and its logs without the token or the API key`, async () => {
      const result = await sendLogsWithSdk('http', receiverAddress(gateway, receiver, 'http'), {}, records);
      expect(result.code).toBe(ExportResultCode.FAILED);
      const err = result.error as Error & { data?: string };
      const reply = `${err.message} ${err.data ?? ''}`;
      // The refusal itself still comes through, so the operator can see what the backend said.
      expect(reply).toMatch(/scheme or token does not match: (Bearer )?\[REDACTED\]; api key \[REDACTED\]/);
      expect(reply).not.toContain(UPSTREAM_TOKEN);
      expect(reply).not.toContain(API_KEY);
      const logged = logLines.join('\n');
      expect(logged).toMatch(/scheme or token does not match/);
      expect(logged).not.toContain(UPSTREAM_TOKEN);
      expect(logged).not.toContain(API_KEY);
    });
  }

  it('the otlp exporter warns at start that its bearer token goes in clear text over its plaintext connection (the collector refuses to send it)', () => {
    const warnings = logLines.filter((l) => l.includes('in clear text over this plaintext connection'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/auth: extension \\"bearertokenauth\/upstream\\" sends a token or password/);
    expect(warnings[0]).not.toContain(UPSTREAM_TOKEN);
  });
});
