/**
 * A discarding OTLP receiver for tests and benchmarks: OTLP/HTTP (protobuf and JSON, gzip) on node:http and
 * OTLP/gRPC on node:http2 directly (so it can open the HTTP/2 windows wide; grpc-js's server cannot).
 * It counts records and bytes per signal and, with tracking on, remembers every run's sequence numbers so a
 * load generator's acked ranges can be checked for loss and duplication. It can also misbehave on purpose:
 * refuse a fraction of requests, refuse everything for a while, or (test hooks) drop or duplicate data.
 */
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import v8 from 'node:v8';
import { GRPC_METHOD, HTTP_PATH, SIGNALS, type Signal } from '../../core/signal.js';
import { countItems } from '../../pdata/wire.js';
import { parseHostPort, type AckedFile } from '../loadgen/common.js';
import { encodeStatus } from '../../pdata/codec.js';
import { GrpcStatus, grpcStatusFromHttp } from '../../grpc/status.js';
import { frameGrpcMessage, grpcStatusHeaders, respondGrpcOk, unframeGrpcMessage } from '../../grpc/framing.js';
import { SeqTracker, type VerifyReport } from './tracker.js';
import { scanJson, scanProto, type RecordVisitor } from './walk.js';
import { governHeapGrowth } from '../../core/heap-growth.js';

export interface SinkOptions {
  /** host:port for OTLP/HTTP; false to disable. Default 127.0.0.1:0 (an ephemeral port). */
  http?: string | false;
  /** host:port for OTLP/gRPC; false to disable. Default 127.0.0.1:0. */
  grpc?: string | false;
  /** Record every run's sequence numbers for verify(). Default true. */
  track?: boolean;
  /** Fraction of requests (0..1) refused with `status`. */
  failRate?: number;
  /** HTTP status of refusals (503, 429, 400, 500); gRPC maps it. Default 503. */
  status?: number;
  /** Refuse everything for this long after start. */
  downForMs?: number;
  /** Retry-After seconds sent with 429/503 (and RetryInfo on gRPC). Default 1. */
  retryAfterSec?: number;
  /** Largest request after decompression. Default 64 MiB. */
  maxBodyBytes?: number;
  /** Answer each request this long after its body arrived (a slow downstream). Default 0. */
  replyDelayMs?: number;
  /** Serve OTLP/HTTP over TLS with this PEM certificate and key (the TLS benchmark); the gRPC side stays h2c. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Deliberate misbehaviour for tests that check the verifier. */
  testHooks?: {
    /** Accept the request holding the Nth accepted record (0-based, across the sink) but forget that record. */
    discardRecordIndex?: number;
    /** Process the Nth accepted request (0-based) twice, as if the client's retry had delivered it again. */
    duplicateRequestIndex?: number;
  };
}

export interface SignalStats {
  /** Requests accepted. */
  requests: number;
  /** Records (log records, spans, data points) accepted. */
  records: number;
  /** Request bytes as received (compressed when gzip). */
  bytes: number;
  /** Request bytes after decompression. */
  rawBytes: number;
  /** Requests refused by failure simulation. */
  refused: number;
  /** Requests rejected as malformed, too large or of an unsupported type. */
  invalid: number;
}

export interface SinkStats {
  uptimeMs: number;
  signals: Record<Signal, SignalStats>;
  totals: { requests: number; records: number; bytes: number; refused: number; invalid: number };
  /** Per run id: records received, distinct sequence numbers, extra copies. */
  runs: Record<string, { records: number; distinct: number; duplicates: number }>;
  /** Records received without a sequence attribute. */
  unsequenced: number;
}

export interface Sink {
  readonly httpPort: number;
  readonly grpcPort: number;
  /** Base URL of the HTTP endpoint, e.g. http://127.0.0.1:4318 ('' when disabled). */
  readonly httpUrl: string;
  /** host:port of the gRPC endpoint ('' when disabled). */
  readonly grpcTarget: string;
  stats(): SinkStats;
  verify(acked: ReadonlyArray<Pick<AckedFile, 'runId' | 'ackedRanges'>>): VerifyReport;
  /** Refuse everything (true) or resume (false); overrides downForMs once called. */
  setDown(down: boolean): void;
  setFailRate(rate: number): void;
  close(): Promise<void>;
}

type Encoding = 'proto' | 'json';

interface Refusal {
  status: number;
  message: string;
}

const gunzipAsync = promisify(zlib.gunzip);

const PATH_SIGNAL = new Map<string, Signal>(SIGNALS.map((s) => [HTTP_PATH[s], s]));
const GRPC_SIGNAL = new Map<string, Signal>(SIGNALS.map((s) => [GRPC_METHOD[s], s]));

