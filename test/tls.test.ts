/**
 * TLS and mutual TLS end to end, with certificates made at test time by openssl (test/helpers/certs.ts):
 * the official OpenTelemetry JS SDK exporters send to the otlp receiver over TLS (gRPC credentials, an
 * HTTPS agent with the CA), the gateway's own otlp and otlphttp exporters connect to TLS servers, a
 * rotated certificate is served without a restart, and each bad certificate is refused with an error
 * that says which check failed while the receiver goes on serving good clients.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { OTLPLogExporter as LogsGrpc } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as LogsHttpProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testHost } from './helpers/host.js';
import type { ConfigIssue } from '../src/core/schema.js';
import { Payload } from '../src/pdata/payload.js';
import { otlpReceiverConfig } from '../receivers/otlp/config.js';
import { OtlpReceiver, otlpReceiverFactory } from '../receivers/otlp/factory.js';
import { otlpExporterConfig } from '../exporters/otlp/config.js';
import { otlpExporterFactory } from '../exporters/otlp/factory.js';
import { otlphttpExporterConfig } from '../exporters/otlphttp/config.js';
import { otlphttpExporterFactory } from '../exporters/otlphttp/factory.js';
import type { Exporter } from '../src/core/component.js';
import type { CodedError } from '../src/core/errors.js';
import { hasOpenssl, makeCertSet, rotatableServerCert, rotateAndAwaitNewSerial, type CertSet } from './helpers/certs.js';
import { RecordingConsumer, makeLogsRequest, testSettings } from './helpers/otlp-test-servers.js';
import { makeLogs, sdkBytes } from './helpers/sdk-data.js';
import { startGateway, receiverAddress } from './helpers/gateway.js';
import { gatewayYaml, otlpReceiver } from './helpers/configs.js';
import { itemsOf, splitLengthPrefixed } from './helpers/otlp-items.js';

const openssl = hasOpenssl('the TLS tests (certificates made at test time)');
let certs: CertSet;
let records: ReadableLogRecord[];
const started: { shutdown(): Promise<void> }[] = [];

beforeAll(async () => {
  if (openssl) certs = makeCertSet();
  records = await makeLogs('tls', 3);
});

afterAll(async () => {
  for (const s of started.reverse()) await s.shutdown().catch(() => {});
  certs?.factory.cleanup();
});

function parse<T>(schema: { parse(v: unknown, p: string[], i: ConfigIssue[]): T }, raw: unknown): T {
  const issues: ConfigIssue[] = [];
  const cfg = schema.parse(raw, [], issues);
  expect(issues).toEqual([]);
  return cfg;
}

interface Receiver {
  receiver: OtlpReceiver;
  consumer: RecordingConsumer;
  grpcUrl: string;
  httpUrl: string;
  logs: Record<string, unknown>[];
}

/** An otlp receiver on 127.0.0.1 with both protocols behind `tls` (the same section for each). */
async function startTlsReceiver(tlsSection: Record<string, unknown>): Promise<Receiver> {
  const cfg = parse(otlpReceiverConfig, {
    protocols: { grpc: { endpoint: '127.0.0.1:0', tls: tlsSection }, http: { endpoint: '127.0.0.1:0', tls: tlsSection } },
  });
  const consumer = new RecordingConsumer();
  const settings = testSettings('otlp', 'receiver');
  const receiver = otlpReceiverFactory.create(settings, cfg, { logs: consumer, traces: consumer, metrics: consumer }) as OtlpReceiver;
  await receiver.start(testHost());
  started.push(receiver);
  return { receiver, consumer, grpcUrl: `127.0.0.1:${receiver.grpcAddress!.port}`, httpUrl: `127.0.0.1:${receiver.httpAddress!.port}`, logs: settings.logs };
}

function exportWith(exporter: { export(items: ReadableLogRecord[], cb: (r: ExportResult) => void): void; shutdown(): Promise<void> }): Promise<ExportResult> {
  return new Promise<ExportResult>((resolve) => exporter.export(records, resolve)).finally(() => exporter.shutdown());
}

