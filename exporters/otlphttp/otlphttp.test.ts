import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PermanentError, RetryableError } from '../../src/core/errors.js';
import { Payload } from '../../src/pdata/payload.js';
import { encodeStatus, requestToJson } from '../../src/pdata/codec.js';
import {
  counterValue,
  makeLogsRequest,
  makeMetricsRequest,
  makePartialSuccessResponse,
  makeStatusProto,
  makeTracesRequest,
  startHttpServer,
  testSettings,
  type TestHttpServer,
} from '../../test/helpers/otlp-test-servers.js';
import { otlphttpExporterFactory } from './factory.js';
import { OtlpHttpExporter, parseRetryAfter, signalUrl } from './otlphttp-exporter.js';
import { isFramedSnappy } from '../../src/compression/snappy.js';
import { testHost } from '../../test/helpers/host.js';

function configOf(raw: Record<string, unknown>) {
  const issues: { path: string[]; message: string }[] = [];
  // These tests look at one attempt: no queue (consume answers with the downstream's verdict), no retries.
  const cfg = otlphttpExporterFactory.config.parse({ sending_queue: { enabled: false }, retry_on_failure: { enabled: false }, ...raw }, [], issues);
  expect(issues).toEqual([]);
  return cfg;
}

describe('otlphttp exporter', () => {
  let server: TestHttpServer;
  let exporter: OtlpHttpExporter | undefined;
  let settings: ReturnType<typeof testSettings>;

  beforeEach(async () => {
    server = await startHttpServer();
    settings = testSettings('otlphttp/test');
  });
  afterEach(async () => {
    await exporter?.shutdown();
    exporter = undefined;
    await server.close();
    settings.telemetry.close();
  });

  async function make(raw: Record<string, unknown>): Promise<OtlpHttpExporter> {
    exporter = otlphttpExporterFactory.create(settings, configOf(raw)) as OtlpHttpExporter;
    await exporter.start(testHost({ onFatal: () => {} }));
    return exporter;
  }

  it('forwards protobuf bytes unchanged, gzipped, to each signal path, with configured headers', async () => {
    const exp = await make({ endpoint: server.url, headers: { Authorization: 'Bearer t0k' } });
    const logs = makeLogsRequest(2, 3);
    const traces = makeTracesRequest(4);
    const metrics = makeMetricsRequest(5);
    await exp.consume(new Payload('logs', logs));
    await exp.consume(new Payload('traces', traces));
    await exp.consume(new Payload('metrics', metrics));
    expect(server.requests.map((r) => r.url)).toEqual(['/v1/logs', '/v1/traces', '/v1/metrics']);
    const [l, t, m] = server.requests;
    expect(l!.method).toBe('POST');
    expect(l!.headers['content-type']).toBe('application/x-protobuf');
    expect(l!.headers['content-encoding']).toBe('gzip');
    expect(l!.headers.authorization).toBe('Bearer t0k');
    expect(l!.raw.length).not.toBe(logs.length);
    expect(Buffer.compare(l!.body, Buffer.from(logs))).toBe(0);
    expect(Buffer.compare(t!.body, Buffer.from(traces))).toBe(0);
    expect(Buffer.compare(m!.body, Buffer.from(metrics))).toBe(0);
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_sent_log_records', { exporter: 'otlphttp/test' })).toBe(6);
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_sent_spans', { exporter: 'otlphttp/test' })).toBe(4);
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_sent_metric_points', { exporter: 'otlphttp/test' })).toBe(5);
    expect(await counterValue(settings.telemetry, 'gophership_exporter_sent_bytes', { exporter: 'otlphttp/test' })).toBe(
      logs.length + traces.length + metrics.length,
    );
  });

  it('compresses with zstd, snappy (a block) and deflate/zlib as Content-Encoding says', async () => {
    for (const [compression, header] of [
      ['zstd', 'zstd'],
      ['snappy', 'snappy'],
      ['deflate', 'deflate'],
      ['zlib', 'deflate'],
    ] as const) {
      const exp = await make({ endpoint: server.url, compression });
      const logs = makeLogsRequest(3, 40);
      await exp.consume(new Payload('logs', logs));
      const r = server.requests.at(-1)!;
      expect(r.headers['content-encoding']).toBe(header);
      expect(r.raw.length).toBeLessThan(logs.length);
      expect(Buffer.compare(r.body, Buffer.from(logs))).toBe(0);
      if (compression === 'snappy') expect(isFramedSnappy(r.raw)).toBe(false);
      await exp.shutdown();
    }
  });

  it('takes the compression levels the collector takes: -1 and 0 (the default), and zstd levels past 22 as 22', async () => {
    for (const [compression, level] of [
      ['gzip', -1],
      ['gzip', 0],
      ['deflate', -1],
      ['zstd', 0],
      ['zstd', 30],
    ] as const) {
      const exp = await make({ endpoint: server.url, compression, compression_params: { level } });
      const logs = makeLogsRequest(3, 40);
      await exp.consume(new Payload('logs', logs));
      const r = server.requests.at(-1)!;
      expect(r.raw.length, `${compression} ${level}`).toBeLessThan(logs.length);
      expect(Buffer.compare(r.body, Buffer.from(logs))).toBe(0);
      await exp.shutdown();
    }
  });

  it('sends uncompressed bodies with compression: none and reuses one keep-alive connection', async () => {
    const exp = await make({ endpoint: server.url + '/base/', compression: 'none' });
    const logs = makeLogsRequest(1, 2);
    for (let i = 0; i < 3; i++) await exp.consume(new Payload('logs', logs));
    expect(server.requests).toHaveLength(3);
    for (const r of server.requests) {
      expect(r.url).toBe('/base/v1/logs');
      expect(r.headers['content-encoding']).toBeUndefined();
      expect(Buffer.compare(r.raw, Buffer.from(logs))).toBe(0);
      expect(r.headers.connection).toBe('keep-alive');
    }
  });

  it('sends Host, User-Agent, Content-Type, the configured headers and one Content-Length (a configured Host is kept)', async () => {
    const exp = await make({ endpoint: server.url, compression: 'none', headers: { 'X-Tenant': 'a' } });
    const logs = makeLogsRequest(1, 2);
    await exp.consume(new Payload('logs', logs));
    await exp.consume(new Payload('logs', logs));
    for (const r of server.requests) {
      expect(r.headers.host).toBe(new URL(server.url).host);
      expect(r.headers['user-agent']).toBe('gophership');
      expect(r.headers['content-type']).toBe('application/x-protobuf');
      expect(r.headers['x-tenant']).toBe('a');
      expect(r.headers['content-length']).toBe(String(logs.length));
      expect(r.headers.connection).toBe('keep-alive');
    }
    await exp.shutdown();
    const named = await make({ endpoint: server.url, compression: 'none', headers: { Host: 'collector.example' } });
    await named.consume(new Payload('logs', logs));
    expect(server.requests.at(-1)!.headers.host).toBe('collector.example');
  });

  it('sends a batch kept as parts, uncompressed, as their concatenation (no join in the gateway)', async () => {
    const exp = await make({ endpoint: server.url, compression: 'none' });
    const a = makeLogsRequest(1, 2, 'a');
    const b = makeLogsRequest(2, 1, 'b');
    const batch = Payload.fromParts('logs', [a, b], { itemCount: 4 });
    await exp.consume(batch);
    const [r] = server.requests;
    expect(r!.headers['content-length']).toBe(String(a.length + b.length));
    expect(Buffer.compare(r!.body, Buffer.concat([a, b]))).toBe(0);
    // Sent piece by piece: the payload was never joined into one buffer.
    expect(batch.chunks()).toHaveLength(2);
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_sent_log_records', { exporter: 'otlphttp/test' })).toBe(4);
  });

  it('uses logs_endpoint as a full URL', async () => {
    const exp = await make({ logs_endpoint: `${server.url}/custom/logs` });
    await exp.consume(new Payload('logs', makeLogsRequest(1, 1)));
    expect(server.requests[0]!.url).toBe('/custom/logs');
    await expect(exp.consume(new Payload('traces', makeTracesRequest(1)))).rejects.toThrow(/no URL for traces: set endpoint or traces_endpoint/);
  });

  it('sends OTLP/JSON when encoding is json', async () => {
    const exp = await make({ endpoint: server.url, encoding: 'json' });
    const logs = makeLogsRequest(1, 2);
    await exp.consume(new Payload('logs', logs));
    const r = server.requests[0]!;
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.body.toString()).toBe(requestToJson('logs', logs));
    const parsed = JSON.parse(r.body.toString());
    expect(parsed.resourceLogs[0].scopeLogs[0].logRecords).toHaveLength(2);
  });

  it('maps 503 with Retry-After seconds to a RetryableError with retryAfterMs', async () => {
    const exp = await make({ endpoint: server.url });
    server.reply = () => ({ status: 503, headers: { 'retry-after': '7', 'content-type': 'application/x-protobuf' }, body: makeStatusProto(14, 'overloaded') });
    const logs = makeLogsRequest(1, 4);
    const err = await exp.consume(new Payload('logs', logs)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as RetryableError).retryAfterMs).toBe(7000);
    expect((err as RetryableError).throttled).toBe(false);
    expect((err as Error).message).toContain('HTTP 503');
    expect((err as Error).message).toContain('overloaded');
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_send_failed_log_records', { exporter: 'otlphttp/test' })).toBe(4);
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_sent_log_records', { exporter: 'otlphttp/test' })).toBe(0);
  });

  it('maps 429 with an HTTP-date Retry-After to a throttled RetryableError', async () => {
    const exp = await make({ endpoint: server.url });
    const at = new Date(Date.now() + 30_000).toUTCString();
    server.reply = () => ({ status: 429, headers: { 'retry-after': at } });
    const err = (await exp.consume(new Payload('logs', makeLogsRequest(1, 1))).catch((e: unknown) => e)) as RetryableError;
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.throttled).toBe(true);
    expect(err.retryAfterMs).toBeGreaterThan(25_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it('takes the retry delay from the Status RetryInfo when there is no Retry-After', async () => {
    const exp = await make({ endpoint: server.url });
    server.reply = () => ({ status: 502, headers: { 'content-type': 'application/x-protobuf' }, body: makeStatusProto(14, 'gateway down', 1500) });
    const err = (await exp.consume(new Payload('logs', makeLogsRequest(1, 1))).catch((e: unknown) => e)) as RetryableError;
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.retryAfterMs).toBe(1500);
  });

  it('maps 400 to a PermanentError carrying the Status message (protobuf and JSON bodies)', async () => {
    const exp = await make({ endpoint: server.url });
    server.reply = () => ({ status: 400, headers: { 'content-type': 'application/x-protobuf' }, body: makeStatusProto(3, 'log record 0: bad trace id') });
    const err = await exp.consume(new Payload('logs', makeLogsRequest(1, 1))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/HTTP 400: log record 0: bad trace id/);

    server.reply = () => ({ status: 400, headers: { 'content-type': 'application/json' }, body: encodeStatus('json', 3, 'json says no') });
    const err2 = await exp.consume(new Payload('logs', makeLogsRequest(1, 1))).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(PermanentError);
    expect((err2 as Error).message).toMatch(/HTTP 400: json says no/);

    server.reply = () => ({ status: 401, headers: { 'content-type': 'text/plain' }, body: 'missing token' });
    const err3 = await exp.consume(new Payload('logs', makeLogsRequest(1, 1))).catch((e: unknown) => e);
    expect(err3).toBeInstanceOf(PermanentError);
    expect((err3 as Error).message).toMatch(/HTTP 401: missing token/);
  });

  it("sends an endpoint's user:password@ as Basic credentials (as the collector's Go client) and never names the password in an error", async () => {
    const exp = await make({ endpoint: server.url.replace('http://', 'http://gateway-eu:p%40ss-url-4242@') });
    await exp.consume(new Payload('logs', makeLogsRequest(1, 1)));
    expect(server.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('gateway-eu:p@ss-url-4242').toString('base64')}`);
    server.reply = () => ({ status: 401, headers: { 'content-type': 'text/plain' }, body: 'wrong password' });
    const err = (await exp.consume(new Payload('logs', makeLogsRequest(1, 1))).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/export of logs to http:\/\/gateway-eu:\[REDACTED\]@127\.0\.0\.1:\d+\/v1\/logs failed: HTTP 401: wrong password/);
    expect(err.message).not.toContain('4242');
    // A configured Authorization header wins over the URL's credentials, as in Go's client.
    await exp.shutdown();
    const withHeader = await make({ endpoint: server.url.replace('http://', 'http://u:p@'), headers: { Authorization: 'Bearer from-header' } });
    server.reply = () => ({ status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(0) });
    await withHeader.consume(new Payload('logs', makeLogsRequest(1, 1)));
    expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer from-header');
  });

  it('logs a warning with the rejected count on partial success and still resolves', async () => {
    const exp = await make({ endpoint: server.url });
    server.reply = () => ({ status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: makePartialSuccessResponse(2, 'two too old') });
    await exp.consume(new Payload('logs', makeLogsRequest(1, 5)));
    const warn = settings.logs.find((l) => l.level === 'warn');
    expect(warn).toMatchObject({ msg: 'Partial success response', rejected: 2, message: 'two too old', signal: 'logs' });
    expect(settings.logs.some((l) => l.level === 'error')).toBe(false);
  });

  it('times out a slow server with a RetryableError', async () => {
    const exp = await make({ endpoint: server.url, timeout: '150ms' });
    server.reply = () => ({ status: 200, delayMs: 2000 });
    const t0 = Date.now();
    const err = await exp.consume(new Payload('logs', makeLogsRequest(1, 1))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message).toMatch(/timed out after 150 ms/);
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('maps a refused connection to a RetryableError', async () => {
    const port = server.port;
    await server.close();
    server = await startHttpServer(); // for afterEach
    exporter = otlphttpExporterFactory.create(settings, configOf({ endpoint: `http://127.0.0.1:${port}` })) as OtlpHttpExporter;
    await exporter.start(testHost({ onFatal: () => {} }));
    const err = await exporter.consume(new Payload('logs', makeLogsRequest(1, 1))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
  });

  describe('resends (gophership_exporter_resent_*)', () => {
    const id = { exporter: 'otlphttp/test' };
    const count = (name: string) => counterValue(settings.telemetry, name, id);
    /** No queue (consume answers with the verdict after retries), retries 20 ms apart. */
    const makeRetrying = (raw: Record<string, unknown> = {}) =>
      make({
        endpoint: server.url,
        retry_on_failure: { enabled: true, initial_interval: '20ms', max_interval: '20ms', randomization_factor: 0, max_elapsed_time: '10s' },
        ...raw,
      });

    it('counts the attempt after a 503 as a resend of its request and records; a request taken at once counts none', async () => {
      const exp = await makeRetrying();
      await exp.consume(new Payload('logs', makeLogsRequest(1, 3)));
      expect(await count('gophership_exporter_resent_log_records')).toBe(0);
      expect(await count('gophership_exporter_resent_requests')).toBe(0);

      let answered = 0;
      server.reply = () => (answered++ === 0 ? { status: 503, headers: { 'content-type': 'text/plain' }, body: 'busy' } : { status: 200 });
      await exp.consume(new Payload('logs', makeLogsRequest(2, 2)));
      expect(server.requests).toHaveLength(3);
      expect(await count('gophership_exporter_resent_log_records')).toBe(4);
      expect(await count('gophership_exporter_resent_requests')).toBe(1);
      expect(await count('otelcol_exporter_sent_log_records')).toBe(7);
    });

    it('a timed-out attempt the downstream took anyway is delivered twice, and the surplus is exactly the resent count', async () => {
      const exp = await makeRetrying({ timeout: '150ms' });
      // The first attempt is read in full (the downstream has its records) but answered after the timeout.
      let answered = 0;
      server.reply = () => (answered++ === 0 ? { status: 200, delayMs: 600 } : { status: 200 });
      const logs = makeLogsRequest(1, 5);
      await exp.consume(new Payload('logs', logs));
      expect(server.requests).toHaveLength(2);
      for (const r of server.requests) expect(Buffer.compare(r.body, Buffer.from(logs))).toBe(0);
      const atDownstream = 2 * 5;
      const sent = await count('otelcol_exporter_sent_log_records');
      expect(sent).toBe(5);
      expect(atDownstream - sent).toBe(await count('gophership_exporter_resent_log_records'));
      expect(await count('gophership_exporter_resent_requests')).toBe(1);
    });

    it('an answer that arrived while the event loop was stalled past the timeout is read, not timed out and resent', async () => {
      // A timeout long enough that the request is answered before it even on a loaded machine.
      const exp = await makeRetrying({ timeout: '1s' });
      let answered = 0;
      server.reply = () => {
        answered++;
        return { status: 200 };
      };
      const logs = new Payload('logs', makeLogsRequest(1, 2));
      const t0 = Date.now();
      const sending = exp.consume(logs);
      // Stall this event loop (a long GC, a starved process) until the answer has arrived and the timeout passed.
      while (answered === 0 && Date.now() - t0 < 900) await new Promise((r) => setImmediate(r));
      expect(answered).toBe(1);
      while (Date.now() - t0 < 1200) {
        // busy: neither the answer nor the timer is handled meanwhile
      }
      await sending;
      expect(server.requests).toHaveLength(1);
      expect(await count('gophership_exporter_resent_requests')).toBe(0);
      expect(await count('otelcol_exporter_sent_log_records')).toBe(2);
    });

    it('counts the resend after a connection the downstream dropped, and every resend of a request retried several times', async () => {
      const exp = await makeRetrying();
      let answered = 0;
      // Two attempts get no answer (the socket is destroyed after the body is read), the third is taken.
      server.reply = () => (answered++ < 2 ? { status: 200, drop: true } : { status: 200 });
      await exp.consume(new Payload('traces', makeTracesRequest(3)));
      expect(server.requests).toHaveLength(3);
      expect(await counterValue(settings.telemetry, 'gophership_exporter_resent_spans', id)).toBe(6);
      expect(await count('gophership_exporter_resent_requests')).toBe(2);
      expect(await counterValue(settings.telemetry, 'otelcol_exporter_sent_spans', id)).toBe(3);
    });
  });
});

