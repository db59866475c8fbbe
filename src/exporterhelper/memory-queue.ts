/**
 * The memory sending queue: a request is acknowledged once queued, and `num_consumers` consumers send it
 * (joined into batches when `batch` is set). What it holds counts against the service's memory ledger.
 * `queue_size` is in the sizer's unit; a full queue refuses retryably, or with `block_on_overflow` holds
 * the caller until there is room. A request larger than the whole queue is let into an empty one, so
 * nothing is refused for good for its size.
 *
 * At shutdown it stops taking requests and drains until its drain deadline; what is left (queued, or
 * still being sent, or refused by a downstream that is down) is handed back to the helper, which keeps it
 * durably for the next start when it can (see helper.ts).
 */
import { RetryableError, messageOf } from '../core/errors.js';
import type { MemoryLedgerSource } from '../core/memory-ledger.js';
import type { Payload } from '../pdata/payload.js';
import { SIGNALS, type Signal } from '../core/signal.js';
import type { Logger } from '../telemetry/logger.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { Fifo, joinBatch, readyAt, takeBatch, type Batchable, type BatchSettings } from './batcher.js';
import { batchSizer, type SendingQueueConfig } from './config.js';
import type { MetricsSender } from './metrics-sender.js';
import type { Refusals } from './refusal.js';
import { itemsOf, withTimeout } from './sender.js';
import { sizeOf, sizeText } from './sizer.js';

interface Entry extends Batchable {
  items: number;
  /** Size in the queue sizer's unit. */
  units: number;
  /** Bytes held in the memory ledger. */
  bytes: number;
  /** wait_for_result: settles the caller's promise with the verdict. */
  done?: (err?: Error) => void;
}

export class MemoryQueue {
  private readonly lanes = new Map<Signal, Fifo<Entry>>(SIGNALS.map((s) => [s, new Fifo<Entry>()]));
  private readonly laneSize = new Map<Signal, number>(SIGNALS.map((s) => [s, 0]));
  private units = 0;
  private readonly batch: BatchSettings | undefined;
  private readonly batchSizer: 'items' | 'bytes';
  /** Consumers waiting for a change (a request queued, or the stop). */
  private takers: (() => void)[] = [];
  /** Callers of a full queue waiting for room (block_on_overflow). */
  private roomWaiters: (() => void)[] = [];
  private consumers: Promise<void>[] = [];
  private readonly busy = new Set<Entry[]>();
  private leftover: Entry[] = [];
  private stopping = false;

  constructor(
    private readonly id: string,
    private readonly cfg: SendingQueueConfig,
    private readonly log: Logger,
    private readonly tel: Telemetry,
    private readonly metrics: MetricsSender,
    private readonly refusals: Refusals,
    /** The service's memory ledger, read at use (src/core/memory-ledger.ts). */
    private readonly memory: MemoryLedgerSource,
  ) {
    this.batchSizer = batchSizer(cfg);
    const b = cfg.batch;
    this.batch = b ? { flushTimeoutMs: b.flush_timeout, minSize: b.min_size, maxSize: b.max_size } : undefined;
  }

  start(): void {
    for (let i = 0; i < this.cfg.num_consumers; i++) this.consumers.push(this.consume());
  }

  /** What is queued, in the sizer's unit (not counting requests being sent). */
  get size(): number {
    return this.units;
  }

  enqueue(payload: Payload): Promise<void> {
    const items = itemsOf(payload);
    const units = sizeOf(this.cfg.sizer, payload);
    if (this.units > 0 && this.units + units > this.cfg.queue_size) {
      if (!this.cfg.block_on_overflow) return Promise.reject(this.refusals.full(payload, items, sizeText(this.cfg.sizer, this.cfg.queue_size)));
      return this.waitForRoom(payload, items, units);
    }
    return this.admit(payload, items, units);
  }

  private async waitForRoom(payload: Payload, items: number, units: number): Promise<void> {
    while (this.units > 0 && this.units + units > this.cfg.queue_size) {
      if (this.stopping) throw new RetryableError(`exporter ${this.id} is shutting down; retry later`, { retryAfterMs: 1000, code: 'GS_COMPONENT_STOPPED' });
      await new Promise<void>((r) => this.roomWaiters.push(r));
    }
    if (this.stopping) throw new RetryableError(`exporter ${this.id} is shutting down; retry later`, { retryAfterMs: 1000, code: 'GS_COMPONENT_STOPPED' });
    return this.admit(payload, items, units);
  }