/** Refused cases wait out the SDK's deadline (grpc-js keeps reconnecting until it): keep it short. */
function sdkGrpc(url: string, credentials: grpc.ChannelCredentials, timeoutMillis = 5000) {
  return new LogsGrpc({ url: `https://${url}`, credentials, timeoutMillis });
}

function sdkHttps(url: string, agent: { ca?: Buffer; cert?: Buffer; key?: Buffer }, timeoutMillis = 5000) {
  return new LogsHttpProto({ url: `https://${url}/v1/logs`, httpAgentOptions: agent, timeoutMillis });
}

describe.runIf(openssl)('otlp receiver over TLS with the SDK exporters as clients', () => {
  let r: Receiver;
  beforeAll(async () => {
    r = await startTlsReceiver({ cert_file: certs.server.certFile, key_file: certs.server.keyFile });
  });

  it('takes logs over gRPC with TLS credentials and over HTTPS with an agent holding the CA', async () => {
    const before = r.consumer.got.length;
    expect((await exportWith(sdkGrpc(r.grpcUrl, grpc.credentials.createSsl(certs.ca.cert)))).code).toBe(ExportResultCode.SUCCESS);
    expect((await exportWith(sdkHttps(r.httpUrl, { ca: certs.ca.cert }))).code).toBe(ExportResultCode.SUCCESS);
    expect(r.consumer.got.length - before).toBe(2);
    expect(r.consumer.got.slice(before).every((p) => p.itemCount === 3)).toBe(true);
  });

  it('refuses plaintext on a TLS port, and a client that does not trust the server, and serves the next good client', async () => {
    const plain = await new Promise<string>((resolve) => {
      const req = http.request(
        { host: '127.0.0.1', port: r.receiver.httpAddress!.port, path: '/v1/logs', method: 'POST', headers: { 'content-type': 'application/x-protobuf' } },
        (res) => resolve(`status ${res.statusCode}`),
      );
      req.on('error', (e) => resolve(e.message));
      req.end(Buffer.from(makeLogsRequest(1, 1)));
    });
    expect(plain).not.toMatch(/status 200/);
    // The SDK trusting only another CA: the handshake fails on its side.
    const untrusted = await exportWith(sdkHttps(r.httpUrl, { ca: certs.otherCa.cert }));
    expect(untrusted.code).toBe(ExportResultCode.FAILED);
    expect(String(untrusted.error?.message)).toMatch(/certificate/i);
    expect((await exportWith(sdkGrpc(r.grpcUrl, grpc.credentials.createSsl(certs.ca.cert)))).code).toBe(ExportResultCode.SUCCESS);
  });

  it('min_version 1.3 refuses a TLS 1.2 client', async () => {
    const strict = await startTlsReceiver({ cert_file: certs.server.certFile, key_file: certs.server.keyFile, min_version: '1.3' });
    const err = await new Promise<Error | undefined>((resolve) => {
      const sock = tls.connect({ host: '127.0.0.1', port: strict.receiver.httpAddress!.port, ca: certs.ca.cert, maxVersion: 'TLSv1.2' }, () => {
        sock.end();
        resolve(undefined);
      });
      sock.on('error', resolve);
    });
    expect(err?.message).toMatch(/protocol version|alert/i);
  });
});