function emptyStats(): SignalStats {
  return { requests: 0, records: 0, bytes: 0, rawBytes: 0, refused: 0, invalid: 0 };
}

export async function startSink(options: SinkOptions = {}): Promise<Sink> {
  const track = options.track ?? true;
  const refuseStatus = options.status ?? 503;
  const retryAfterSec = options.retryAfterSec ?? 1;
  const maxBody = options.maxBodyBytes ?? 64 * 1024 * 1024;
  const hooks = options.testHooks ?? {};
  const replyDelayMs = options.replyDelayMs ?? 0;
  /** Waits replyDelayMs before a request is decided (a slow downstream): not at all when it is 0. */
  const slow = (): Promise<void> | undefined => (replyDelayMs > 0 ? new Promise((r) => setTimeout(r, replyDelayMs)) : undefined);
  let failRate = options.failRate ?? 0;
  const startedAt = Date.now();
  let downOverride: boolean | undefined;
  const downUntil = startedAt + (options.downForMs ?? 0);

  const signals = { logs: emptyStats(), traces: emptyStats(), metrics: emptyStats() } as Record<Signal, SignalStats>;
  const tracker = new SeqTracker();
  let unsequenced = 0;
  let acceptedRecords = 0;
  let acceptedRequests = 0;

  // One visitor object for every request: no closure per request or record.
  const visitor: RecordVisitor = {
    resource(runId: string) {
      tracker.setRun(runId);
    },
    record(seq: number) {
      const index = acceptedRecords++;
      if (index === hooks.discardRecordIndex) return;
      if (seq < 0) unsequenced++;
      else tracker.mark(seq);
    },
  };
  const countOnly: RecordVisitor = {
    resource() {},
    record() {
      acceptedRecords++;
    },
  };

  function refusal(): Refusal | undefined {
    const down = downOverride ?? Date.now() < downUntil;
    if (down) return { status: refuseStatus, message: 'sink is down (failure simulation); retry later' };
    if (failRate > 0 && Math.random() < failRate) return { status: refuseStatus, message: 'request refused by failure simulation (--fail-rate); retry later' };
    return undefined;
  }

  /** Counts (and tracks) one decompressed request. Returns a refusal for malformed data. */
  function accept(signal: Signal, encoding: Encoding, body: Buffer, wireBytes: number): Refusal | undefined {
    const st = signals[signal];
    let n: number;
    const times = acceptedRequests === hooks.duplicateRequestIndex ? 2 : 1;
    try {
      n = 0;
      for (let i = 0; i < times; i++) {
        if (encoding === 'json') n = scanJson(signal, body.toString('utf8'), track ? visitor : countOnly);
        else if (track) n = scanProto(signal, body, visitor);
        else {
          n = countItems(signal, body);
          acceptedRecords += n;
        }
      }
    } catch (e) {
      st.invalid++;
      return {
        status: 400,
        message: `malformed ${encoding === 'json' ? 'OTLP/JSON' : 'protobuf'} Export${signal === 'traces' ? 'Trace' : signal === 'logs' ? 'Logs' : 'Metrics'}ServiceRequest: ${(e as Error).message}`,
      };
    }
    acceptedRequests++;
    st.requests += times;
    st.records += n * times;
    st.bytes += wireBytes;
    st.rawBytes += body.length;
    return undefined;
  }

  // ---------------- OTLP/HTTP

  function httpReply(res: http.ServerResponse, encoding: Encoding, r: Refusal | undefined): void {
    const ct = encoding === 'json' ? 'application/json' : 'application/x-protobuf';
    if (!r) {
      const body = encoding === 'json' ? Buffer.from('{}') : Buffer.alloc(0);
      res.writeHead(200, { 'content-type': ct, 'content-length': body.length });
      res.end(body);
      return;
    }
    const code = grpcStatusFromHttp(r.status);
    const retryable = r.status === 429 || r.status === 503;
    const body =
      encoding === 'json'
        ? Buffer.from(JSON.stringify({ code, message: r.message }))
        : encodeStatus('proto', code, r.message, retryable ? retryAfterSec * 1000 : undefined);
    const headers: http.OutgoingHttpHeaders = { 'content-type': ct, 'content-length': body.length };
    if (retryable) headers['retry-after'] = String(retryAfterSec);
    res.writeHead(r.status, headers);
    res.end(body);
  }

  function plain(res: http.ServerResponse, status: number, text: string, extra: http.OutgoingHttpHeaders = {}): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...extra });
    res.end(text + '\n');
  }

  const onHttpRequest: http.RequestListener = (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/stats' && (req.method === 'GET' || req.method === 'HEAD')) {
      const body = JSON.stringify(stats());
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
      return;
    }
    const signal = PATH_SIGNAL.get(path);
    if (!signal) {
      req.resume();
      return plain(res, 404, `no route for ${path}; POST to /v1/logs, /v1/traces or /v1/metrics, GET /stats`);
    }
    if (req.method !== 'POST') {
      req.resume();
      return plain(res, 405, `${req.method} not allowed on ${path}; use POST`, { allow: 'POST' });
    }
    const ctype = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const encoding: Encoding | undefined = ctype === 'application/x-protobuf' ? 'proto' : ctype === 'application/json' ? 'json' : undefined;
    if (!encoding) {
      req.resume();
      signals[signal].invalid++;
      return plain(res, 415, `unsupported content-type "${ctype}"; use application/x-protobuf or application/json`);
    }
    const cenc = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (cenc !== 'identity' && cenc !== 'gzip') {
      req.resume();
      signals[signal].invalid++;
      return httpReply(res, encoding, { status: 400, message: `unsupported content-encoding "${cenc}"; use gzip or none` });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) tooLarge = true;
      else chunks.push(c);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      void (async () => {
        await slow();
        if (tooLarge) {
          signals[signal].invalid++;
          return plain(res, 413, `request body over ${maxBody} bytes`);
        }
        // Refusals are decided before any parsing: a refused request is not seen.
        const r = refusal();
        if (r) {
          signals[signal].refused++;
          return httpReply(res, encoding, r);
        }
        let body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        if (cenc === 'gzip') {
          try {
            body = await gunzipAsync(body, { maxOutputLength: maxBody });
          } catch (e) {
            signals[signal].invalid++;
            const over = (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
            if (over) return plain(res, 413, `request body over ${maxBody} bytes after decompression`);
            return httpReply(res, encoding, { status: 400, message: `gzip body could not be decompressed: ${(e as Error).message}` });
          }
        }
        httpReply(res, encoding, accept(signal, encoding, body, size));
      })();
    });
  };
  const httpServer: http.Server = options.tls
    ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, onHttpRequest)
    : http.createServer(onHttpRequest);
  // Longer than any client's idle keep-alive, so the server never closes a socket a client is reusing.
  httpServer.keepAliveTimeout = 120_000;
  httpServer.headersTimeout = 125_000;
  httpServer.requestTimeout = 0;

  // ---------------- OTLP/gRPC on node:http2

  const sessions = new Set<http2.Http2Session>();
  const grpcServer = http2.createServer({
    settings: { initialWindowSize: 16 * 1024 * 1024, maxConcurrentStreams: 1000, maxFrameSize: 1024 * 1024 },
    maxSessionMemory: 512,
  });
  grpcServer.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => {});
    // The connection window: the initialWindowSize setting covers streams only.
    session.once('localSettings', () => {
      try {
        session.setLocalWindowSize(64 * 1024 * 1024);
      } catch {
        /* session already closing */
      }
    });
  });

  function grpcFail(stream: http2.ServerHttp2Stream, code: number, message: string, retryDelayMs?: number): void {
    if (stream.destroyed || stream.headersSent) return;
    stream.respond(grpcStatusHeaders(code, message, retryDelayMs), { endStream: true });
  }

  const EMPTY_MESSAGE = frameGrpcMessage(new Uint8Array(0));

  grpcServer.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const path = String(headers[':path'] ?? '');
    const signal = GRPC_SIGNAL.get(path);
    if (!signal) {
      stream.resume();
      return grpcFail(stream, GrpcStatus.UNIMPLEMENTED, `unknown method ${path}`);
    }
    const ctype = String(headers['content-type'] ?? '');
    if (!ctype.startsWith('application/grpc')) {
      stream.resume();
      return grpcFail(stream, GrpcStatus.INVALID_ARGUMENT, `content-type must be application/grpc, got "${ctype}"`);
    }
    const grpcEncoding = String(headers['grpc-encoding'] ?? 'identity');
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody + 5) tooLarge = true;
      else chunks.push(c);
    });
    stream.on('end', () => {
      void (async () => {
        await slow();
        if (tooLarge) {
          signals[signal].invalid++;
          return grpcFail(stream, GrpcStatus.RESOURCE_EXHAUSTED, `request over ${maxBody} bytes`);
        }
        const r = refusal();
        if (r) {
          signals[signal].refused++;
          const retryable = r.status === 429 || r.status === 503;
          return grpcFail(stream, grpcStatusFromHttp(r.status), r.message, retryable ? retryAfterSec * 1000 : undefined);
        }
        const request = unframeGrpcMessage(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
        if (request === undefined) {
          signals[signal].invalid++;
          return grpcFail(stream, GrpcStatus.INVALID_ARGUMENT, 'expected exactly one length-prefixed gRPC message');
        }
        let body = request.message;
        if (request.compressed) {
          if (grpcEncoding !== 'gzip') {
            signals[signal].invalid++;
            return grpcFail(stream, GrpcStatus.UNIMPLEMENTED, `unsupported grpc-encoding "${grpcEncoding}"; use gzip or identity`);
          }
          try {
            body = await gunzipAsync(body, { maxOutputLength: maxBody });
          } catch (e) {
            signals[signal].invalid++;
            return grpcFail(stream, GrpcStatus.INVALID_ARGUMENT, `gzip message could not be decompressed: ${(e as Error).message}`);
          }
        }
        const bad = accept(signal, 'proto', body, size);
        if (bad) return grpcFail(stream, grpcStatusFromHttp(bad.status), bad.message);
        if (stream.destroyed) return;
        respondGrpcOk(stream, EMPTY_MESSAGE);
      })();
    });
  });

  // ---------------- lifecycle

  async function listen(server: http.Server | http2.Http2Server, flag: string, addr: string): Promise<number> {
    const { host, port } = parseHostPort(flag, addr);
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => reject(new Error(`--${flag} ${addr}: cannot listen (${e.message})`));
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  const httpAddr = options.http === undefined ? '127.0.0.1:0' : options.http;
  const grpcAddr = options.grpc === undefined ? '127.0.0.1:0' : options.grpc;
  let httpPort = 0;
  let grpcPort = 0;
  try {
    if (httpAddr !== false) httpPort = await listen(httpServer, 'http', httpAddr);
    if (grpcAddr !== false) grpcPort = await listen(grpcServer, 'grpc', grpcAddr);
  } catch (e) {
    httpServer.close();
    grpcServer.close();
    throw e;
  }
  // The sink moves bodies at hundreds of MB/s with a small JS heap: the gateway's GC pathology (full GCs
  // forced by Buffer churn, src/core/heap-growth.ts), measured at half the sink's busy time without this.
  const releaseHeapGrowth = governHeapGrowth(httpServer, () => v8.getHeapStatistics().heap_size_limit);
  const hostOf = (a: string | false): string => (a === false ? '' : parseHostPort('x', a).host);
  const urlHost = (h: string): string => (h.includes(':') ? `[${h}]` : h === '0.0.0.0' ? '127.0.0.1' : h);

  function stats(): SinkStats {
    const totals = { requests: 0, records: 0, bytes: 0, refused: 0, invalid: 0 };
    for (const s of SIGNALS) {
      totals.requests += signals[s].requests;
      totals.records += signals[s].records;
      totals.bytes += signals[s].bytes;
      totals.refused += signals[s].refused;
      totals.invalid += signals[s].invalid;
    }
    const runs: SinkStats['runs'] = {};
    for (const [id, r] of tracker.runs) runs[id] = { records: r.records, distinct: r.distinct, duplicates: r.duplicates };
    return {
      uptimeMs: Date.now() - startedAt,
      signals: { logs: { ...signals.logs }, traces: { ...signals.traces }, metrics: { ...signals.metrics } },
      totals,
      runs,
      unsequenced,
    };
  }

  let closed: Promise<void> | undefined;
  return {
    httpPort,
    grpcPort,
    httpUrl: httpAddr === false ? '' : `${options.tls ? 'https' : 'http'}://${urlHost(hostOf(httpAddr))}:${httpPort}`,
    grpcTarget: grpcAddr === false ? '' : `${urlHost(hostOf(grpcAddr))}:${grpcPort}`,
    stats,
    verify: (acked) => tracker.verify(acked),
    setDown(down: boolean) {
      downOverride = down;
    },
    setFailRate(rate: number) {
      failRate = rate;
    },
    close() {
      closed ??= (async () => {
        const waits: Array<Promise<void>> = [];
        if (httpAddr !== false) {
          waits.push(new Promise((r) => httpServer.close(() => r())));
          httpServer.closeAllConnections();
        }
        if (grpcAddr !== false) {
          waits.push(new Promise((r) => grpcServer.close(() => r())));
          for (const s of sessions) s.destroy();
        }
        await Promise.all(waits);
        releaseHeapGrowth();
      })();
      return closed;
    },
  };
}
