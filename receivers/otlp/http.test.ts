import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseComponentId } from '../../src/core/component.js';
import type { Consumer } from '../../src/core/consumer.js';
import { PermanentError, RetryableError } from '../../src/core/errors.js';
import type { Payload } from '../../src/pdata/payload.js';
import { HTTP_PATH, SIGNALS, type Signal } from '../../src/core/signal.js';
import { countItems } from '../../src/pdata/wire.js';
import { decodeStatus, requestFromJson, requestToJson, type Encoding } from '../../src/pdata/codec.js';
import { GrpcStatus } from '../../src/grpc/status.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { Telemetry } from '../../src/telemetry/telemetry.js';
import { otlpReceiverConfig } from './config.js';
import { OtlpReceiver, otlpReceiverFactory } from './factory.js';
import { EXAMPLES_DIR } from '../../test/helpers/examples.js';
import { makeLogsRequest, serviceCapabilities } from '../../test/helpers/otlp-test-servers.js';
import { testHost } from '../../test/helpers/host.js';

const EXAMPLES = EXAMPLES_DIR;
const EXAMPLE_FILE: Record<Signal, string> = { logs: 'logs.json', traces: 'trace.json', metrics: 'metrics.json' };

/** Records what reaches the pipeline, or refuses with the error the test chose. */
class TestConsumer implements Consumer {
  payloads: Payload[] = [];
  refuse: (() => Error) | undefined;
  delayMs = 0;
  /** Calls that reached consume(), answered or not. */
  started = 0;
  async consume(p: Payload): Promise<void> {
    this.started++;
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.refuse) throw this.refuse();
    this.payloads.push(p);
  }
}

const host = testHost();

function parseConfig(raw: unknown) {
  const issues: { path: string[]; message: string }[] = [];
  const cfg = otlpReceiverConfig.parse(raw, [], issues);
  expect(issues).toEqual([]);
  return cfg;
}

async function startReceiver(httpCfg: Record<string, unknown>, consumer: Consumer, telemetry: Telemetry): Promise<{ receiver: OtlpReceiver; base: string }> {
  const cfg = parseConfig({ protocols: { http: { endpoint: '127.0.0.1:0', ...httpCfg } } });
  const receiver = otlpReceiverFactory.create(
    { id: parseComponentId('otlp')!, kind: 'receiver', logger: silentLogger, ...serviceCapabilities(telemetry) },
    cfg,
    { logs: consumer, traces: consumer, metrics: consumer },
  ) as OtlpReceiver;
  await receiver.start(host);
  return { receiver, base: `http://127.0.0.1:${receiver.httpAddress!.port}` };
}

/** A small valid ExportLogsServiceRequest, as protobuf bytes, from the opentelemetry-proto example. */
let logsJson: string;
let logsProto: Uint8Array;
let tracesProto: Uint8Array;

beforeAll(async () => {
  logsJson = await readFile(`${EXAMPLES}/logs.json`, 'utf8');
  logsProto = requestFromJson('logs', logsJson);
  tracesProto = requestFromJson('traces', await readFile(`${EXAMPLES}/trace.json`, 'utf8'));
});

function encodingOfResponse(res: Response): Encoding {
  return res.headers.get('content-type')?.startsWith('application/json') ? 'json' : 'proto';
}

async function statusOf(res: Response): Promise<{ code: number; message: string; retryDelayMs?: number }> {
  const body = new Uint8Array(await res.arrayBuffer());
  const st = decodeStatus(encodingOfResponse(res), body);
  expect(st, `a google.rpc.Status body for HTTP ${res.status}`).toBeDefined();
  return st!;
}

async function counter(telemetry: Telemetry, name: 'receiverAccepted' | 'receiverRefused' | 'receiverFailed', signal: Signal): Promise<number> {
  const m = await telemetry[name][signal].get();
  return m.values.reduce((a, v) => a + v.value, 0);
}

/** gzip of `mib` MiB of zeros, made as a stream so the test never holds the inflated bytes itself. */
async function gzipBomb(mib: number): Promise<Buffer> {
  const gz = zlib.createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((r) => gz.on('end', r));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < mib; i++) {
    if (!gz.write(zeros)) await new Promise((r) => gz.once('drain', r));
  }
  gz.end();
  await done;
  return Buffer.concat(out);
}