describe.runIf(openssl)('mutual TLS: client_ca_file', () => {
  let r: Receiver;
  beforeAll(async () => {
    r = await startTlsReceiver({ cert_file: certs.server.certFile, key_file: certs.server.keyFile, client_ca_file: certs.ca.certFile });
  });

  it('takes a client whose certificate the client CA signed (gRPC and HTTPS)', async () => {
    const before = r.consumer.got.length;
    const g = await exportWith(sdkGrpc(r.grpcUrl, grpc.credentials.createSsl(certs.ca.cert, certs.client.key, certs.client.cert)));
    expect(g.code).toBe(ExportResultCode.SUCCESS);
    const h = await exportWith(sdkHttps(r.httpUrl, { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key }));
    expect(h.code).toBe(ExportResultCode.SUCCESS);
    expect(r.consumer.got.length - before).toBe(2);
  });

  it('refuses a client with no certificate, one from another CA, and an expired one, one by one; good clients go on', async () => {
    const before = r.consumer.got.length;
    const cases: [string, { cert?: Buffer; key?: Buffer }][] = [
      ['no client certificate', {}],
      ['another CA', { cert: certs.otherClient.cert, key: certs.otherClient.key }],
      ['expired', { cert: certs.expiredClient.cert, key: certs.expiredClient.key }],
    ];
    for (const [name, c] of cases) {
      const viaGrpc = await exportWith(sdkGrpc(r.grpcUrl, grpc.credentials.createSsl(certs.ca.cert, c.key ?? null, c.cert ?? null), 1000));
      expect(viaGrpc.code, `gRPC, ${name}`).toBe(ExportResultCode.FAILED);
      const viaHttp = await exportWith(sdkHttps(r.httpUrl, { ca: certs.ca.cert, ...c }, 1000));
      expect(viaHttp.code, `HTTPS, ${name}`).toBe(ExportResultCode.FAILED);
    }
    expect(r.consumer.got.length).toBe(before);
    // The receiver logged why (rate-limited), naming the client certificate.
    expect(JSON.stringify(r.logs)).toMatch(/client certificate/);
    const ok = await exportWith(sdkHttps(r.httpUrl, { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key }));
    expect(ok.code).toBe(ExportResultCode.SUCCESS);
  });
});

describe.runIf(openssl)('certificate rotation: reload_interval', () => {
  it('serves a certificate replaced on disk from the next handshake on, without a restart', async () => {
    const files = rotatableServerCert(certs, 'rotating');
    const r = await startTlsReceiver({ cert_file: files.certFile, key_file: files.keyFile, reload_interval: '100ms' });
    const serialOf = (port: number, ALPNProtocols?: string[]) =>
      new Promise<string>((resolve, reject) => {
        const sock = tls.connect({ host: '127.0.0.1', port, ca: certs.ca.cert, ALPNProtocols }, () => {
          const serial = sock.getPeerCertificate().serialNumber;
          sock.end();
          resolve(serial);
        });
        sock.on('error', reject);
      });
    const httpPort = r.receiver.httpAddress!.port;
    const grpcPort = r.receiver.grpcAddress!.port;
    expect(await serialOf(grpcPort, ['h2'])).toBe(await serialOf(httpPort));
    const { before, after } = await rotateAndAwaitNewSerial(certs, files, () => serialOf(httpPort));
    expect(after).not.toBe(before);
    expect(await serialOf(grpcPort, ['h2'])).toBe(after);
    // The SDK still gets through on the new certificate.
    expect((await exportWith(sdkGrpc(r.grpcUrl, grpc.credentials.createSsl(certs.ca.cert)))).code).toBe(ExportResultCode.SUCCESS);
    expect(JSON.stringify(r.logs)).toMatch(/TLS certificate reloaded/);
  });
});

/** The gateway's exporters against TLS receivers: one export, resolving to the error text or 'ok'. */
async function sendOnce(kind: 'otlp' | 'otlphttp', url: string, tlsSection: Record<string, unknown>): Promise<string> {
  const exporter: Exporter =
    kind === 'otlp'
      ? otlpExporterFactory.create(
          testSettings('otlp'),
          parse(otlpExporterConfig, { endpoint: url, tls: tlsSection, sending_queue: { enabled: false }, retry_on_failure: { enabled: false }, timeout: '3s' }),
        )
      : otlphttpExporterFactory.create(
          testSettings('otlphttp'),
          parse(otlphttpExporterConfig, {
            endpoint: `https://${url}`,
            tls: tlsSection,
            sending_queue: { enabled: false },
            retry_on_failure: { enabled: false },
            timeout: '3s',
          }),
        );
  await exporter.start(testHost({ onFatal: () => {} }));
  try {
    await exporter.consume(new Payload('logs', makeLogsRequest(1, 2)));
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  } finally {
    await exporter.shutdown();
  }
}

