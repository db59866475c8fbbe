import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { PermanentError, RetryableError } from '../core/errors.js';
import { Payload } from '../pdata/payload.js';
import { s } from '../core/schema.js';
import type { Signal } from '../core/signal.js';
import { counterValue, makeLogsRequest, makeTracesRequest, testSettings } from '../../test/helpers/otlp-test-servers.js';
import { WriteAheadLog } from '../wal/index.js';
import { testSomaticSettings } from '../../test/helpers/somatic.js';
import type { AdmissionGate } from '../somatic/gate.js';
import type { PressureSlot } from '../somatic/slot.js';
import { silentLogger } from '../telemetry/logger.js';
import { Backoff, ExporterHelper, exporterHelperShape, readDeadLetterFile, walDirectory, type ExporterHelperConfig, type SendFn } from './index.js';
import { tmpTakesDirectIo } from '../../test/helpers/direct-io.js';
import { until } from '../../test/helpers/until.js';

const schema = s.object(exporterHelperShape());
function config(raw: Record<string, unknown>): ExporterHelperConfig {
  const issues: { path: string[]; message: string }[] = [];
  const cfg = schema.parse(raw, [], issues);
  expect(issues).toEqual([]);
  return cfg;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gs-eh-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A started helper. With `ledger`, a somatic runtime is provided into its service's pressure slot after
 * the helper is created (as a somatic processor would be), so the service has a memory ledger: its gate.
 */
async function helper(
  raw: Record<string, unknown>,
  send: SendFn,
  opts: { drainTimeoutMs?: number; id?: string; ledger?: boolean; keepDirectory?: string } = {},
) {
  const settings = testSettings(opts.id ?? 'otlphttp/test');
  // The default keep directory is under the working directory: tests keep theirs in a temp dir.
  const keepDirectory = opts.keepDirectory ?? (await tempDir());
  const h = new ExporterHelper(settings, config(raw), send, { drainTimeoutMs: opts.drainTimeoutMs, keepDirectory });
  const gate = opts.ledger ? provideSomatic(settings.pressure) : undefined;
  await h.start();
  cleanups.push(async () => {
    await h.shutdown();
    settings.telemetry.close();
  });
  return { h, settings, gate };
}

/** Provides a runtime (its controller not started: the test sets the gate's cap) and returns its gate. */
function provideSomatic(pressure: PressureSlot): AdmissionGate {
  const rt = pressure.provide(testSomaticSettings({ memoryLimitBytes: 64 * 2 ** 30, inflightBudgetBytes: 2 ** 30 }), silentLogger, 'somatic');
  expect(pressure.ledger).toBe(rt.gate);
  return rt.gate;
}

/** Whether the temp dir takes O_DIRECT (else the WAL falls back to the page cache). */
const DIRECT_OK = await tmpTakesDirectIo();
const logs = (records: number, tag = 'r') => new Payload('logs', makeLogsRequest(1, records, tag));

describe('backoff', () => {
  it('draws each wait within [interval*(1-f), interval*(1+f)], growing by multiplier up to max_interval', () => {
    const cfg = { initial_interval: 100, randomization_factor: 0.5, multiplier: 1.5, max_interval: 400 };
    const intervals = [100, 150, 225, 337.5, 400, 400, 400];
    for (const r of [0, 0.5, 0.999999]) {
      const b = new Backoff(cfg, () => r);
      for (const i of intervals) {
        const w = b.next();
        expect(w).toBeCloseTo(i * 0.5 + r * i, 3);
      }
    }
    const b = new Backoff(cfg);
    for (let k = 0; k < 2000; k++) {
      const i = b.currentInterval;
      const w = b.next();
      expect(w).toBeGreaterThanOrEqual(i * 0.5);
      expect(w).toBeLessThanOrEqual(i * 1.5);
    }
    // factor 0: exact intervals
    const exact = new Backoff({ ...cfg, randomization_factor: 0 });
    expect([exact.next(), exact.next(), exact.next()]).toEqual([100, 150, 225]);
  });

  it('the helper waits the backoff schedule between attempts (sync mode), then succeeds', async () => {
    const at: number[] = [];
    const send: SendFn = async () => {
      at.push(Date.now());
      if (at.length < 5) throw new RetryableError('downstream unavailable');
    };
    const { h, settings } = await helper(
      { sending_queue: { enabled: false }, retry_on_failure: { initial_interval: '40ms', randomization_factor: 0.5, multiplier: 2, max_interval: '120ms' } },
      send,
    );
    await h.consume(logs(3));
    expect(at).toHaveLength(5);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    const intervals = [40, 80, 120, 120];
    gaps.forEach((g, i) => {
      expect(g).toBeGreaterThanOrEqual(intervals[i]! * 0.5 - 2);
      expect(g).toBeLessThanOrEqual(intervals[i]! * 1.5 + 150); // timers fire late on a busy machine, never early
    });
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_sent_log_records', { exporter: 'otlphttp/test' })).toBe(3);
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_send_failed_log_records', { exporter: 'otlphttp/test' })).toBe(0);
  });

  it("honours the downstream's retryAfterMs as the next delay instead of the backoff", async () => {
    const at: number[] = [];
    const send: SendFn = async () => {
      at.push(Date.now());
      if (at.length === 1) throw new RetryableError('throttled', { retryAfterMs: 300, throttled: true });
    };
    const { h } = await helper({ sending_queue: { enabled: false }, retry_on_failure: { initial_interval: '5s' } }, send);
    const t0 = Date.now();
    await h.consume(logs(1));
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(295);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('gives up after max_elapsed_time in sync mode with the last retryable error, counted as send_failed', async () => {
    let n = 0;
    const { h, settings } = await helper(
      { sending_queue: { enabled: false }, retry_on_failure: { initial_interval: '20ms', max_interval: '20ms', max_elapsed_time: '600ms' } },
      async () => {
        n++;
        throw new RetryableError(`down #${n}`);
      },
    );
    const err = await h.consume(logs(4)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect(n).toBeGreaterThanOrEqual(4);
    expect((err as Error).message).toBe(`exporter otlphttp/test: down #${n}`);
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_send_failed_log_records', { exporter: 'otlphttp/test' })).toBe(4);
  });
});

describe('permanent failures and dead letters', () => {
  it('memory queue: a permanent error is counted, logged with the downstream message and written to the dead-letter file', async () => {
    const dir = await tempDir();
    const dl = path.join(dir, 'dead', 'letters.bin');
    let calls = 0;
    const { h, settings } = await helper({ dead_letter: { path: dl } }, async (_p, signal) => {
      calls++;
      throw new PermanentError(`HTTP 400: bad ${signal} request from downstream`);
    });
    const a = makeLogsRequest(1, 2, 'a');
    const b = makeTracesRequest(3, 'b');
    await h.consume(new Payload('logs', a));
    await h.consume(new Payload('traces', b));
    // Counted first, then written (and synced) to the dead-letter file.
    await until(async () => (await readDeadLetterFile(dl).catch(() => [])).length === 2);
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_send_failed_spans', { exporter: 'otlphttp/test' })).toBe(3);
    expect(calls).toBe(2); // permanent: never retried
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_send_failed_log_records', { exporter: 'otlphttp/test' })).toBe(2);
    const dead = await readDeadLetterFile(dl);
    const bySignal = Object.fromEntries(dead.map((d) => [d.signal, Buffer.from(d.bytes)]));
    expect(bySignal.logs).toEqual(Buffer.from(a));
    expect(bySignal.traces).toEqual(Buffer.from(b));
    await until(() => settings.logs.filter((l) => l.level === 'error').length === 2);
    const errors = settings.logs.filter((l) => l.level === 'error');
    expect(errors.map((l) => l.error)).toContain('HTTP 400: bad traces request from downstream');
    expect(errors[0]).toMatchObject({ msg: 'Exporting failed. The request was written to the dead-letter file.', reason: 'the error is not retryable' });
  });

  it('sync mode: the permanent error reaches the caller and the request is kept in the dead-letter file', async () => {
    const dir = await tempDir();
    const dl = path.join(dir, 'dl.bin');
    const { h } = await helper({ sending_queue: { enabled: false }, dead_letter: { path: dl } }, async () => {
      throw new PermanentError('HTTP 413: too large');
    });
    await expect(h.consume(logs(2))).rejects.toBeInstanceOf(PermanentError);
    expect(await readDeadLetterFile(dl)).toHaveLength(1);
  });

  it('without a dead-letter file a permanent failure is logged as dropped, naming the key to set', async () => {
    const { h, settings } = await helper({}, async () => {
      throw new PermanentError('HTTP 401: unauthenticated');
    });
    await h.consume(logs(2));
    await until(() => settings.logs.some((l) => l.msg === 'Exporting failed. Dropping data.'));
    expect(settings.logs.find((l) => l.msg === 'Exporting failed. Dropping data.')).toMatchObject({
      error: 'HTTP 401: unauthenticated',
      items: 2,
      hint: 'set dead_letter.path to keep such requests',
    });
  });
});

describe('sending queue', () => {
  it('memory: a full queue refuses retryably with a Retry-After estimate, counted in enqueue_failed, and drains', async () => {
    const gates: (() => void)[] = [];
    const sent: number[] = [];
    const { h, settings } = await helper({ sending_queue: { num_consumers: 1, queue_size: 2 } }, async (p) => {
      await new Promise<void>((r) => gates.push(r));
      sent.push(p.itemCount);
    });
    await h.consume(logs(1)); // taken by the one consumer
    await until(() => gates.length === 1);
    await h.consume(logs(2));
    await h.consume(logs(3));
    expect(h.queueSize).toBe(2);
    expect(settings.queueFills.fullest()).toBe(1);
    const err = (await h.consume(logs(7)).catch((e: unknown) => e)) as RetryableError;
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toMatch(/exporter otlphttp\/test: sending queue is full \(2 requests\).*sending_queue.queue_size/);
    expect(err.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(30_000);
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_enqueue_failed_log_records', { exporter: 'otlphttp/test' })).toBe(7);
    const text = await settings.telemetry.registry.metrics();
    expect(text).toMatch(/^otelcol_exporter_queue_size\{exporter="otlphttp\/test"\} 2$/m);
    expect(text).toMatch(/^otelcol_exporter_queue_capacity\{exporter="otlphttp\/test"\} 2$/m);
    // Release the downstream: everything queued is sent, nothing refused was.
    const release = setInterval(() => gates.splice(0).forEach((g) => g()), 5);
    cleanups.push(() => clearInterval(release));
    await until(() => sent.length === 3);
    expect(sent).toEqual([1, 2, 3]);
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_sent_log_records', { exporter: 'otlphttp/test' })).toBe(6);
  });

  it('ack timing: memory resolves on enqueue, sync after the downstream accepted, wal once durable on disk', async () => {
    const DELAY = 300;
    const slowSend =
      (log: string[]): SendFn =>
      async () => {
        await sleep(DELAY);
        log.push('accepted');
      };
    for (const mode of ['memory', 'sync', 'wal'] as const) {
      const order: string[] = [];
      const dir = await tempDir();
      const raw = mode === 'sync' ? { sending_queue: { enabled: false } } : { sending_queue: { storage: mode, directory: dir } };
      const { h } = await helper(raw, slowSend(order), { id: `otlphttp/${mode}` });
      const t0 = Date.now();
      await h.consume(logs(1));
      order.push('resolved');
      const took = Date.now() - t0;
      if (mode === 'sync') {
        expect(order).toEqual(['accepted', 'resolved']);
        expect(took).toBeGreaterThanOrEqual(DELAY - 5);
      } else {
        // Resolved while the downstream was still working on it.
        expect(order, mode).toEqual(['resolved']);
        await until(() => order.length === 2);
      }
      if (mode === 'wal') {
        // Durable before it resolved: the record is in the WAL directory (acked once accepted).
        await h.shutdown();
        const wal = await WriteAheadLog.open({ dir: walDirectory(dir, 'otlphttp/wal') });
        expect(wal.stats().nextSequence).toBe(2);
        expect(wal.stats().pendingRecords).toBe(0);
        await wal.close();
      }
    }
  });

  it('wal: records not accepted downstream survive a shutdown and are sent by the next start (signal kept)', async () => {
    const dir = await tempDir();
    const raw = { sending_queue: { storage: 'wal', directory: dir, num_consumers: 2 }, retry_on_failure: { initial_interval: '50ms' } };
    const down = await helper(raw, async () => {
      throw new RetryableError('HTTP 503');
    });
    // The last one is held in pieces, counted (a body as the HTTP receiver keeps it): one record, the same bytes.
    const inPieces = makeLogsRequest(2, 50, 'p');
    const reqs = [
      logs(1, 'x'),
      new Payload('traces', makeTracesRequest(2, 'y')),
      logs(3, 'z'),
      Payload.fromParts('logs', [inPieces.subarray(0, 100), inPieces.subarray(100, 1000), inPieces.subarray(1000)], { itemCount: 100 }),
    ];
    for (const p of reqs) await down.h.consume(p);
    expect(down.h.queueSize).toBe(4);
    const metrics = await down.settings.telemetry.registry.metrics();
    expect(metrics).toMatch(/^gophership_exporter_queue_bytes\{exporter="otlphttp\/test"\} [1-9]\d*$/m);
    await down.h.shutdown();

    const got: { signal: Signal; bytes: Buffer }[] = [];
    const up = await helper(raw, async (p, signal) => {
      got.push({ signal, bytes: Buffer.from(p.bytes) });
    });
    await until(() => got.length === 4);
    got.sort((a, b) => a.bytes.compare(b.bytes));
    const want = reqs.map((p) => ({ signal: p.signal, bytes: Buffer.from(p.bytes) })).sort((a, b) => a.bytes.compare(b.bytes));
    expect(got).toEqual(want);
    await until(() => up.h.queueSize === 0);
    expect(await counterValue(up.settings.telemetry, 'otelcol_exporter_sent_spans', { exporter: 'otlphttp/test' })).toBe(2);
  });

  it('wal: retries exhausted keep the record in the WAL (no dead letter), or move it to the dead-letter file', async () => {
    const dir = await tempDir();
    let attempts = 0;
    const raw = {
      sending_queue: { storage: 'wal', directory: dir },
      retry_on_failure: { initial_interval: '10ms', max_interval: '30ms', max_elapsed_time: '60ms' },
    };
    const keep = await helper(raw, async () => {
      attempts++;
      throw new RetryableError('down');
    });
    await keep.h.consume(logs(2));
    await until(() => attempts >= 8);
    expect(keep.h.queueSize).toBe(1);
    expect(keep.settings.logs.some((l) => String(l.msg).includes('the request stays in the WAL'))).toBe(true);
    await keep.h.shutdown();

    const dl = path.join(dir, 'dl.bin');
    const moved = await helper({ ...raw, dead_letter: { path: dl } }, async () => {
      throw new RetryableError('still down');
    });
    await until(async () => (await readDeadLetterFile(dl).catch(() => [])).length === 1);
    await until(() => moved.h.queueSize === 0);
    expect(await counterValue(moved.settings.telemetry, 'otelcol_exporter_send_failed_log_records', { exporter: 'otlphttp/test' })).toBe(2);
  });

  it('wal: a full disk budget refuses retryably, counted in enqueue_failed', async () => {
    const dir = await tempDir();
    const { h, settings } = await helper(
      { sending_queue: { storage: 'wal', directory: dir, max_size_mib: 1, queue_size: 100000 }, retry_on_failure: { initial_interval: '1s' } },
      async () => {
        throw new RetryableError('down');
      },
    );
    const big = makeLogsRequest(1, 600, 'big'); // ~ 20 KiB
    let refused: RetryableError | undefined;
    let accepted = 0;
    for (let i = 0; i < 200 && !refused; i++) {
      try {
        await h.consume(new Payload('logs', big));
        accepted++;
      } catch (e) {
        refused = e as RetryableError;
      }
    }
    expect(refused).toBeInstanceOf(RetryableError);
    expect(refused!.message).toMatch(/max_size_mib 1/);
    expect(refused!.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(accepted * big.length).toBeGreaterThan(512 * 1024);
    expect(accepted * big.length).toBeLessThanOrEqual(1024 * 1024);
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_enqueue_failed_log_records', { exporter: 'otlphttp/test' })).toBe(600);
    expect(settings.queueFills.fullest()).toBeGreaterThan(0.5);
  });

  for (const direct of [true, false]) {
    it(`wal: sending_queue.direct_io ${direct} writes the queue's segments ${direct ? 'with O_DIRECT (padded to whole blocks while open)' : 'through the page cache'}`, async () => {
      const dir = await tempDir();
      const release: (() => void)[] = [];
      const { h } = await helper({ sending_queue: { storage: 'wal', directory: dir, direct_io: direct } }, () => new Promise<void>((r) => release.push(r)));
      await h.consume(logs(7));
      const walDir = walDirectory(dir, 'otlphttp/test');
      const seg = (await readdir(walDir)).find((n) => n.endsWith('.wal'))!;
      const size = (await stat(path.join(walDir, seg))).size;
      expect(size).toBeGreaterThan(0);
      // One small request: O_DIRECT pads it to one block; the page cache writes just the record.
      expect(size === 4096).toBe(direct && DIRECT_OK);
      await until(() => release.length > 0);
      for (const r of release) r();
    });
  }

  it('wal: a request or batch larger than the whole budget is refused for good, naming the keys that size it', async () => {
    const dir = await tempDir();
    const { h } = await helper({ sending_queue: { storage: 'wal', directory: dir, max_size_mib: 1 } }, async () => {});
    const big = makeLogsRequest(1, 30_000, 'big'); // ~1.3 MB
    const one = await h.consume(new Payload('logs', big)).catch((e: unknown) => e);
    expect(one).toBeInstanceOf(PermanentError);
    expect((one as Error).message).toMatch(
      /exporter otlphttp\/test: sending_queue: a request of \d+ bytes is larger than the WAL queue's whole disk budget \(sending_queue.max_size_mib 1\).*raise max_size_mib$/,
    );
    const parts = ['a', 'b', 'c'].map((tag) => makeLogsRequest(1, 10_000, tag));
    const batch = await h.consume(Payload.fromParts('logs', parts, { requests: 3 })).catch((e: unknown) => e);
    expect(batch).toBeInstanceOf(PermanentError);
    expect((batch as Error).message).toMatch(
      /a batch of 3 requests \(\d+ bytes\) is larger .* raise max_size_mib, or lower the batch processor's send_batch_size/,
    );
    // One request held as the pieces it arrived in is still one request.
    const pieces = await h.consume(Payload.fromParts('logs', [big.subarray(0, 500_000), big.subarray(500_000)])).catch((e: unknown) => e);
    expect((pieces as Error).message).toMatch(/sending_queue: a request of \d+ bytes is larger/);
  });

  it('memory: shutdown drains what is queued; past the drain deadline the rest goes to the default keep directory and is sent by the next start', async () => {
    const sent: number[] = [];
    const a = await helper({ sending_queue: { num_consumers: 2 } }, async (p) => {
      await sleep(20);
      sent.push(p.itemCount);
    });
    for (let i = 1; i <= 10; i++) await a.h.consume(logs(i));
    await a.h.shutdown();
    expect(sent.sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await expect(a.h.consume(logs(1))).rejects.toBeInstanceOf(RetryableError);

    const keepDirectory = await tempDir();
    const b = await helper({ sending_queue: { num_consumers: 1 } }, () => new Promise<void>(() => {}), { drainTimeoutMs: 100, keepDirectory });
    for (let i = 0; i < 4; i++) await b.h.consume(logs(5));
    await b.h.shutdown();
    const kept = b.settings.logs.find((l) => String(l.msg).includes('they are sent at the next start'));
    expect(kept).toMatchObject({ directory: walDirectory(keepDirectory, 'otlphttp/test'), kept: { logs: { requests: 4, items: 20 } } });
    expect(b.settings.logs.some((l) => String(l.msg).includes('lost'))).toBe(false);

    // The next start delivers them; once nothing is left, its shutdown removes the directory.
    const sentNext: number[] = [];
    const c = await helper({ sending_queue: {} }, async (p) => void sentNext.push(p.itemCount), { keepDirectory });
    await until(() => sentNext.length === 4);
    expect(sentNext).toEqual([5, 5, 5, 5]);
    expect(c.settings.logs.some((l) => String(l.msg).includes('resending requests left in the WAL'))).toBe(true);
    await c.h.shutdown();
    expect(existsSync(walDirectory(keepDirectory, 'otlphttp/test'))).toBe(false);
  });

  it('memory: what cannot be kept anywhere at shutdown (the keep directory cannot be created) is logged as lost with counts', async () => {
    const file = path.join(await tempDir(), 'not-a-directory');
    await writeFile(file, '');
    const b = await helper({ sending_queue: { num_consumers: 1 } }, () => new Promise<void>(() => {}), { drainTimeoutMs: 100, keepDirectory: file });
    for (let i = 0; i < 4; i++) await b.h.consume(logs(5));
    await b.h.shutdown();
    const lost = b.settings.logs.find((l) => String(l.msg).includes('not drained before the shutdown deadline'));
    expect(lost).toMatchObject({ lost: { logs: { requests: 4, items: 20 } } });
  });

  it('memory with a directory: what a hung downstream kept at the shutdown deadline is written to the WAL and sent by the next start', async () => {
    const dir = await tempDir();
    const hung = await helper({ sending_queue: { num_consumers: 2, directory: dir } }, () => new Promise<void>(() => {}), { id: 'otlphttp/keep' });
    for (let i = 1; i <= 5; i++) await hung.h.consume(logs(i));
    const t0 = Date.now();
    await hung.h.shutdown(Date.now() + 600);
    expect(Date.now() - t0).toBeLessThan(1000);
    const kept = hung.settings.logs.find((l) => String(l.msg).includes('they are sent at the next start'));
    // Two were being sent (in flight, kept too: at least once), three were waiting.
    expect(kept).toMatchObject({ directory: walDirectory(dir, 'otlphttp/keep'), kept: { logs: { requests: 5, items: 15 } } });
    const sent: number[] = [];
    const next = await helper(
      { sending_queue: { directory: dir } },
      async (p) => {
        sent.push(p.itemCount);
      },
      { id: 'otlphttp/keep' },
    );
    await until(() => sent.length === 5);
    expect(sent.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    expect(next.settings.logs.some((l) => String(l.msg).includes('resending requests left in the WAL'))).toBe(true);
  });

  it('memory with a dead-letter file and no directory: what is left at shutdown goes to the dead-letter file, logged', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'dl.pb');
    const down = await helper({ dead_letter: { path: file }, retry_on_failure: { initial_interval: '10ms' } }, async () => {
      throw new RetryableError('down');
    });
    for (let i = 1; i <= 3; i++) await down.h.consume(logs(i));
    await down.h.shutdown(Date.now() + 2000);
    const dead = await readDeadLetterFile(file);
    expect(dead.map((d) => d.signal)).toEqual(['logs', 'logs', 'logs']);
    expect(down.settings.logs.find((l) => String(l.msg).includes('written to the dead-letter file (not resent'))).toMatchObject({
      kept: { logs: { requests: 3, items: 6 } },
    });
  });

  it('requires directory with storage wal and names the key', () => {
    const issues: { path: string[]; message: string }[] = [];
    schema.parse({ sending_queue: { storage: 'wal' } }, ['exporters', 'otlp'], issues);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toEqual(['exporters', 'otlp', 'sending_queue', 'directory']);
    expect(issues[0]!.message).toMatch(/required when storage is wal/);
    expect(schema.defaults()).toEqual({
      sending_queue: {
        enabled: true,
        num_consumers: 10,
        sizer: 'requests',
        queue_size: 1000,
        block_on_overflow: false,
        wait_for_result: false,
        storage: 'memory',
        directory: '',
        max_size_mib: 1024,
        fsync: 'interval',
        direct_io: true,
      },
      retry_on_failure: { enabled: true, initial_interval: 5000, randomization_factor: 0.5, multiplier: 1.5, max_interval: 30_000, max_elapsed_time: 300_000 },
      dead_letter: { path: '' },
    });
  });
});

describe('memory held by the queues counts against the memory limit (the somatic admission gate)', () => {
  /** A helper whose service has a memory ledger: the real gate a somatic processor would register. */
  async function withLedger(raw: Record<string, unknown>, send: SendFn) {
    const { h, gate } = await helper(raw, send, { id: 'otlphttp/ledger', ledger: true });
    return { h, gate: gate! };
  }
  /** A send that waits until let go, one release per call. */
  function heldSend() {
    const waiting: (() => void)[] = [];
    const sent: Payload[] = [];
    let held = true;
    const send: SendFn = (p) => {
      sent.push(p);
      return held ? new Promise<void>((r) => waiting.push(r)) : Promise.resolve();
    };
    const releaseAll = (): void => waiting.splice(0).forEach((r) => r());
    /** Lets everything through from now on (so a shutdown drains). */
    const open = (): void => {
      held = false;
      releaseAll();
    };
    return { send, sent, releaseAll, open };
  }

  it('a memory queue holds an acknowledged request in the ledger until it is delivered', async () => {
    const d = heldSend();
    const { h, gate } = await withLedger({ sending_queue: { enabled: true, storage: 'memory', num_consumers: 1 } }, d.send);
    const a = logs(50, 'a');
    const b = logs(50, 'b');
    await h.consume(a);
    await h.consume(b);
    // Both acknowledged (the receiver released them from its in-flight count); the queue still holds them.
    expect(gate.held).toBe(a.byteLength + b.byteLength);
    await until(() => d.sent.length === 1);
    d.releaseAll();
    await until(() => d.sent.length === 2);
    d.releaseAll();
    await until(() => gate.held === 0);
  });

  it('a WAL queue reads back no more than the room left (one record at a time when there is none)', async () => {
    const dir = await tempDir();
    const d = heldSend();
    const { h, gate } = await withLedger({ sending_queue: { enabled: true, storage: 'wal', directory: dir, num_consumers: 4 } }, d.send);
    gate.cap = 0; // no memory headroom: only progress (one record in delivery) is allowed
    const reqs = [logs(200, 'a'), logs(200, 'b'), logs(200, 'c')];
    for (const p of reqs) await h.consume(p);
    await until(() => d.sent.length === 1);
    await sleep(100);
    // Four consumers, three records waiting, but no room: one record is read back and delivered.
    expect(d.sent.length).toBe(1);
    expect(gate.held).toBeGreaterThanOrEqual(reqs[0]!.byteLength);
    gate.cap = 2 ** 30; // the next check found room
    d.releaseAll();
    await until(() => d.sent.length === 3);
    expect(gate.held).toBeGreaterThanOrEqual(reqs[1]!.byteLength + reqs[2]!.byteLength);
    d.releaseAll();
    await until(() => gate.held === 0);
    expect(d.sent.map((p) => Buffer.from(p.bytes).equals(Buffer.from(reqs[d.sent.indexOf(p)]!.bytes)))).toEqual([true, true, true]);
  });

  it('a record stuck in delivery does not keep the queue from reading once the room is back', async () => {
    const dir = await tempDir();
    const sent: string[] = [];
    const d = heldSend();
    // The first record is held by the downstream (a long retry, a slow answer); the others go through.
    const send: SendFn = (p, signal) => {
      const first = Buffer.from(p.bytes).includes('first');
      sent.push(first ? 'first' : 'other');
      return first ? d.send(p, signal) : Promise.resolve();
    };
    const { h, gate } = await withLedger({ sending_queue: { enabled: true, storage: 'wal', directory: dir, num_consumers: 4 } }, send);
    cleanups.push(() => d.open()); // runs before the helper's shutdown
    gate.cap = 0; // a moment without room (e.g. requests released since the check)
    await h.consume(logs(20, 'first'));
    await until(() => sent.length === 1);
    await sleep(20); // the dispatcher found no room with one record in delivery
    gate.cap = 2 ** 30; // the next check found room
    await h.consume(logs(20, 'other'));
    await h.consume(logs(20, 'other'));
    // Both later records were read and sent while the first was still held in delivery.
    await until(() => sent.length === 3, 2000);
    expect(sent).toEqual(['first', 'other', 'other']);
  });

  it('requests let in alone do not pile up in a memory queue past the room left under the limit', async () => {
    const d = heldSend();
    const { h, gate } = await withLedger({ sending_queue: { enabled: true, storage: 'memory', num_consumers: 1 } }, d.send);
    cleanups.push(() => d.open());
    const p = logs(200, 'x');
    // As a check finding RSS over the admission margin sets it: no cap, room for ~4 requests under the limit
    // (and no re-reading of RSS before the next check, which would find this process far under its limit).
    gate.reread = undefined;
    gate.roomAtReading = 0;
    gate.cap = 0;
    gate.soloRoom = 4 * p.byteLength;
    let admitted = 0;
    for (let i = 0; i < 50; i++) {
      if (!gate.tryAcquire(p.byteLength)) continue;
      admitted++;
      await h.consume(logs(200, 'x')); // acknowledged: the queue holds it
      gate.release(p.byteLength); // the receiver answered
    }
    // Before the next check, what the queue holds is new memory the RSS reading did not see.
    expect(gate.held).toBeLessThanOrEqual(4 * p.byteLength);
    expect(admitted).toBeLessThanOrEqual(4);
  });
});
