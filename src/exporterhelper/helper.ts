/**
 * The exporterhelper: wraps an exporter's one-attempt `send(payload, signal)` with a sending queue
 * (memory or WAL-backed), retries with exponential backoff, a dead-letter file and the exporter metrics.
 * Every exporter's consume() is this one implementation.
 *
 * Acknowledgement (what consume() resolving means):
 *  - sending_queue.enabled false: the downstream accepted the request (after retries).
 *  - storage memory: the request is in the in-memory queue (the collector's behaviour; a crash loses it).
 *  - storage wal: the request is durably appended to the exporter's WAL under the fsync policy. Consumers
 *    read the WAL, send with retries and acknowledge a record only once the downstream accepted it (or it
 *    went to the dead-letter file); unacknowledged records are sent again after a restart.
 * A full queue or disk budget refuses with a RetryableError (counted in otelcol_exporter_enqueue_failed_*)
 * whose retryAfterMs is estimated from the drain rate; nothing is dropped silently.
 */
import { join } from 'node:path';
import type { CreateSettings } from '../core/component.js';
import { PermanentError, RetryableError, messageOf } from '../core/errors.js';
import { Payload } from '../pdata/payload.js';
import type { Signal } from '../core/signal.js';
import type { Logger } from '../telemetry/logger.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { WriteAheadLog, metaNumber } from '../wal/index.js';
import { Backoff } from './backoff.js';
import type { ExporterHelperConfig, RetryConfig, SendingQueueConfig } from './config.js';
import { DeadLetterFile, SIGNAL_CODE, SIGNAL_OF_CODE } from './dead-letter.js';
import type { QueueFillRegistry } from './fill.js';
import type { MemoryLedger } from '../core/memory-ledger.js';

/** Most bytes one read of a WAL queue takes back for delivery (the WAL's own default). */
const READ_BACK_MAX_BYTES = 16 * 2 ** 20;
/**
 * With no room, how soon a WAL queue looks again even if no delivery ended: room comes back at the
 * ledger's next check (the somatic default check_interval), and a delivery may be retried for long.
 */
const ROOM_POLL_MS = 100;

/** One attempt to hand a request to the downstream; rejects with RetryableError or PermanentError. */
export type SendFn = (payload: Payload, signal: Signal) => Promise<void>;

export interface ExporterHelperOptions {
  /**
   * How long shutdown() keeps draining a memory queue before it logs what is left as lost (default 20 s,
   * inside the service's default 30 s shutdown deadline). A WAL queue does not drain: its data stays on disk.
   */
  drainTimeoutMs?: number;
  /** Random source of the backoff jitter (tests). */
  random?: () => number;
}

type Outcome =
  | { kind: 'sent' }
  | { kind: 'permanent'; err: Error }
  | { kind: 'exhausted'; err: Error }
  /** The helper is stopping and the request stays in the WAL. */
  | { kind: 'stopped' };

const SENT: Outcome = { kind: 'sent' };
const STOPPED: Outcome = { kind: 'stopped' };
const MiB = 1024 * 1024;
/** One "will retry" warning per exporter per this interval; the rest go to debug. */
const WARN_EVERY_MS = 5000;

interface Entry {
  payload: Payload;
  items: number;
  /** Bytes held in the service's memory ledger while queued and being delivered. */
  bytes: number;
}

/** Item count for metrics; a request whose framing is broken counts 0 (sending it reports the fault). */
export function itemsOf(payload: Payload): number {
  try {
    return payload.itemCount;
  } catch {
    return 0;
  }
}

/** The WAL directory of one exporter: IDs like `otlphttp/backend` become `otlphttp_backend`. */
export function walDirectory(directory: string, exporterId: string): string {
  return join(directory, exporterId.replace(/[^A-Za-z0-9._-]/g, '_'));
}

export class ExporterHelper {
  private readonly id: string;
  private readonly labels: { exporter: string };
  private readonly log: Logger;
  private readonly tel: Telemetry;
  private readonly queue: SendingQueueConfig;
  private readonly retry: RetryConfig;
  private readonly mode: 'sync' | 'memory' | 'wal';
  private readonly capacity: number;
  private readonly drainTimeoutMs: number;
  private readonly random: () => number;
  private readonly deadLetter: DeadLetterFile | undefined;
  /** Where the service's memory ledger is, once a somatic processor set a memory limit (read at use: exporters are created first). */
  private readonly pressure: { readonly ledger: MemoryLedger | undefined };
  private readonly queueFills: QueueFillRegistry;

