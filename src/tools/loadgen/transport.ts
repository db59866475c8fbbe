/**
 * The load generator's senders: OTLP/HTTP over node:http(s) with a keep-alive agent, and OTLP/gRPC over
 * @grpc/grpc-js with identity (Buffer) serializers. Each turns one response into an Outcome the retry loop
 * understands, the way an OpenTelemetry SDK exporter would classify it.
 */
import http from 'node:http';
import https from 'node:https';
import * as grpc from '@grpc/grpc-js';
import { GRPC_METHOD, HTTP_PATH, type Signal } from '../../core/signal.js';
import { decodeRejectedProto, decodeRpcStatus, GrpcCode } from './common.js';
import type { Encoding } from './templates.js';

export type Outcome =
  | { kind: 'ok'; rejected: number; message: string }
  /** refused: the server answered with a retryable refusal (as opposed to a network error or timeout). */
  | { kind: 'retry'; refused: boolean; delayMs: number | undefined; reason: string }
  | { kind: 'fail'; reason: string };

export interface Transport {
  /** Sends one encoded (and, for HTTP with gzip, already compressed) request. Never rejects. */
  send(body: Buffer): Promise<Outcome>;
  close(): void;
}

export interface TransportOptions {
  signal: Signal;
  encoding: Encoding;
  endpoint: string;
  gzip: boolean;
  timeoutMs: number;
  /** Concurrent requests: sizes the HTTP agent and the number of gRPC connections. */
  workers: number;
  headers: Record<string, string>;
}

const RETRYABLE_HTTP = new Set([429, 502, 503, 504]);

/** Parses Retry-After: delay-seconds or an HTTP-date. */
export function parseRetryAfter(value: string | undefined, nowMs = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - nowMs);
}

function rejectedFromJson(text: string): { rejected: number; message: string } {
  if (!text.trim()) return { rejected: 0, message: '' };
  try {
    const o = JSON.parse(text) as { partialSuccess?: Record<string, unknown> };
    const p = o.partialSuccess;
    if (!p) return { rejected: 0, message: '' };
    const r = p.rejectedLogRecords ?? p.rejectedSpans ?? p.rejectedDataPoints ?? 0;
    return { rejected: Number(r) || 0, message: typeof p.errorMessage === 'string' ? p.errorMessage : '' };
  } catch {
    return { rejected: 0, message: '' };
  }
}

function statusFromBody(encoding: Encoding, body: Buffer): { message: string; retryDelayMs?: number } {
  if (encoding === 'json') {
    try {
      const o = JSON.parse(body.toString('utf8')) as { message?: unknown; details?: Array<Record<string, unknown>> };
      const d = o.details?.find((x) => String(x['@type'] ?? '').endsWith('google.rpc.RetryInfo'));
      const delay = d && typeof d.retryDelay === 'string' ? parseFloat(d.retryDelay) * 1000 : undefined;
      return { message: typeof o.message === 'string' ? o.message : body.toString('utf8').slice(0, 200), ...(delay !== undefined && !Number.isNaN(delay) ? { retryDelayMs: delay } : {}) };
    } catch {
      return { message: body.toString('utf8').slice(0, 200) };
    }
  }
  const st = decodeRpcStatus(body);
  if (st) return st.retryDelayMs === undefined ? { message: st.message } : { message: st.message, retryDelayMs: st.retryDelayMs };
  return { message: body.toString('utf8').replace(/[^\x20-\x7e]/g, '').slice(0, 200) };
}

