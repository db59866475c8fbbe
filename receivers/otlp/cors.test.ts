/**
 * CORS on the OTLP/HTTP receiver, as the collector answers browsers: preflights from allowed origins
 * (wildcards included) get 204 with the method, headers and max age; others get 204 without CORS headers
 * (the browser then refuses); an actual request from an allowed origin carries Access-Control-Allow-Origin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testHost } from '../../test/helpers/host.js';
import type { ConfigIssue } from '../../src/core/schema.js';
import { RecordingConsumer, makeLogsRequest, testSettings } from '../../test/helpers/otlp-test-servers.js';
import { otlpReceiverConfig } from './config.js';
import { OtlpReceiver, otlpReceiverFactory } from './factory.js';

let receiver: OtlpReceiver;
let base: string;
const consumer = new RecordingConsumer();

beforeAll(async () => {
  const issues: ConfigIssue[] = [];
  const cfg = otlpReceiverConfig.parse(
    {
      protocols: {
        http: {
          endpoint: '127.0.0.1:0',
          cors: {
            allowed_origins: ['https://app.example.com', 'https://*.test.example'],
            allowed_headers: ['X-Tenant', 'Content-Encoding'],
            max_age: 7200,
            exposed_headers: ['Retry-After', 'X-Served-By'],
          },
        },
      },
    },
    [],
    issues,
  );
  expect(issues).toEqual([]);
  receiver = otlpReceiverFactory.create(testSettings('otlp', 'receiver'), cfg, { logs: consumer }) as OtlpReceiver;
  await receiver.start(testHost());
  base = `http://127.0.0.1:${receiver.httpAddress!.port}`;
});

afterAll(() => receiver.shutdown());

function preflight(origin: string, method = 'POST', headers = 'content-type'): Promise<Response> {
  return fetch(`${base}/v1/logs`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });
}

describe('otlp receiver CORS', () => {
  it('answers a preflight from an allowed origin with its method, headers and max age', async () => {
    const res = await preflight('https://app.example.com', 'POST', 'content-type, x-tenant');
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(res.headers.get('access-control-allow-methods')).toBe('POST');
    expect(res.headers.get('access-control-allow-headers')).toBe('content-type, x-tenant');
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('access-control-max-age')).toBe('7200');
    expect(res.headers.get('vary')).toMatch(/Origin/);
  });

  it('matches wildcard origins, one or more characters', async () => {
    expect((await preflight('https://a.test.example')).headers.get('access-control-allow-origin')).toBe('https://a.test.example');
    expect((await preflight('https://deep.sub.test.example')).headers.get('access-control-allow-origin')).toBe('https://deep.sub.test.example');
    expect((await preflight('https://test.example')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('gives no CORS headers to another origin, a header not allowed, or a method not allowed', async () => {
    for (const res of [
      await preflight('https://evil.example'),
      await preflight('https://app.example.com', 'POST', 'x-secret'),
      await preflight('https://app.example.com', 'DELETE'),
    ]) {
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('an actual request from an allowed origin is served with Access-Control-Allow-Origin; others are served without', async () => {
    const body = makeLogsRequest(1, 2);
    const ok = await fetch(`${base}/v1/logs`, {
      method: 'POST',
      headers: { origin: 'https://app.example.com', 'content-type': 'application/x-protobuf' },
      body,
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    // The collector's exposed_headers: what a browser script may read of the answer (not on preflights).
    expect(ok.headers.get('access-control-expose-headers')).toBe('Retry-After, X-Served-By');
    expect((await preflight('https://app.example.com')).headers.get('access-control-expose-headers')).toBeNull();
    const other = await fetch(`${base}/v1/logs`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/x-protobuf' },
      body,
    });
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.headers.get('access-control-expose-headers')).toBeNull();
    expect(consumer.got.length).toBe(2);
  });

  it('answers a preflight on any path, as the collector (its CORS handler wraps the whole server); an allowed origin reads a 404', async () => {
    const res = await fetch(`${base}/v1/unknown`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    const missing = await fetch(`${base}/v1/unknown`, {
      method: 'POST',
      headers: { origin: 'https://app.example.com', 'content-type': 'application/x-protobuf' },
      body: makeLogsRequest(1, 1),
    });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
  });

  it('without cors configured, OPTIONS is not answered as a preflight (405)', async () => {
    const issues: ConfigIssue[] = [];
    const cfg = otlpReceiverConfig.parse({ protocols: { http: { endpoint: '127.0.0.1:0' } } }, [], issues);
    const plain = otlpReceiverFactory.create(testSettings('otlp', 'receiver'), cfg, { logs: consumer }) as OtlpReceiver;
    await plain.start(testHost({ onFatal: () => {} }));
    try {
      const res = await fetch(`http://127.0.0.1:${plain.httpAddress!.port}/v1/logs`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
      });
      expect(res.status).toBe(405);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await plain.shutdown();
    }
  });
});
