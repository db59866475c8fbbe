import { readFile } from 'node:fs/promises';
import http2 from 'node:http2';
import zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseComponentId } from '../../src/core/component.js';
import { serviceCapabilities } from '../../test/helpers/otlp-test-servers.js';
import type { Consumer } from '../../src/core/consumer.js';
import { PermanentError, RetryableError } from '../../src/core/errors.js';
import type { Payload } from '../../src/pdata/payload.js';
import { GRPC_METHOD } from '../../src/core/signal.js';
import { concatRequests, countItems } from '../../src/pdata/wire.js';
import { decodeStatus, requestFromJson } from '../../src/pdata/codec.js';
import { GrpcStatus } from '../../src/grpc/status.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { Telemetry } from '../../src/telemetry/telemetry.js';
import { otlpReceiverConfig } from './config.js';
import { OtlpReceiver, otlpReceiverFactory } from './factory.js';
import { EXAMPLES_DIR } from '../../test/helpers/examples.js';
import { testHost } from '../../test/helpers/host.js';

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

async function startReceiver(grpcCfg: Record<string, unknown>, consumer: Consumer, telemetry: Telemetry): Promise<OtlpReceiver> {
  const issues: { path: string[]; message: string }[] = [];
  const cfg = otlpReceiverConfig.parse({ protocols: { grpc: { endpoint: '127.0.0.1:0', ...grpcCfg } } }, [], issues);
  expect(issues).toEqual([]);
  const receiver = otlpReceiverFactory.create(
    { id: parseComponentId('otlp')!, kind: 'receiver', logger: silentLogger, ...serviceCapabilities(telemetry) },
    cfg,
    { logs: consumer, traces: consumer, metrics: consumer },
  ) as OtlpReceiver;
  await receiver.start(host);
  return receiver;
}

interface CallResult {
  err: grpc.ServiceError | null;
  res: Buffer | undefined;
}

/** One unary call with raw bytes in and out, as an OTLP exporter makes it. */
function call(client: grpc.Client, method: string, bytes: Uint8Array): Promise<CallResult> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      method,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      (err, res) => resolve({ err, res }),
    );
  });
}

function retryInfoOf(err: grpc.ServiceError): { code: number; message: string; retryDelayMs?: number } | undefined {
  const details = err.metadata.get('grpc-status-details-bin')[0];
  return details === undefined ? undefined : decodeStatus('proto', details as Buffer);
}

let logsProto: Uint8Array;

beforeAll(async () => {
  logsProto = requestFromJson('logs', await readFile(`${EXAMPLES_DIR}/logs.json`, 'utf8'));
});

