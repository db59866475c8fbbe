/**
 * Small real servers and hand-built requests for exporter and processor tests: a node:http OTLP/HTTP
 * endpoint, a raw node:http2 gRPC endpoint (so tests see the wire: frame flags, grpc-encoding, trailers)
 * and a grpc-js server with identity serializers. Requests are built with the protobuf wire writer, so
 * these helpers depend on nothing the gateway itself implements.
 */
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { Logger, type LogSink } from '../../src/telemetry/logger.js';
import { Telemetry } from '../../src/telemetry/telemetry.js';
import { parseComponentId, type ComponentKind, type CreateSettings } from '../../src/core/component.js';
import type { Consumer } from '../../src/core/consumer.js';
import { QueueFillRegistry } from '../../src/exporterhelper/fill.js';
import { PressureSlot } from '../../src/somatic/slot.js';
import type { Payload } from '../../src/pdata/payload.js';
import { codingOf, decompress } from '../../src/compression/index.js';

// ---------------------------------------------------------------------------------------------------
// Requests

/** An ExportLogsServiceRequest with `resources` ResourceLogs, each with one ScopeLogs of `records` records. */
export function makeLogsRequest(resources: number, records: number, tag = 'r'): Uint8Array {
  const w = new BinaryWriter();
  for (let r = 0; r < resources; r++) {
    w.tag(1, WireType.LengthDelimited).fork(); // ResourceLogs
    w.tag(1, WireType.LengthDelimited).fork(); // Resource
    writeKv(w, 1, 'service.name', `${tag}-svc-${r}`);
    w.join();
    w.tag(2, WireType.LengthDelimited).fork(); // ScopeLogs
    w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string('test-scope').join();
    for (let i = 0; i < records; i++) {
      w.tag(2, WireType.LengthDelimited).fork(); // LogRecord
      w.tag(1, WireType.Bit64).fixed64(1_700_000_000_000_000_000n + BigInt(i));
      w.tag(2, WireType.Varint).int32(9);
      w.tag(3, WireType.LengthDelimited).string('INFO');
      w.tag(5, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(`${tag} log ${r}.${i}`).join();
      writeKv(w, 6, 'i', i);
      w.join();
    }
    w.join();
    w.join();
  }
  return w.finish();
}

/** An ExportTraceServiceRequest with one resource and `spans` spans. */
export function makeTracesRequest(spans: number, tag = 's'): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).fork(); // ResourceSpans
  w.tag(1, WireType.LengthDelimited).fork();
  writeKv(w, 1, 'service.name', `${tag}-svc`);
  w.join();
  w.tag(2, WireType.LengthDelimited).fork(); // ScopeSpans
  for (let i = 0; i < spans; i++) {
    w.tag(2, WireType.LengthDelimited).fork(); // Span
    w.tag(1, WireType.LengthDelimited).bytes(new Uint8Array(16).fill(i + 1));
    w.tag(2, WireType.LengthDelimited).bytes(new Uint8Array(8).fill(i + 1));
    w.tag(5, WireType.LengthDelimited).string(`${tag}-span-${i}`);
    w.tag(6, WireType.Varint).int32(2);
    w.tag(7, WireType.Bit64).fixed64(1_700_000_000_000_000_000n);
    w.tag(8, WireType.Bit64).fixed64(1_700_000_000_001_000_000n);
    w.join();
  }
  w.join();
  w.join();
  return w.finish();
}

/** An ExportMetricsServiceRequest with one gauge metric holding `points` int data points. */
export function makeMetricsRequest(points: number, tag = 'm'): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).fork(); // ResourceMetrics
  w.tag(1, WireType.LengthDelimited).fork();
  writeKv(w, 1, 'service.name', `${tag}-svc`);
  w.join();
  w.tag(2, WireType.LengthDelimited).fork(); // ScopeMetrics
  w.tag(2, WireType.LengthDelimited).fork(); // Metric
  w.tag(1, WireType.LengthDelimited).string(`${tag}.gauge`);
  w.tag(5, WireType.LengthDelimited).fork(); // Gauge
  for (let i = 0; i < points; i++) {
    w.tag(1, WireType.LengthDelimited).fork(); // NumberDataPoint
    w.tag(3, WireType.Bit64).fixed64(1_700_000_000_000_000_000n);
    w.tag(6, WireType.Bit64).sfixed64(i * 10);
    w.join();
  }
  w.join();
  w.join();
  w.join();
  w.join();
  return w.finish();
}

function writeKv(w: BinaryWriter, field: number, key: string, value: string | number): void {
  w.tag(field, WireType.LengthDelimited).fork();
  w.tag(1, WireType.LengthDelimited).string(key);
  w.tag(2, WireType.LengthDelimited).fork();
  if (typeof value === 'string') w.tag(1, WireType.LengthDelimited).string(value);
  else w.tag(3, WireType.Varint).int64(value);
  w.join();
  w.join();
}