  private admit(payload: Payload, items: number, units: number): Promise<void> {
    const e: Entry = { payload, items, units, bytes: payload.byteLength, at: Date.now(), batchSize: this.batch ? sizeOf(this.batchSizer, payload) : 0 };
    // Acknowledged, the request leaves the admission gate's in-flight count, but the queue keeps its bytes.
    this.memory.ledger?.hold(e.bytes);
    const lane = payload.signal;
    this.lanes.get(lane)!.push(e);
    this.laneSize.set(lane, this.laneSize.get(lane)! + e.batchSize);
    this.units += units;
    // The consumer that parked last takes it (as the single-class helper did): the same few consumers do
    // the work and the rest stay parked. Woken in turn, every batch went round all num_consumers, and twice
    // the JS bytes survived into the old generation, request bodies' handles among them, whose external
    // memory only a full GC frees: 9x the full GCs and +50 % CPU per record (bench/RESULTS.md, 2026-12-06).
    this.takers.pop()?.();
    if (!this.cfg.wait_for_result) return Promise.resolve();
    // The settling function must not close over the entry: with `e.done = ...` written inside the executor,
    // `e` (and so the request's body) lived in the closure's context, and in the gateway nearly every body
    // then reached the old generation: 15 full GCs per GiB instead of ~1, +35 % CPU per record (bench/RESULTS.md,
    // 2026-12-07 02:55). Closing over nothing but resolve and reject, it read 0-0.8.
    let settle!: (err?: Error) => void;
    const verdict = new Promise<void>((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve());
    });
    e.done = settle;
    return verdict;
  }

  /** The next batch to send (one entry without `batch`), or undefined once stopping and empty. */
  private async next(): Promise<Entry[] | undefined> {
    for (;;) {
      const now = Date.now();
      let best: Signal | undefined;
      let bestAt = Infinity;
      let wakeAt = Infinity;
      for (const [signal, lane] of this.lanes) {
        const ready = readyAt(lane, this.laneSize.get(signal)!, this.batch, this.stopping);
        if (ready === undefined) continue;
        if (ready <= now) {
          const headAt = lane.peek()!.at;
          if (headAt < bestAt) {
            bestAt = headAt;
            best = signal;
          }
        } else if (ready < wakeAt) wakeAt = ready;
      }
      if (best !== undefined) {
        const entries = takeBatch(this.lanes.get(best)!, this.batch);
        let size = 0;
        for (const e of entries) {
          size += e.batchSize;
          this.units -= e.units;
        }
        this.laneSize.set(best, this.laneSize.get(best)! - size);
        for (const w of this.roomWaiters.splice(0)) w();
        return entries;
      }
      if (this.stopping) return undefined;
      await new Promise<void>((resolve) => {
        const timer = wakeAt === Infinity ? undefined : setTimeout(wake, wakeAt - now);
        function wake(): void {
          clearTimeout(timer);
          resolve();
        }
        this.takers.push(wake);
      });
    }
  }

  private async consume(): Promise<void> {
    // A suspended async function keeps its registers, dead or not: a consumer parked in next() would keep
    // its last batch (megabytes of request bodies) alive until it is woken again, long enough to reach the
    // old generation. So the batch is sent in a function of its own and dropped here before the next wait.
    let entries: Entry[] | undefined;
    for (;;) {
      entries = await this.next();
      if (!entries) return;
      await this.sendBatch(entries);
      // eslint-disable-next-line no-useless-assignment -- not useless: V8 would keep the dead value (above)
      entries = undefined;
    }
  }

  private async sendBatch(entries: Entry[]): Promise<void> {
    this.busy.add(entries);
    try {
      const verdict = await this.metrics.deliver(joinBatch(entries[0]!.payload.signal, entries), 'memory');
      if (verdict.release) for (const e of entries) e.done?.(verdict.error);
      else {
        // Stopped before a verdict (shutdown, downstream down): kept for the helper to put aside.
        this.leftover.push(...entries);
        for (const e of entries)
          e.done?.(new RetryableError(`exporter ${this.id} is shutting down; retry later`, { retryAfterMs: 1000, code: 'GS_COMPONENT_STOPPED' }));
      }
    } catch (err) {
      this.log.error('sending queue consumer failed', { error: messageOf(err) });
    } finally {
      this.busy.delete(entries);
      const ledger = this.memory.ledger;
      if (ledger) for (const e of entries) ledger.unhold(e.bytes);
    }
  }

  /**
   * Stops taking requests and drains for up to `drainMs`. Returns what was not delivered: requests a
   * consumer gave up at the stop, and, past the deadline, those still queued or being sent (a request
   * being sent may still arrive too: at least once).
   */
  async shutdown(drainMs: number): Promise<Payload[]> {
    this.stopping = true;
    for (const t of this.takers.splice(0)) t();
    for (const w of this.roomWaiters.splice(0)) w();
    const drained = await withTimeout(Promise.all(this.consumers), drainMs);
    const left = this.leftover.splice(0);
    if (!drained) {
      const ledger = this.memory.ledger;
      for (const lane of this.lanes.values()) {
        for (const e of lane.drain()) {
          ledger?.unhold(e.bytes);
          e.done?.(new RetryableError(`exporter ${this.id} is shutting down; retry later`, { retryAfterMs: 1000, code: 'GS_COMPONENT_STOPPED' }));
          left.push(e);
        }
      }
      for (const s of SIGNALS) this.laneSize.set(s, 0);
      this.units = 0;
      for (const entries of this.busy) left.push(...entries);
    }
    return left.map((e) => e.payload);
  }
}
