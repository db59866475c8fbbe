/**
 * A flood: one pre-encoded OTLP/HTTP (or OTLP/gRPC) request posted over and over from N keep-alive connections, each
 * with one request in flight, as fast as the server answers. No per-record ids, so the client costs little
 * CPU and the server sees the intake of large, cheap-to-make requests (issue 17's RSS floods). A retryable
 * refusal (429/503, gRPC UNAVAILABLE/RESOURCE_EXHAUSTED) is sent again after the server's Retry-After (RetryInfo), at most `maxRetryWaitMs` (a pushy client:
 * the memory bound must not rest on clients backing off). Loss is checked by counts: records acknowledged
 * here against records a counting sink received.
 */
import http from 'node:http';
import { RequestTemplate, TemplateParts } from './templates.js';
import { createGrpcTransport } from './transport.js';

/** An OTLP logs request of `records` records with `bodySize`-character bodies, as the load generator makes them (~434 bytes a record at 246). */
export function floodBody(records: number, bodySize = 246): Buffer {
  const parts = new TemplateParts({ signal: 'logs', encoding: 'proto', runId: 'flood', bodySize, attributes: 4 });
  return new RequestTemplate(parts, 0, records).buf;
}

export interface FloodOptions {
  /**
   * Where to post: the full URL of the OTLP/HTTP path (e.g. http://127.0.0.1:4318/v1/logs), or
   * grpc://host:port for OTLP/gRPC (the logs service's Export, one connection per sender).
   */
  url: string;
  /** The encoded request (application/x-protobuf; an ExportLogsServiceRequest for gRPC). */
  body: Uint8Array;
  /** Records (items) in `body`. */
  records: number;
  connections: number;
  durationMs: number;
  /** Longest wait before resending a refused request, whatever its Retry-After says (default 250 ms). */
  maxRetryWaitMs?: number;
}

/**
 * What the client sent and how the server answered. Every request posted ends in exactly one of acked,
 * refused, failedByStatus or errors (no answer), so a counting sink downstream can check the server: it
 * must hold at least `ackedRecords`, and more only by what the server resent itself or by requests whose
 * answer never came (`unansweredRecords`: delivered or not, the client cannot tell).
 */
export interface FloodResult {
  /** Requests posted (every attempt, resends after a refusal included), and their records. */
  posted: number;
  postedRecords: number;
  /** Requests answered 2xx (gRPC OK), and their records. */
  acked: number;
  ackedRecords: number;
  /** Retryable refusals: HTTP 429/503, gRPC UNAVAILABLE/RESOURCE_EXHAUSTED (each resent after the wait), and their records. */
  refused: number;
  refusedRecords: number;
  /** Refusals without a delay to wait: no Retry-After seconds (HTTP), no RetryInfo (gRPC). */
  refusedWithoutRetryAfter: number;
  /** Other answers, by HTTP status or gRPC code. */
  failedByStatus: Record<number, number>;
  /** Requests that got no answer (a network error, a timeout, a reset): the server may or may not have taken them. */
  errors: number;
  unansweredRecords: number;
  elapsedMs: number;
}

/** One attempt's answer: 'ok', a retryable refusal (with its delay in ms, if the server gave one), another status, or a network error. */
type Attempt = { kind: 'ok' } | { kind: 'refused'; delayMs: number | undefined } | { kind: 'status'; status: number } | { kind: 'error' };

interface Sender {
  post(): Promise<Attempt>;
  close(): void;
}

function httpSender(o: FloodOptions): Sender {
  const url = new URL(o.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
  const headers = { 'content-type': 'application/x-protobuf', 'content-length': String(o.body.byteLength) };
  const post = (): Promise<Attempt> =>
    new Promise((resolve) => {
      const req = http.request({ hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers }, (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const retryAfter = Number(res.headers['retry-after']);
          if (status >= 200 && status < 300) resolve({ kind: 'ok' });
          else if (status === 429 || status === 503) resolve({ kind: 'refused', delayMs: Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined });
          else resolve({ kind: 'status', status });
        });
        res.on('error', () => resolve({ kind: 'error' }));
      });
      req.on('error', () => resolve({ kind: 'error' }));
      req.end(o.body);
    });
  return { post, close: () => agent.destroy() };
}

/** OTLP/gRPC through the load generator's transport, one connection per sender. */
function grpcSender(o: FloodOptions): Sender {
  const t = createGrpcTransport({
    signal: 'logs',
    encoding: 'proto',
    endpoint: o.url.replace(/^grpc:\/\//, ''),
    gzip: false,
    timeoutMs: 60_000,
    workers: o.connections,
    grpcConnections: o.connections,
    headers: {},
  });
  const body = Buffer.from(o.body.buffer, o.body.byteOffset, o.body.byteLength);
  const post = async (): Promise<Attempt> => {
    const r = await t.send(body);
    if (r.kind === 'ok') return { kind: 'ok' };
    if (r.kind === 'retry' && r.refused) return { kind: 'refused', delayMs: r.delayMs };
    return r.status === undefined ? { kind: 'error' } : { kind: 'status', status: r.status };
  };
  return { post, close: () => t.close() };
}

export async function runFlood(o: FloodOptions): Promise<FloodResult> {
  const sender = o.url.startsWith('grpc://') ? grpcSender(o) : httpSender(o);
  const maxWait = o.maxRetryWaitMs ?? 250;
  const r: FloodResult = {
    posted: 0,
    postedRecords: 0,
    acked: 0,
    ackedRecords: 0,
    refused: 0,
    refusedRecords: 0,
    refusedWithoutRetryAfter: 0,
    failedByStatus: {},
    errors: 0,
    unansweredRecords: 0,
    elapsedMs: 0,
  };
  const t0 = Date.now();
  const stopAt = t0 + o.durationMs;

  const connection = async (): Promise<void> => {
    while (Date.now() < stopAt) {
      r.posted++;
      r.postedRecords += o.records;
      const a = await sender.post();
      if (a.kind === 'ok') {
        r.acked++;
        r.ackedRecords += o.records;
      } else if (a.kind === 'refused') {
        r.refused++;
        r.refusedRecords += o.records;
        if (a.delayMs === undefined) r.refusedWithoutRetryAfter++;
        await new Promise((res) => setTimeout(res, Math.min(maxWait, a.delayMs ?? maxWait)));
      } else if (a.kind === 'error') {
        r.errors++;
        r.unansweredRecords += o.records;
      } else r.failedByStatus[a.status] = (r.failedByStatus[a.status] ?? 0) + 1;
    }
  };
  try {
    await Promise.all(Array.from({ length: o.connections }, connection));
  } finally {
    sender.close();
  }
  r.elapsedMs = Date.now() - t0;
  return r;
}