export function createHttpTransport(opts: TransportOptions): Transport {
  let base = opts.endpoint.trim();
  if (!/^https?:\/\//i.test(base)) base = `http://${base}`;
  const url = new URL(base);
  const signalPath = HTTP_PATH[opts.signal];
  // Like OTEL_EXPORTER_OTLP_ENDPOINT: a base URL gets /v1/<signal> appended; a full signal path is kept.
  const path = url.pathname.endsWith(signalPath) ? url.pathname : url.pathname.replace(/\/$/, '') + signalPath;
  const secure = url.protocol === 'https:';
  const mod = secure ? https : http;
  const agent = new mod.Agent({ keepAlive: true, maxSockets: opts.workers, maxFreeSockets: opts.workers });
  const contentType = opts.encoding === 'json' ? 'application/json' : 'application/x-protobuf';
  const baseHeaders: Record<string, string> = { ...opts.headers, 'content-type': contentType };
  if (opts.gzip) baseHeaders['content-encoding'] = 'gzip';
  const port = url.port ? Number(url.port) : secure ? 443 : 80;
  const hostname = url.hostname.replace(/^\[|\]$/g, '');

  function send(body: Buffer): Promise<Outcome> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (o: Outcome): void => {
        if (!done) {
          done = true;
          resolve(o);
        }
      };
      const req = mod.request(
        { agent, method: 'POST', hostname, port, path, headers: { ...baseHeaders, 'content-length': String(body.length) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => finish({ kind: 'retry', refused: false, delayMs: undefined, reason: `response: ${e.message}` }));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const rb = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
            if (status >= 200 && status < 300) {
              const r = opts.encoding === 'json' ? rejectedFromJson(rb.toString('utf8')) : decodeRejectedProto(rb);
              finish({ kind: 'ok', rejected: r.rejected, message: 'errorMessage' in r ? r.errorMessage : r.message });
              return;
            }
            const st = statusFromBody(opts.encoding, rb);
            const reason = `HTTP ${status}${st.message ? `: ${st.message}` : ''}`;
            if (RETRYABLE_HTTP.has(status)) {
              const header = res.headers['retry-after'];
              finish({ kind: 'retry', refused: true, delayMs: parseRetryAfter(Array.isArray(header) ? header[0] : header) ?? st.retryDelayMs, reason });
            } else {
              finish({ kind: 'fail', reason });
            }
          });
        },
      );
      req.setTimeout(opts.timeoutMs, () => req.destroy(new Error(`no response within ${opts.timeoutMs} ms`)));
      req.on('error', (e) => finish({ kind: 'retry', refused: false, delayMs: undefined, reason: e.message }));
      req.end(body);
    });
  }

  return { send, close: () => agent.destroy() };
}

const RETRYABLE_GRPC = new Set<number>([
  GrpcCode.CANCELLED,
  GrpcCode.DEADLINE_EXCEEDED,
  GrpcCode.ABORTED,
  GrpcCode.OUT_OF_RANGE,
  GrpcCode.UNAVAILABLE,
  GrpcCode.DATA_LOSS,
]);

const identity = (b: Buffer): Buffer => b;

export function createGrpcTransport(opts: TransportOptions): Transport {
  const target = opts.endpoint.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  const secure = /^https:\/\//i.test(opts.endpoint.trim());
  const connections = Math.max(1, Math.min(opts.workers, 4));
  const channelOptions: grpc.ChannelOptions = {
    // The default 64 KiB HTTP/2 window caps a connection at a few hundred MB/s of large requests.
    'grpc-node.flow_control_window': 32 * 1024 * 1024,
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
    // Separate connections per client, so requests spread over several TCP streams.
    'grpc.use_local_subchannel_pool': 1,
    'grpc.enable_retries': 0,
  };
  if (opts.gzip) channelOptions['grpc.default_compression_algorithm'] = 2; // gzip
  const creds = secure ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
  const clients = Array.from({ length: connections }, () => new grpc.Client(target, creds, channelOptions));
  const method = GRPC_METHOD[opts.signal];
  let next = 0;

  function send(body: Buffer): Promise<Outcome> {
    const client = clients[next++ % clients.length]!;
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(opts.headers)) md.set(k.toLowerCase(), v);
    return new Promise((resolve) => {
      client.makeUnaryRequest<Buffer, Buffer>(method, identity, identity, body, md, { deadline: Date.now() + opts.timeoutMs }, (err, value) => {
        if (!err) {
          const r = value && value.length ? decodeRejectedProto(value) : { rejected: 0, errorMessage: '' };
          resolve({ kind: 'ok', rejected: r.rejected, message: r.errorMessage });
          return;
        }
        const code = err.code ?? GrpcCode.UNKNOWN;
        const detailsBin = err.metadata?.get('grpc-status-details-bin')[0];
        const st = detailsBin instanceof Buffer ? decodeRpcStatus(detailsBin) : undefined;
        const reason = `gRPC ${grpc.status[code] ?? code}: ${err.details}`;
        // A refusal the server sent, as opposed to grpc-js reporting a failed connection as UNAVAILABLE.
        const refused = (code === GrpcCode.UNAVAILABLE || code === GrpcCode.RESOURCE_EXHAUSTED) && !/no connection|connect|ECONN/i.test(err.details ?? '');
        if (RETRYABLE_GRPC.has(code) || (code === GrpcCode.RESOURCE_EXHAUSTED && st?.retryDelayMs !== undefined)) {
          resolve({ kind: 'retry', refused, delayMs: st?.retryDelayMs, reason });
        } else {
          resolve({ kind: 'fail', reason });
        }
      });
    });
  }

  return { send, close: () => clients.forEach((c) => c.close()) };
}
