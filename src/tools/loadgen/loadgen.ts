/**
 * The load generator: sends OTLP Export requests of numbered records as fast as asked, retries refusals the
 * way an SDK exporter does, and remembers which sequence numbers were acknowledged so a sink can check that
 * nothing acknowledged was lost.
 *
 * Workers are concurrent request loops (one request in flight each). They claim batches of consecutive
 * sequence numbers from a shared counter; with a rate, batch k is due at start + k*batch/rate, so the pace
 * is absolute and catches up after a stall instead of drifting.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import v8 from 'node:v8';
import type { Signal } from '../../core/signal.js';
import type { SeqRanges } from './common.js';
import { LatencyHistogram } from './histogram.js';
import { RangeSet } from './ranges.js';
import { TemplateParts, TemplateSlot } from './templates.js';
import { createGrpcTransport, createHttpTransport, type Outcome, type Transport } from './transport.js';
import { governHeapGrowth } from '../../core/heap-growth.js';

export type Protocol = 'http/protobuf' | 'http/json' | 'grpc';
export const PROTOCOLS: readonly Protocol[] = ['http/protobuf', 'http/json', 'grpc'];

export interface LoadgenOptions {
  signal?: Signal;
  protocol?: Protocol;
  /** HTTP base URL (`http://127.0.0.1:4318`) or, for gRPC, `host:port`. */
  endpoint?: string;
  gzip?: boolean;
  /** zlib level for HTTP gzip (default 6, as the SDKs). */
  gzipLevel?: number;
  /** Records per second; absent = as fast as the workers go. */
  rate?: number;
  /** Stop claiming new batches after this long (after the warm-up). Default 10 s when count is absent too. */
  durationMs?: number;
  /**
   * Send for this long first and leave it out of every figure of the result (rates, counts, latency),
   * so the measurement starts warm: compiled code, open connections, a settled heap on both sides. The
   * warm-up's acknowledged records are still in `ackedRanges` (a loss check must find them too). Needs
   * durationMs; default 0.
   */
  warmupMs?: number;
  /** Stop after this many records. */
  count?: number;
  /** Concurrent requests in flight. Default 8. */
  workers?: number;
  /** gRPC connections (default: one per worker, at most 4); a flood opens one per worker. */
  grpcConnections?: number;
  /** Records per request. Default 1000, or about rate/20 when a low rate is given. */
  batch?: number;
  /** Characters in each log record's body. Default 256. */
  bodySize?: number;
  /** Extra string attributes per record. Default 4. */
  attributes?: number;
  /** Written to the resource attribute gophership.run. Default: a fresh random id. */
  runId?: string;
  /** First sequence number. Default 0. */
  seqStart?: number;
  /** Per-attempt deadline. Default 30 s. */
  timeoutMs?: number;
  /** Attempts per request before giving up. Default 20. */
  maxAttempts?: number;
  /** Give up on a request after this long since its first attempt. Default 60 s. */
  maxElapsedMs?: number;
  /** First backoff when the server gives no Retry-After; doubles up to maxBackoffMs. Defaults 200 ms, 5 s. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  headers?: Record<string, string>;
  /** Stops claiming new batches and abandons retries (counted as failed). */
  abort?: AbortSignal;
  onProgress?: (p: LoadgenProgress) => void;
  /** Called when the measured time starts: at once, or when the warm-up ends. */
  onMeasureStart?: () => void;
  progressIntervalMs?: number;
}

export interface LoadgenProgress {
  elapsedMs: number;
  /** Records acknowledged per second over the last interval. */
  rate: number;
  acked: number;
  failed: number;
  refused: number;
  retried: number;
  errors: number;
  /** p99 request latency over the last interval, ms. */
  p99Ms: number;
}

