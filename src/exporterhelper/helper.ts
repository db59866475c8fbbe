/**
 * The exporterhelper: an exporter's one-attempt `send(payload, signal)` wrapped in the collector's chain
 * of senders (see sender.ts):
 *
 *   consume -> queue (memory-queue.ts | wal-queue.ts | none) -> metrics-sender.ts (counts, dead letters)
 *           -> narrowing-sender.ts -> retry-sender.ts -> timeout-sender.ts -> send
 *
 * Acknowledgement (what consume() resolving means):
 *  - sending_queue.enabled false: the downstream accepted the request (after retries).
 *  - storage memory: the request is in the in-memory queue (the collector's behaviour; a crash loses it);
 *    with wait_for_result, once the downstream accepted it.
 *  - storage wal: the request is durably appended to the exporter's WAL under the fsync policy.
 * A full queue or disk budget refuses with a RetryableError (counted in otelcol_exporter_enqueue_failed_*)
 * whose retryAfterMs is estimated from the drain rate; nothing is dropped silently.
 *
 * Shutdown of a memory queue: what it cannot deliver before its deadline is appended to a WAL in
 * `sending_queue.directory` (delivered from there at the next start), else to the dead-letter file, else
 * to a WAL in the default keep directory (DEFAULT_KEEP_DIRECTORY/<exporter id>, created only when there is
 * something to keep, and delivered from at the next start); the log says how much and where. Only when
 * that write fails too is it logged as lost.
 */
import { existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CreateSettings } from '../core/component.js';
import { CodedError, RetryableError, messageOf } from '../core/errors.js';
import type { Payload } from '../pdata/payload.js';
import type { Logger } from '../telemetry/logger.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { ExporterHelperConfig, SendingQueueConfig } from './config.js';
import { DeadLetterFile } from './dead-letter.js';
import type { QueueFillRegistry } from './fill.js';
import { MemoryQueue } from './memory-queue.js';
import { MetricsSender } from './metrics-sender.js';
import { NarrowingSender } from './narrowing-sender.js';
import { Refusals } from './refusal.js';
import { RetrySender } from './retry-sender.js';
import { itemsOf, type SendFn } from './sender.js';
import { timeoutSender } from './timeout-sender.js';
import { WalQueue } from './wal-queue.js';

export interface ExporterHelperOptions {
  /**
   * How long shutdown() keeps draining a memory queue before it puts what is left aside (default 20 s,
   * inside the service's default 30 s shutdown deadline; a nearer deadline given to shutdown() wins).
   */
  drainTimeoutMs?: number;
  /** The exporter's per-attempt `timeout`: the timeout stage fires a little after it, as a backstop. */
  timeoutMs?: number;
  /** Random source of the backoff jitter (tests). */
  random?: () => number;
  /**
   * Where a memory queue with neither sending_queue.directory nor dead_letter.path keeps what it could
   * not deliver at shutdown (default DEFAULT_KEEP_DIRECTORY, against the working directory; tests).
   */
  keepDirectory?: string;
}

/**
 * The default place of what a memory queue could not deliver at shutdown, when the config names none:
 * beside the somatic WAL's default (`./data/somatic`), against the working directory.
 */
export const DEFAULT_KEEP_DIRECTORY = './data/sending_queue';

/** The WAL directory of one exporter: IDs like `otlphttp/backend` become `otlphttp_backend`. */
export function walDirectory(directory: string, exporterId: string): string {
  return join(directory, exporterId.replace(/[^A-Za-z0-9._-]/g, '_'));
}

export class ExporterHelper {
  private readonly id: string;
  private readonly log: Logger;
  private readonly tel: Telemetry;
  /** The service's exporter queue fill registry, which the somatic controller reads. */
  private readonly queueFills: QueueFillRegistry;
  private readonly queue: SendingQueueConfig;
  private readonly mode: 'sync' | 'memory' | 'wal';
  private readonly drainTimeoutMs: number;
  private readonly deadLetter: DeadLetterFile | undefined;
  private readonly retry: RetrySender;
  private readonly metrics: MetricsSender;
  private readonly refusals: Refusals;
  private readonly memory: MemoryQueue | undefined;
  /** storage wal: the queue; storage memory with a directory: where the shutdown keeps what is left. */
  private wal: WalQueue | undefined;
  /**
   * storage memory with neither a directory nor a dead-letter file: the default WAL directory that keeps
   * what is left at shutdown (opened at start only when an earlier shutdown left something there).
   */
  private readonly keepDir: string | undefined;
  private readonly pressure: CreateSettings['pressure'];
  private started = false;
  private stopping = false;
  private stopPromise: Promise<void> | undefined;
  private readonly unregister: (() => void)[] = [];

