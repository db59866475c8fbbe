/**
 * Connections that open and then send nothing. Go's server (the collector's) bounds a new connection's
 * TLS handshake by the least of its read and write timeouts, and grpc-go drops a connection that does not
 * finish opening. Node holds a TLS handshake 120 s and an HTTP/2 connection without its preface for ever,
 * so a handful of silent connections would fill max_connections and lock every client out. (Node's
 * HTTP/1 header timer already covers a plaintext connection that sends nothing: the first test guards it.)
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigIssue } from '../../src/core/schema.js';
import { GRPC_METHOD } from '../../src/core/signal.js';
import { hasOpenssl, makeCertSet, type CertSet } from '../../test/helpers/certs.js';
import { testHost } from '../../test/helpers/host.js';
import { RecordingConsumer, makeLogsRequest, testSettings } from '../../test/helpers/otlp-test-servers.js';
import { otlpReceiverConfig } from './config.js';
import { OtlpReceiver, otlpReceiverFactory } from './factory.js';

const openssl = hasOpenssl('the silent-connection tests over TLS (certificates made at test time)');
let certs: CertSet | undefined;
const running: OtlpReceiver[] = [];

beforeAll(() => {
  if (openssl) certs = makeCertSet();
});
afterEach(async () => {
  for (const r of running.splice(0)) await r.shutdown();
});
afterAll(() => certs?.factory.cleanup());

async function start(protocols: Record<string, unknown>): Promise<OtlpReceiver> {
  const issues: ConfigIssue[] = [];
  const cfg = otlpReceiverConfig.parse({ protocols }, [], issues);
  expect(issues).toEqual([]);
  const consumer = new RecordingConsumer();
  const r = otlpReceiverFactory.create(testSettings('otlp', 'receiver'), cfg, { logs: consumer, traces: consumer, metrics: consumer }) as OtlpReceiver;
  await r.start(testHost());
  running.push(r);
  return r;
}

const tlsKeys = () => ({ cert_file: certs!.server.certFile, key_file: certs!.server.keyFile });

/** Opens a TCP connection that sends nothing; resolves to how long the server held it (ms), or -1 when it still holds it after `giveUpMs`. */
function silentFor(port: number, giveUpMs: number): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    // Read what the server sends (an HTTP/2 server's SETTINGS), so its closing is seen.
    socket.resume();
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(-1);
    }, giveUpMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(performance.now() - t0);
    });
  });
}

/** Like silentFor, over a connection whose TLS handshake completed. */
function silentAfterHandshake(port: number, giveUpMs: number, alpn?: string[]): Promise<number> {
  return new Promise((resolve) => {
    const socket = tls.connect({ port, host: '127.0.0.1', ca: readFileSync(certs!.ca.certFile), ...(alpn ? { ALPNProtocols: alpn } : {}) });
    socket.on('error', () => {});
    socket.resume();
    let t0 = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(-1);
    }, giveUpMs);
    socket.once('secureConnect', () => (t0 = performance.now()));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(t0 === 0 ? -2 : performance.now() - t0);
    });
  });
}

const body = Buffer.from(makeLogsRequest(1, 2));

/** POSTs over `agent` (keep-alive) and resolves to the status. */
function post(port: number, agent: http.Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/v1/logs', method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Each connection was cut by a 400 ms timeout: not before it, and not much after (a loaded machine's sweep). */
function expectCutNear400ms(...heldMs: number[]): void {
  for (const ms of heldMs) {
    expect(ms).toBeGreaterThan(300);
    expect(ms).toBeLessThan(3000);
  }
}

