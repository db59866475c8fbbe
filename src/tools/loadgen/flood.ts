/**
 * A flood: one pre-encoded OTLP/HTTP request posted over and over from N keep-alive connections, each
 * with one request in flight, as fast as the server answers. No per-record ids, so the client costs little
 * CPU and the server sees the intake of large, cheap-to-make requests (issue 17's RSS floods). A retryable
 * refusal (429/503) is sent again after the server's Retry-After, at most `maxRetryWaitMs` (a pushy client:
 * the memory bound must not rest on clients backing off). Loss is checked by counts: records acknowledged
 * here against records a counting sink received.
 */
import http from 'node:http';
import { RequestTemplate, TemplateParts } from './templates.js';

/** An OTLP logs request of `records` records with `bodySize`-character bodies, as the load generator makes them (~434 bytes a record at 246). */
export function floodBody(records: number, bodySize = 246): Buffer {
  const parts = new TemplateParts({ signal: 'logs', encoding: 'proto', runId: 'flood', bodySize, attributes: 4 });
  return new RequestTemplate(parts, 0, records).buf;
}

export interface FloodOptions {
  /** Full URL of the OTLP/HTTP path, e.g. http://127.0.0.1:4318/v1/logs. */
  url: string;
  /** The encoded request (application/x-protobuf). */
  body: Uint8Array;
  /** Records (items) in `body`. */
  records: number;
  connections: number;
  durationMs: number;
  /** Longest wait before resending a refused request, whatever its Retry-After says (default 250 ms). */
  maxRetryWaitMs?: number;
}

export interface FloodResult {
  /** Requests answered 2xx, and their records. */
  acked: number;
  ackedRecords: number;
  /** Answers 429/503 (each resent after the wait). */
  refused: number;
  /** Refusals whose Retry-After header was missing or not a number of seconds. */
  refusedWithoutRetryAfter: number;
  /** Answers other than 2xx, 429 and 503 (by status). */
  failedByStatus: Record<number, number>;
  /** Requests that ended in a network error: the server may or may not have taken them. */
  errors: number;
  elapsedMs: number;
}

export async function runFlood(o: FloodOptions): Promise<FloodResult> {
  const url = new URL(o.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
  const headers = { 'content-type': 'application/x-protobuf', 'content-length': String(o.body.byteLength) };
  const maxWait = o.maxRetryWaitMs ?? 250;
  const r: FloodResult = { acked: 0, ackedRecords: 0, refused: 0, refusedWithoutRetryAfter: 0, failedByStatus: {}, errors: 0, elapsedMs: 0 };
  const t0 = Date.now();
  const stopAt = t0 + o.durationMs;

  /** One attempt: its status and Retry-After (seconds), or status 0 on a network error. */
  const post = (): Promise<{ status: number; retryAfter: number }> =>
    new Promise((resolve) => {
      const req = http.request({ hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: Number(res.headers['retry-after']) }));
        res.on('error', () => resolve({ status: 0, retryAfter: NaN }));
      });
      req.on('error', () => resolve({ status: 0, retryAfter: NaN }));
      req.end(o.body);
    });

  const connection = async (): Promise<void> => {
    while (Date.now() < stopAt) {
      const { status, retryAfter } = await post();
      if (status >= 200 && status < 300) {
        r.acked++;
        r.ackedRecords += o.records;
      } else if (status === 429 || status === 503) {
        r.refused++;
        if (!Number.isFinite(retryAfter)) r.refusedWithoutRetryAfter++;
        await new Promise((res) => setTimeout(res, Math.min(maxWait, Number.isFinite(retryAfter) ? retryAfter * 1000 : maxWait)));
      } else if (status === 0) r.errors++;
      else r.failedByStatus[status] = (r.failedByStatus[status] ?? 0) + 1;
    }
  };
  try {
    await Promise.all(Array.from({ length: o.connections }, connection));
  } finally {
    agent.destroy();
  }
  r.elapsedMs = Date.now() - t0;
  return r;
}