/** A google.rpc.Status, protobuf-encoded by hand, with a RetryInfo detail when retryDelayMs is given. */
export function makeStatusProto(code: number, message: string, retryDelayMs?: number): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.Varint).int32(code);
  w.tag(2, WireType.LengthDelimited).string(message);
  if (retryDelayMs !== undefined) {
    const ri = new BinaryWriter();
    ri.tag(1, WireType.LengthDelimited).fork(); // Duration
    ri.tag(1, WireType.Varint).int64(Math.floor(retryDelayMs / 1000));
    ri.tag(2, WireType.Varint).int32((retryDelayMs % 1000) * 1_000_000);
    ri.join();
    w.tag(3, WireType.LengthDelimited).fork(); // Any
    w.tag(1, WireType.LengthDelimited).string('type.googleapis.com/google.rpc.RetryInfo');
    w.tag(2, WireType.LengthDelimited).bytes(ri.finish());
    w.join();
  }
  return w.finish();
}

/** An Export*ServiceResponse with partial_success {rejected (field 1), error_message (field 2)}. */
export function makePartialSuccessResponse(rejected: number, message: string): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).fork();
  w.tag(1, WireType.Varint).int64(rejected);
  w.tag(2, WireType.LengthDelimited).string(message);
  w.join();
  return w.finish();
}

// ---------------------------------------------------------------------------------------------------
// OTLP/HTTP server

export interface CapturedHttpRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The body as sent (possibly compressed). */
  raw: Buffer;
  /** The body after Content-Encoding was undone. */
  body: Buffer;
}

export interface HttpReply {
  status: number;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** Wait this long before answering (timeout tests). */
  delayMs?: number;
  /** Close the connection instead of answering, after the body was read (a lost answer). */
  drop?: boolean;
}

export interface TestHttpServer {
  url: string;
  port: number;
  requests: CapturedHttpRequest[];
  /** Decides each reply; defaults to an empty 200 protobuf response. */
  reply: (req: CapturedHttpRequest) => HttpReply;
  close(): Promise<void>;
}

export async function startHttpServer(): Promise<TestHttpServer> {
  const state: TestHttpServer = {
    url: '',
    port: 0,
    requests: [],
    reply: () => ({ status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(0) }),
    close: async () => {},
  };
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks);
      const coding = codingOf(req.headers['content-encoding']);
      const body = coding === undefined || coding === 'identity' ? raw : await decompress(coding, raw, 1 << 30);
      const captured: CapturedHttpRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw, body };
      state.requests.push(captured);
      const r = state.reply(captured);
      if (r.drop) {
        req.socket.destroy();
        return;
      }
      const send = () => {
        res.writeHead(r.status, r.headers ?? {});
        res.end(r.body === undefined ? undefined : typeof r.body === 'string' ? r.body : Buffer.from(r.body));
      };
      if (r.delayMs) {
        const t = setTimeout(() => {
          timers.delete(t);
          send();
        }, r.delayMs);
        timers.add(t);
      } else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  state.close = async () => {
    for (const t of timers) clearTimeout(t);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}

// ---------------------------------------------------------------------------------------------------
// Raw gRPC server on node:http2

export interface CapturedGrpcRequest {
  path: string;
  headers: http2.IncomingHttpHeaders;
  /** The compressed-flag byte of the (single) message frame. */
  compressed: boolean;
  /** The message after grpc-encoding was undone. */
  message: Buffer;
}

export interface GrpcReply {
  /** grpc-status; 0 = OK. */
  code: number;
  message?: string;
  /** The response message for OK (defaults to an empty Export response). */
  response?: Uint8Array;
  /** google.rpc.Status bytes sent as grpc-status-details-bin. */
  details?: Uint8Array;
  delayMs?: number;
  /**
   * Compresses the OK response message (compressed flag 1, `grpc-encoding` set), as grpc-go does in the
   * request's encoding; `encoding` is the header sent (an unknown one tests the client's refusal to guess).
   */
  compressResponse?: { encoding: string; split?: boolean };
}

export interface TestGrpcServer {
  /** host:port */
  endpoint: string;
  requests: CapturedGrpcRequest[];
  reply: (req: CapturedGrpcRequest) => GrpcReply;
  close(): Promise<void>;
}

/** gRPC's grpc-message encoding: percent-encode '%' and bytes outside printable ASCII only. */
function grpcPercentEncode(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8'))
    out += b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
  return out;
}

/** Parses the gRPC length-prefixed frames of a request body (unary: exactly one). */
function parseGrpcFrame(buf: Buffer): { compressed: boolean; data: Buffer } {
  if (buf.length < 5) throw new Error(`gRPC body of ${buf.length} bytes has no frame header`);
  const len = buf.readUInt32BE(1);
  if (buf.length !== 5 + len) throw new Error(`gRPC frame length ${len} does not match body ${buf.length - 5}`);
  return { compressed: buf[0] === 1, data: buf.subarray(5) };
}