describe('otlp receiver over HTTP', () => {
  const telemetry = new Telemetry();
  const consumer = new TestConsumer();
  let receiver: OtlpReceiver;
  let base: string;

  beforeAll(async () => {
    ({ receiver, base } = await startReceiver({ max_request_body_size: 1024 * 1024 }, consumer, telemetry));
  });
  afterAll(async () => {
    await receiver.shutdown();
    telemetry.close();
  });

  interface Case {
    name: string;
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: () => Uint8Array | string;
    refuse?: () => Error;
    status: number;
    check: (res: Response) => Promise<void>;
  }

  const cases: Case[] = [
    {
      name: '200 protobuf: response in protobuf, bytes forwarded unchanged',
      headers: { 'content-type': 'application/x-protobuf' },
      body: () => logsProto,
      status: 200,
      async check(res) {
        expect(res.headers.get('content-type')).toBe('application/x-protobuf');
        // A full success is an empty ExportLogsServiceResponse (no partial_success).
        expect((await res.arrayBuffer()).byteLength).toBe(0);
        const p = consumer.payloads.at(-1)!;
        expect(p.signal).toBe('logs');
        expect(Buffer.from(p.bytes).equals(Buffer.from(logsProto))).toBe(true);
      },
    },
    {
      name: '200 JSON with charset: response in JSON, payload converted to protobuf',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: () => logsJson,
      status: 200,
      async check(res) {
        expect(res.headers.get('content-type')).toBe('application/json');
        expect(JSON.parse(await res.text())).toEqual({});
        const p = consumer.payloads.at(-1)!;
        expect(Buffer.from(p.bytes).equals(Buffer.from(logsProto))).toBe(true);
        expect(p.itemCount).toBeGreaterThan(0);
      },
    },
    {
      name: '200 with partial_success: unreadable JSON records are rejected, the rest delivered',
      headers: { 'content-type': 'application/json' },
      body: () =>
        JSON.stringify({
          resourceLogs: [
            {
              scopeLogs: [
                {
                  logRecords: [
                    { body: { stringValue: 'good 1' } },
                    { body: { stringValue: 'bad id' }, traceId: 'not-hex' },
                    { body: { stringValue: 'good 2' } },
                    { severityNumber: 'LOUD' },
                  ],
                },
              ],
            },
          ],
        }),
      status: 200,
      async check(res) {
        expect(res.headers.get('content-type')).toBe('application/json');
        const body = JSON.parse(await res.text());
        expect(body.partialSuccess.rejectedLogRecords).toBe('2');
        expect(body.partialSuccess.errorMessage).toContain('resourceLogs[0].scopeLogs[0].logRecords[1].traceId');
        const p = consumer.payloads.at(-1)!;
        expect(p.itemCount).toBe(2);
        expect(requestToJson('logs', p.bytes)).toContain('good 2');
      },
    },
    {
      name: '200 gzip protobuf body inflated',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
      body: () => zlib.gzipSync(logsProto),
      status: 200,
      async check() {
        expect(Buffer.from(consumer.payloads.at(-1)!.bytes).equals(Buffer.from(logsProto))).toBe(true);
      },
    },
    {
      name: '200 deflate JSON body inflated',
      headers: { 'content-type': 'application/json', 'content-encoding': 'deflate' },
      body: () => zlib.deflateSync(logsJson),
      status: 200,
      async check() {
        expect(Buffer.from(consumer.payloads.at(-1)!.bytes).equals(Buffer.from(logsProto))).toBe(true);
      },
    },
    {
      name: '400 malformed protobuf, Status in protobuf',
      headers: { 'content-type': 'application/x-protobuf' },
      // resource_logs (field 1) claiming 127 bytes with 2 present.
      body: () => Uint8Array.of(0x0a, 0x7f, 0x01, 0x02),
      status: 400,
      async check(res) {
        expect(res.headers.get('content-type')).toBe('application/x-protobuf');
        const st = await statusOf(res);
        expect(st.code).toBe(GrpcStatus.INVALID_ARGUMENT);
        expect(st.message).toMatch(/malformed protobuf ExportLogsServiceRequest/);
      },
    },
    {
      name: '400 for a request broken inside a record (its framing is fine), naming the field; nothing delivered',
      headers: { 'content-type': 'application/x-protobuf' },
      // resource_logs > scope_logs > log_records > attributes: a KeyValue whose key claims 16 bytes and holds 1.
      body: () => Uint8Array.of(0x0a, 0x0a, 0x12, 0x08, 0x12, 0x06, 0x32, 0x04, 0x0a, 0x10, 0x61, 0x00),
      status: 400,
      async check(res) {
        const st = await statusOf(res);
        expect(st.code).toBe(GrpcStatus.INVALID_ARGUMENT);
        expect(st.message).toMatch(/malformed protobuf ExportLogsServiceRequest: field key \(1\) overruns its message/);
        expect(st.message).toContain('resource_logs[0].scope_logs[0].log_records[0].attributes[0]');
        expect(consumer.payloads.length).toBe(deliveredBefore);
      },
    },
    {
      name: "400 for a trace request posted to /v1/logs (another signal's message)",
      headers: { 'content-type': 'application/x-protobuf' },
      body: () => tracesProto,
      status: 400,
      async check(res) {
        expect((await statusOf(res)).message).toMatch(/malformed protobuf ExportLogsServiceRequest: .*wire type/);
        expect(consumer.payloads.length).toBe(deliveredBefore);
      },
    },
    {
      name: '200 for an empty request, answered without entering the pipeline (as the collector does)',
      headers: { 'content-type': 'application/x-protobuf' },
      body: () => new Uint8Array(0),
      status: 200,
      async check(res) {
        expect((await res.arrayBuffer()).byteLength).toBe(0);
        expect(consumer.payloads.length).toBe(deliveredBefore);
      },
    },
    {
      name: '200 with partial_success for an OTLP/JSON metric whose data cannot be read',
      path: '/v1/metrics',
      headers: { 'content-type': 'application/json' },
      body: () => JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'bad', gauge: 5 }] }] }] }),
      status: 200,
      async check(res) {
        const body = JSON.parse(await res.text());
        expect(body.partialSuccess.rejectedDataPoints).toBe('1');
        expect(body.partialSuccess.errorMessage).toContain('resourceMetrics[0].scopeMetrics[0].metrics[0].gauge');
        expect(consumer.payloads.length).toBe(deliveredBefore);
      },
    },
    {
      name: 'partial_success for an OTLP/JSON record nested deeper than the gateway takes, naming the path',
      headers: { 'content-type': 'application/json' },
      body: () => {
        let v: unknown = { stringValue: 'leaf' };
        for (let i = 0; i < 60; i++) v = { arrayValue: { values: [v] } };
        return JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: v }] }] }] });
      },
      status: 200,
      async check(res) {
        const body = JSON.parse(await res.text());
        expect(body.partialSuccess.rejectedLogRecords).toBe('1');
        expect(body.partialSuccess.errorMessage).toMatch(
          /resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[0\]\.body\.arrayValue.*: messages nested deeper than 100 levels/,
        );
        expect(consumer.payloads.length).toBe(deliveredBefore);
      },
    },
    {
      name: '400 bad JSON, Status in JSON naming the problem',
      headers: { 'content-type': 'application/json' },
      body: () => '{"resourceLogs": [',
      status: 400,
      async check(res) {
        const st = await statusOf(res);
        expect(st.code).toBe(GrpcStatus.INVALID_ARGUMENT);
        expect(st.message).toMatch(/invalid OTLP\/JSON/);
      },
    },
    {
      name: '400 gzip header but not gzip data',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
      body: () => logsProto,
      status: 400,
      async check(res) {
        expect((await statusOf(res)).message).toMatch(/not valid gzip/);
      },
    },
    {
      name: '405 for GET, with Allow: POST',
      method: 'GET',
      status: 405,
      async check(res) {
        expect(res.headers.get('allow')).toBe('POST');
        const st = await statusOf(res);
        expect(st.message).toMatch(/GET is not allowed/);
      },
    },
    {
      name: '404 for an unknown path',
      path: '/v1/nope',
      headers: { 'content-type': 'application/x-protobuf' },
      body: () => logsProto,
      status: 404,
      async check(res) {
        expect((await statusOf(res)).message).toMatch(/no OTLP endpoint at \/v1\/nope/);
      },
    },
    {
      name: '415 for text/plain, Status in JSON',
      headers: { 'content-type': 'text/plain' },
      body: () => 'hello',
      status: 415,
      async check(res) {
        expect(res.headers.get('content-type')).toBe('application/json');
        expect((await statusOf(res)).message).toMatch(/Content-Type "text\/plain" is not supported/);
      },
    },
    {
      name: '415 for a body without Content-Type',
      body: () => logsProto,
      status: 415,
      async check(res) {
        expect((await statusOf(res)).message).toMatch(/without Content-Type/);
      },
    },
    {
      name: '415 for an unsupported Content-Encoding',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'br' },
      body: () => logsProto,
      status: 415,
      async check(res) {
        expect((await statusOf(res)).message).toMatch(/Content-Encoding "br"/);
      },
    },
    {
      name: '413 when the inflated body passes the limit',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
      body: () => zlib.gzipSync(Buffer.alloc(2 * 1024 * 1024)),
      status: 413,
      async check(res) {
        expect((await statusOf(res)).message).toMatch(/decompressed body is over the limit of 1048576 bytes/);
      },
    },
    {
      name: '503 + Retry-After for a retryable refusal',
      headers: { 'content-type': 'application/x-protobuf' },
      body: () => logsProto,
      refuse: () => new RetryableError('queue full', { retryAfterMs: 2000 }),
      status: 503,
      async check(res) {
        expect(res.headers.get('retry-after')).toBe('2');
        const st = await statusOf(res);
        expect(st).toEqual({ code: GrpcStatus.UNAVAILABLE, message: 'queue full', retryDelayMs: 2000 });
      },
    },
    {
      name: '503 without Retry-After when no delay is known',
      headers: { 'content-type': 'application/json' },
      body: () => logsJson,
      refuse: () => new RetryableError('exporter down'),
      status: 503,
      async check(res) {
        expect(res.headers.get('retry-after')).toBeNull();
        expect((await statusOf(res)).message).toBe('exporter down');
      },
    },
    {
      name: '429 + Retry-After when throttled (JSON Status)',
      headers: { 'content-type': 'application/json' },
      body: () => logsJson,
      refuse: () => new RetryableError('over budget', { retryAfterMs: 1500, throttled: true }),
      status: 429,
      async check(res) {
        expect(res.headers.get('retry-after')).toBe('2');
        const st = await statusOf(res);
        expect(st).toEqual({ code: GrpcStatus.RESOURCE_EXHAUSTED, message: 'over budget', retryDelayMs: 1500 });
      },
    },
    {
      name: '400 for a permanent refusal',
      headers: { 'content-type': 'application/x-protobuf' },
      body: () => logsProto,
      refuse: () => new PermanentError('attribute too long'),
      status: 400,
      async check(res) {
        const st = await statusOf(res);
        expect(st.code).toBe(GrpcStatus.INVALID_ARGUMENT);
        expect(st.message).toBe('attribute too long');
      },
    },
  ];

  let deliveredBefore = 0;
  for (const c of cases) {
    it(c.name, async () => {
      consumer.refuse = c.refuse;
      deliveredBefore = consumer.payloads.length;
      try {
        const res = await fetch(base + (c.path ?? '/v1/logs'), { method: c.method ?? 'POST', headers: c.headers, body: c.body?.() });
        expect(res.status).toBe(c.status);
        await c.check(res);
      } finally {
        consumer.refuse = undefined;
      }
      // The server keeps serving after each reply.
      const after = await fetch(base + '/v1/logs', { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: logsProto });
      expect(after.status).toBe(200);
      await after.arrayBuffer();
    });
  }

  it('413 from Content-Length before the body is sent', async () => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(`${base}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'content-length': String(50 * 1024 * 1024) },
      });
      req.on('response', resolve);
      req.on('error', reject);
      // Headers only: the reply must come without a byte of the 50 MiB body.
      req.flushHeaders();
    });
    expect(res.statusCode).toBe(413);
    expect(res.headers['connection']).toBe('close');
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const st = decodeStatus('proto', Buffer.concat(chunks))!;
    expect(st.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(st.message).toMatch(/Content-Length 52428800 is over the limit/);
    res.socket.destroy();
  });

  /** POSTs a body in chunks without Content-Length (chunked transfer encoding). */
  function postChunked(chunks: Buffer[]): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = http.request(`${base}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' } });
      req.on('response', async (res) => {
        const parts: Buffer[] = [];
        for await (const c of res) parts.push(c as Buffer);
        resolve({ status: res.statusCode!, body: Buffer.concat(parts) });
      });
      req.on('error', reject);
      for (const c of chunks) req.write(c);
      req.end();
    });
  }

  it('hands a large protobuf body on as the pieces the HTTP parser delivered, byte for byte, not joined', async () => {
    const big = makeLogsRequest(2, 3000, 'pieces'); // several socket reads' worth, under the 1 MiB limit
    expect(big.length).toBeGreaterThan(200 * 1024);
    const res = await fetch(base + '/v1/logs', { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: big });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const got = consumer.payloads.at(-1)!;
    expect(got.chunks().length).toBeGreaterThan(1);
    expect(got.itemCount).toBe(6000);
    expect(Buffer.concat(got.chunks()).equals(Buffer.from(big))).toBe(true);
    // A broken body in pieces is refused as a whole one is, naming the place at fault in the whole body.
    const broken = Buffer.from(big);
    broken[broken.length - 200] = 0xff;
    const bad = await fetch(base + '/v1/logs', { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: broken });
    expect(bad.status).toBe(400);
    const st = await statusOf(bad);
    expect(st.message).toMatch(/^malformed protobuf ExportLogsServiceRequest: .* \(in ScopeLogs at resource_logs\[1\]\.scope_logs\[0\]\)$/);
  });

  it('reads chunked bodies (no Content-Length) and limits them as they arrive', async () => {
    const half = Math.floor(logsProto.length / 2);
    const ok = await postChunked([Buffer.from(logsProto.subarray(0, half)), Buffer.from(logsProto.subarray(half))]);
    expect(ok.status).toBe(200);
    expect(Buffer.from(consumer.payloads.at(-1)!.bytes).equals(Buffer.from(logsProto))).toBe(true);
    const big = await postChunked(Array.from({ length: 3 }, () => Buffer.alloc(512 * 1024)));
    expect(big.status).toBe(413);
    expect(decodeStatus('proto', big.body)!.message).toMatch(/the body is over the limit of 1048576 bytes/);
  });

  it('413 for a gzip bomb without inflating it whole', async () => {
    const bomb = await gzipBomb(100);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const rssBefore = process.memoryUsage().rss;
    const res = await fetch(`${base}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
      body: bomb,
    });
    expect(res.status).toBe(413);
    expect((await statusOf(res)).code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    // Inflating 100 MiB would have moved RSS by ~100 MB; the limit stops it after ~1 MiB.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(40 * 1024 * 1024);
    const after = await fetch(`${base}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: logsProto });
    expect(after.status).toBe(200);
  });

  it('accepts the opentelemetry-proto JSON examples of every signal and counts their items', async () => {
    for (const signal of SIGNALS) {
      const text = await readFile(`${EXAMPLES}/${EXAMPLE_FILE[signal]}`, 'utf8');
      const before = await counter(telemetry, 'receiverAccepted', signal);
      const res = await fetch(base + HTTP_PATH[signal], { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
      expect(res.status, signal).toBe(200);
      const p = consumer.payloads.at(-1)!;
      expect(p.signal).toBe(signal);
      expect(Buffer.from(p.bytes).equals(Buffer.from(requestFromJson(signal, text)))).toBe(true);
      expect(p.itemCount).toBeGreaterThan(0);
      expect((await counter(telemetry, 'receiverAccepted', signal)) - before).toBe(p.itemCount);
    }
  });

  it('interoperates with the OpenTelemetry JS trace exporters (OTLP/HTTP JSON and protobuf)', async () => {
    for (const Exporter of [JsonTraceExporter, ProtoTraceExporter]) {
      const before = consumer.payloads.length;
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new Exporter({ url: `${base}/v1/traces` }))] });
      provider.getTracer('test').startSpan('span from the SDK').end();
      await provider.forceFlush();
      await provider.shutdown();
      expect(consumer.payloads.length, Exporter.name).toBe(before + 1);
      const p = consumer.payloads.at(-1)!;
      expect(p.signal).toBe('traces');
      expect(p.itemCount).toBe(1);
      expect(JSON.stringify(p.decode(), (_k, v) => (typeof v === 'bigint' ? String(v) : v))).toContain('span from the SDK');
    }
  });

  it('counts refused and failed items', async () => {
    const refusedBefore = await counter(telemetry, 'receiverRefused', 'logs');
    consumer.refuse = () => new RetryableError('no');
    const res = await fetch(`${base}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: logsProto });
    consumer.refuse = undefined;
    expect(res.status).toBe(503);
    const items = countItems('logs', logsProto);
    expect((await counter(telemetry, 'receiverRefused', 'logs')) - refusedBefore).toBe(items);
    const failed = await telemetry.receiverFailed.logs.get();
    expect(failed.values.some((v) => v.labels['transport'] === 'http' && v.labels['receiver'] === 'otlp')).toBe(true);
    const bytes = await telemetry.receiverBytes.get();
    expect(bytes.values.find((v) => v.labels['transport'] === 'http')!.value).toBeGreaterThan(0);
  });
});

describe('otlp receiver HTTP lifecycle', () => {
  it('answers a request in flight during shutdown, then stops listening', async () => {
    const telemetry = new Telemetry();
    const consumer = new TestConsumer();
    consumer.delayMs = 300;
    const { receiver, base } = await startReceiver({}, consumer, telemetry);
    const logs = requestFromJson('logs', await readFile(`${EXAMPLES}/logs.json`, 'utf8'));
    const inFlight = fetch(`${base}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: logs });
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await receiver.shutdown();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(consumer.payloads).toHaveLength(1);
    expect(Date.now() - t0).toBeLessThan(5000);
    await expect(fetch(`${base}/v1/logs`, { method: 'POST', body: logs })).rejects.toThrow();
    telemetry.close();
  });

  it('a client that leaves after sending its body still has the request delivered and counted accepted (its answer is lost: a resend would duplicate it)', async () => {
    const telemetry = new Telemetry();
    const consumer = new TestConsumer();
    consumer.delayMs = 300;
    const { receiver } = await startReceiver({}, consumer, telemetry);
    const socket = net.connect(receiver.httpAddress!.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const head = `POST /v1/logs HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-protobuf\r\ncontent-length: ${logsProto.length}\r\n\r\n`;
    socket.write(Buffer.concat([Buffer.from(head), logsProto]));
    // Gone (its own timeout, say) while the pipeline holds the request.
    while (consumer.started === 0) await new Promise((r) => setTimeout(r, 10));
    socket.destroy();
    for (const end = Date.now() + 5000; consumer.payloads.length === 0 && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
    expect(consumer.payloads).toHaveLength(1);
    expect(await counter(telemetry, 'receiverAccepted', 'logs')).toBe(countItems('logs', logsProto));
    await receiver.shutdown();
    telemetry.close();
  });

  it('refuses a request that arrives during shutdown with 503, Retry-After and an UNAVAILABLE Status', async () => {
    const telemetry = new Telemetry();
    const consumer = new TestConsumer();
    consumer.delayMs = 300;
    const { receiver, base } = await startReceiver({}, consumer, telemetry);
    const port = receiver.httpAddress!.port;
    // Keeps the shutdown waiting: a request in flight.
    const inFlight = fetch(`${base}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: logsProto });
    // A second connection with its request begun (so not idle, and not closed by the shutdown); the
    // rest of the request is sent once the shutdown has started.
    const late = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => late.once('connect', () => r()));
    late.write('POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    let answer = '';
    late.setEncoding('latin1');
    late.on('data', (d: string) => (answer += d));
    const ended = new Promise<void>((r) => late.once('close', () => r()));
    await new Promise((r) => setTimeout(r, 100));
    const stopping = receiver.shutdown();
    await new Promise((r) => setTimeout(r, 20));
    late.write(`Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(logsJson)}\r\n\r\n${logsJson}`);
    await ended;
    await stopping;
    expect((await inFlight).status).toBe(200);
    const [head, body] = [answer.slice(0, answer.indexOf('\r\n\r\n')), answer.slice(answer.indexOf('\r\n\r\n') + 4)];
    expect(head).toMatch(/^HTTP\/1\.1 503 /);
    expect(head).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(head).toMatch(/\r\nconnection: close\r\n/i);
    const status = JSON.parse(body) as { code: number; message: string };
    expect(status.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(status.message).toBe('the receiver is shutting down; retry against another instance');
    expect(consumer.payloads).toHaveLength(1);
    telemetry.close();
  });

  it('names the endpoint when the port is taken', async () => {
    const telemetry = new Telemetry();
    const first = await startReceiver({}, new TestConsumer(), telemetry);
    const endpoint = `127.0.0.1:${first.receiver.httpAddress!.port}`;
    const second = otlpReceiverFactory.create(
      { id: parseComponentId('otlp/2')!, kind: 'receiver', logger: silentLogger, ...serviceCapabilities(telemetry) },
      parseConfig({ protocols: { http: { endpoint } } }),
      { logs: new TestConsumer() },
    );
    await expect(second.start(host)).rejects.toThrow(`receiver otlp/2: cannot listen on ${endpoint}: listen EADDRINUSE`);
    await first.receiver.shutdown();
    telemetry.close();
  });

  it('answers 404 with a Status for a signal no pipeline takes', async () => {
    const telemetry = new Telemetry();
    const cfg = parseConfig({ protocols: { http: { endpoint: '127.0.0.1:0' } } });
    const receiver = otlpReceiverFactory.create(
      { id: parseComponentId('otlp')!, kind: 'receiver', logger: silentLogger, ...serviceCapabilities(telemetry) },
      cfg,
      {
        logs: new TestConsumer(),
      },
    ) as OtlpReceiver;
    await receiver.start(host);
    const res = await fetch(`http://127.0.0.1:${receiver.httpAddress!.port}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(404);
    expect((await statusOf(res)).message).toMatch(/no traces pipeline/);
    await receiver.shutdown();
    telemetry.close();
  });
});