describe('otlphttp connection reuse (confighttp keys)', () => {
  /** A server that counts the TCP connections it accepted and records each request's Connection header. */
  async function countingServer() {
    let connections = 0;
    const connectionHeaders: (string | undefined)[] = [];
    const server = http.createServer((req, res) => {
      connectionHeaders.push(req.headers.connection);
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
    });
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url, connections: () => connections, connectionHeaders, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  async function sendTwice(raw: Record<string, unknown>, pauseMs: number) {
    const srv = await countingServer();
    const settings = testSettings('otlphttp/reuse');
    const exp = otlphttpExporterFactory.create(settings, configOf({ endpoint: srv.url, compression: 'none', ...raw })) as OtlpHttpExporter;
    await exp.start(testHost({ onFatal: () => {} }));
    try {
      await exp.consume(new Payload('logs', makeLogsRequest(1, 1)));
      await new Promise((r) => setTimeout(r, pauseMs));
      await exp.consume(new Payload('logs', makeLogsRequest(1, 1)));
      return { connections: srv.connections(), headers: srv.connectionHeaders };
    } finally {
      await exp.shutdown();
      settings.telemetry.close();
      await srv.close();
    }
  }

  it('reuses a connection idle less than idle_conn_timeout, and opens a new one after it', async () => {
    expect((await sendTwice({}, 300)).connections).toBe(1);
    expect((await sendTwice({ idle_conn_timeout: '100ms' }, 400)).connections).toBe(2);
    // The newer keepalive section's key takes the place of the top-level one.
    expect((await sendTwice({ idle_conn_timeout: '1m', keepalive: { idle_conn_timeout: '100ms' } }, 400)).connections).toBe(2);
  });

  it('disable_keep_alives (or keepalive.enabled: false) opens a connection per request', async () => {
    for (const raw of [{ disable_keep_alives: true }, { keepalive: { enabled: false } }]) {
      const got = await sendTwice(raw, 0);
      expect(got.connections, JSON.stringify(raw)).toBe(2);
      expect(got.headers).toEqual(['close', 'close']);
    }
  });

  it('takes headers as a map or as a list of name/value pairs (configopaque.MapList), and compression "" as none', () => {
    const listed = configOf({
      endpoint: 'http://h:4318',
      compression: '',
      headers: [
        { name: 'X-Tenant', value: 'a' },
        { name: 'Authorization', value: 'Bearer t' },
      ],
    });
    expect(listed.headers).toEqual({ 'X-Tenant': 'a', Authorization: 'Bearer t' });
    expect(listed.compression).toBe('none');
    const issues: { path: string[]; message: string }[] = [];
    otlphttpExporterFactory.config.parse(
      { endpoint: 'http://h:4318', headers: [{ name: 'a', value: '1' }, { name: 'a', value: '2' }, { value: '3' }] },
      [],
      issues,
    );
    expect(issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'headers.1.name: "a" is listed twice',
      'headers.2.name: is required (the header name)',
    ]);
    // Collector values GopherShip lacks say so; a gzip level the collector refuses is refused with the key.
    const values: { path: string[]; message: string }[] = [];
    for (const raw of [{ compression: 'lz4' }, { compression: 'gzip', compression_params: { level: 12 } }]) {
      otlphttpExporterFactory.config.parse({ endpoint: 'http://h:4318', ...raw }, [], values);
    }
    expect(values.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'compression: "lz4": not supported yet by GopherShip (LZ4 request bodies)',
      'compression_params.level: 12 is not a gzip level: -1 (default), 0 (default) or 1-9',
    ]);
  });
});

