/**
 * Fuzz targets over the network: a real gateway (otlp receiver on OTLP/HTTP and OTLP/gRPC, behind
 * bearer token authentication) takes mutated requests with mutated headers on 127.0.0.1. Every reply
 * must be a well-formed OTLP answer, the gateway must go on serving, and every request it acknowledges
 * reaches the exporter as bytes protobuf-es decodes, with the item count the gateway reported.
 */
import http from 'node:http';
import http2 from 'node:http2';
import zlib from 'node:zlib';
import fc from 'fast-check';
import type { Exporter, ExporterFactory } from '../../core/component.js';
import { s } from '../../core/schema.js';
import { GRPC_METHOD, HTTP_PATH, SIGNALS, type Signal } from '../../core/signal.js';
import { builtinFactories, createRegistry } from '../../components.js';
import { validateConfig } from '../../config/validate.js';
import { parseConfigText, type ConfigProblem, type SourceLocation } from '../../config/load.js';
import { compress } from '../../compression/index.js';
import { decodeStatus } from '../../pdata/codec.js';
import type { Payload } from '../../pdata/payload.js';
import { Service } from '../../service/service.js';
import { silentLogger } from '../../telemetry/logger.js';
import { arbJsonText, arbProtoBytes, arbSignal, type Seeds } from './inputs.js';
import { BrokenPromise, assertReadable, type FuzzTarget } from './local-targets.js';
import { CaseHang } from './run.js';
import { runnableDeadline } from './deadline.js';

const TOKEN = 'fuzz-token';
/**
 * How long one request may go unanswered before the case counts as a hang, in time the process could run
 * (./deadline.ts: a niced run on a busy machine waits for a core without counting it).
 */
const CASE_TIMEOUT_MS = 20_000;

/** An exporter that checks every payload the pipeline accepted, as a downstream decoder would. */
class CheckingExporter implements Exporter {
  readonly broken: string[] = [];
  delivered = 0;
  async start(): Promise<void> {}
  async shutdown(): Promise<void> {}
  async consume(p: Payload): Promise<void> {
    this.delivered++;
    try {
      assertReadable(p.signal, p.bytes, p.itemCount, 'receiver');
    } catch (err) {
      this.broken.push((err as Error).message);
    }
  }
}

/** One gateway shared by both targets, started by the first setup and stopped by the last teardown. */
class FuzzGateway {
  private users = 0;
  private service: Service | undefined;
  readonly exporter = new CheckingExporter();
  http = '';
  grpc = '';

  async acquire(): Promise<void> {
    if (this.users++ > 0) return;
    const exporter = this.exporter;
    const checking: ExporterFactory<unknown> = {
      kind: 'exporter',
      type: 'fuzz_check',
      description: 'checks what the pipeline accepted',
      stability: 'development',
      metrics: [],
      tests: { config: () => ({}) },
      signals: SIGNALS,
      config: s.object({}),
      create: () => exporter,
    };
    const text = `extensions:
  bearertokenauth:
    token: ${TOKEN}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
        max_recv_msg_size_mib: 1
        include_metadata: true
        auth:
          authenticator: bearertokenauth
      http:
        endpoint: 127.0.0.1:0
        max_request_body_size: 1048576
        include_metadata: true
        auth:
          authenticator: bearertokenauth
exporters:
  fuzz_check:
service:
  extensions: [bearertokenauth]
  telemetry:
    metrics:
      level: none
  processing:
    worker_threads: 0
  pipelines:
${SIGNALS.map((sig) => `    ${sig}:\n      receivers: [otlp]\n      exporters: [fuzz_check]\n`).join('')}`;
    const locations = new Map<string, SourceLocation>();
    const found = { problems: [] as ConfigProblem[], warnings: [] as ConfigProblem[] };
    const raw = parseConfigText(text, 'fuzz-gateway.yaml', {}, locations, found);
    const result = validateConfig({ raw, locations, problems: found.problems, warnings: found.warnings }, createRegistry([...builtinFactories, checking]));
    if (!result.ok) throw new Error(`fuzz gateway config: ${result.problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`);
    this.service = new Service(result.config, { logger: silentLogger });
    await this.service.start();
    // The otlp receiver's bound addresses (read structurally: src/ does not import component folders).
    const receiver = this.service.component('receiver', 'otlp') as unknown as { httpAddress: { port: number }; grpcAddress: { port: number } };
    this.http = `127.0.0.1:${receiver.httpAddress.port}`;
    this.grpc = `127.0.0.1:${receiver.grpcAddress.port}`;
  }

