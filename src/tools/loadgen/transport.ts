/**
 * The load generator's senders: OTLP/HTTP over node:http(s) with a keep-alive agent, and OTLP/gRPC over
 * @grpc/grpc-js with identity (Buffer) serializers. Each turns one response into an Outcome the retry loop
 * understands, the way an OpenTelemetry SDK exporter would classify it.
 */
import http from 'node:http';
import https from 'node:https';
import * as grpc from '@grpc/grpc-js';
import { GRPC_METHOD, HTTP_PATH, type Signal } from '../../core/signal.js';
import { decodeExportResponsePartial, decodeStatus } from '../../pdata/codec.js';
import { GrpcStatus } from '../../grpc/status.js';
import type { Encoding } from './templates.js';

export type Outcome =
  | { kind: 'ok'; rejected: number; message: string }
  /**
   * refused: the server answered with a retryable refusal (as opposed to a network error or timeout).
   * status: the HTTP status or gRPC code the server answered with (absent for a network error).
   */
  | { kind: 'retry'; refused: boolean; delayMs: number | undefined; reason: string; status?: number }
  | { kind: 'fail'; reason: string; status?: number };

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
  /** Concurrent requests: sizes the HTTP agent and the number of gRPC connections (at most 4 of them). */
  workers: number;
  /** gRPC connections, overriding the count `workers` gives (a flood opens one per sender). */
  grpcConnections?: number;
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

/** A body that is not a google.rpc.Status is quoted as text, so the reason still says something. */
function statusFromBody(encoding: Encoding, body: Buffer): { message: string; retryDelayMs?: number } {
  const st = decodeStatus(encoding === 'json' ? 'json' : 'proto', body);
  if (st) return st.retryDelayMs === undefined ? { message: st.message } : { message: st.message, retryDelayMs: st.retryDelayMs };
  return {
    message: body
      .toString('utf8')
      .replace(/[^\x20-\x7e]/g, '')
      .slice(0, 200),
  };
}

function partialOf(signal: Signal, encoding: 'json' | 'proto', body: Uint8Array): { rejected: number; errorMessage: string } {
  return decodeExportResponsePartial(signal, encoding, body) ?? { rejected: 0, errorMessage: '' };
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
      const req = mod.request({ agent, method: 'POST', hostname, port, path, headers: { ...baseHeaders, 'content-length': String(body.length) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => finish({ kind: 'retry', refused: false, delayMs: undefined, reason: `response: ${e.message}` }));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const rb = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          if (status >= 200 && status < 300) {
            const r = partialOf(opts.signal, opts.encoding === 'json' ? 'json' : 'proto', rb);
            finish({ kind: 'ok', rejected: r.rejected, message: r.errorMessage });
            return;
          }
          const st = statusFromBody(opts.encoding, rb);
          const reason = `HTTP ${status}${st.message ? `: ${st.message}` : ''}`;
          if (RETRYABLE_HTTP.has(status)) {
            const header = res.headers['retry-after'];
            finish({ kind: 'retry', refused: true, delayMs: parseRetryAfter(Array.isArray(header) ? header[0] : header) ?? st.retryDelayMs, reason, status });
          } else {
            finish({ kind: 'fail', reason, status });
          }
        });
      });
      req.setTimeout(opts.timeoutMs, () => req.destroy(new Error(`no response within ${opts.timeoutMs} ms`)));
      req.on('error', (e) => finish({ kind: 'retry', refused: false, delayMs: undefined, reason: e.message }));
      req.end(body);
    });
  }

  return { send, close: () => agent.destroy() };
}

const RETRYABLE_GRPC = new Set<number>([
  GrpcStatus.CANCELLED,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.ABORTED,
  GrpcStatus.OUT_OF_RANGE,
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DATA_LOSS,
]);

const identity = (b: Buffer): Buffer => b;

export function createGrpcTransport(opts: TransportOptions): Transport {
  const target = opts.endpoint
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '');
  const secure = /^https:\/\//i.test(opts.endpoint.trim());
  const connections = opts.grpcConnections ?? Math.max(1, Math.min(opts.workers, 4));
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
          const r = partialOf(opts.signal, 'proto', value ?? new Uint8Array(0));
          resolve({ kind: 'ok', rejected: r.rejected, message: r.errorMessage });
          return;
        }
        const code = err.code ?? GrpcStatus.UNKNOWN;
        const detailsBin = err.metadata?.get('grpc-status-details-bin')[0];
        const st = detailsBin instanceof Buffer ? decodeStatus('proto', detailsBin) : undefined;
        const reason = `gRPC ${grpc.status[code] ?? code}: ${err.details}`;
        // A refusal the server sent, as opposed to grpc-js reporting a failed connection as UNAVAILABLE.
        const refused = (code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.RESOURCE_EXHAUSTED) && !/no connection|connect|ECONN/i.test(err.details ?? '');
        if (RETRYABLE_GRPC.has(code) || (code === GrpcStatus.RESOURCE_EXHAUSTED && st?.retryDelayMs !== undefined)) {
          resolve({ kind: 'retry', refused, delayMs: st?.retryDelayMs, reason, ...(refused ? { status: code } : {}) });
        } else {
          resolve({ kind: 'fail', reason, status: code });
        }
      });
    });
  }

  return { send, close: () => clients.forEach((c) => c.close()) };
}