  constructor(settings: CreateSettings, config: ExporterHelperConfig, send: SendFn, options: ExporterHelperOptions = {}) {
    this.id = settings.id.id;
    this.log = settings.logger;
    this.tel = settings.telemetry;
    this.queueFills = settings.queueFills;
    this.queue = config.sending_queue as SendingQueueConfig;
    this.mode = !this.queue.enabled ? 'sync' : this.queue.storage === 'wal' ? 'wal' : 'memory';
    this.drainTimeoutMs = options.drainTimeoutMs ?? 20_000;
    this.deadLetter = config.dead_letter.path ? new DeadLetterFile(config.dead_letter.path) : undefined;
    this.retry = new RetrySender(
      config.retry_on_failure,
      timeoutSender(send, options.timeoutMs, this.id),
      this.log,
      this.deadLetter !== undefined,
      (payload) => this.metrics.countResent(payload),
      options.random,
    );
    this.metrics = new MetricsSender(this.id, this.tel, this.log, this.deadLetter, new NarrowingSender(this.retry, this.log));
    // Retry-After waits for a tenth of the queue to drain at the recent rate of requests; with another
    // sizer the queue's size in requests is unknown, and the collector's default of 1000 stands in.
    const capacityRequests = this.queue.sizer === 'requests' ? this.queue.queue_size : 1000;
    this.refusals = new Refusals(this.id, capacityRequests, this.metrics, this.retry);
    if (this.mode === 'memory') this.memory = new MemoryQueue(this.id, this.queue, this.log, this.tel, this.metrics, this.refusals, settings.pressure);
    this.pressure = settings.pressure;
    const walDir = this.queue.directory ? walDirectory(this.queue.directory, this.id) : undefined;
    if (walDir && this.mode !== 'sync') this.wal = this.walQueue(walDir);
    this.keepDir =
      this.mode === 'memory' && !walDir && !this.deadLetter ? walDirectory(resolve(options.keepDirectory ?? DEFAULT_KEEP_DIRECTORY), this.id) : undefined;
  }

  private walQueue(dir: string): WalQueue {
    return new WalQueue(this.id, dir, this.queue, this.log, this.tel, this.metrics, this.refusals, this.pressure);
  }

  /** Opens the dead-letter file and the WAL (recovering what a previous run left), starts the consumers. */
  async start(): Promise<void> {
    if (this.started) return;
    if (this.deadLetter) {
      try {
        await this.deadLetter.open();
      } catch (err) {
        throw new CodedError('GS_COMPONENT_START_FAILED', `exporter ${this.id}: dead_letter.path: cannot open ${this.deadLetter.path}: ${messageOf(err)}`, {
          cause: err,
        });
      }
    }
    // A memory queue's WAL holds what an earlier shutdown kept: started, it delivers that first.
    await this.wal?.start();
    if (this.keepDir) await this.resumeKept(this.keepDir);
    const memory = this.memory;
    const wal = this.wal;
    if (memory) {
      memory.start();
      this.unregister.push(
        this.tel.registerExporterQueue(this.id, () => ({ size: memory.size, capacity: this.queue.queue_size })),
        this.queueFills.register(this.id, () => memory.size / this.queue.queue_size),
      );
    } else if (wal) {
      this.unregister.push(
        this.tel.registerExporterQueue(this.id, () => {
          const st = wal.stats();
          return { size: wal.size, capacity: this.queue.queue_size, bytes: st ? st.bytesOnDisk + st.queuedBytes : 0 };
        }),
        this.queueFills.register(this.id, () => wal.fill()),
      );
    }
    this.started = true;
  }

  /**
   * Delivers what an earlier shutdown kept in the default keep directory. Another gateway on the same
   * working directory may hold it (its WAL LOCK): then this one goes on without it, and says so.
   */
  private async resumeKept(dir: string): Promise<void> {
    if (!existsSync(dir) || readdirSync(dir).length === 0) return;
    const wal = this.walQueue(dir);
    try {
      await wal.start();
    } catch (err) {
      this.log.warn('sending queue: could not open the requests an earlier shutdown kept; they stay there for a later start', {
        directory: dir,
        error: messageOf(err),
      });
      return;
    }
    this.wal = wal;
  }

  /** What the queue holds in the sizer's unit (memory: not yet taken by a consumer; wal: not yet acknowledged). */
  get queueSize(): number {
    if (this.memory) return this.memory.size;
    if (this.mode === 'wal') return this.wal!.size;
    return 0;
  }

  consume(payload: Payload): Promise<void> {
    if (this.mode === 'sync') return this.consumeSync(payload);
    if (!this.started || this.stopping) {
      return Promise.reject(
        new RetryableError(`exporter ${this.id} is ${this.stopping ? 'shutting down' : 'not started'}; retry later`, {
          retryAfterMs: 1000,
          code: 'GS_COMPONENT_STOPPED',
        }),
      );
    }
    if (this.memory) return this.memory.enqueue(payload);
    return this.wal!.enqueue(payload);
  }