describe('otlp receiver over gRPC', () => {
  const telemetry = new Telemetry();
  const consumer = new TestConsumer();
  let receiver: OtlpReceiver;
  let target: string;
  let client: grpc.Client;

  beforeAll(async () => {
    receiver = await startReceiver({}, consumer, telemetry);
    target = `127.0.0.1:${receiver.grpcAddress!.port}`;
    client = new grpc.Client(target, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await receiver.shutdown();
    telemetry.close();
  });

  it('OK: an empty response, the request bytes forwarded unchanged', async () => {
    const { err, res } = await call(client, GRPC_METHOD.logs, logsProto);
    expect(err).toBeNull();
    expect(res!.length).toBe(0);
    const p = consumer.payloads.at(-1)!;
    expect(p.signal).toBe('logs');
    expect(Buffer.from(p.bytes).equals(Buffer.from(logsProto))).toBe(true);
    expect(p.itemCount).toBe(countItems('logs', logsProto));
    const accepted = await telemetry.receiverAccepted.logs.get();
    expect(accepted.values.find((v) => v.labels['transport'] === 'grpc')!.value).toBe(p.itemCount);
  });

  it('OK with gzip compression (grpc.default_compression_algorithm)', async () => {
    const gz = new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip });
    try {
      for (let i = 0; i < 3; i++) {
        const { err } = await call(gz, GRPC_METHOD.logs, logsProto);
        expect(err).toBeNull();
        expect(Buffer.from(consumer.payloads.at(-1)!.bytes).equals(Buffer.from(logsProto))).toBe(true);
      }
    } finally {
      gz.close();
    }
  });

  it('INVALID_ARGUMENT for junk bytes', async () => {
    const { err } = await call(client, GRPC_METHOD.traces, Uint8Array.of(0x0a, 0x7f, 0x01, 0x02));
    expect(err!.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(err!.details).toMatch(/malformed protobuf ExportTraceServiceRequest/);
  });

  it('INVALID_ARGUMENT for a logs request sent to the trace service, naming the field; nothing delivered', async () => {
    const before = consumer.payloads.length;
    const { err } = await call(client, GRPC_METHOD.traces, logsProto);
    expect(err!.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(err!.details).toMatch(
      /malformed protobuf ExportTraceServiceRequest: field .* came as wire type .* at resource_spans\[0\]\.scope_spans\[0\]\.spans\[0\]/,
    );
    expect(consumer.payloads.length).toBe(before);
  });

  it('INVALID_ARGUMENT for invalid UTF-8 in a string field, naming the field; nothing delivered', async () => {
    const before = consumer.payloads.length;
    // ExportTraceServiceRequest { resource_spans { scope_spans { spans { name: "a\xffb" } } } }
    const span = [0x2a, 0x03, 0x61, 0xff, 0x62];
    const scope = [0x12, span.length, ...span];
    const bad = Uint8Array.of(0x0a, scope.length + 2, 0x12, scope.length, ...scope);
    const { err } = await call(client, GRPC_METHOD.traces, bad);
    expect(err!.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(err!.details).toMatch(/field name \(5\) is not valid UTF-8 .*resource_spans\[0\]\.scope_spans\[0\]\.spans\[0\]/);
    expect(consumer.payloads.length).toBe(before);
  });

  it('OK for an empty request, answered without entering the pipeline', async () => {
    const before = consumer.payloads.length;
    const { err, res } = await call(client, GRPC_METHOD.metrics, new Uint8Array(0));
    expect(err).toBeNull();
    expect(res!.length).toBe(0);
    expect(consumer.payloads.length).toBe(before);
  });

  it('UNAVAILABLE with RetryInfo for a retryable refusal', async () => {
    consumer.refuse = () => new RetryableError('queue full: 100% of 1 GiB', { retryAfterMs: 2000 });
    try {
      const { err } = await call(client, GRPC_METHOD.logs, logsProto);
      expect(err!.code).toBe(GrpcStatus.UNAVAILABLE);
      // Percent-encoded on the wire ('%'), decoded by the client.
      expect(err!.details).toBe('queue full: 100% of 1 GiB');
      expect(retryInfoOf(err!)).toEqual({ code: GrpcStatus.UNAVAILABLE, message: 'queue full: 100% of 1 GiB', retryDelayMs: 2000 });
    } finally {
      consumer.refuse = undefined;
    }
  });

  it('RESOURCE_EXHAUSTED with RetryInfo when throttled; INVALID_ARGUMENT for a permanent refusal', async () => {
    consumer.refuse = () => new RetryableError('over budget', { throttled: true, retryAfterMs: 500 });
    let r = await call(client, GRPC_METHOD.metrics, requestFromJson('metrics', await readFile(`${EXAMPLES_DIR}/metrics.json`, 'utf8')));
    expect(r.err!.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(retryInfoOf(r.err!)!.retryDelayMs).toBe(500);
    consumer.refuse = () => new PermanentError('bad attribute');
    r = await call(client, GRPC_METHOD.logs, logsProto);
    consumer.refuse = undefined;
    expect(r.err!.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(r.err!.details).toBe('bad attribute');
    expect(retryInfoOf(r.err!)).toBeUndefined();
    // And the connection still serves.
    expect((await call(client, GRPC_METHOD.logs, logsProto)).err).toBeNull();
  });

  it('UNIMPLEMENTED for an unknown method', async () => {
    const { err } = await call(client, '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export', logsProto);
    expect(err!.code).toBe(GrpcStatus.UNIMPLEMENTED);
    expect(err!.details).toMatch(/unknown method/);
  });

  it('serves application/grpc and +proto; another codec is UNIMPLEMENTED, a non-gRPC type a plain 415', async () => {
    const session = http2.connect(`http://${target}`);
    try {
      const ask = (contentType: string) =>
        new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
          const prefix = Buffer.alloc(5);
          prefix.writeUInt32BE(logsProto.length, 1);
          const st = session.request({ ':method': 'POST', ':path': GRPC_METHOD.logs, 'content-type': contentType });
          let headers: http2.IncomingHttpHeaders = {};
          st.on('response', (h) => (headers = h));
          st.on('trailers', (t) => (headers = { ...headers, ...t }));
          st.on('error', reject);
          st.on('data', () => {});
          st.on('end', () => resolve(headers));
          st.end(Buffer.concat([prefix, logsProto]));
        });
      for (const ok of ['application/grpc', 'application/grpc+proto', 'application/grpc; charset=utf-8']) expect((await ask(ok))['grpc-status'], ok).toBe('0');
      const json = await ask('application/grpc+json');
      expect(json['grpc-status']).toBe(String(GrpcStatus.UNIMPLEMENTED));
      expect(decodeURIComponent(String(json['grpc-message']))).toMatch(/only the proto codec is served/);
      expect((await ask('application/grpcfoo'))[':status']).toBe(415);
    } finally {
      session.close();
    }
  });

  it('a refused call whose client keeps its side open is ended by the server (415 and trailers-only refusals alike)', async () => {
    // A client that sends part of a message and never ends its side: the server's answer must end the
    // stream (RST_STREAM NO_ERROR after the reply), or the stream and its unread bytes are held for good.
    const session = http2.connect(`http://${target}`);
    try {
      const closes = (contentType: string, path: string = GRPC_METHOD.logs) =>
        new Promise<{ status: number; rst: number }>((resolve, reject) => {
          const st = session.request({ ':method': 'POST', ':path': path, 'content-type': contentType });
          let status = 0;
          st.on('response', (h) => (status = Number(h[':status'])));
          st.on('error', () => {});
          st.on('data', () => {});
          const timer = setTimeout(() => reject(new Error(`${contentType} ${path}: the server never ended the stream`)), 5000);
          st.on('close', () => {
            clearTimeout(timer);
            resolve({ status, rst: st.rstCode ?? -1 });
          });
          st.write(Buffer.from([0, 0, 0, 1, 0, 1, 2, 3]));
        });
      expect(await closes('text/plain')).toEqual({ status: 415, rst: http2.constants.NGHTTP2_NO_ERROR });
      expect(await closes('application/grpc', '/x/Export')).toEqual({ status: 200, rst: http2.constants.NGHTTP2_NO_ERROR });
    } finally {
      session.close();
    }
  });

  it('interoperates with the OpenTelemetry JS gRPC log exporter', async () => {
    const before = consumer.payloads.length;
    const exporter = new OTLPLogExporter({ url: `http://${target}` });
    const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
    provider.getLogger('test').emit({ body: 'hello from the SDK', attributes: { n: 1 } });
    await provider.forceFlush();
    await provider.shutdown();
    expect(consumer.payloads.length).toBe(before + 1);
    const p = consumer.payloads.at(-1)!;
    expect(p.itemCount).toBe(1);
    expect(JSON.stringify(p.decode(), (_k, v) => (typeof v === 'bigint' ? String(v) : v))).toContain('hello from the SDK');
  });
});

describe('otlp receiver gRPC limits and flow control', () => {
  const telemetry = new Telemetry();
  const consumer = new TestConsumer();
  let receiver: OtlpReceiver;
  let target: string;

  beforeAll(async () => {
    receiver = await startReceiver({ max_recv_msg_size_mib: 5 }, consumer, telemetry);
    target = `127.0.0.1:${receiver.grpcAddress!.port}`;
  });
  afterAll(async () => {
    await receiver.shutdown();
    telemetry.close();
  });

  it('RESOURCE_EXHAUSTED without RetryInfo over max_recv_msg_size_mib (plain and gzip bomb)', async () => {
    const client = new grpc.Client(target, grpc.credentials.createInsecure());
    const gz = new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip });
    try {
      const big = Buffer.alloc(6 * 1024 * 1024);
      let r = await call(client, GRPC_METHOD.logs, big);
      expect(r.err!.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
      expect(r.err!.details).toMatch(/larger than the limit of 5242880 bytes/);
      expect(retryInfoOf(r.err!)).toBeUndefined();
      // 64 MiB of zeros gzips to ~64 KiB: refused after inflating past the limit, not whole.
      r = await call(gz, GRPC_METHOD.logs, Buffer.alloc(64 * 1024 * 1024));
      expect(r.err!.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
      expect(r.err!.details).toMatch(/decompressed request message is larger than the limit/);
      // Both connections keep serving.
      expect((await call(client, GRPC_METHOD.logs, logsProto)).err).toBeNull();
      expect((await call(gz, GRPC_METHOD.logs, logsProto)).err).toBeNull();
    } finally {
      client.close();
      gz.close();
    }
  });

  it('opens large HTTP/2 windows: stream and connection far above 64 KiB', async () => {
    const session = http2.connect(`http://${target}`);
    try {
      await new Promise((r) => session.once('remoteSettings', r));
      // A ping round trip makes sure the server's WINDOW_UPDATE has been applied.
      await new Promise((r) => session.ping(r));
      expect(session.remoteSettings.initialWindowSize).toBeGreaterThanOrEqual(1024 * 1024);
      expect(session.state.remoteWindowSize).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    } finally {
      session.close();
    }
  });

  it('carries 20 x 4 MiB requests on one connection quickly and byte-identical', async () => {
    const copies = Math.floor((4 * 1024 * 1024 - 4096) / logsProto.length);
    const big = concatRequests(Array.from({ length: copies }, () => logsProto));
    const client = new grpc.Client(target, grpc.credentials.createInsecure());
    const before = consumer.payloads.length;
    try {
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: 20 }, () => call(client, GRPC_METHOD.logs, big)));
      const ms = performance.now() - t0;
      for (const r of results) expect(r.err).toBeNull();
      expect(consumer.payloads.length - before).toBe(20);
      for (const p of consumer.payloads.slice(before)) {
        expect(Buffer.from(p.bytes).equals(Buffer.from(big))).toBe(true);
      }
      // ~80 MiB: at the 64 KiB-window ceiling (~215 MB/s) this takes ~400 ms; allow for slow CI.
      expect(ms).toBeLessThan(8000);
    } finally {
      client.close();
    }
  });

  it('accepts a hand-framed gzip request from a raw HTTP/2 client', async () => {
    const session = http2.connect(`http://${target}`);
    try {
      const gz = zlib.gzipSync(logsProto);
      const frame = Buffer.alloc(5 + gz.length);
      frame[0] = 1;
      frame.writeUInt32BE(gz.length, 1);
      gz.copy(frame, 5);
      const stream = session.request({
        ':method': 'POST',
        ':path': GRPC_METHOD.logs,
        'content-type': 'application/grpc',
        'grpc-encoding': 'gzip',
        te: 'trailers',
      });
      const trailers = new Promise<http2.IncomingHttpHeaders>((r) => stream.once('trailers', r));
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.end(frame);
      expect((await trailers)['grpc-status']).toBe('0');
      expect(Buffer.concat(chunks)).toEqual(Buffer.alloc(5));
      expect(Buffer.from(consumer.payloads.at(-1)!.bytes).equals(Buffer.from(logsProto))).toBe(true);
    } finally {
      session.close();
    }
  });
});