export interface LoadgenResult {
  runId: string;
  signal: Signal;
  protocol: Protocol;
  endpoint: string;
  gzip: boolean;
  batch: number;
  workers: number;
  /** The measured time (after the warm-up). */
  elapsedMs: number;
  /** Records acknowledged during the warm-up (left out of the other counts; in ackedRanges). */
  warmupAcked: number;
  /** Records failed or rejected during the warm-up (left out of the other counts, not of the exit code). */
  warmupFailed: number;
  /** Records claimed and sent at least once. */
  sent: number;
  /** Records acknowledged (2xx / OK), minus those a partial success rejected. */
  acked: number;
  /** Records a partial success rejected (not retried, as the spec requires). */
  rejected: number;
  /** Records given up on: permanent errors, attempts or time exhausted, or aborted. */
  failed: number;
  /** Attempts answered with a retryable refusal (429/502/503/504, UNAVAILABLE, ...). */
  refused: number;
  /** Attempts that ended in a network error or timeout. */
  errors: number;
  /** Attempts that were retries. */
  retried: number;
  /** All attempts. */
  requests: number;
  /** Request bytes put on the wire (after gzip), retries included. */
  bytes: number;
  /** Acked records per second over the whole run. */
  recordsPerSec: number;
  bytesPerSec: number;
  /** Attempts that started after the warm-up. */
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Acknowledged sequence numbers (half-open ranges, the warm-up's included), for `sink --verify`. */
  ackedRanges: SeqRanges;
  /** Why requests failed, with counts (at most 10 reasons kept). */
  failures: Record<string, number>;
  /** Template rebuilds (diagnostic: patching in place should dominate). */
  templateBuilds: number;
}

export function defaultEndpoint(protocol: Protocol): string {
  return protocol === 'grpc' ? '127.0.0.1:4317' : 'http://127.0.0.1:4318';
}

export function newRunId(): string {
  return `run-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

const gzipAsync = promisify(zlib.gzip);

function sleep(ms: number, abort?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    if (abort?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      abort?.removeEventListener('abort', done);
      resolve();
    }
    abort?.addEventListener('abort', done, { once: true });
  });
}

export async function runLoadgen(options: LoadgenOptions = {}): Promise<LoadgenResult> {
  const signal = options.signal ?? 'logs';
  const protocol = options.protocol ?? 'http/protobuf';
  if (!PROTOCOLS.includes(protocol)) throw new Error(`protocol must be one of ${PROTOCOLS.join(', ')}, got ${String(protocol)}`);
  const endpoint = options.endpoint ?? defaultEndpoint(protocol);
  const gzip = options.gzip ?? false;
  const workers = Math.max(1, Math.floor(options.workers ?? 8));
  const rate = options.rate && options.rate > 0 ? options.rate : undefined;
  const batch = Math.max(1, Math.floor(options.batch ?? (rate ? Math.min(1000, Math.max(1, Math.round(rate / 20))) : 1000)));
  const count = options.count;
  const durationMs = options.durationMs ?? (count === undefined ? 10_000 : undefined);
  const warmupMs = Math.max(0, options.warmupMs ?? 0);
  if (warmupMs > 0 && (durationMs === undefined || count !== undefined))
    throw new Error('warmupMs needs durationMs (and no count): a warm-up is time, not records');
  const seqStart = options.seqStart ?? 0;
  const runId = options.runId ?? newRunId();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxAttempts = options.maxAttempts ?? 20;
  const maxElapsedMs = options.maxElapsedMs ?? 60_000;
  const initialBackoffMs = options.initialBackoffMs ?? 200;
  const maxBackoffMs = options.maxBackoffMs ?? 5_000;
  const abort = options.abort;
  if (count !== undefined && (!Number.isInteger(count) || count < 0)) throw new Error(`count must be a non-negative integer, got ${count}`);
  if (!Number.isSafeInteger(seqStart) || seqStart < 0) throw new Error(`seqStart must be a non-negative integer, got ${seqStart}`);

  const encoding = protocol === 'http/json' ? 'json' : 'proto';
  const parts = new TemplateParts({
    signal,
    encoding,
    runId,
    bodySize: Math.max(0, Math.floor(options.bodySize ?? 256)),
    attributes: Math.max(0, Math.floor(options.attributes ?? 4)),
  });
  const transportOptions = {
    signal,
    encoding,
    endpoint,
    gzip,
    timeoutMs,
    workers,
    grpcConnections: options.grpcConnections,
    headers: options.headers ?? {},
  } as const;
  const transport: Transport = protocol === 'grpc' ? createGrpcTransport(transportOptions) : createHttpTransport(transportOptions);
  const httpGzip = gzip && protocol !== 'grpc'; // grpc-js compresses itself (channel option)
  const gzipOpts = { level: options.gzipLevel ?? 6 };

  const acked = new RangeSet();
  const hist = new LatencyHistogram();
  const window = new LatencyHistogram();
  const failures = new Map<string, number>();
  const st = { sent: 0, acked: 0, rejected: 0, failed: 0, refused: 0, errors: 0, retried: 0, requests: 0, bytes: 0 };
  const noteFailure = (reason: string, n: number): void => {
    st.failed += n;
    const key = reason.slice(0, 200);
    if (failures.has(key) || failures.size < 10) failures.set(key, (failures.get(key) ?? 0) + 1);
  };

  const t0 = performance.now();
  const deadline = durationMs !== undefined ? t0 + warmupMs + durationMs : Infinity;
  // The figures count from here; until then (the warm-up) attempts are not timed and counts are reset.
  let measureFrom = t0;
  let warmupAcked = 0;
  let warmupFailed = 0;
  let warmup: NodeJS.Timeout | undefined;
  if (warmupMs > 0) {
    measureFrom = Infinity;
    warmup = setTimeout(() => {
      warmupAcked = st.acked;
      warmupFailed = st.failed + st.rejected;
      for (const k of Object.keys(st) as (keyof typeof st)[]) st[k] = 0;
      failures.clear();
      hist.reset();
      window.reset();
      measureFrom = performance.now();
      options.onMeasureStart?.();
    }, warmupMs);
  } else options.onMeasureStart?.();
  const seqEnd = count !== undefined ? seqStart + count : Infinity;
  let nextSeq = seqStart;

  function claim(): { seq: number; n: number; sendAt: number } | undefined {
    if (abort?.aborted || nextSeq >= seqEnd) return undefined;
    const now = performance.now();
    if (now >= deadline) return undefined;
    const sendAt = rate ? t0 + ((nextSeq - seqStart) / rate) * 1000 : now;
    if (sendAt >= deadline) return undefined;
    const n = Math.min(batch, seqEnd - nextSeq);
    const c = { seq: nextSeq, n, sendAt };
    nextSeq += n;
    return c;
  }

  async function deliver(body: Buffer, seq: number, n: number): Promise<void> {
    const first = performance.now();
    let backoff = initialBackoffMs;
    for (let attempt = 1; ; attempt++) {
      const t = performance.now();
      const o: Outcome = await transport.send(body);
      const lat = performance.now() - t;
      if (t >= measureFrom) {
        hist.record(lat);
        window.record(lat);
      }
      st.requests++;
      st.bytes += body.length;
      if (o.kind === 'ok') {
        if (o.rejected > 0) {
          // We cannot tell which records were rejected: none of this batch goes into the acked ranges.
          st.rejected += o.rejected;
          st.acked += Math.max(0, n - o.rejected);
          noteFailure(`partial success: ${o.message}`, 0);
        } else {
          st.acked += n;
          acked.add(seq, seq + n);
        }
        return;
      }
      if (o.kind === 'fail') {
        noteFailure(o.reason, n);
        return;
      }
      if (o.refused) st.refused++;
      else st.errors++;
      // Jitter spreads the retries of many workers; a server-given delay is honoured as is.
      const delay = o.delayMs ?? backoff * (0.8 + Math.random() * 0.4);
      backoff = Math.min(backoff * 2, maxBackoffMs);
      if (abort?.aborted) return noteFailure(`aborted while retrying: ${o.reason}`, n);
      if (attempt >= maxAttempts) return noteFailure(`gave up after ${attempt} attempts: ${o.reason}`, n);
      if (performance.now() - first + delay > maxElapsedMs) {
        const spent = Math.round(performance.now() - first);
        return noteFailure(
          `gave up after ${spent} ms: the next retry (in ${Math.round(delay)} ms) would pass --max-elapsed ${maxElapsedMs} ms: ${o.reason}`,
          n,
        );
      }
      st.retried++;
      await sleep(delay, abort);
      if (abort?.aborted) return noteFailure(`aborted while retrying: ${o.reason}`, n);
    }
  }

  const slots: TemplateSlot[] = [];
  async function worker(): Promise<void> {
    const slot = new TemplateSlot(parts);
    slots.push(slot);
    for (;;) {
      const c = claim();
      if (!c) return;
      const wait = c.sendAt - performance.now();
      if (wait > 1) await sleep(wait, abort);
      // Claimed but never sent: not counted anywhere (neither sent nor acked).
      if (abort?.aborted) return;
      st.sent += c.n;
      const raw = slot.prepare(c.seq, c.n, Date.now());
      const body = httpGzip ? await gzipAsync(raw, gzipOpts) : raw;
      await deliver(body, c.seq, c.n);
    }
  }

  let lastAcked = 0;
  let lastT = t0;
  const progress = options.onProgress
    ? setInterval(() => {
        const now = performance.now();
        options.onProgress!({
          elapsedMs: now - t0,
          rate: ((warmupAcked + st.acked - lastAcked) * 1000) / Math.max(1, now - lastT),
          acked: st.acked,
          failed: st.failed,
          refused: st.refused,
          retried: st.retried,
          errors: st.errors,
          p99Ms: window.quantile(0.99),
        });
        lastAcked = warmupAcked + st.acked;
        lastT = now;
        window.reset();
      }, options.progressIntervalMs ?? 1000)
    : undefined;
  progress?.unref();

  // Request bodies churn Buffers at hundreds of MB/s: without the slack, V8's full GCs (forced by external
  // memory) take a large share of the client's CPU, which the bench's machine shares with the gateway.
  const releaseHeapGrowth = governHeapGrowth(st, () => v8.getHeapStatistics().heap_size_limit);
  try {
    await Promise.all(Array.from({ length: workers }, () => worker()));
  } finally {
    clearTimeout(warmup);
    releaseHeapGrowth();
    if (progress) clearInterval(progress);
    transport.close();
  }

  // A run that ended inside its warm-up (aborted) measured nothing.
  const elapsedMs = measureFrom === Infinity ? 0 : performance.now() - measureFrom;
  const secs = Math.max(elapsedMs, 1) / 1000;
  return {
    runId,
    signal,
    protocol,
    endpoint,
    gzip,
    batch,
    workers,
    elapsedMs,
    warmupAcked,
    warmupFailed,
    ...st,
    recordsPerSec: st.acked / secs,
    bytesPerSec: st.bytes / secs,
    latencyMs: { p50: hist.quantile(0.5), p90: hist.quantile(0.9), p99: hist.quantile(0.99), max: hist.max, mean: hist.mean() },
    ackedRanges: acked.toArray(),
    failures: Object.fromEntries(failures),
    templateBuilds: slots.reduce((a, s) => a + s.builds, 0),
  };
}
