import { spawn } from 'node:child_process';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { hasOpenssl, makeCertSet } from '../../test/helpers/certs.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PermanentError, RetryableError } from '../../src/core/errors.js';
import { Payload } from '../../src/pdata/payload.js';
import { GRPC_METHOD, SIGNALS } from '../../src/core/signal.js';
import { countItems } from '../../src/pdata/wire.js';
import { encodeStatus } from '../../src/pdata/codec.js';
import {
  counterValue,
  makeLogsRequest,
  makeMetricsRequest,
  makePartialSuccessResponse,
  makeStatusProto,
  makeTracesRequest,
  startGrpcJsServer,
  startRawGrpcServer,
  testSettings,
  type TestGrpcServer,
} from '../../test/helpers/otlp-test-servers.js';
import { otlpExporterFactory } from './factory.js';
import { OtlpGrpcExporter } from './otlp-exporter.js';
import { parseGrpcEndpoint } from './config.js';
import { GrpcTransport } from '../../src/grpc/client-transport.js';
import { GrpcStatus } from '../../src/grpc/status.js';
import { testHost } from '../../test/helpers/host.js';
import { validConfig } from '../../test/helpers/component-config.js';

/** A gRPC server (node:http2) answering every call OK 50 ms after its request ended; argv[1]: a file that gets a byte per answer sent. */
const STALL_SERVER = `
const fs = require('node:fs');
const server = require('node:http2').createServer();
server.on('stream', (stream) => {
  stream.on('data', () => {});
  stream.on('end', () => fs.appendFileSync(process.argv[1], 'r'));
  stream.on('end', () => setTimeout(() => {
    stream.on('close', () => fs.appendFileSync(process.argv[1], 'x'));
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' }, { endStream: true });
  }, 50));
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

// These tests look at one attempt: no queue (consume answers with the downstream's verdict), no retries.
const configOf = (raw: Record<string, unknown>) =>
  validConfig(otlpExporterFactory, { sending_queue: { enabled: false }, retry_on_failure: { enabled: false }, ...raw });

describe('otlp (gRPC) exporter against a raw HTTP/2 gRPC server', () => {
  let server: TestGrpcServer;
  let exporter: OtlpGrpcExporter | undefined;
  let settings: ReturnType<typeof testSettings>;

  beforeEach(async () => {
    server = await startRawGrpcServer();
    settings = testSettings('otlp/test');
  });
  afterEach(async () => {
    await exporter?.shutdown();
    exporter = undefined;
    await server.close();
    settings.telemetry.close();
  });

  async function make(raw: Record<string, unknown>): Promise<OtlpGrpcExporter> {
    exporter = otlpExporterFactory.create(settings, configOf({ endpoint: server.endpoint, tls: { insecure: true }, ...raw })) as OtlpGrpcExporter;
    await exporter.start(testHost({ onFatal: () => {} }));
    return exporter;
  }

  it('sends each signal to its Export method, gzip-compressed, bytes unchanged, with metadata headers', async () => {
    const exp = await make({ headers: { 'X-Tenant': 'acme' } });
    const reqs = { logs: makeLogsRequest(2, 3), traces: makeTracesRequest(4), metrics: makeMetricsRequest(5) };
    for (const sig of SIGNALS) await exp.consume(new Payload(sig, reqs[sig]));
    expect(server.requests.map((r) => r.path)).toEqual(SIGNALS.map((s) => GRPC_METHOD[s]));
    for (const [i, sig] of SIGNALS.entries()) {
      const r = server.requests[i]!;
      expect(r.compressed).toBe(true);
      expect(r.headers['grpc-encoding']).toBe('gzip');
      expect(r.headers['x-tenant']).toBe('acme');
      expect(r.headers['content-type']).toBe('application/grpc');
      expect(Buffer.compare(r.message, Buffer.from(reqs[sig]))).toBe(0);
    }
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_sent_log_records', { exporter: 'otlp/test' })).toBe(6);
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_sent_spans', { exporter: 'otlp/test' })).toBe(4);
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_sent_metric_points', { exporter: 'otlp/test' })).toBe(5);
  });

  it(':authority is the endpoint, or `authority` when set (a proxy routing by host)', async () => {
    let exp = await make({});
    await exp.consume(new Payload('logs', makeLogsRequest(1, 1)));
    expect(server.requests.at(-1)!.headers[':authority']).toBe(server.endpoint);
    await exp.shutdown();
    exp = await make({ authority: 'otel-backend.internal:4317' });
    await exp.consume(new Payload('logs', makeLogsRequest(1, 1)));
    expect(server.requests.at(-1)!.headers[':authority']).toBe('otel-backend.internal:4317');
  });

  it("compresses with zstd and snappy (framed, as the collector's gRPC codec) too", async () => {
    for (const compression of ['zstd', 'snappy'] as const) {
      const exp = await make({ compression });
      const logs = makeLogsRequest(3, 40);
      await exp.consume(new Payload('logs', logs));
      const r = server.requests.at(-1)!;
      expect(r.headers['grpc-encoding']).toBe(compression);
      expect(r.compressed).toBe(true);
      expect(Buffer.compare(r.message, Buffer.from(logs))).toBe(0);
      await exp.shutdown();
    }
  });

  it('sends uncompressed frames with compression: none', async () => {
    const exp = await make({ compression: 'none' });
    const logs = makeLogsRequest(1, 2);
    await exp.consume(new Payload('logs', logs));
    expect(server.requests[0]!.compressed).toBe(false);
    expect(Buffer.compare(server.requests[0]!.message, Buffer.from(logs))).toBe(0);
  });

  it('sends a batch kept as parts as one message, piece by piece, over one connection', async () => {
    const exp = await make({ compression: 'none' });
    const a = makeLogsRequest(1, 2, 'a');
    const b = makeLogsRequest(1, 3, 'b');
    const batch = Payload.fromParts('logs', [a, b], { itemCount: 5 });
    await exp.consume(batch);
    await exp.consume(new Payload('logs', a));
    expect(Buffer.compare(server.requests[0]!.message, Buffer.concat([a, b]))).toBe(0);
    expect(batch.chunks()).toHaveLength(2);
    expect(server.requests).toHaveLength(2);
  });

  it('maps UNAVAILABLE with RetryInfo to a RetryableError with retryAfterMs', async () => {
    const exp = await make({});
    server.reply = () => ({ code: 14, message: 'backend overloaded', details: makeStatusProto(14, 'backend overloaded', 2500) });
    const err = await exp.consume(new Payload('logs', makeLogsRequest(1, 3))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as RetryableError).retryAfterMs).toBe(2500);
    expect((err as RetryableError).throttled).toBe(false);
    expect((err as Error).message).toMatch(/UNAVAILABLE: backend overloaded/);
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_send_failed_log_records', { exporter: 'otlp/test' })).toBe(3);
  });

  it('maps UNAVAILABLE without details to a RetryableError with no delay', async () => {
    const exp = await make({});
    server.reply = () => ({ code: 14, message: 'try later' });
    const err = (await exp.consume(new Payload('logs', makeLogsRequest(1, 1))).catch((e: unknown) => e)) as RetryableError;
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.retryAfterMs).toBeUndefined();
  });

  it('maps INVALID_ARGUMENT to a PermanentError carrying the server message', async () => {
    const exp = await make({});
    server.reply = () => ({ code: 3, message: 'resource_logs[0]: bad span id' });
    const err = await exp.consume(new Payload('logs', makeLogsRequest(1, 1))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/INVALID_ARGUMENT: resource_logs\[0\]: bad span id/);
  });

  it('retries RESOURCE_EXHAUSTED only when RetryInfo is attached (then throttled)', async () => {
    const exp = await make({});
    server.reply = () => ({ code: 8, message: 'too big' });
    const e1 = await exp.consume(new Payload('logs', makeLogsRequest(1, 1))).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(PermanentError);
    server.reply = () => ({ code: 8, message: 'slow down', details: encodeStatus('proto', 8, 'slow down', 3000) });
    const e2 = (await exp.consume(new Payload('logs', makeLogsRequest(1, 1))).catch((e: unknown) => e)) as RetryableError;
    expect(e2).toBeInstanceOf(RetryableError);
    expect(e2.throttled).toBe(true);
    expect(e2.retryAfterMs).toBe(3000);
  });

  it('times out with DEADLINE_EXCEEDED as a RetryableError', async () => {
    const exp = await make({ timeout: '150ms' });
    server.reply = () => ({ code: 0, delayMs: 2000 });
    const t0 = Date.now();
    const err = await exp.consume(new Payload('logs', makeLogsRequest(1, 1))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message).toMatch(/DEADLINE_EXCEEDED/);
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('an answer that arrived while the event loop was stalled past the timeout is read, not timed out', async () => {
    // The server runs in another process, so it answers while this event loop is stalled; it notes each
    // request it read ('r') and each answer once sent ('x') in a file this test reads
    // synchronously.
    const marker = join(tmpdir(), `gs-otlp-stall-${process.pid}-${Date.now()}`);
    const child = spawn(process.execPath, ['-e', STALL_SERVER, marker], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [line] = (await once(child.stdout!, 'data')) as [Buffer];
      // A timeout long enough that the request reaches the server before it even on a loaded machine.
      const exp = await make({ endpoint: `127.0.0.1:${line.toString().trim()}`, timeout: '1s' });
      await exp.consume(new Payload('logs', makeLogsRequest(1, 1)));
      const noted = (c: string) => (existsSync(marker) ? readFileSync(marker, 'latin1').split(c).length - 1 : 0);
      const t0 = Date.now();
      const sending = exp.consume(new Payload('logs', makeLogsRequest(1, 2)));
      // The request goes out (the server answers it 50 ms after reading it).
      while (noted('r') < 2 && Date.now() - t0 < 900) await new Promise((r) => setTimeout(r, 1));
      // Stall in the check phase: the next turn of the loop updates its clock and runs the expired timers first.
      await new Promise((r) => setImmediate(r));
      // Stalled (a long GC, a starved process) until the answer is here and the timeout has passed.
      while ((noted('x') < 2 || Date.now() - t0 < 1200) && Date.now() - t0 < 10_000) {
        // busy: neither the answer nor the timer is handled meanwhile
      }
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1200);
      expect(noted('x')).toBe(2);
      await sending;
    } finally {
      child.kill();
      rmSync(marker, { force: true });
    }
  });

  it('logs a warning with the rejected count on partial success and resolves', async () => {
    const exp = await make({});
    server.reply = () => ({ code: 0, response: makePartialSuccessResponse(3, 'dropped 3 stale') });
    await exp.consume(new Payload('traces', makeTracesRequest(5)));
    expect(settings.logs.find((l) => l.level === 'warn')).toMatchObject({
      msg: 'Partial success response',
      rejected: 3,
      message: 'dropped 3 stale',
      signal: 'traces',
    });
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_sent_spans', { exporter: 'otlp/test' })).toBe(5);
  });

  it.each([
    { name: 'gzip, as grpc-go answers a gzip request', encoding: 'gzip', split: false },
    { name: 'gzip, the message split over two DATA frames', encoding: 'gzip', split: true },
    { name: 'deflate', encoding: 'deflate', split: false },
  ])('reads a partial success from a compressed response ($name)', async ({ encoding, split }) => {
    const exp = await make({});
    server.reply = () => ({ code: 0, response: makePartialSuccessResponse(2, 'two too old'), compressResponse: { encoding, split } });
    await exp.consume(new Payload('logs', makeLogsRequest(1, 4)));
    expect(server.requests[0]!.headers['grpc-accept-encoding']).toBe('gzip,identity');
    expect(settings.logs.filter((l) => l.level === 'warn')).toEqual([
      expect.objectContaining({ msg: 'Partial success response', rejected: 2, message: 'two too old', signal: 'logs' }),
    ]);
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_sent_log_records', { exporter: 'otlp/test' })).toBe(4);
  });

  it('a response compressed in an encoding it cannot read: accepted (status OK), and a warning says its verdict is unknown', async () => {
    const exp = await make({});
    server.reply = () => ({ code: 0, response: makePartialSuccessResponse(2, 'x'), compressResponse: { encoding: 'br' } });
    await exp.consume(new Payload('logs', makeLogsRequest(1, 3)));
    expect(settings.logs.filter((l) => l.level === 'warn')).toEqual([
      expect.objectContaining({ msg: expect.stringMatching(/could not read the Export response/), error: expect.stringMatching(/grpc-encoding "br"/) }),
    ]);
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_sent_log_records', { exporter: 'otlp/test' })).toBe(3);
  });

  it('maps an unreachable endpoint to a RetryableError', async () => {
    const endpoint = server.endpoint;
    await server.close();
    server = await startRawGrpcServer(); // for afterEach
    exporter = otlpExporterFactory.create(settings, configOf({ endpoint, tls: { insecure: true }, timeout: '2s' })) as OtlpGrpcExporter;
    await exporter.start(testHost({ onFatal: () => {} }));
    const err = await exporter.consume(new Payload('logs', makeLogsRequest(1, 1))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message).toMatch(/UNAVAILABLE/);
  });
});

describe('otlp (gRPC) exporter against a grpc-js server', () => {
  it('delivers byte-identical requests and maps a grpc-js ServiceError with RetryInfo', async () => {
    const received: Buffer[] = [];
    let fail = false;
    const srv = await startGrpcJsServer(Object.values(GRPC_METHOD), (path, body, md) => {
      received.push(body);
      expect(md.get('authorization')).toEqual(['Bearer x']);
      if (fail) {
        const meta = md.clone();
        meta.set('grpc-status-details-bin', Buffer.from(encodeStatus('proto', 14, 'queue full', 1200)));
        return { code: 14, details: 'queue full', metadata: meta };
      }
      expect(path).toBe(GRPC_METHOD.logs);
      return new Uint8Array(0);
    });
    const settings = testSettings('otlp_grpc/js');
    const exp = otlpExporterFactory.create(settings, configOf({ endpoint: srv.endpoint, tls: { insecure: true }, headers: { authorization: 'Bearer x' } }));
    try {
      await exp.start(testHost({ onFatal: () => {} }));
      const logs = makeLogsRequest(3, 10);
      await exp.consume(new Payload('logs', logs));
      expect(Buffer.compare(received[0]!, Buffer.from(logs))).toBe(0);
      expect(countItems('logs', received[0]!)).toBe(30);
      fail = true;
      const err = (await exp.consume(new Payload('logs', logs)).catch((e: unknown) => e)) as RetryableError;
      expect(err).toBeInstanceOf(RetryableError);
      expect(err.retryAfterMs).toBe(1200);
      expect(err.message).toMatch(/queue full/);
    } finally {
      await exp.shutdown();
      await srv.close();
      settings.telemetry.close();
    }
  });
});

describe.runIf(hasOpenssl('the otlp exporter authority test (a server certificate for another name)'))('otlp exporter authority over TLS', () => {
  it("checks the server's certificate against `authority` (grpc-go's WithAuthority), unless server_name_override is set", async () => {
    const certs = makeCertSet();
    // A gRPC server at 127.0.0.1 whose certificate names only elsewhere.example.
    const server = http2.createSecureServer({ cert: readFileSync(certs.wrongNameServer.certFile), key: readFileSync(certs.wrongNameServer.keyFile) });
    server.on('stream', (stream) => {
      stream.resume();
      stream.on('end', () => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' }, { endStream: true }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const send = async (raw: Record<string, unknown>): Promise<string> => {
      const settings = testSettings('otlp/authority');
      const exp = otlpExporterFactory.create(settings, configOf({ endpoint, tls: { ca_file: certs.ca.certFile }, timeout: '3s', ...raw }));
      await exp.start(testHost());
      try {
        await exp.consume(new Payload('logs', makeLogsRequest(1, 1)));
        return 'ok';
      } catch (err) {
        return (err as Error).message;
      } finally {
        await exp.shutdown();
        settings.telemetry.close();
      }
    };
    try {
      expect(await send({})).toMatch(/certificate is for another name/);
      expect(await send({ authority: 'elsewhere.example:4317' })).toBe('ok');
      expect(await send({ authority: 'elsewhere.example', tls: { ca_file: certs.ca.certFile, server_name_override: 'localhost' } })).toMatch(/another name/);
    } finally {
      server.close();
      certs.factory.cleanup();
    }
  });
});

describe('otlp exporter config', () => {
  it('requires endpoint, defaults like the collector, strips schemes', () => {
    const issues: { path: string[]; message: string }[] = [];
    otlpExporterFactory.config.parse({}, [], issues);
    expect(issues.map((i) => i.path.join('.'))).toEqual(['endpoint']);
    const cfg = configOf({ endpoint: 'collector:4317' });
    // The collector's otlp exporter: gzip, 5s, an empty balancer_name (grpc-go's pick_first), 512 KiB write buffer.
    expect(cfg).toMatchObject({
      compression: 'gzip',
      timeout: 5000,
      tls: { insecure: false },
      headers: {},
      balancer_name: 'pick_first',
      write_buffer_size: 524288,
    });
    expect(configOf({ endpoint: 'collector:4317', balancer_name: '', compression: '' })).toMatchObject({ balancer_name: 'pick_first', compression: 'none' });
    expect(configOf({ endpoint: 'collector:4317', headers: [{ name: 'x-tenant', value: 'a' }] }).headers).toEqual({ 'x-tenant': 'a' });
    // compression_params.level as configcompression checks it: gzip -1, 0, 1-9; zstd anything.
    expect(configOf({ endpoint: 'collector:4317', compression_params: { level: -1 } }).compression_params.level).toBe(-1);
    expect(configOf({ endpoint: 'collector:4317', compression: 'zstd', compression_params: { level: 30 } }).compression_params.level).toBe(30);
    const level: { path: string[]; message: string }[] = [];
    otlpExporterFactory.config.parse({ endpoint: 'collector:4317', compression_params: { level: 10 } }, [], level);
    expect(level).toEqual([{ path: ['compression_params', 'level'], message: '10 is not a gzip level: -1 (default), 0 (default) or 1-9' }]);
    expect(parseGrpcEndpoint('https://collector:4317')).toEqual({ target: 'collector:4317', forceTls: true });
    expect(parseGrpcEndpoint('http://collector:4317/')).toEqual({ target: 'collector:4317', forceTls: false });
    expect(otlpExporterFactory.aliases).toContain('otlp_grpc');
  });

  it('refuses an empty or malformed endpoint at validation, naming it (an unset env variable, say)', () => {
    for (const endpoint of ['', 'http://', ':4317', 'collector:99999', 'https://collector:0', 'dns:///', 'collector:']) {
      const issues: { path: string[]; message: string }[] = [];
      otlpExporterFactory.config.parse({ endpoint }, [], issues);
      expect(issues, endpoint).toEqual([
        { path: ['endpoint'], message: `"${endpoint}" is not the host:port of a gRPC server (e.g. collector:4317, or https://collector:4317 for TLS)` },
      ]);
    }
    for (const endpoint of [
      'collector:4317',
      'https://collector:4317',
      'http://10.0.0.1:4317/',
      '[::1]:4317',
      'dns:///collector:4317',
      'https://api.example.com',
      'collector',
    ]) {
      const issues: { path: string[]; message: string }[] = [];
      otlpExporterFactory.config.parse({ endpoint }, [], issues);
      expect(issues, endpoint).toEqual([]);
    }
    const unix: { path: string[]; message: string }[] = [];
    otlpExporterFactory.config.parse({ endpoint: 'unix:///var/run/otel.sock' }, [], unix);
    expect(unix.map((i) => i.message)).toEqual([expect.stringMatching(/^not supported yet by GopherShip \(connects to a unix socket/)]);
  });

  it("takes the endpoint forms the collector takes: dns:/// targets, and 443 when no port is given (grpc-go's default)", () => {
    expect(parseGrpcEndpoint('dns:///otel-gateway-headless:4317')).toEqual({ target: 'otel-gateway-headless:4317', forceTls: false });
    expect(parseGrpcEndpoint('https://api.example.com')).toEqual({ target: 'api.example.com:443', forceTls: true });
    expect(parseGrpcEndpoint('https://api.example.com/')).toEqual({ target: 'api.example.com:443', forceTls: true });
    expect(parseGrpcEndpoint('collector')).toEqual({ target: 'collector:443', forceTls: false });
    expect(parseGrpcEndpoint('[::1]')).toEqual({ target: '[::1]:443', forceTls: false });
  });

  it('a stream that cannot be opened is UNAVAILABLE with the reason (not an error about its own timer)', async () => {
    const t = new GrpcTransport({
      authority: 'http://',
      metadata: {},
      compression: 'none',
      windowBytes: 65535,
      maxMessageBytes: 1 << 20,
      keepaliveMs: 300_000,
      keepaliveTimeoutMs: 20_000,
    });
    try {
      const r = await t.call('/opentelemetry.proto.collector.logs.v1.LogsService/Export', [new Uint8Array(0)], 1000);
      expect(r.code).toBe(GrpcStatus.UNAVAILABLE);
      expect(r.message).toMatch(/^cannot open a stream: /);
      expect(r.message).not.toMatch(/before initialization/);
    } finally {
      t.close();
    }
  });

  it('keepalive pings only while a call is open unless permit_without_stream (a grpc-go server sends GOAWAY too_many_pings otherwise)', async () => {
    // A raw HTTP/2 server counting the pings it gets while no call is open and while one is (answered after 400 ms).
    const server = http2.createServer();
    const pings = { idle: 0, inCall: 0 };
    let open = 0;
    server.on('session', (s) => s.on('ping', () => (open > 0 ? pings.inCall++ : pings.idle++)));
    server.on('stream', (stream) => {
      open++;
      stream.on('close', () => open--);
      stream.resume();
      stream.on('end', () =>
        setTimeout(() => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' }, { endStream: true }), 400),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const cfg = { endpoint: `127.0.0.1:${(server.address() as AddressInfo).port}`, tls: { insecure: true }, keepalive: { time: '50ms' } };
    const idlePingsWith = async (raw: Record<string, unknown>) => {
      const settings = testSettings('otlp/keepalive');
      const exp = otlpExporterFactory.create(settings, configOf({ ...cfg, ...raw })) as OtlpGrpcExporter;
      await exp.start(testHost());
      pings.idle = 0;
      pings.inCall = 0;
      try {
        await exp.consume(new Payload('logs', makeLogsRequest(1, 1)));
        const inCall = pings.inCall;
        // A ping sent as the call ended may arrive after its stream closed: count from a moment later.
        await new Promise((r) => setTimeout(r, 100));
        pings.idle = 0;
        await new Promise((r) => setTimeout(r, 400));
        return { inCall, idle: pings.idle };
      } finally {
        await exp.shutdown();
        settings.telemetry.close();
      }
    };
    try {
      const strict = await idlePingsWith({});
      expect(strict.idle).toBe(0);
      expect(strict.inCall).toBeGreaterThan(0);
      expect((await idlePingsWith({ keepalive: { time: '50ms', permit_without_stream: true } })).idle).toBeGreaterThan(0);
    } finally {
      server.close();
    }
  });

  it('fails start with the key at fault when a TLS file is unreadable', async () => {
    const settings = testSettings('otlp/tls');
    const exp = otlpExporterFactory.create(settings, configOf({ endpoint: '127.0.0.1:1', tls: { ca_file: '/nonexistent/ca.pem' } }));
    await expect(exp.start(testHost({ onFatal: () => {} }))).rejects.toThrow(/tls.ca_file: cannot read \/nonexistent\/ca.pem/);
    settings.telemetry.close();
  });
});