describe('otlphttp helpers and config', () => {
  it('parses Retry-After seconds and HTTP-dates', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('builds signal URLs like the collector', () => {
    const base = { endpoint: 'http://h:4318', logs_endpoint: '', traces_endpoint: '', metrics_endpoint: '' };
    expect(signalUrl(base, 'traces')).toBe('http://h:4318/v1/traces');
    expect(signalUrl({ ...base, endpoint: 'http://h:4318/p/' }, 'metrics')).toBe('http://h:4318/p/v1/metrics');
    expect(signalUrl({ ...base, logs_endpoint: 'https://x/y' }, 'logs')).toBe('https://x/y');
  });

  it('has collector defaults and names the key at fault', () => {
    const issues: { path: string[]; message: string }[] = [];
    const cfg = otlphttpExporterFactory.config.parse({ endpoint: 'http://h:4318' }, [], issues);
    expect(issues).toEqual([]);
    // The collector's otlphttp factory: 30s timeout, gzip, proto; confighttp's idle_conn_timeout 90s.
    expect(cfg).toMatchObject({ encoding: 'proto', compression: 'gzip', timeout: 30_000, headers: {}, idle_conn_timeout: 90_000, disable_keep_alives: false });
    const bad: { path: string[]; message: string }[] = [];
    otlphttpExporterFactory.config.parse({ encoding: 'xml' }, [], bad);
    expect(bad.map((i) => i.path.join('.'))).toEqual(expect.arrayContaining(['encoding']));
    const missing: { path: string[]; message: string }[] = [];
    otlphttpExporterFactory.config.parse({}, [], missing);
    expect(missing.map((i) => i.path.join('.'))).toEqual(['endpoint']);
    expect(otlphttpExporterFactory.aliases).toContain('otlp_http');
  });
});