describe.runIf(openssl)('otlp and otlphttp exporters as TLS clients (identical tls keys)', () => {
  let good: Receiver;
  let mtls: Receiver;
  beforeAll(async () => {
    good = await startTlsReceiver({ cert_file: certs.server.certFile, key_file: certs.server.keyFile });
    mtls = await startTlsReceiver({ cert_file: certs.server.certFile, key_file: certs.server.keyFile, client_ca_file: certs.ca.certFile });
  });

  it('deliver with ca_file, with ca_pem, and over mTLS with cert_file/key_file', async () => {
    for (const kind of ['otlp', 'otlphttp'] as const) {
      const target = (r: Receiver) => (kind === 'otlp' ? r.grpcUrl : r.httpUrl);
      expect(await sendOnce(kind, target(good), { ca_file: certs.ca.certFile })).toBe('ok');
      expect(await sendOnce(kind, target(good), { ca_pem: certs.ca.cert.toString() })).toBe('ok');
      expect(await sendOnce(kind, target(mtls), { ca_file: certs.ca.certFile, cert_file: certs.client.certFile, key_file: certs.client.keyFile })).toBe('ok');
    }
  });

  it('otlp: insecure: true with a CA still speaks TLS, as the collector (configtls is plaintext only without a CA)', async () => {
    expect(await sendOnce('otlp', good.grpcUrl, { insecure: true, ca_file: certs.ca.certFile })).toBe('ok');
    expect(await sendOnce('otlp', good.grpcUrl, { insecure: true })).not.toBe('ok');
  });

  it('name the failed check: unknown CA, no client certificate; insecure_skip_verify gets through', async () => {
    for (const kind of ['otlp', 'otlphttp'] as const) {
      const target = (r: Receiver) => (kind === 'otlp' ? r.grpcUrl : r.httpUrl);
      expect(await sendOnce(kind, target(good), { ca_file: certs.otherCa.certFile })).toMatch(/signed by an unknown CA .*tls\.ca_file/);
      expect(await sendOnce(kind, target(mtls), { ca_file: certs.ca.certFile })).toMatch(/server refused this client's certificate/);
      expect(await sendOnce(kind, target(good), { insecure_skip_verify: true })).toBe('ok');
    }
  });

  it('name the failed check: an expired server certificate, and one for another name (server_name_override fixes it)', async () => {
    const expired = await startTlsReceiver({ cert_file: certs.expiredServer.certFile, key_file: certs.expiredServer.keyFile });
    const wrongName = await startTlsReceiver({ cert_file: certs.wrongNameServer.certFile, key_file: certs.wrongNameServer.keyFile });
    for (const kind of ['otlp', 'otlphttp'] as const) {
      const target = (r: Receiver) => (kind === 'otlp' ? r.grpcUrl : r.httpUrl);
      expect(await sendOnce(kind, target(expired), { ca_file: certs.ca.certFile })).toMatch(/certificate has expired/);
      expect(await sendOnce(kind, target(wrongName), { ca_file: certs.ca.certFile })).toMatch(/certificate is for another name/);
      expect(await sendOnce(kind, target(wrongName), { ca_file: certs.ca.certFile, server_name_override: 'elsewhere.example' })).toBe('ok');
    }
    // The receivers behind the refusals still serve a good client.
    expect(await sendOnce('otlp', good.grpcUrl, { ca_file: certs.ca.certFile })).toBe('ok');
  });
});

/** The TLS version and suite a client with `options` negotiates with 127.0.0.1:`port`. */
function negotiate(port: number, options: tls.ConnectionOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, ca: certs.ca.cert, ...options }, () => {
      resolve(`${sock.getProtocol()} ${sock.getCipher().standardName}`);
      sock.end();
    });
    sock.on('error', reject);
  });
}