  // memory queue: waiting entries from memHead; consumers parked in `takers` when it is empty.
  private mem: (Entry | undefined)[] = [];
  private memHead = 0;
  private takers: ((e: Entry | undefined) => void)[] = [];
  private consumers: Promise<void>[] = [];
  private readonly busy = new Set<Entry>();

  // wal queue
  private wal: WriteAheadLog | undefined;
  private appending = 0;
  private dispatcher: Promise<void> | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private slotWaiter: (() => void) | undefined;

  private started = false;
  private stopping = false;
  private stopPromise: Promise<void> | undefined;
  /** Retry sleeps in progress: wake function -> wake time. */
  private readonly sleepers = new Map<() => void, number>();
  private lastWarnAt = 0;
  private readonly unregister: (() => void)[] = [];

  // drain rate, for the Retry-After of refusals
  private drained = 0;
  private rateAt = Date.now();
  private rateCount = 0;
  private rate = 0;

  constructor(
    settings: CreateSettings,
    config: ExporterHelperConfig,
    private readonly send: SendFn,
    options: ExporterHelperOptions = {},
  ) {
    this.id = settings.id.id;
    this.labels = { exporter: this.id };
    this.log = settings.logger;
    this.tel = settings.telemetry;
    this.pressure = settings.pressure;
    this.queueFills = settings.queueFills;
    this.queue = config.sending_queue;
    this.retry = config.retry_on_failure;
    this.mode = !this.queue.enabled ? 'sync' : this.queue.storage === 'wal' ? 'wal' : 'memory';
    this.capacity = this.queue.queue_size;
    this.drainTimeoutMs = options.drainTimeoutMs ?? 20_000;
    this.random = options.random ?? Math.random;
    this.deadLetter = config.dead_letter.path ? new DeadLetterFile(config.dead_letter.path) : undefined;
  }

  /** Opens the dead-letter file and the WAL (recovering what a previous run left), starts the consumers. */
  async start(): Promise<void> {
    if (this.started) return;
    if (this.deadLetter) {
      try {
        await this.deadLetter.open();
      } catch (err) {
        throw new Error(`exporter ${this.id}: dead_letter.path: cannot open ${this.deadLetter.path}: ${messageOf(err)}`);
      }
    }
    if (this.mode === 'memory') {
      for (let i = 0; i < this.queue.num_consumers; i++) this.consumers.push(this.memConsumer());
      this.unregister.push(
        this.tel.registerExporterQueue(this.id, () => ({ size: this.memSize(), capacity: this.capacity })),
        this.queueFills.register(this.id, () => this.memSize() / this.capacity),
      );
    } else if (this.mode === 'wal') {
      const dir = walDirectory(this.queue.directory, this.id);
      const maxSizeBytes = this.queue.max_size_mib * MiB;
      let wal: WriteAheadLog;
      try {
        wal = await WriteAheadLog.open({
          dir,
          maxSizeBytes,
          fsync: this.queue.fsync,
          directIo: this.queue.direct_io,
          logger: this.log,
        });
      } catch (err) {
        throw new Error(`exporter ${this.id}: sending_queue.directory: cannot open the WAL in ${dir}: ${messageOf(err)}`);
      }
      this.wal = wal;
      const pending = wal.stats().pendingRecords;
      if (pending > 0) this.log.info('sending queue: resending requests left in the WAL by the previous run', { requests: pending, directory: dir });
      this.dispatcher = this.dispatch(wal);
      this.unregister.push(
        this.tel.registerExporterQueue(this.id, () => {
          const st = wal.stats();
          return { size: st.pendingRecords, capacity: this.capacity, bytes: st.bytesOnDisk + st.queuedBytes };
        }),
        this.queueFills.register(this.id, () => {
          const st = wal.stats();
          return Math.max((st.pendingRecords + this.appending) / this.capacity, st.fillRatio);
        }),
      );
    }
    this.started = true;
  }

