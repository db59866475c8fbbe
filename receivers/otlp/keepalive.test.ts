/**
 * gRPC keepalive on the receiver: max_connection_age recycles a long-lived connection (GOAWAY, calls in
 * flight finish, the client reconnects, so new replicas of a gateway tier get traffic), the grace cuts a
 * call that outlives it, max_connection_idle closes an idle connection, and a client pinging more often
 * than enforcement_policy.min_time is told to go away (ENHANCE_YOUR_CALM, too_many_pings).
 */
import http2 from 'node:http2';
import type net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { testHost } from '../../test/helpers/host.js';
import type { Consumer } from '../../src/core/consumer.js';
import type { ConfigIssue } from '../../src/core/schema.js';
import { GRPC_METHOD } from '../../src/core/signal.js';
import type { Payload } from '../../src/pdata/payload.js';
import { makeLogsRequest, testSettings } from '../../test/helpers/otlp-test-servers.js';
import { otlpReceiverConfig } from './config.js';
import { OtlpReceiver, otlpReceiverFactory } from './factory.js';

const running: OtlpReceiver[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.shutdown();
});

class SlowConsumer implements Consumer {
  delayMs = 0;
  count = 0;
  async consume(_p: Payload): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    this.count++;
  }
}

async function start(keepalive: Record<string, unknown>, consumer: Consumer): Promise<number> {
  const issues: ConfigIssue[] = [];
  const cfg = otlpReceiverConfig.parse({ protocols: { grpc: { endpoint: '127.0.0.1:0', keepalive } } }, [], issues);
  expect(issues).toEqual([]);
  const r = otlpReceiverFactory.create(testSettings('otlp', 'receiver'), cfg, { logs: consumer }) as OtlpReceiver;
  await r.start(testHost());
  running.push(r);
  return r.grpcAddress!.port;
}

const message = (() => {
  const b = Buffer.from(makeLogsRequest(1, 3));
  const f = Buffer.alloc(5 + b.length);
  f.writeUInt32BE(b.length, 1);
  b.copy(f, 5);
  return f;
})();

/** One unary Export on `session`; resolves to its grpc-status (or the reset). */
function callOn(session: http2.ClientHttp2Session): Promise<string> {
  return new Promise((resolve) => {
    const stream = session.request({ ':method': 'POST', ':path': GRPC_METHOD.logs, 'content-type': 'application/grpc', te: 'trailers' });
    let status = '';
    stream.on('trailers', (h) => {
      status = String(h['grpc-status']);
    });
    stream.on('error', () => {});
    stream.resume();
    stream.on('close', () => resolve(status || `reset ${stream.rstCode}`));
    stream.end(message);
  });
}

/** The receiver's listening gRPC servers, to count the connections they accept. */
function serversOf(r: OtlpReceiver): net.Server[] {
  return (r as unknown as { grpc: { servers: net.Server[] } }).grpc.servers;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('gRPC receiver keepalive', () => {
  it('max_connection_age: a long-lived connection gets GOAWAY near its age, its call in flight completes, and grpc-js clients move to new connections without failures', async () => {
    const consumer = new SlowConsumer();
    const port = await start({ server_parameters: { max_connection_age: '400ms', max_connection_age_grace: '2s' } }, consumer);
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const t0 = Date.now();
    const goaway = new Promise<[number, number]>((resolve) => session.on('goaway', (code) => resolve([code, Date.now() - t0])));
    await new Promise((r) => session.once('connect', r));
    consumer.delayMs = 600;
    const inFlight = callOn(session);
    const [code, at] = await goaway;
    expect(code).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(at).toBeGreaterThanOrEqual(300);
    expect(at).toBeLessThan(3000);
    expect(await inFlight).toBe('0');
    session.destroy();

    // grpc-js: calls spread over ~4 ages all succeed, over several connections the server accepted.
    consumer.delayMs = 0;
    let connections = 0;
    for (const server of serversOf(running[0]!)) server.on('connection', () => connections++);
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const failures: grpc.ServiceError[] = [];
    for (let i = 0; i < 16; i++) {
      const err = await new Promise<grpc.ServiceError | null>((resolve) => {
        client.makeUnaryRequest(
          GRPC_METHOD.logs,
          (b: Buffer) => b,
          (b: Buffer) => b,
          message.subarray(5),
          (e) => resolve(e),
        );
      });
      if (err) failures.push(err);
      await sleep(100);
    }
    client.close();
    expect(failures).toEqual([]);
    expect(connections).toBeGreaterThanOrEqual(3);
  }, 20_000);

  it('max_connection_age_grace cuts a call that outlives it', async () => {
    const consumer = new SlowConsumer();
    consumer.delayMs = 3000;
    const port = await start({ server_parameters: { max_connection_age: '200ms', max_connection_age_grace: '300ms' } }, consumer);
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => {});
    const closed = new Promise<number>((resolve) => session.on('close', () => resolve(Date.now())));
    const t0 = Date.now();
    const status = await callOn(session);
    expect(status).not.toBe('0');
    expect((await closed) - t0).toBeLessThan(2000);
  });

  it('max_connection_idle closes a connection with no call', async () => {
    const port = await start({ server_parameters: { max_connection_idle: '300ms' } }, new SlowConsumer());
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const t0 = Date.now();
    expect(await callOn(session)).toBe('0');
    const code = await new Promise<number>((resolve) => session.on('goaway', resolve));
    expect(code).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    session.destroy();
  });

  it('server_parameters.time: the server pings a connection idle that long (and keeps it while pings are answered)', async () => {
    const port = await start({ server_parameters: { time: '1s', timeout: '1s' } }, new SlowConsumer());
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const t0 = Date.now();
    const pinged = new Promise<number>((resolve) => session.once('ping', () => resolve(Date.now() - t0)));
    await new Promise((r) => session.once('connect', r));
    const at = await pinged;
    expect(at).toBeGreaterThanOrEqual(900);
    expect(at).toBeLessThan(4000);
    await sleep(1200);
    expect(session.closed || session.destroyed).toBe(false);
    expect(await callOn(session)).toBe('0');
    session.destroy();
  });

  it('enforcement_policy: a client pinging more often than min_time gets GOAWAY ENHANCE_YOUR_CALM too_many_pings; one within it does not', async () => {
    const port = await start({ enforcement_policy: { min_time: '1s', permit_without_stream: true } }, new SlowConsumer());
    const polite = http2.connect(`http://127.0.0.1:${port}`);
    let politeGoaway = false;
    polite.on('goaway', () => (politeGoaway = true));
    await new Promise((r) => polite.once('connect', r));
    await new Promise((r) => polite.ping(r));

    const rude = http2.connect(`http://127.0.0.1:${port}`);
    rude.on('error', () => {});
    const goaway = new Promise<[number, string]>((resolve) => rude.on('goaway', (code, _last, data) => resolve([code, data?.toString() ?? ''])));
    await new Promise((r) => rude.once('connect', r));
    for (let i = 0; i < 5; i++) rude.ping(() => {});
    const [code, data] = await goaway;
    expect(code).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    expect(data).toBe('too_many_pings');
    expect(politeGoaway).toBe(false);
    expect(await callOn(polite)).toBe('0');
    polite.destroy();
    rude.destroy();
  });
});