/** A raw gRPC server on host:port (default 127.0.0.1 and an ephemeral port). */
export async function startRawGrpcServer(listen: { host?: string; port?: number } = {}): Promise<TestGrpcServer> {
  const state: TestGrpcServer = {
    endpoint: '',
    requests: [],
    reply: () => ({ code: 0 }),
    close: async () => {},
  };
  const timers = new Set<NodeJS.Timeout>();
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => {});
    stream.on('end', async () => {
      const frame = parseGrpcFrame(Buffer.concat(chunks));
      const coding = codingOf(headers['grpc-encoding'] as string | undefined);
      const message = frame.compressed && coding !== undefined && coding !== 'identity' ? await decompress(coding, frame.data, 1 << 30) : frame.data;
      const captured: CapturedGrpcRequest = { path: String(headers[':path']), headers, compressed: frame.compressed, message };
      state.requests.push(captured);
      const r = state.reply(captured);
      const send = () => {
        if (stream.destroyed) return;
        if (r.code !== 0) {
          // Trailers-only response, as servers send for errors.
          const h: http2.OutgoingHttpHeaders = {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': String(r.code),
            'grpc-message': grpcPercentEncode(r.message ?? ''),
          };
          if (r.details) h['grpc-status-details-bin'] = Buffer.from(r.details).toString('base64').replace(/=+$/, '');
          stream.respond(h, { endStream: true });
          return;
        }
        const plain = Buffer.from(r.response ?? new Uint8Array(0));
        const cr = r.compressResponse;
        const resp = !cr ? plain : cr.encoding === 'deflate' ? zlib.deflateSync(plain) : zlib.gzipSync(plain);
        const out = Buffer.allocUnsafe(5 + resp.length);
        out[0] = cr ? 1 : 0;
        out.writeUInt32BE(resp.length, 1);
        resp.copy(out, 5);
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...(cr ? { 'grpc-encoding': cr.encoding } : {}) }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        if (cr?.split) {
          // The message in two DATA frames: a client must join them before reading the prefix.
          stream.write(out.subarray(0, 3));
          stream.end(out.subarray(3));
        } else stream.end(out);
      };
      if (r.delayMs) {
        const t = setTimeout(() => {
          timers.delete(t);
          send();
        }, r.delayMs);
        timers.add(t);
      } else send();
    });
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  const host = listen.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port ?? 0, host, resolve);
  });
  state.endpoint = `${host}:${(server.address() as AddressInfo).port}`;
  state.close = async () => {
    for (const t of timers) clearTimeout(t);
    for (const s of sessions) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}

// ---------------------------------------------------------------------------------------------------
// grpc-js server with identity serializers

const identity = (b: Buffer) => b;

/** A grpc-js server serving `method` paths; `handle` returns the response bytes or a ServiceError-like object. */
export async function startGrpcJsServer(
  methods: readonly string[],
  handle: (path: string, body: Buffer, metadata: grpc.Metadata) => Uint8Array | Partial<grpc.StatusObject>,
): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = new grpc.Server();
  for (const path of methods) {
    const def: grpc.ServiceDefinition = {
      Export: {
        path,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    };
    server.addService(def, {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const out = handle(path, call.request, call.metadata);
        if (out instanceof Uint8Array) cb(null, Buffer.from(out));
        else cb(out as grpc.ServerErrorResponse);
      },
    });
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    endpoint: `127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

// ---------------------------------------------------------------------------------------------------
// Component settings for tests

/** What a service hands every component besides its ID and logger, fresh: no somatic processor has provided pressure. */
export function serviceCapabilities(telemetry: Telemetry): Pick<CreateSettings, 'telemetry' | 'pressure' | 'queueFills'> {
  const queueFills = new QueueFillRegistry();
  return { telemetry, pressure: new PressureSlot(telemetry, queueFills.fullest), queueFills };
}

/** Settings with a fresh Telemetry and a logger whose JSON lines are kept in `logs` (call telemetry.close()). */
export function testSettings(id: string, kind: ComponentKind = 'exporter'): CreateSettings & { logs: Record<string, unknown>[] } {
  const logs: Record<string, unknown>[] = [];
  const sink: LogSink = { write: (line) => void logs.push(JSON.parse(line) as Record<string, unknown>) };
  return { id: parseComponentId(id)!, kind, logger: new Logger('debug', {}, sink), ...serviceCapabilities(new Telemetry()), logs };
}

/** The value of a counter for the given labels (0 when never incremented). */
export async function counterValue(telemetry: Telemetry, name: string, labels: Record<string, string>): Promise<number> {
  const m = telemetry.registry.getSingleMetric(name);
  if (!m) throw new Error(`no metric ${name}`);
  const data = await m.get();
  const v = data.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

/** The next stage of a processor under test: keeps every payload it is given and accepts it. */
export class RecordingConsumer implements Consumer {
  readonly got: Payload[] = [];
  consume(p: Payload): Promise<void> {
    this.got.push(p);
    return Promise.resolve();
  }
}