  /** Requests waiting in the queue (memory: not yet taken by a consumer; wal: not yet acknowledged). */
  get queueSize(): number {
    if (this.mode === 'memory') return this.memSize();
    if (this.mode === 'wal') return this.wal ? this.wal.stats().pendingRecords : 0;
    return 0;
  }

  consume(payload: Payload): Promise<void> {
    if (this.mode === 'sync') return this.consumeSync(payload);
    if (!this.started || this.stopping) {
      return Promise.reject(new RetryableError(`exporter ${this.id} is ${this.stopping ? 'shutting down' : 'not started'}; retry later`, { retryAfterMs: 1000 }));
    }
    if (this.mode === 'memory') return this.enqueueMemory(payload);
    return this.enqueueWal(payload);
  }

  // ---------------------------------------------------------------------------------------------------
  // Sending with retries

  private async consumeSync(payload: Payload): Promise<void> {
    const items = itemsOf(payload);
    const out = await this.deliver(payload, false);
    if (out.kind === 'sent') {
      this.countSent(payload, items);
      return;
    }
    this.tel.exporterSendFailed[payload.signal].inc(this.labels, items);
    if (out.kind === 'permanent') {
      // The client is told and will not resend: keep the data if a dead-letter file is set.
      await this.dispose(payload, items, out, false);
      throw out.err;
    }
    if (out.kind === 'exhausted') throw out.err;
    throw new RetryableError(`exporter ${this.id} is shutting down; retry later`);
  }

  /**
   * Sends until the downstream accepts, the error is permanent, or retries run out. `persistent` (a WAL
   * record) never runs out unless a dead-letter file can take it, and stops at shutdown without a verdict.
   */
  private async deliver(payload: Payload, persistent: boolean): Promise<Outcome> {
    const r = this.retry;
    const signal = payload.signal;
    const start = Date.now();
    let backoff: Backoff | undefined;
    let keptNoted = false;
    for (let attempt = 1; ; attempt++) {
      let failure: unknown;
      try {
        await this.send(payload, signal);
        return SENT;
      } catch (e) {
        failure = e;
      }
      if (failure instanceof PermanentError) return { kind: 'permanent', err: failure };
      // As the collector: anything not marked permanent is worth another try.
      const err = failure instanceof Error ? failure : new Error(String(failure));
      if (this.stopping) return persistent ? STOPPED : { kind: 'exhausted', err };
      backoff ??= new Backoff(r, this.random);
      const retryAfter = err instanceof RetryableError ? err.retryAfterMs : undefined;
      let delay = backoff.next();
      if (retryAfter !== undefined) delay = retryAfter;
      const elapsed = Date.now() - start;
      const giveUp = !r.enabled || (r.max_elapsed_time > 0 && elapsed + delay > r.max_elapsed_time);
      if (giveUp) {
        if (!persistent || this.deadLetter) return { kind: 'exhausted', err };
        // Data on disk is not dropped for want of retries: it waits in the WAL, retried every max_interval.
        if (!keptNoted) {
          keptNoted = true;
          this.log.warn('Exporting failed. Retries are exhausted; the request stays in the WAL and is retried every max_interval (set dead_letter.path to move such requests aside)', {
            error: err.message, signal, items: itemsOf(payload), elapsed_ms: elapsed,
          });
        }
        delay = retryAfter ?? r.max_interval;
      }
      const now = Date.now();
      if (now - this.lastWarnAt >= WARN_EVERY_MS) {
        this.lastWarnAt = now;
        this.log.warn('Exporting failed. Will retry the request after interval.', { error: err.message, signal, attempt, interval_ms: Math.round(delay) });
      } else {
        this.log.debug('Exporting failed. Will retry the request after interval.', { error: err.message, signal, attempt, interval_ms: Math.round(delay) });
      }
      await this.sleep(delay);
      // A persistent record stops here at shutdown; a memory-queue request gets one last attempt.
      if (this.stopping && persistent) return STOPPED;
    }
  }