describe('otlp receiver HTTP routes', () => {
  it('answers alike on the direct node:http path (path as configured, with or without a query) and through fastify (the path spelled otherwise)', async () => {
    const telemetry = new Telemetry();
    const consumer = new TestConsumer();
    const { receiver, base } = await startReceiver({ response_headers: { 'x-gateway': 'gs' } }, consumer, telemetry);
    try {
      // `/v1/%6Cogs` is /v1/logs percent-encoded: not the configured spelling, so fastify routes it.
      for (const path of ['/v1/logs', '/v1/logs?tenant=a', '/v1/%6Cogs']) {
        const ok = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: logsProto });
        expect(ok.status, path).toBe(200);
        expect(ok.headers.get('x-gateway'), path).toBe('gs');
        expect(ok.headers.get('content-type'), path).toBe('application/x-protobuf');
        expect(new Uint8Array(await ok.arrayBuffer()), path).toEqual(new Uint8Array(0));

        const refused = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array([0x0a, 0x05]) });
        expect(refused.status, path).toBe(400);
        expect(refused.headers.get('x-gateway'), path).toBe('gs');
        expect((await statusOf(refused)).code, path).toBe(GrpcStatus.INVALID_ARGUMENT);

        const get = await fetch(base + path);
        expect(get.status, path).toBe(405);
        expect(get.headers.get('allow'), path).toBe('POST');
        expect(get.headers.get('x-gateway'), path).toBe('gs');
        await get.arrayBuffer();
      }
      expect(consumer.payloads).toHaveLength(3);
      for (const p of consumer.payloads) expect(Buffer.from(p.bytes)).toEqual(Buffer.from(logsProto));

      const missing = await fetch(base + '/v1/log', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(missing.status).toBe(404);
      expect(missing.headers.get('x-gateway')).toBe('gs');
      expect((await statusOf(missing)).message).toMatch(/no OTLP endpoint at \/v1\/log; POST to \/v1\/logs/);
    } finally {
      await receiver.shutdown();
      telemetry.close();
    }
  });
});

describe('otlp receiver HTTP response_headers forms (configopaque.MapList)', () => {
  it('takes response_headers as a list of name/value pairs as well as a map', async () => {
    const telemetry = new Telemetry();
    const { receiver, base } = await startReceiver({ response_headers: [{ name: 'X-Gateway', value: 'gs' }] }, new TestConsumer(), telemetry);
    try {
      const res = await fetch(`${base}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: logsProto });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-gateway')).toBe('gs');
    } finally {
      await receiver.shutdown();
      telemetry.close();
    }
  });
});