  private async consumeSync(payload: Payload): Promise<void> {
    const verdict = await this.metrics.deliver(payload, 'sync');
    if (verdict.error) throw verdict.error;
  }

  /** See Refusals.retryAfterEstimate. */
  retryAfterEstimate(now = Date.now()): number {
    return this.refusals.retryAfterEstimate(now);
  }

  /**
   * Memory queue: refuses new requests and drains what is queued (retry waits are cut short: each request
   * gets one more attempt) for up to drainTimeoutMs, or less when `deadlineAt` (epoch ms, the service's
   * shutdown deadline) leaves less; what is left is kept durably (see the file comment). WAL queue: stops
   * the consumers (in-flight attempts finish and are acknowledged) and closes the WAL; the data stays for
   * the next start. Sync: nothing held. `attemptAfterStop`: a request waiting to retry is tried once more
   * before it is kept (see RetrySender.stop).
   */
  shutdown(deadlineAt?: number, opts: { attemptAfterStop?: boolean } = {}): Promise<void> {
    this.stopPromise ??= this.doShutdown(deadlineAt, opts.attemptAfterStop ?? false);
    return this.stopPromise;
  }

  private async doShutdown(deadlineAt: number | undefined, attemptAfterStop: boolean): Promise<void> {
    this.stopping = true;
    // Keeping what is left needs time too: a share of what the deadline leaves, up to 2 s.
    let drainMs = this.drainTimeoutMs;
    if (deadlineAt !== undefined) {
      const left = deadlineAt - Date.now();
      drainMs = Math.max(0, Math.min(drainMs, left - Math.min(2000, left * 0.3)));
    }
    const keepsLeftovers = this.memory !== undefined && (this.wal !== undefined || this.deadLetter !== undefined || this.keepDir !== undefined);
    this.retry.stop(keepsLeftovers, attemptAfterStop);
    try {
      if (this.memory) {
        this.wal?.stopReading();
        const left = await this.memory.shutdown(drainMs);
        if (left.length > 0) await this.keepLeftovers(left, drainMs);
        await this.wal?.shutdown(0);
        // The default keep directory goes once it holds nothing: a later start has nothing to open.
        if (this.wal && this.wal.dir === this.keepDir && this.wal.pendingRecords === 0) await rm(this.keepDir, { recursive: true, force: true });
      } else if (this.wal) {
        await this.wal.shutdown(drainMs);
      }
    } finally {
      for (const u of this.unregister.splice(0)) u();
      await this.deadLetter?.close().catch(() => {});
    }
  }

  /** What a memory queue could not deliver at shutdown: to its WAL, else the dead-letter file, else logged as lost. */
  private async keepLeftovers(left: Payload[], drainMs: number): Promise<void> {
    const perSignal: Record<string, { requests: number; items: number; bytes: number }> = {};
    for (const p of left) {
      const c = (perSignal[p.signal] ??= { requests: 0, items: 0, bytes: 0 });
      c.requests++;
      c.items += itemsOf(p);
      c.bytes += p.byteLength;
    }
    if (!this.wal && this.keepDir) {
      const wal = this.walQueue(this.keepDir);
      // Opened to keep, not to send: nothing is read back before the next start.
      wal.stopReading();
      try {
        await wal.start();
        this.wal = wal;
      } catch (err) {
        this.log.error('sending queue: could not open the default keep directory for undelivered requests', { directory: this.keepDir, error: messageOf(err) });
      }
    }
    if (this.wal) {
      try {
        await this.wal.keep(left);
        this.log.warn('sending queue: requests not delivered before the shutdown deadline were written to the WAL; they are sent at the next start', {
          directory: this.wal.dir,
          kept: perSignal,
          drain_ms: drainMs,
        });
        return;
      } catch (err) {
        this.log.error('sending queue: could not write undelivered requests to the WAL', { directory: this.wal.dir, error: messageOf(err) });
      }
    }
    if (this.deadLetter) {
      try {
        for (const p of left) await this.deadLetter.write(p.signal, p.bytes);
        this.log.warn(
          'sending queue: requests not delivered before the shutdown deadline were written to the dead-letter file (not resent by itself; set sending_queue.directory to have them sent at the next start)',
          {
            dead_letter: this.deadLetter.path,
            kept: perSignal,
            drain_ms: drainMs,
          },
        );
        return;
      } catch (err) {
        this.log.error('sending queue: could not write undelivered requests to the dead-letter file', {
          dead_letter: this.deadLetter.path,
          error: messageOf(err),
        });
      }
    }
    for (const p of left) this.tel.exporterSendFailed[p.signal].inc({ exporter: this.id }, itemsOf(p));
    this.log.error(
      'sending queue was not drained before the shutdown deadline and could not be kept; these requests are lost (set sending_queue.directory to a writable directory to keep them for the next start)',
      {
        deadline_ms: drainMs,
        lost: perSignal,
      },
    );
  }
}