describe('otlp receiver gRPC lifecycle', () => {
  it('a call its client cancels (gave up on the answer) after sending the message is still delivered and counted accepted (a resend would duplicate it)', async () => {
    const telemetry = new Telemetry();
    const consumer = new TestConsumer();
    consumer.delayMs = 300;
    const receiver = await startReceiver({}, consumer, telemetry);
    const client = new grpc.Client(`127.0.0.1:${receiver.grpcAddress!.port}`, grpc.credentials.createInsecure());
    let r: CallResult | undefined;
    const c = client.makeUnaryRequest(
      GRPC_METHOD.logs,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(logsProto),
      (err, res) => (r = { err, res }),
    );
    // Cancelled once the message is in the pipeline, before its answer.
    while (consumer.started === 0) await new Promise((res) => setTimeout(res, 10));
    c.cancel();
    for (const end = Date.now() + 5000; consumer.payloads.length === 0 && Date.now() < end;) await new Promise((res) => setTimeout(res, 20));
    expect(r?.err?.code).toBe(GrpcStatus.CANCELLED);
    expect(consumer.payloads).toHaveLength(1);
    const accepted = await telemetry.receiverAccepted.logs.get();
    expect(accepted.values.find((v) => v.labels['transport'] === 'grpc')!.value).toBe(countItems('logs', logsProto));
    client.close();
    await receiver.shutdown();
    telemetry.close();
  });

  it('answers a call in flight during shutdown, then refuses connections', async () => {
    const telemetry = new Telemetry();
    const consumer = new TestConsumer();
    consumer.delayMs = 300;
    const receiver = await startReceiver({}, consumer, telemetry);
    const target = `127.0.0.1:${receiver.grpcAddress!.port}`;
    const client = new grpc.Client(target, grpc.credentials.createInsecure());
    const inFlight = call(client, GRPC_METHOD.logs, logsProto);
    // Shut down once the call is in the pipeline (a fixed wait lost the race on a loaded machine: the
    // client had not connected yet).
    while (consumer.started === 0) await new Promise((r) => setTimeout(r, 10));
    await receiver.shutdown();
    expect((await inFlight).err).toBeNull();
    expect(consumer.payloads).toHaveLength(1);
    client.close();
    const late = new grpc.Client(target, grpc.credentials.createInsecure());
    const r = await new Promise<CallResult>((resolve) =>
      late.makeUnaryRequest(
        GRPC_METHOD.logs,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(logsProto),
        { deadline: Date.now() + 1000 },
        (err, res) => resolve({ err, res }),
      ),
    );
    expect(r.err!.code).toBe(GrpcStatus.UNAVAILABLE);
    late.close();
    telemetry.close();
  });
});