  async release(): Promise<void> {
    if (--this.users > 0) return;
    await this.service?.shutdown(5000);
    this.service = undefined;
  }

  /** Throws what the exporter found wrong since the last call. */
  takeBroken(): void {
    const b = this.exporter.broken.splice(0);
    if (b.length > 0) throw new BrokenPromise(b.join('; '));
  }
}

const arbAuth = fc.oneof(
  { weight: 8, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.string({ maxLength: 40 }).map((t) => `Bearer ${t}`),
      fc.stringMatching(/^[\x21-\x7e ]{0,60}$/),
    ),
  },
);

interface HttpCase {
  signal: Signal;
  path: string;
  method: string;
  contentType: string | undefined;
  /** How the body is sent: compressed, or (`*-raw`, `bogus`) labelled with a coding it is not in. */
  coding: 'identity' | 'gzip' | 'deflate' | 'zstd' | 'snappy' | 'bogus' | 'zstd-raw' | 'snappy-raw';
  body: Uint8Array;
  authorization: string | undefined;
  extraHeader: [string, string] | undefined;
}

function arbHttpCase(seeds: Seeds): fc.Arbitrary<HttpCase> {
  return arbSignal.chain((signal) =>
    fc.record({
      signal: fc.constant(signal),
      path: fc.oneof(
        { weight: 10, arbitrary: fc.constant(HTTP_PATH[signal]) },
        { weight: 1, arbitrary: fc.constantFrom('/', '/v1/logs/', '/v1/LOGS', '/v2/traces', '/v1/metrics?x=1', '//v1/logs') },
      ),
      method: fc.oneof({ weight: 20, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'OPTIONS', 'DELETE') }),
      contentType: fc.oneof(
        { weight: 5, arbitrary: fc.constant('application/x-protobuf') },
        { weight: 3, arbitrary: fc.constant('application/json') },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            undefined,
            'text/plain',
            'application/json; charset=utf-8',
            'APPLICATION/X-PROTOBUF',
            'application/grpc',
            'multipart/form-data; boundary=x',
          ),
        },
      ),
      coding: fc.oneof(
        { weight: 6, arbitrary: fc.constant('identity' as const) },
        { weight: 2, arbitrary: fc.constant('gzip' as const) },
        { weight: 1, arbitrary: fc.constantFrom('deflate' as const, 'bogus' as const) },
        { weight: 2, arbitrary: fc.constantFrom('zstd' as const, 'snappy' as const, 'zstd-raw' as const, 'snappy-raw' as const) },
      ),
      body: fc.oneof(
        arbProtoBytes(seeds, signal),
        arbJsonText(seeds, signal).map((t) => new Uint8Array(Buffer.from(t))),
      ),
      authorization: arbAuth,
      extraHeader: fc.option(
        fc.tuple(fc.constantFrom('x-tenant', 'x-forwarded-for', 'user-agent', 'content-length'), fc.stringMatching(/^[\x21-\x7e]{0,30}$/)),
        { nil: undefined },
      ),
    }),
  );
}