describe('a connection that sends nothing is closed, as the collector closes it', () => {
  it('HTTP: after read_header_timeout, so max_connections is not held by silent clients; a kept-alive connection that sent a request is not cut', async () => {
    const r = await start({ http: { endpoint: '127.0.0.1:0', read_header_timeout: '400ms', max_connections: 2 } });
    const port = r.httpAddress!.port;
    const held = await Promise.all([silentFor(port, 5000), silentFor(port, 5000)]);
    expectCutNear400ms(...held);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await post(port, agent)).toBe(200);
      let closed = false;
      for (const s of Object.values(agent.sockets).flat().concat(Object.values(agent.freeSockets).flat())) s?.once('close', () => (closed = true));
      await new Promise((res) => setTimeout(res, 1200));
      expect(closed).toBe(false);
      expect(await post(port, agent)).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  it.runIf(openssl)('HTTPS: the TLS handshake and the first request are each bounded by read_header_timeout, not 120 s', async () => {
    const r = await start({ http: { endpoint: '127.0.0.1:0', read_header_timeout: '400ms', tls: tlsKeys() } });
    const port = r.httpAddress!.port;
    const [noHandshake, noRequest] = await Promise.all([silentFor(port, 5000), silentAfterHandshake(port, 5000)]);
    expectCutNear400ms(noHandshake, noRequest);
  });

  it('gRPC: a connection without the HTTP/2 preface is closed after read_stall_timeout; one that opened and idles is kept', async () => {
    const r = await start({ grpc: { endpoint: '127.0.0.1:0', read_stall_timeout: '400ms', max_connections: 2 } });
    const port = r.grpcAddress!.port;
    const held = await Promise.all([silentFor(port, 5000), silentFor(port, 5000)]);
    expectCutNear400ms(...held);
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => {});
    try {
      await new Promise<void>((res) => session.once('remoteSettings', () => res()));
      await new Promise((res) => setTimeout(res, 1200));
      expect(session.closed || session.destroyed).toBe(false);
      const stream = session.request({ ':method': 'POST', ':path': GRPC_METHOD.logs, 'content-type': 'application/grpc', te: 'trailers' });
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(body.length, 1);
      stream.end(Buffer.concat([prefix, body]));
      stream.resume();
      const status = await new Promise<string>((res) => {
        stream.on('trailers', (h) => res(String(h['grpc-status'])));
        stream.on('response', (h) => h['grpc-status'] !== undefined && res(String(h['grpc-status'])));
      });
      expect(status).toBe('0');
    } finally {
      session.destroy();
    }
  });

  it.runIf(openssl)('gRPC over TLS: neither a connection without a handshake nor one without the preface is held past read_stall_timeout', async () => {
    const r = await start({ grpc: { endpoint: '127.0.0.1:0', read_stall_timeout: '400ms', tls: tlsKeys() } });
    const port = r.grpcAddress!.port;
    const [noHandshake, noPreface] = await Promise.all([silentFor(port, 5000), silentAfterHandshake(port, 5000, ['h2'])]);
    expectCutNear400ms(noHandshake, noPreface);
  });
});

/**
 * POSTs on a raw connection (no client agent deciding when to close); resolves to the status, the
 * Connection header and when the server closed the connection (ms after the answer; -1: open after 3 s).
 */
function postAndWatch(port: number): Promise<{ status: number; connection: string | undefined; closedAfter: number }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    let text = '';
    let t0 = 0;
    const done = (closedAfter: number): void => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0);
      resolve({ status, connection: /\r\nconnection: ([^\r]*)/i.exec(text)?.[1]?.toLowerCase(), closedAfter });
    };
    socket.on('data', (d: Buffer) => {
      if (t0 === 0) t0 = performance.now();
      text += d.toString('latin1');
    });
    const timer = setTimeout(() => {
      socket.destroy();
      done(-1);
    }, 3000);
    socket.once('close', () => {
      clearTimeout(timer);
      done(performance.now() - t0);
    });
    socket.write(`POST /v1/logs HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/x-protobuf\r\ncontent-length: ${body.length}\r\n\r\n`);
    socket.write(body);
  });
}

describe("HTTP keep-alive keys of the collector's confighttp", () => {
  it('keep_alives_enabled: false and keepalive.enabled: false close each connection after its answer; keepalive.idle_timeout bounds an idle one', async () => {
    for (const keys of [{ keep_alives_enabled: false }, { keepalive: { enabled: false } }]) {
      const r = await start({ http: { endpoint: '127.0.0.1:0', ...keys } });
      const got = await postAndWatch(r.httpAddress!.port);
      expect(got.status).toBe(200);
      expect(got.connection).toBe('close');
      expect(got.closedAfter).toBeGreaterThanOrEqual(0);
      expect(got.closedAfter).toBeLessThan(1000);
    }
    const idle = await start({ http: { endpoint: '127.0.0.1:0', keepalive: { idle_timeout: '500ms' } } });
    const got = await postAndWatch(idle.httpAddress!.port);
    expect(got.connection).toBe('keep-alive');
    expect(got.closedAfter).toBeGreaterThan(300);
    expect(got.closedAfter).toBeLessThan(2500);
    const dflt = await start({ http: { endpoint: '127.0.0.1:0' } });
    expect((await postAndWatch(dflt.httpAddress!.port)).closedAfter).toBe(-1);
  });
});
