/**
 * Limits against abusive clients on both receivers: slowloris (500 connections dribbling headers) leaves
 * well-behaved clients served at their normal latency and is disconnected after read_header_timeout;
 * bodies and gRPC messages that stop arriving are dropped after read_stall_timeout; the bytes in flight
 * are bounded without a somatic processor (150 stalled 4 MiB-declared gRPC messages); connection cap,
 * header size and write_timeout.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { testHost } from '../../test/helpers/host.js';
import type { ConfigIssue } from '../../src/core/schema.js';
import { GRPC_METHOD } from '../../src/core/signal.js';
import { GrpcStatus } from '../../src/grpc/status.js';
import { RecordingConsumer, makeLogsRequest, testSettings } from '../../test/helpers/otlp-test-servers.js';
import { testSomaticSettings } from '../../test/helpers/somatic.js';
import type { AdmissionGate } from '../../src/somatic/gate.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { otlpReceiverConfig } from './config.js';
import { OtlpReceiver, otlpReceiverFactory } from './factory.js';

const running: OtlpReceiver[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.shutdown();
});

async function start(
  protocols: Record<string, unknown>,
  consumer = new RecordingConsumer(),
  settings = testSettings('otlp', 'receiver'),
): Promise<OtlpReceiver> {
  const issues: ConfigIssue[] = [];
  const cfg = otlpReceiverConfig.parse({ protocols }, [], issues);
  expect(issues).toEqual([]);
  const r = otlpReceiverFactory.create(settings, cfg, { logs: consumer, traces: consumer, metrics: consumer }) as OtlpReceiver;
  await r.start(testHost());
  running.push(r);
  return r;
}

const body = Buffer.from(makeLogsRequest(1, 10));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One POST on a fresh connection; resolves to [status, milliseconds]. */
function post(port: number, headers: http.OutgoingHttpHeaders = {}, payload: Buffer = body): Promise<[number, number]> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/v1/logs', method: 'POST', agent: false, headers: { 'content-type': 'application/x-protobuf', ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve([res.statusCode ?? 0, performance.now() - t0]));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function latencies(port: number, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const [status, ms] = await post(port);
    expect(status).toBe(200);
    out.push(ms);
  }
  return out;
}

describe('HTTP receiver against slow clients', () => {
  it('slowloris: 500 connections dribbling headers leave well-behaved clients at normal latency, and are cut after read_header_timeout', async () => {
    const r = await start({ http: { endpoint: '127.0.0.1:0', read_header_timeout: '2s' } });
    const port = r.httpAddress!.port;
    await latencies(port, 10); // warm-up
    const baseline = median(await latencies(port, 40));

    const attackers: net.Socket[] = [];
    let closedByServer = 0;
    for (let i = 0; i < 500; i++) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.on('close', () => closedByServer++);
      s.write('POST /v1/logs HTTP/1.1\r\nHost: gw\r\nX-A: ');
      attackers.push(s);
    }
    const drip = setInterval(() => {
      for (const s of attackers) if (!s.destroyed) s.write('a');
    }, 100);
    try {
      await sleep(300);
      const under = median(await latencies(port, 40));
      // Served at normal latency (the median of 40 requests; the margin absorbs a shared 2-core machine's noise,
      // while a server stuck behind the attackers would take seconds).
      expect(under).toBeLessThan(Math.max(baseline * 5, baseline + 50));
      // Past read_header_timeout (2 s, checked every 0.5 s) the server has cut them all.
      const deadline = Date.now() + 6000;
      while (closedByServer < 500 && Date.now() < deadline) await sleep(100);
      expect(closedByServer).toBe(500);
    } finally {
      clearInterval(drip);
      for (const s of attackers) s.destroy();
    }
    // And the server is still fine.
    expect((await post(port))[0]).toBe(200);
  }, 30_000);

  it('a body that stops arriving is answered 408 after read_stall_timeout and its bytes leave the in-flight count', async () => {
    const r = await start({ http: { endpoint: '127.0.0.1:0', read_stall_timeout: '300ms' } });
    const port = r.httpAddress!.port;
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    const closed = new Promise<void>((res) => s.on('close', () => res()));
    s.write(`POST /v1/logs HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${4 * 1024 * 1024}\r\n\r\n0123456789`);
    const t0 = Date.now();
    await closed;
    const reply = Buffer.concat(chunks).toString('latin1');
    expect(reply).toMatch(/^HTTP\/1.1 408/);
    expect(reply).toMatch(/read_stall_timeout/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(Date.now() - t0).toBeLessThan(3000);
    await sleep(20);
    expect((r as unknown as { http: { inFlight: { inFlight: number } } }).http.inFlight.inFlight).toBe(0);
    expect((await post(port))[0]).toBe(200);
  });

  it('max_in_flight_bytes refuses (503 + Retry-After) a body that does not fit beside a stalled one, without a somatic processor', async () => {
    const r = await start({ http: { endpoint: '127.0.0.1:0', max_in_flight_bytes: 1_000_000, read_stall_timeout: '5s' } });
    const port = r.httpAddress!.port;
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.write('POST /v1/logs HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-protobuf\r\nContent-Length: 800000\r\n\r\nabc');
    await sleep(100);
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/logs',
          method: 'POST',
          agent: false,
          headers: { 'content-type': 'application/x-protobuf', 'content-length': '800000' },
        },
        resolve,
      );
      req.on('error', reject);
      req.end(Buffer.alloc(800000));
    });
    res.resume();
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    s.destroy();
    await sleep(50);
    expect((await post(port))[0]).toBe(200);
  });

  it('max_connections closes connections past the cap; max_request_header_size answers 431; write_timeout cuts a response that takes too long', async () => {
    const slow = new RecordingConsumer();
    const r = await start({ http: { endpoint: '127.0.0.1:0', max_connections: 3, max_request_header_size: 2048, write_timeout: '300ms' } }, slow);
    const port = r.httpAddress!.port;
    const held = [0, 1, 2].map(() => net.connect(port, '127.0.0.1'));
    await Promise.all(held.map((s) => new Promise((res) => s.once('connect', res))));
    await sleep(50);
    const extra = net.connect(port, '127.0.0.1');
    extra.on('error', () => {});
    await new Promise<void>((res) => extra.once('close', () => res()));
    for (const s of held) s.destroy();
    await sleep(50);
    expect((await post(port, { 'x-big': 'a'.repeat(4096) }))[0]).toBe(431);
    expect((await post(port))[0]).toBe(200);
    // A pipeline that answers after 1 s: the connection is closed at write_timeout instead.
    const orig = slow.consume.bind(slow);
    slow.consume = async (p) => {
      await sleep(1000);
      return orig(p);
    };
    await expect(post(port)).rejects.toThrow(/socket hang up|ECONNRESET/);
  });
});