function httpTarget(seeds: Seeds, gw: FuzzGateway): FuzzTarget<HttpCase> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  let accepted = 0;
  return {
    name: 'http-receiver',
    accepted: () => accepted,
    arbitrary: arbHttpCase(seeds),
    setup: () => gw.acquire(),
    async check(c) {
      let body: Buffer = Buffer.from(c.body);
      const headers: http.OutgoingHttpHeaders = {};
      if (c.contentType) headers['content-type'] = c.contentType;
      if (c.coding === 'gzip') body = zlib.gzipSync(body);
      else if (c.coding === 'deflate') body = zlib.deflateSync(body);
      else if (c.coding === 'zstd' || c.coding === 'snappy') body = await compress(c.coding, body, { transport: 'http' });
      if (c.coding !== 'identity') headers['content-encoding'] = c.coding === 'bogus' ? 'gzip' : c.coding.replace('-raw', '');
      if (c.authorization !== undefined) headers.authorization = c.authorization;
      // A wrong content-length would only test node's HTTP parser; other extra headers go as given.
      if (c.extraHeader && c.extraHeader[0] !== 'content-length') headers[c.extraHeader[0]] = c.extraHeader[1];
      headers['content-length'] = String(body.length);
      const [host, port] = gw.http.split(':');
      const res = await new Promise<{ status: number; type: string | undefined; body: Buffer }>((resolve, reject) => {
        let phase = 'no response headers';
        const req = http.request({ host, port: Number(port), path: c.path, method: c.method, headers, agent }, (r) => {
          phase = `HTTP ${r.statusCode} headers but the body never ended`;
          const chunks: Buffer[] = [];
          r.on('data', (d: Buffer) => chunks.push(d));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, type: r.headers['content-type'], body: Buffer.concat(chunks) }));
          r.on('error', reject);
        });
        // A deadline on the whole exchange (not the socket's idle time, which a trickling reply resets).
        const cancel = runnableDeadline(CASE_TIMEOUT_MS, () => {
          const sent = req.writableFinished ? 'request sent whole' : `request not sent whole (${req.writableLength} bytes still queued)`;
          req.destroy(new CaseHang(`HTTP ${c.method} ${c.path}: ${phase} within ${CASE_TIMEOUT_MS} ms; ${sent}`));
        });
        req.on('close', cancel);
        req.on('error', reject);
        req.end(body);
      });
      gw.takeBroken();
      if (res.status === 200) {
        accepted++;
        return;
      }
      // Every refusal is a google.rpc.Status in a content type the client can read.
      const enc = res.type === 'application/json' ? 'json' : res.type === 'application/x-protobuf' ? 'proto' : undefined;
      if (!enc) throw new BrokenPromise(`HTTP ${res.status} with content-type ${res.type}`);
      let status: ReturnType<typeof decodeStatus>;
      try {
        status = decodeStatus(enc, res.body);
      } catch (err) {
        throw new BrokenPromise(`HTTP ${res.status}: the body is not a google.rpc.Status: ${(err as Error).message}`);
      }
      if (!status || status.code === 0 || status.message === '') throw new BrokenPromise(`HTTP ${res.status} without a status code and message`);
      if (res.status >= 500 && res.status !== 503) throw new BrokenPromise(`HTTP ${res.status}: ${status.message}`);
    },
    async teardown() {
      agent.destroy();
      await gw.release();
    },
  };
}

interface GrpcCase {
  signal: Signal;
  path: string;
  contentType: string;
  encoding: string | undefined;
  packed: boolean;
  flag: number;
  lengthDelta: number;
  body: Uint8Array;
  authorization: string | undefined;
  split: number;
}

