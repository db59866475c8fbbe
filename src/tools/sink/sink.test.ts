import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SIGNALS } from '../../core/signal.js';
import { runLoadgen, type Protocol } from '../loadgen/loadgen.js';
import { runLoadgenCli } from '../loadgen/cli.js';
import { decodeStatus } from '../../pdata/codec.js';
import { runSinkCli } from './cli.js';
import { startSink, type Sink, type SinkOptions } from './sink.js';
import { appliedGrowthPercent } from '../../core/heap-growth.js';

const sinks: Sink[] = [];
async function sink(opts: SinkOptions = {}): Promise<Sink> {
  const s = await startSink(opts);
  sinks.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

const endpointFor = (s: Sink, p: Protocol): string => (p === 'grpc' ? s.grpcTarget : s.httpUrl);

function post(
  url: string,
  body: Buffer | string,
  headers: Record<string, string>,
  method = 'POST',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('loadgen -> sink, verified', () => {
  for (const protocol of ['http/protobuf', 'http/json', 'grpc'] as const) {
    for (const signal of SIGNALS) {
      it(`${protocol} ${signal}: every record acked and delivered once`, async () => {
        const s = await sink();
        const r = await runLoadgen({ signal, protocol, endpoint: endpointFor(s, protocol), count: 2500, batch: 300, workers: 3, bodySize: 40 });
        expect(r.sent).toBe(2500);
        expect(r.acked).toBe(2500);
        expect(r.failed).toBe(0);
        expect(r.ackedRanges).toEqual([[0, 2500]]);
        const st = s.stats();
        expect(st.signals[signal].records).toBe(2500);
        expect(st.signals[signal].requests).toBe(9);
        expect(st.runs[r.runId]).toEqual({ records: 2500, distinct: 2500, duplicates: 0 });
        const v = s.verify([r]);
        expect(v).toMatchObject({ ok: true, lost: 0, duplicates: 0 });
        expect(v.runs[0]).toMatchObject({ acked: 2500, delivered: 2500, unacked: 0 });
      });
    }
  }

  for (const protocol of ['http/protobuf', 'http/json', 'grpc'] as const) {
    it(`${protocol} with gzip`, async () => {
      const s = await sink();
      const r = await runLoadgen({ protocol, endpoint: endpointFor(s, protocol), gzip: true, count: 3000, batch: 1000, workers: 2, seqStart: 1_000_000 });
      expect(r.acked).toBe(3000);
      const st = s.stats().signals.logs;
      // Compressed on the wire, expanded at the sink: the random-ish bodies still compress.
      expect(st.bytes).toBeLessThan(st.rawBytes);
      expect(s.verify([r]).ok).toBe(true);
      expect(r.ackedRanges).toEqual([[1_000_000, 1_003_000]]);
    });
  }

  it('two runs into one sink are told apart by run id', async () => {
    const s = await sink();
    const a = await runLoadgen({ endpoint: s.httpUrl, count: 1000, batch: 250, runId: 'run-a' });
    const b = await runLoadgen({ protocol: 'grpc', endpoint: s.grpcTarget, count: 700, batch: 100, runId: 'run-b' });
    expect(Object.keys(s.stats().runs).sort()).toEqual(['run-a', 'run-b']);
    const v = s.verify([a, b]);
    expect(v.ok).toBe(true);
    expect(v.runs.map((x) => x.delivered)).toEqual([1000, 700]);
    // A run the sink never saw is entirely lost.
    expect(s.verify([{ runId: 'ghost', ackedRanges: [[0, 5]] }])).toMatchObject({ ok: false, lost: 5 });
  });

  it('detects a record the sink dropped after acking and a request it accepted twice', async () => {
    const s = await sink({ testHooks: { discardRecordIndex: 1234, duplicateRequestIndex: 3 } });
    // One worker keeps request order deterministic: request 3 holds 300..399.
    const r = await runLoadgen({ endpoint: s.httpUrl, count: 2000, batch: 100, workers: 1 });
    expect(r.acked).toBe(2000);
    const v = s.verify([r]);
    expect(v.ok).toBe(false);
    expect(v.lost).toBe(1);
    expect(v.duplicates).toBe(100);
    // The duplicated request shifts the record index by 100: index 1234 is seq 1134.
    expect(v.runs[0]!.lostRanges).toEqual([[1134, 1135]]);
    expect(v.runs[0]!.duplicateRanges).toEqual([[300, 400]]);
  });
});

describe('retries against failure simulation', () => {
  it('http: --fail-rate 0.3 (503) -> every record eventually acked exactly as sent', async () => {
    const s = await sink({ failRate: 0.3, retryAfterSec: 0 });
    const r = await runLoadgen({ endpoint: s.httpUrl, count: 5000, batch: 100, workers: 4 });
    expect(r.acked).toBe(5000);
    expect(r.failed).toBe(0);
    expect(r.refused).toBeGreaterThan(0);
    expect(r.retried).toBe(r.refused);
    expect(s.stats().signals.logs.refused).toBe(r.refused);
    const v = s.verify([r]);
    expect(v).toMatchObject({ ok: true, lost: 0, duplicates: 0 });
  });

  it('grpc: 429 -> RESOURCE_EXHAUSTED with RetryInfo is retried', async () => {
    const s = await sink({ failRate: 0.4, status: 429, retryAfterSec: 0 });
    const r = await runLoadgen({ protocol: 'grpc', endpoint: s.grpcTarget, signal: 'traces', count: 3000, batch: 100, workers: 4 });
    expect(r.acked).toBe(3000);
    expect(r.refused).toBeGreaterThan(0);
    expect(s.verify([r]).ok).toBe(true);
  });

  it('--down-for honours Retry-After: nothing acked before the sink comes up, all acked after', async () => {
    const s = await sink({ downForMs: 800, retryAfterSec: 1 });
    const r = await runLoadgen({ endpoint: s.httpUrl, count: 1000, batch: 250, workers: 2 });
    expect(r.acked).toBe(1000);
    expect(r.refused).toBeGreaterThanOrEqual(2);
    // Every worker waited the full Retry-After of 1 s once.
    expect(r.elapsedMs).toBeGreaterThanOrEqual(950);
    expect(s.verify([r]).ok).toBe(true);
  });

  it('grpc: setDown(true) then setDown(false) -> retried with RetryInfo delay, all verified', async () => {
    const s = await sink({ retryAfterSec: 1 });
    s.setDown(true);
    setTimeout(() => s.setDown(false), 300);
    const r = await runLoadgen({ protocol: 'grpc', endpoint: s.grpcTarget, signal: 'metrics', count: 2000, batch: 200, workers: 2, initialBackoffMs: 20 });
    expect(r.acked).toBe(2000);
    // Each worker's first attempt was refused and waited the RetryInfo delay (1 s), not the 20 ms backoff.
    expect(r.refused).toBe(2);
    expect(r.elapsedMs).toBeGreaterThanOrEqual(950);
    expect(s.verify([r]).ok).toBe(true);
  });

  it('400 is permanent: not retried, counted failed, nothing acked', async () => {
    const s = await sink({ failRate: 1, status: 400 });
    const r = await runLoadgen({ endpoint: s.httpUrl, count: 500, batch: 100, workers: 2 });
    expect(r.acked).toBe(0);
    expect(r.failed).toBe(500);
    expect(r.retried).toBe(0);
    expect(Object.keys(r.failures)[0]).toMatch(/HTTP 400/);
    expect(r.ackedRanges).toEqual([]);
  });

  it('gives up after maxAttempts when the sink stays down', async () => {
    const s = await sink({ retryAfterSec: 0 });
    s.setDown(true);
    const r = await runLoadgen({ protocol: 'grpc', endpoint: s.grpcTarget, count: 200, batch: 100, workers: 1, maxAttempts: 3 });
    expect(r.failed).toBe(200);
    expect(r.requests).toBe(6);
    expect(r.retried).toBe(4);
    expect(Object.keys(r.failures)[0]).toMatch(/gave up after 3 attempts: gRPC UNAVAILABLE/);
  });

  it('says why it gave up when the server asks for a delay past --max-elapsed', async () => {
    const s = await sink({ downForMs: 10_000, retryAfterSec: 2 });
    const r = await runLoadgen({ endpoint: s.httpUrl, count: 10, batch: 10, workers: 1, maxElapsedMs: 500 });
    expect(r.failed).toBe(10);
    expect(Object.keys(r.failures)[0]).toMatch(/^gave up after \d+ ms: the next retry \(in 2000 ms\) would pass --max-elapsed 500 ms: /);
  });

  it('network errors are retried (connection refused) and then counted failed', async () => {
    const s = await sink();
    const url = s.httpUrl;
    await s.close();
    const r = await runLoadgen({ endpoint: url, count: 100, batch: 100, workers: 1, maxAttempts: 2, initialBackoffMs: 10 });
    expect(r.errors).toBe(2);
    expect(r.failed).toBe(100);
  });
});

describe('rate and duration', () => {
  it('--rate paces records and --duration stops claiming', async () => {
    const s = await sink();
    const r = await runLoadgen({ endpoint: s.httpUrl, rate: 20_000, durationMs: 1000, workers: 4 });
    expect(r.batch).toBe(1000);
    expect(r.acked).toBeGreaterThanOrEqual(17_000);
    expect(r.acked).toBeLessThanOrEqual(21_000);
    expect(r.elapsedMs).toBeGreaterThan(850);
    expect(s.verify([r]).ok).toBe(true);
  });

  it('reports progress about every interval, with acked growing', async () => {
    const s = await sink();
    const seen: Array<{ acked: number; rate: number; p99Ms: number }> = [];
    const r = await runLoadgen({ endpoint: s.httpUrl, rate: 5000, durationMs: 650, progressIntervalMs: 200, onProgress: (p) => seen.push(p) });
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen[1]!.acked).toBeGreaterThan(seen[0]!.acked);
    expect(seen[1]!.rate).toBeGreaterThan(2000);
    expect(seen[1]!.p99Ms).toBeGreaterThan(0);
    expect(r.acked).toBeGreaterThanOrEqual(seen.at(-1)!.acked);
  });

  // Both churn request Buffers at wire speed; without the slack V8's forced full GCs eat their CPU.
  it('the sink holds the heap-growth slack while it runs and hands it back when closed', async () => {
    expect(appliedGrowthPercent()).toBe(0);
    const s = await startSink({ track: false });
    expect(appliedGrowthPercent()).toBeGreaterThanOrEqual(100);
    await s.close();
    expect(appliedGrowthPercent()).toBe(0);
  });

  it('the loadgen holds it during a run and hands it back after', async () => {
    // A plain server as the target, so only the loadgen can be holding the slack.
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const during: number[] = [];
    try {
      const { port } = server.address() as AddressInfo;
      const r = await runLoadgen({
        endpoint: `http://127.0.0.1:${port}`,
        rate: 2000,
        durationMs: 300,
        workers: 1,
        progressIntervalMs: 50,
        onProgress: () => during.push(appliedGrowthPercent()),
      });
      expect(r.acked).toBe(r.sent);
    } finally {
      server.close();
    }
    expect(during.length).toBeGreaterThan(0);
    expect(Math.min(...during)).toBeGreaterThanOrEqual(100);
    expect(appliedGrowthPercent()).toBe(0);
  });

  it('a warm-up is sent first and left out of the figures; its records stay verifiable', async () => {
    const s = await sink();
    let measureStarts = 0;
    const t0 = performance.now();
    let startedAt = 0;
    const r = await runLoadgen({
      endpoint: s.httpUrl,
      rate: 10_000,
      warmupMs: 400,
      durationMs: 400,
      batch: 100,
      workers: 2,
      onMeasureStart: () => {
        measureStarts++;
        startedAt = performance.now() - t0;
      },
    });
    const runMs = performance.now() - t0;
    expect(measureStarts).toBe(1);
    expect(startedAt).toBeGreaterThanOrEqual(390);
    // Figures cover the measured part only: its time is the run's after the warm-up ended, and its records
    // are those acknowledged after it (the warm-up's are counted apart). Bounds relative to the run itself:
    // on a loaded machine the 400 ms timers fire late and the pace falls behind.
    expect(r.warmupAcked).toBeGreaterThan(0);
    expect(r.acked).toBeGreaterThan(0);
    expect(r.elapsedMs).toBeGreaterThan(0);
    expect(r.elapsedMs).toBeLessThanOrEqual(runMs - startedAt + 1);
    expect(r.recordsPerSec).toBeCloseTo((r.acked * 1000) / r.elapsedMs, 6);
    // The pace holds over the whole run: no more than 10,000/s x 800 ms were sent, warm-up included.
    expect(r.warmupAcked + r.acked).toBeLessThanOrEqual(8000 + 100);
    // Every acknowledged record, the warm-up's too, is in the ranges the sink verifies.
    const v = s.verify([r]);
    expect(v.ok).toBe(true);
    expect(v.runs[0]!.acked).toBe(r.warmupAcked + r.acked);
  });

  it('slow answers during the warm-up do not reach the latency figures', async () => {
    // A target that answers in SLOW_MS until slowUntil (as a cold process might), then at once. SLOW_MS is
    // far above what a loaded machine adds to an answer, so the bars below hold on one.
    const SLOW_MS = 1000;
    let slowUntil = 0;
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => setTimeout(() => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(), Date.now() < slowUntil ? SLOW_MS : 0));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      // Control: without a warm-up the slow start is in the figures.
      slowUntil = Date.now() + 300;
      const cold = await runLoadgen({ endpoint, durationMs: 600, workers: 2, batch: 10 });
      expect(cold.latencyMs.max).toBeGreaterThanOrEqual(SLOW_MS - 50);
      // Slow for the whole warm-up: requests sent in it and answered after it ends are not timed either.
      slowUntil = Date.now() + 500;
      // The first answers come SLOW_MS after the start: the measured part runs a second past that.
      const warm = await runLoadgen({ endpoint, warmupMs: 500, durationMs: SLOW_MS + 500, workers: 2, batch: 10 });
      expect(warm.requests).toBeGreaterThan(10);
      expect(warm.latencyMs.max).toBeLessThan(SLOW_MS / 2);
    } finally {
      server.close();
    }
  });

  it('abort stops early and keeps what was acked verifiable', async () => {
    const s = await sink();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const r = await runLoadgen({ endpoint: s.httpUrl, rate: 10_000, durationMs: 10_000, abort: ac.signal });
    expect(r.elapsedMs).toBeLessThan(1500);
    expect(r.acked).toBeGreaterThan(0);
    expect(r.acked).toBe(r.sent);
    expect(s.verify([r]).ok).toBe(true);
  });
});