describe.runIf(openssl)("cipher suites in the collector's order (AES-128-GCM first, as Go's crypto/tls)", () => {
  it("the receiver picks TLS_AES_128_GCM_SHA256 for a client in Node's order, ChaCha20 for a client that asks for it first, AES-128-GCM on TLS 1.2", async () => {
    const r = await startTlsReceiver({ cert_file: certs.server.certFile, key_file: certs.server.keyFile });
    expect(tls.DEFAULT_CIPHERS.startsWith('TLS_AES_256_GCM_SHA384')).toBe(true); // the client's own first choice differs
    for (const port of [r.receiver.httpAddress!.port, r.receiver.grpcAddress!.port]) {
      const alpn = port === r.receiver.grpcAddress!.port ? { ALPNProtocols: ['h2'] } : {};
      expect(await negotiate(port, alpn)).toBe('TLSv1.3 TLS_AES_128_GCM_SHA256');
      expect(await negotiate(port, { ...alpn, ciphers: `TLS_CHACHA20_POLY1305_SHA256:${tls.DEFAULT_CIPHERS}` })).toBe('TLSv1.3 TLS_CHACHA20_POLY1305_SHA256');
      expect(await negotiate(port, { ...alpn, maxVersion: 'TLSv1.2' })).toBe('TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
    }
  });

  it('the otlp and otlphttp exporters offer TLS_AES_128_GCM_SHA256 first (a server that follows the client gets it)', async () => {
    const seen: string[] = [];
    // A Node server follows its own order unless told otherwise (honorCipherOrder defaults to true there).
    const server = tls.createServer({ cert: certs.server.cert, key: certs.server.key, ALPNProtocols: ['h2', 'http/1.1'], honorCipherOrder: false }, (sock) => {
      seen.push(sock.getCipher().standardName);
      sock.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      for (const kind of ['otlp', 'otlphttp'] as const) await sendOnce(kind, url, { ca_file: certs.ca.certFile });
    } finally {
      server.close();
    }
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(new Set(seen)).toEqual(new Set(['TLS_AES_128_GCM_SHA256']));
  });
});

describe('tls config keys', () => {
  it('otlphttp takes tls.insecure (configs shared with otlp use it) and both exporters take the same keys', () => {
    const section = { insecure: true, insecure_skip_verify: false, ca_file: '', server_name_override: 'x', min_version: '1.3' };
    expect(parse(otlphttpExporterConfig, { endpoint: 'http://a:4318', tls: section }).tls.insecure).toBe(true);
    expect(parse(otlpExporterConfig, { endpoint: 'a:4317', tls: section }).tls.min_version).toBe('1.3');
  });

  it('says which keys are wrong: a collector key not implemented is "not supported yet", a lone cert, an inverted version range', () => {
    const issues: ConfigIssue[] = [];
    otlpReceiverConfig.parse(
      {
        protocols: {
          grpc: { tls: { cert_file: 'a.crt', key_file: 'a.key', cipher_suites: ['TLS_AES_128_GCM_SHA256'] } },
          http: { tls: { key_file: 'k', cert_file: 'c', min_version: '1.3', max_version: '1.2' } },
        },
      },
      [],
      issues,
    );
    otlpExporterConfig.parse({ endpoint: 'a:4317', tls: { cert_file: 'a.crt' } }, [], issues);
    const byPath = Object.fromEntries(issues.map((i) => [i.path.join('.'), i.message]));
    expect(byPath['protocols.grpc.tls.cipher_suites']).toMatch(/not supported yet/);
    expect(byPath['tls']).toMatch(/must be set together/);
    expect(byPath['protocols.http.tls.max_version']).toMatch(/below min_version/);
  });

  it.runIf(openssl)('a receiver whose key does not match its certificate fails at start naming the key path', async () => {
    const cfg = parse(otlpReceiverConfig, {
      protocols: { http: { endpoint: '127.0.0.1:0', tls: { cert_file: certs.server.certFile, key_file: certs.client.keyFile } } },
    });
    const receiver = otlpReceiverFactory.create(testSettings('otlp', 'receiver'), cfg, { logs: new RecordingConsumer() }) as OtlpReceiver;
    const failure = await receiver.start(testHost({ onFatal: () => {} })).then(
      () => undefined,
      (err: unknown) => err as CodedError,
    );
    expect(failure?.message).toMatch(/^receiver otlp: protocols\.http\.tls.*key_file is the private key of cert_file/);
    expect(failure?.code).toBe('GS_TLS_INVALID');
  });

  it.runIf(openssl)('a receiver whose cert_file cannot be read fails at start naming the key path, not as a port in use', async () => {
    const cfg = parse(otlpReceiverConfig, {
      protocols: { grpc: { endpoint: '127.0.0.1:0', tls: { cert_file: '/nonexistent/server.crt', key_file: certs.server.keyFile } } },
    });
    const receiver = otlpReceiverFactory.create(testSettings('otlp', 'receiver'), cfg, { logs: new RecordingConsumer() }) as OtlpReceiver;
    const failure = await receiver.start(testHost({ onFatal: () => {} })).then(
      () => undefined,
      (err: unknown) => err as CodedError,
    );
    expect(failure?.message).toMatch(/^receiver otlp: protocols\.grpc\.tls\.cert_file: cannot read \/nonexistent\/server\.crt/);
    expect(failure?.message).not.toMatch(/another process|cannot listen/);
    expect(failure?.code).toBe('GS_FILE_UNREADABLE');
  });
});

describe.runIf(openssl)('gateway to gateway over mutual TLS, from YAML configs', () => {
  it('SDK -> HTTPS -> gateway A -> otlp and otlphttp over mTLS -> gateway B -> file: every record arrives by both paths', async () => {
    const out = await mkdtemp(join(tmpdir(), 'gs-tls-chain-'));
    const serverTls = { tls: { cert_file: certs.server.certFile, key_file: certs.server.keyFile, client_ca_file: certs.ca.certFile } };
    const b = await startGateway(
      gatewayYaml({
        receivers: { 'otlp/grpc': otlpReceiver(['grpc'], serverTls), 'otlp/http': otlpReceiver(['http'], serverTls) },
        exporters: { 'file/grpc': { path: join(out, 'via-grpc.pb'), format: 'proto' }, 'file/http': { path: join(out, 'via-http.pb'), format: 'proto' } },
        pipelines: {
          'logs/grpc': { receivers: ['otlp/grpc'], exporters: ['file/grpc'] },
          'logs/http': { receivers: ['otlp/http'], exporters: ['file/http'] },
        },
      }),
    );
    const tls = { ca_file: certs.ca.certFile, cert_file: certs.client.certFile, key_file: certs.client.keyFile };
    const a = await startGateway(
      gatewayYaml({
        receivers: { otlp: otlpReceiver(['http'], { tls: { cert_file: certs.server.certFile, key_file: certs.server.keyFile } }) },
        exporters: {
          otlp: { endpoint: receiverAddress(b, 'otlp/grpc', 'grpc'), tls },
          otlphttp: { endpoint: `https://${receiverAddress(b, 'otlp/http', 'http')}`, tls },
        },
        pipelines: { logs: { exporters: ['otlp', 'otlphttp'] } },
      }),
    );
    try {
      const sent = await exportWith(sdkHttps(receiverAddress(a, 'otlp', 'http'), { ca: certs.ca.cert }));
      expect(sent.code).toBe(ExportResultCode.SUCCESS);
    } finally {
      await a.shutdown(5000);
      await b.shutdown(5000);
    }
    const expected = itemsOf('logs', sdkBytes.logs(records)).sort();
    for (const via of ['grpc', 'http']) {
      const got = splitLengthPrefixed(await readFile(join(out, `via-${via}.pb`))).flatMap((req) => itemsOf('logs', req));
      expect(got.sort(), `via ${via}`).toEqual(expected);
    }
    await rm(out, { recursive: true, force: true });
  }, 20_000);
});