function arbGrpcCase(seeds: Seeds): fc.Arbitrary<GrpcCase> {
  return arbSignal.chain((signal) =>
    fc.record({
      signal: fc.constant(signal),
      path: fc.oneof(
        { weight: 10, arbitrary: fc.constant(GRPC_METHOD[signal]) },
        { weight: 1, arbitrary: fc.constantFrom('/', '/opentelemetry.proto.collector.logs.v1.LogsService/Other', '/x/Export') },
      ),
      contentType: fc.oneof(
        { weight: 10, arbitrary: fc.constant('application/grpc') },
        { weight: 1, arbitrary: fc.constantFrom('application/grpc+proto', 'application/grpc+json', 'application/json', 'application/grpc; x=1') },
      ),
      encoding: fc.oneof(
        { weight: 6, arbitrary: fc.constant(undefined) },
        { weight: 2, arbitrary: fc.constant('gzip') },
        { weight: 1, arbitrary: fc.constantFrom('deflate', 'snappy', 'identity', 'zstd') },
      ),
      // snappy and zstd messages compressed as a client would (true), or labelled but not (false).
      packed: fc.boolean(),
      flag: fc.oneof({ weight: 10, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
      lengthDelta: fc.oneof(
        { weight: 10, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.integer({ min: -8, max: 8 }) },
        { weight: 1, arbitrary: fc.constant(0x7fffffff) },
      ),
      body: arbProtoBytes(seeds, signal),
      authorization: arbAuth,
      split: fc.nat(),
    }),
  );
}

function grpcTarget(seeds: Seeds, gw: FuzzGateway): FuzzTarget<GrpcCase> {
  let session: http2.ClientHttp2Session | undefined;
  let accepted = 0;
  const connect = (): http2.ClientHttp2Session => {
    if (session && !session.closed && !session.destroyed) return session;
    const s = http2.connect(`http://${gw.grpc}`);
    s.on('error', () => {});
    // A session the server is closing takes no new streams: the next case opens another.
    s.on('goaway', () => {
      if (session === s) session = undefined;
    });
    session = s;
    return s;
  };
  return {
    name: 'grpc-receiver',
    accepted: () => accepted,
    arbitrary: arbGrpcCase(seeds),
    setup: () => gw.acquire(),
    async check(c) {
      let message: Buffer = Buffer.from(c.body);
      if (c.encoding === 'gzip') message = zlib.gzipSync(message);
      else if (c.encoding === 'deflate') message = zlib.deflateSync(message);
      else if ((c.encoding === 'zstd' || c.encoding === 'snappy') && c.packed) message = await compress(c.encoding, message, { transport: 'grpc' });
      const flag = c.flag >= 0 ? c.flag : c.encoding && c.encoding !== 'identity' ? 1 : 0;
      const prefix = Buffer.alloc(5);
      prefix[0] = flag;
      prefix.writeUInt32BE(Math.max(0, Math.min(0xffffffff, message.length + c.lengthDelta)), 1);
      const frame = Buffer.concat([prefix, message]);
      const headers: http2.OutgoingHttpHeaders = { ':method': 'POST', ':path': c.path, 'content-type': c.contentType, te: 'trailers' };
      if (c.encoding) headers['grpc-encoding'] = c.encoding;
      if (c.authorization !== undefined) headers.authorization = c.authorization;
      const result = await new Promise<{ status: number; grpcStatus: string | undefined; reset: number | undefined }>((resolve, reject) => {
        let stream: http2.ClientHttp2Stream;
        try {
          stream = connect().request(headers);
        } catch (err) {
          reject(err);
          return;
        }
        let status = 0;
        let grpcStatus: string | undefined;
        let phase = 'no response headers';
        const cancel = runnableDeadline(CASE_TIMEOUT_MS, () => {
          // Which side stopped: the answer, the end of the stream, or our bytes stuck behind flow control.
          const st = stream.session?.state;
          const flow = st
            ? `; session windows local ${st.effectiveLocalWindowSize} remote ${st.remoteWindowSize}, ${stream.bufferSize} request bytes unsent`
            : '';
          stream.close(http2.constants.NGHTTP2_CANCEL);
          reject(
            new CaseHang(
              `gRPC ${c.path} (${frame.length} bytes framed, split at ${c.split % (frame.length + 1)}): ${phase} within ${CASE_TIMEOUT_MS} ms${flow}`,
            ),
          );
        });
        stream.on('response', (h) => {
          status = Number(h[':status']);
          if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
          phase =
            grpcStatus === undefined
              ? `HTTP ${status} headers but no trailers`
              : `a trailers-only answer (grpc-status ${grpcStatus}) but the stream never closed`;
        });
        stream.on('trailers', (t) => {
          if (t['grpc-status'] !== undefined) grpcStatus = String(t['grpc-status']);
          phase = `trailers (grpc-status ${grpcStatus ?? 'none'}) but the stream never closed`;
        });
        stream.on('data', () => {});
        stream.on('error', () => {});
        stream.on('close', () => {
          cancel();
          resolve({ status, grpcStatus, reset: stream.rstCode });
        });
        // Sent in two writes at a fuzzed point, so framing across DATA frames is exercised too.
        const at = c.split % (frame.length + 1);
        stream.write(frame.subarray(0, at));
        stream.end(frame.subarray(at));
      });
      gw.takeBroken();
      if (result.status === 415 && !c.contentType.startsWith('application/grpc')) return;
      if (result.status !== 200 || result.grpcStatus === undefined) {
        throw new BrokenPromise(`gRPC call ended with HTTP ${result.status}, grpc-status ${result.grpcStatus ?? 'none'}, reset ${result.reset}`);
      }
      if (Number(result.grpcStatus) === 2) throw new BrokenPromise('grpc-status UNKNOWN: a fault, not a verdict on the request');
      if (result.grpcStatus === '0') accepted++;
    },
    async teardown() {
      session?.close();
      session = undefined;
      await gw.release();
    },
  };
}

export function networkTargets(seeds: Seeds): FuzzTarget[] {
  const gw = new FuzzGateway();
  return [httpTarget(seeds, gw), grpcTarget(seeds, gw)];
}