describe('sink HTTP surface', () => {
  it('answers 404, 405, 415, 400 (with a google.rpc.Status), and GET /stats', async () => {
    const s = await sink();
    expect((await post(`${s.httpUrl}/nope`, '', {})).status).toBe(404);
    expect((await post(`${s.httpUrl}/v1/logs`, '', {}, 'PUT')).status).toBe(405);
    expect((await post(`${s.httpUrl}/v1/logs`, 'x', { 'content-type': 'text/plain' })).status).toBe(415);
    const bad = await post(`${s.httpUrl}/v1/logs`, Buffer.from([0x0a, 0x05, 0x01]), { 'content-type': 'application/x-protobuf' });
    expect(bad.status).toBe(400);
    expect(decodeStatus('proto', bad.body)?.message).toMatch(/malformed protobuf ExportLogsServiceRequest/);
    const badJson = await post(`${s.httpUrl}/v1/traces`, '{nope', { 'content-type': 'application/json' });
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.body.toString()).message).toMatch(/not valid JSON/);
    const ok = await post(`${s.httpUrl}/v1/metrics`, '{}', { 'content-type': 'application/json; charset=utf-8' });
    expect(ok.status).toBe(200);
    expect(ok.body.toString()).toBe('{}');
    const st = await post(`${s.httpUrl}/stats`, '', {}, 'GET');
    const stats = JSON.parse(st.body.toString());
    expect(stats.signals.logs.invalid).toBe(2);
    expect(stats.signals.traces.invalid).toBe(1);
    expect(stats.signals.metrics.requests).toBe(1);
  });

  it('a refusal carries Retry-After and a Status with RetryInfo', async () => {
    const s = await sink({ failRate: 1, status: 429, retryAfterSec: 2 });
    const res = await post(`${s.httpUrl}/v1/logs`, Buffer.alloc(0), { 'content-type': 'application/x-protobuf' });
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('2');
    expect(decodeStatus('proto', res.body)).toMatchObject({ code: 8, retryDelayMs: 2000 });
  });
});