  /** Sleeps `ms` or until shutdown wakes every sleeper. */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.set(wake, Date.now() + ms);
    });
  }

  private countSent(payload: Payload, items: number): void {
    this.tel.exporterSent[payload.signal].inc(this.labels, items);
    this.tel.exporterBytes.inc(this.labels, payload.byteLength);
  }

  /**
   * A queued request reached a verdict: count and report it. Returns whether it may leave the queue
   * (a WAL record whose dead-letter write failed stays, to be sent again after a restart).
   */
  private async settle(payload: Payload, items: number, out: Outcome, persistent: boolean): Promise<boolean> {
    this.drained++;
    if (out.kind === 'sent') {
      this.countSent(payload, items);
      return true;
    }
    if (out.kind === 'stopped') return false;
    this.tel.exporterSendFailed[payload.signal].inc(this.labels, items);
    return this.dispose(payload, items, out, persistent);
  }

  /** Writes a failed request to the dead-letter file, or logs it as dropped. */
  private async dispose(payload: Payload, items: number, out: { kind: 'permanent' | 'exhausted'; err: Error }, persistent: boolean): Promise<boolean> {
    const reason = out.kind === 'permanent' ? 'the error is not retryable' : 'no more retries left';
    const fields = { error: out.err.message, reason, signal: payload.signal, items };
    if (this.deadLetter) {
      try {
        await this.deadLetter.write(payload.signal, payload.bytes);
        this.log.error('Exporting failed. The request was written to the dead-letter file.', { ...fields, dead_letter: this.deadLetter.path });
        return true;
      } catch (err) {
        this.log.error(
          persistent
            ? 'Exporting failed and the dead-letter file could not be written; the request stays in the WAL until the next start'
            : 'Exporting failed and the dead-letter file could not be written. Dropping data.',
          { ...fields, dead_letter: this.deadLetter.path, dead_letter_error: messageOf(err) },
        );
        return !persistent;
      }
    }
    this.log.error('Exporting failed. Dropping data.', { ...fields, hint: 'set dead_letter.path to keep such requests' });
    return true;
  }

  // ---------------------------------------------------------------------------------------------------
  // Memory queue

  private memSize(): number {
    return this.mem.length - this.memHead;
  }

  private enqueueMemory(payload: Payload): Promise<void> {
    const items = itemsOf(payload);
    if (this.memSize() >= this.capacity) return Promise.reject(this.refuseFull(payload, items, `${this.capacity} requests`));
    const entry: Entry = { payload, items, bytes: payload.byteLength };
    // Acknowledged, the request leaves the admission gate's in-flight count, but the queue keeps its bytes.
    this.pressure.ledger?.hold(entry.bytes);
    const taker = this.takers.pop();
    if (taker) taker(entry);
    else this.mem.push(entry);
    return Promise.resolve();
  }

  private take(): Entry | undefined | Promise<Entry | undefined> {
    if (this.memHead < this.mem.length) {
      const e = this.mem[this.memHead]!;
      this.mem[this.memHead++] = undefined;
      if (this.memHead === this.mem.length) {
        this.mem = [];
        this.memHead = 0;
      } else if (this.memHead > 1024 && this.memHead * 2 > this.mem.length) {
        this.mem = this.mem.slice(this.memHead);
        this.memHead = 0;
      }
      return e;
    }
    if (this.stopping) return undefined;
    return new Promise((resolve) => this.takers.push(resolve));
  }

  private async memConsumer(): Promise<void> {
    for (;;) {
      const e = await this.take();
      if (!e) return;
      this.busy.add(e);
      try {
        const out = await this.deliver(e.payload, false);
        await this.settle(e.payload, e.items, out, false);
      } catch (err) {
        this.log.error('sending queue consumer failed', { error: messageOf(err) });
      } finally {
        this.busy.delete(e);
        this.pressure.ledger?.unhold(e.bytes);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // WAL queue

  private async enqueueWal(payload: Payload): Promise<void> {
    const wal = this.wal!;
    const requests = payload.requests;
    const items = itemsOf(payload);
    if (wal.stats().pendingRecords + this.appending >= this.capacity) throw this.refuseFull(payload, items, `${this.capacity} requests`);
    this.appending++;
    try {
      // A batch (or a body kept as it arrived) is written as its pieces: one record, never joined first.
      await wal.append(payload.chunks(), SIGNAL_CODE[payload.signal]);
    } catch (err) {
      this.tel.exporterEnqueueFailed[payload.signal].inc(this.labels, items);
      if (err instanceof PermanentError) {
        // Only a record larger than the whole budget is refused for good: name the config keys that set it.
        const what = requests > 1 ? `a batch of ${requests} requests (${payload.byteLength} bytes)` : `a request of ${payload.byteLength} bytes`;
        const batch = requests > 1 ? ", or lower the batch processor's send_batch_size (a batch is sent once it holds that many items)" : '';
        throw new PermanentError(
          `exporter ${this.id}: sending_queue: ${what} is larger than the WAL queue's whole disk budget (sending_queue.max_size_mib ${this.queue.max_size_mib}) and can never be queued; raise max_size_mib${batch}`,
          { cause: err },
        );
      }
      throw new RetryableError(`exporter ${this.id}: sending queue (storage wal, max_size_mib ${this.queue.max_size_mib}): ${messageOf(err)}`, {
        retryAfterMs: this.retryAfterEstimate(),
        cause: err,
      });
    } finally {
      this.appending--;
    }
  }

  /** Reads the WAL and hands records to at most num_consumers concurrent deliveries. */
  private async dispatch(wal: WriteAheadLog): Promise<void> {
    const n = this.queue.num_consumers;
    try {
      for (;;) {
        while (this.inflight.size >= n && !this.stopping) await new Promise<void>((r) => (this.slotWaiter = r));
        if (this.stopping) return;
        // Records read back are memory the service holds: with a memory limit, read no more than the room
        // left under it (at least one record when none is being delivered: the queue never stops for lack
        // of room).
        const ledger = this.pressure.ledger;
        if (ledger) {
          const room = ledger.room();
          if (room <= 0 && this.inflight.size > 0) {
            // Wait for a delivery to end or for the room to come back, whichever is first: a record
            // retried for long must not keep the other consumers idle once there is room again.
            await new Promise<void>((r) => {
              const wake = (): void => {
                clearTimeout(timer);
                r();
              };
              const timer = setTimeout(wake, ROOM_POLL_MS);
              this.slotWaiter = wake;
            });
            continue;
          }
        }
        // The room is read again when the records are: next() may first wait for some to be written.
        const maxBytes = ledger ? () => Math.max(1, Math.min(ledger.room(), READ_BACK_MAX_BYTES)) : READ_BACK_MAX_BYTES;
        const recs = await wal.next(n - this.inflight.size, maxBytes);
        // Records read after the stop began stay unacknowledged: the next start sends them.
        if (recs.length === 0 || this.stopping) return;
        for (const rec of recs) {
          const code = metaNumber(rec.meta);
          const signal = code === undefined ? undefined : SIGNAL_OF_CODE[code];
          if (!signal) {
            this.log.error('sending queue: WAL record without a known signal (written by another program?); skipping it', { sequence: rec.sequence, directory: wal.dir });
            wal.ack(rec.sequence);
            continue;
          }
          // Record data is a view into the WAL's read buffer. A record that fills most of it (a large one is
          // read into a buffer of its own) is used as it is; a small one is copied, so that a delivery held
          // for long does not keep a whole read chunk alive.
          const data = rec.data.byteLength * 2 >= rec.data.buffer.byteLength ? rec.data : Buffer.from(rec.data);
          const payload = new Payload(signal, data);
          const held = data === rec.data ? data.buffer.byteLength : data.byteLength;
          ledger?.hold(held);
          const task: Promise<void> = this.deliverRecord(wal, rec.sequence, payload).finally(() => {
            ledger?.unhold(held);
            this.inflight.delete(task);
            const w = this.slotWaiter;
            this.slotWaiter = undefined;
            w?.();
          });
          this.inflight.add(task);
        }
      }
    } catch (err) {
      if (!this.stopping) this.log.error('sending queue: reading the WAL failed; queued requests wait for the next start', { error: messageOf(err), directory: wal.dir });
    }
  }

  private async deliverRecord(wal: WriteAheadLog, sequence: number, payload: Payload): Promise<void> {
    const items = itemsOf(payload);
    try {
      const out = await this.deliver(payload, true);
      if (await this.settle(payload, items, out, true)) wal.ack(sequence);
    } catch (err) {
      this.log.error('sending queue: delivering a WAL record failed; it is sent again after the next start', { error: messageOf(err), sequence });
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Refusals

  private refuseFull(payload: Payload, items: number, what: string): RetryableError {
    this.tel.exporterEnqueueFailed[payload.signal].inc(this.labels, items);
    return new RetryableError(
      `sending queue of exporter ${this.id} is full (${what}): the downstream is slower than the input or unavailable; retry later, or raise sending_queue.queue_size / num_consumers`,
      { retryAfterMs: this.retryAfterEstimate() },
    );
  }

  /**
   * When to come back: the time the recent drain rate needs to free a tenth of the queue; with nothing
   * draining (downstream refusing), the time of the next retry towards it. Between 1 s and 30 s.
   */
  retryAfterEstimate(now = Date.now()): number {
    if (now - this.rateAt >= 1000) {
      this.rate = ((this.drained - this.rateCount) * 1000) / (now - this.rateAt);
      this.rateAt = now;
      this.rateCount = this.drained;
    }
    let ms = 1000;
    if (this.rate > 0) {
      ms = (Math.max(1, Math.ceil(this.capacity / 10)) / this.rate) * 1000;
    } else {
      let soonest = Infinity;
      for (const at of this.sleepers.values()) if (at < soonest) soonest = at;
      if (soonest !== Infinity) ms = soonest - now;
    }
    return Math.min(30_000, Math.max(1000, Math.ceil(ms / 1000) * 1000));
  }

  // ---------------------------------------------------------------------------------------------------
  // Shutdown

  /**
   * Memory queue: refuses new requests and drains what is queued (retry waits are cut short: each request
   * gets one more attempt) for up to drainTimeoutMs; the rest is logged as lost with counts. WAL queue:
   * stops the consumers (in-flight attempts finish and are acknowledged) and closes the WAL; the data
   * stays for the next start. Sync: nothing held.
   */
  shutdown(): Promise<void> {
    this.stopPromise ??= this.doShutdown();
    return this.stopPromise;
  }

  private async doShutdown(): Promise<void> {
    this.stopping = true;
    for (const wake of [...this.sleepers.keys()]) wake();
    for (const t of this.takers.splice(0)) t(undefined);
    const w = this.slotWaiter;
    this.slotWaiter = undefined;
    w?.();
    try {
      if (this.mode === 'memory') await this.drainMemory();
      else if (this.mode === 'wal' && this.wal) {
        await withTimeout(Promise.allSettled([...this.inflight]), this.drainTimeoutMs);
        await this.wal.close();
        await this.dispatcher;
        const st = this.wal.stats();
        if (st.pendingRecords > 0) this.log.info('sending queue: requests kept in the WAL for the next start', { requests: st.pendingRecords, bytes: st.bytesOnDisk });
      }
    } finally {
      for (const u of this.unregister.splice(0)) u();
      await this.deadLetter?.close().catch(() => {});
    }
  }

  private async drainMemory(): Promise<void> {
    const done = await withTimeout(Promise.all(this.consumers), this.drainTimeoutMs);
    if (done) return;
    const lost: Record<string, { requests: number; items: number }> = {};
    const note = (e: Entry): void => {
      const l = (lost[e.payload.signal] ??= { requests: 0, items: 0 });
      l.requests++;
      l.items += e.items;
      this.tel.exporterSendFailed[e.payload.signal].inc(this.labels, e.items);
    };
    for (let i = this.memHead; i < this.mem.length; i++) note(this.mem[i]!);
    for (const e of this.busy) note(e);
    this.pressure.ledger?.unhold(this.mem.slice(this.memHead).reduce((sum, e) => sum + (e?.bytes ?? 0), 0));
    this.mem = [];
    this.memHead = 0;
    this.log.error('sending queue was not drained before the shutdown deadline; these requests are lost', { deadline_ms: this.drainTimeoutMs, lost });
  }
}

/** Resolves true when `p` settles within `ms`, false otherwise. */
async function withTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), t]);
  } finally {
    clearTimeout(timer);
  }
}