/** Opens a gRPC call on its own connection, sends the 5-byte prefix declaring `declared` bytes and `sent` of them, then stalls. */
function stalledCall(port: number, declared: number, sent: number): Promise<{ status: string; session: http2.ClientHttp2Session }> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => {});
    const stream = session.request({ ':method': 'POST', ':path': GRPC_METHOD.logs, 'content-type': 'application/grpc', te: 'trailers' });
    let status = '';
    stream.on('response', (h) => {
      if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
    });
    stream.on('trailers', (h) => {
      status = String(h['grpc-status']);
    });
    stream.on('error', () => {});
    stream.on('close', () => resolve({ status: status || `rst ${stream.rstCode}`, session }));
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(declared, 1);
    stream.write(Buffer.concat([prefix, Buffer.alloc(sent, 1)]));
  });
}

describe('gRPC receiver against stalled messages (issue 17, item 6)', () => {
  it('150 stalled 4 MiB-declared messages: RSS stays bounded, the in-flight bound refuses most at once, the rest are dropped after read_stall_timeout', async () => {
    const r = await start({ grpc: { endpoint: '127.0.0.1:0', read_stall_timeout: '1s' } });
    const port = r.grpcAddress!.port;
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 100);
    const t0 = Date.now();
    try {
      const calls = await Promise.all(Array.from({ length: 150 }, () => stalledCall(port, 4 * 1024 * 1024, 10)));
      const elapsed = Date.now() - t0;
      const byStatus: Record<string, number> = {};
      for (const c of calls) byStatus[c.status] = (byStatus[c.status] ?? 0) + 1;
      // 128 MiB (the default max_in_flight_bytes) holds 32 of them at a time; the others are refused as
      // retryable, or (when calls arrive after earlier ones were dropped, on a slow machine) admitted then.
      // Every call ends one way or the other, none is left open.
      const unavailable = byStatus[String(GrpcStatus.UNAVAILABLE)] ?? 0;
      const dropped = byStatus[String(GrpcStatus.DEADLINE_EXCEEDED)] ?? 0;
      expect(unavailable + dropped, JSON.stringify(byStatus)).toBe(150);
      expect(dropped).toBeGreaterThanOrEqual(32);
      expect(unavailable).toBeGreaterThan(0);
      const budget = (r as unknown as { grpc: { inFlight: { peak: number; limit: number } } }).grpc.inFlight;
      expect(budget.peak).toBeLessThanOrEqual(budget.limit);
      expect(budget.peak).toBe(32 * (4 * 1024 * 1024));
      expect(elapsed).toBeLessThan(15_000);
      for (const c of calls) c.session.destroy();
    } finally {
      clearInterval(sampler);
    }
    expect((r as unknown as { grpc: { inFlight: { inFlight: number } } }).grpc.inFlight.inFlight).toBe(0);
    // Before: each stalled call held its declared 4 MiB until the client left (~600 MiB for 150).
    expect(peak - rss0).toBeLessThan(160 * 1024 * 1024);
  }, 30_000);

  it('a message whose bytes arrive slowly but steadily is not dropped', async () => {
    const consumer = new RecordingConsumer();
    const r = await start({ grpc: { endpoint: '127.0.0.1:0', read_stall_timeout: '300ms' } }, consumer);
    const session = http2.connect(`http://127.0.0.1:${r.grpcAddress!.port}`);
    const stream = session.request({ ':method': 'POST', ':path': GRPC_METHOD.logs, 'content-type': 'application/grpc', te: 'trailers' });
    const status = new Promise<string>((resolve) => stream.on('trailers', (h) => resolve(String(h['grpc-status']))));
    stream.resume();
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    const step = Math.ceil(frame.length / 6);
    for (let off = 0; off < frame.length; off += step) {
      stream.write(frame.subarray(off, off + step));
      await sleep(150);
    }
    stream.end();
    expect(await status).toBe('0');
    expect(consumer.got).toHaveLength(1);
    session.close();
  });
});