describe('CLIs', () => {
  it('sink --verify with loadgen --acked-file: OK exits 0, a lost acked range exits 1', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gs-sink-'));
    try {
      const ackedFile = path.join(dir, 'acked.json');
      let sinkErr = '';
      let sinkOut = '';
      let announce!: (url: string) => void;
      const listening = new Promise<string>((r) => (announce = r));
      const sinkDone = runSinkCli(['--http', '127.0.0.1:0', '--grpc', 'off', '--exit-after', '1500ms', '--verify', ackedFile], {
        tty: false,
        out: (t) => (sinkOut += t),
        err: (t) => {
          sinkErr += t;
          const m = /http (http:\/\/\S+)/.exec(sinkErr);
          if (m) announce(m[1]!);
        },
      });
      const url = await listening;
      let lgOut = '';
      const code = await runLoadgenCli(['--endpoint', url, '--count', '3000', '--batch', '500', '--acked-file', ackedFile, '--json', '--run-id', 'cli-run'], {
        tty: false,
        out: (t) => (lgOut += t),
        err: () => {},
      });
      expect(code).toBe(0);
      expect(JSON.parse(lgOut)).toMatchObject({ runId: 'cli-run', acked: 3000 });
      expect(JSON.parse(await readFile(ackedFile, 'utf8'))).toEqual({ runId: 'cli-run', signal: 'logs', acked: 3000, ackedRanges: [[0, 3000]] });
      expect(await sinkDone).toBe(0);
      expect(sinkOut).toMatch(/verification: OK/);
      expect(sinkOut).toMatch(/\| logs \| 6 \| 3000 \|/);

      // Same again but the acked file claims records the sink never got.
      await writeFile(ackedFile, JSON.stringify([{ runId: 'cli-run', ackedRanges: [[0, 10]] }]));
      let out2 = '';
      const code2 = await runSinkCli(['--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0', '--exit-after', '50ms', '--verify', ackedFile, '--json'], {
        tty: false,
        out: (t) => (out2 += t),
        err: () => {},
      });
      expect(code2).toBe(1);
      expect(JSON.parse(out2).verify).toMatchObject({ ok: false, lost: 10 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('records that failed in the warm-up still fail the exit code, and the summary shows them', async () => {
    // 400 is permanent: every request during the 300 ms warm-up fails; then the sink takes everything.
    const s = await sink({ failRate: 1, status: 400 });
    setTimeout(() => s.setFailRate(0), 300);
    let out = '';
    const code = await runLoadgenCli(['--endpoint', s.httpUrl, '--rate', '5000', '--warmup', '400ms', '--duration', '300ms', '--batch', '100', '--quiet'], {
      tty: false,
      out: (t) => (out += t),
      err: () => {},
    });
    expect(out).toMatch(/records in the warm-up, not counted below: acked \/ failed \| \d+ \/ [1-9]\d*/);
    expect(out).toMatch(/\| records failed +\| 0 +\|/);
    expect(code).toBe(1);
  });

  it('--help prints usage (exit 0); bad flags name the flag (exit 2)', async () => {
    let out = '';
    let err = '';
    const io = { tty: false, out: (t: string) => (out += t), err: (t: string) => (err += t) };
    expect(await runLoadgenCli(['--help'], io)).toBe(0);
    expect(out).toMatch(/Usage: gophership loadgen/);
    expect(await runSinkCli(['--help'], io)).toBe(0);
    expect(out).toMatch(/Usage: gophership sink/);
    expect(await runLoadgenCli(['--signal', 'events'], io)).toBe(2);
    expect(err).toMatch(/--signal: expected logs, traces or metrics/);
    expect(await runLoadgenCli(['--duration', 'forever'], io)).toBe(2);
    expect(err).toMatch(/--duration/);
    expect(await runSinkCli(['--fail-rate', '2'], io)).toBe(2);
    expect(err).toMatch(/--fail-rate: must be at most 1/);
    expect(await runSinkCli(['--status', '302'], io)).toBe(2);
    expect(err).toMatch(/--status/);
  });
});