/** A receiver in a service with a somatic processor (a roomy limit), and the admission gate it asks. */
async function startWithGate(protocols: Record<string, unknown>): Promise<{ r: OtlpReceiver; gate: AdmissionGate }> {
  const settings = testSettings('otlp', 'receiver');
  const rt = settings.pressure!.provide(testSomaticSettings({ memoryLimitBytes: 64 * 2 ** 30, inflightBudgetBytes: 2 ** 30 }), silentLogger, 'somatic');
  return { r: await start(protocols, new RecordingConsumer(), settings), gate: rt.gate };
}

async function until(cond: () => boolean): Promise<void> {
  for (const end = Date.now() + 3000; !cond() && Date.now() < end;) await sleep(10);
}

// The gate counts what is admitted and not read yet against the room an RSS reading shows (that reading
// cannot include it): the receivers tell it as the bytes arrive, and what never arrives leaves with the request.
describe('the somatic gate hears of request bytes as they are read (issue 17, item 3)', () => {
  const payload = Buffer.from(makeLogsRequest(4, 500));

  it('HTTP: half a body read leaves the other half awaited; answered or cut short, nothing stays awaited', async () => {
    const { r, gate } = await startWithGate({ http: { endpoint: '127.0.0.1:0', read_stall_timeout: '300ms' } });
    const port = r.httpAddress!.port;
    const half = Math.floor(payload.length / 2);
    const head = `POST /v1/logs HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${payload.length}\r\n\r\n`;
    const s = net.connect(port, '127.0.0.1');
    const reply: Buffer[] = [];
    s.on('data', (c: Buffer) => reply.push(c));
    s.write(head);
    s.write(payload.subarray(0, half));
    await until(() => gate.awaited === payload.length - half);
    expect(gate.inFlight).toBe(payload.length);
    expect(gate.awaited).toBe(payload.length - half);
    s.write(payload.subarray(half));
    await until(() => Buffer.concat(reply).includes('\r\n\r\n'));
    expect(Buffer.concat(reply).toString('latin1')).toMatch(/^HTTP\/1.1 200/);
    await until(() => gate.inFlight === 0);
    expect(gate.awaited).toBe(0);
    // A body that stops arriving (dropped after read_stall_timeout): its unread part leaves with it.
    s.write(head);
    s.write(payload.subarray(0, half));
    await until(() => gate.awaited === payload.length - half);
    expect(gate.inFlight).toBe(payload.length);
    expect(gate.awaited).toBe(payload.length - half);
    await until(() => gate.inFlight === 0);
    expect(gate.inFlight).toBe(0);
    expect(gate.awaited).toBe(0);
    s.destroy();
  });

  it('gRPC: part of a message read leaves the rest awaited; answered or cancelled, nothing stays awaited', async () => {
    const { r, gate } = await startWithGate({ grpc: { endpoint: '127.0.0.1:0' } });
    const session = http2.connect(`http://127.0.0.1:${r.grpcAddress!.port}`);
    session.on('error', () => {});
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(payload.length, 1);
    const half = Math.floor(payload.length / 2);
    const call = () => {
      const stream = session.request({ ':method': 'POST', ':path': GRPC_METHOD.logs, 'content-type': 'application/grpc', te: 'trailers' });
      stream.on('error', () => {});
      const status = new Promise<string>((resolve) => {
        stream.on('trailers', (h) => resolve(String(h['grpc-status'])));
        stream.on('close', () => resolve(`rst ${stream.rstCode}`));
      });
      stream.write(Buffer.concat([prefix, payload.subarray(0, half)]));
      return { stream, status };
    };
    const a = call();
    await until(() => gate.awaited === payload.length - half);
    expect(gate.inFlight).toBe(payload.length);
    expect(gate.awaited).toBe(payload.length - half);
    a.stream.end(payload.subarray(half));
    expect(await a.status).toBe(String(GrpcStatus.OK));
    await until(() => gate.inFlight === 0);
    expect(gate.awaited).toBe(0);
    // Cancelled by its client before the rest came: the unread part leaves with the call.
    const b = call();
    await until(() => gate.awaited === payload.length - half);
    expect(gate.awaited).toBe(payload.length - half);
    b.stream.close(http2.constants.NGHTTP2_CANCEL);
    await b.status;
    await until(() => gate.inFlight === 0);
    expect(gate.inFlight).toBe(0);
    expect(gate.awaited).toBe(0);
    session.destroy();
  });
});
