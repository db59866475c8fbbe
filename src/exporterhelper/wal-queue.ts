/**
 * The WAL-backed sending queue: a request is acknowledged once it is durably appended to the exporter's
 * write-ahead log (under the fsync policy); a dispatcher reads the WAL and hands records to at most
 * `num_consumers` deliveries, and a record is acknowledged in the WAL only once the downstream accepted it
 * (or it was put in the dead-letter file). Unacknowledged records are sent again after a restart.
 *
 * Replayed somatic debt is already durable upstream (the somatic WAL acknowledges it only when this queue
 * accepts it), so when the queue cannot take it (full, or its disk is full: the somatic WAL and this one
 * often share a volume, and the somatic WAL frees room only once its debt is accepted here) it is sent
 * directly, and the answer waits for the downstream. That keeps the two WALs from waiting on each other.
 */
import { PermanentError, RetryableError, messageOf } from '../core/errors.js';
import type { MemoryLedgerSource } from '../core/memory-ledger.js';
import { Payload } from '../pdata/payload.js';
import { isReplay } from '../somatic/zone.js';
import type { Logger } from '../telemetry/logger.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { WriteAheadLog } from '../wal/index.js';
import { readRecordTag, recordTag } from '../pdata/record-tag.js';
import { batchSizer, type SendingQueueConfig } from './config.js';
import { SIGNAL_CODE, SIGNAL_OF_CODE } from './dead-letter.js';
import type { MetricsSender } from './metrics-sender.js';
import type { Refusals } from './refusal.js';
import { itemsOf, withTimeout } from './sender.js';
import { sizeOf, sizeText } from './sizer.js';
import { joinBatch, type Batchable } from './batcher.js';

/** Most bytes one read of a WAL queue takes back for delivery (the WAL's own default). */
const READ_BACK_MAX_BYTES = 16 * 2 ** 20;
/**
 * With no room, how soon a WAL queue looks again even if no delivery ended: room comes back at the
 * ledger's next check (the somatic default check_interval), and a delivery may be retried for long.
 */
const ROOM_POLL_MS = 100;
const MiB = 1024 * 1024;

interface ReadRecord extends Batchable {
  sequence: number;
  held: number;
}

export class WalQueue {
  private wal: WriteAheadLog | undefined;
  private appending = 0;
  private appendingBytes = 0;
  /** Items of records appended in this run and not yet acknowledged (sizer: items). */
  private pendingItems = 0;
  private readonly itemsBySequence = new Map<number, number>();
  private dispatcher: Promise<void> | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private slotWaiter: (() => void) | undefined;
  private roomWaiters: (() => void)[] = [];
  private stopping = false;
  private readonly batchSizer: 'items' | 'bytes';

  constructor(
    private readonly id: string,
    readonly dir: string,
    private readonly cfg: SendingQueueConfig,
    private readonly log: Logger,
    private readonly tel: Telemetry,
    private readonly metrics: MetricsSender,
    private readonly refusals: Refusals,
    /** The service's memory ledger, read at use (src/core/memory-ledger.ts). */
    private readonly memory: MemoryLedgerSource,
  ) {
    this.batchSizer = batchSizer(cfg);
  }

  /** Opens the WAL (recovering what a previous run left) and starts delivering. */
  async start(): Promise<void> {
    let wal: WriteAheadLog;
    try {
      wal = await WriteAheadLog.open({
        dir: this.dir,
        maxSizeBytes: this.cfg.max_size_mib * MiB,
        fsync: this.cfg.fsync,
        directIo: this.cfg.direct_io,
        logger: this.log,
      });
    } catch (err) {
      throw new Error(`exporter ${this.id}: sending_queue.directory: cannot open the WAL in ${this.dir}: ${messageOf(err)}`, { cause: err });
    }
    this.wal = wal;
    const pending = wal.stats().pendingRecords;
    if (pending > 0) this.log.info('sending queue: resending requests left in the WAL by the previous run', { requests: pending, directory: this.dir });
    this.dispatcher = this.dispatch(wal);
  }

  /** Pending requests (durable, not yet acknowledged). */
  get pendingRecords(): number {
    return this.wal ? this.wal.stats().pendingRecords : 0;
  }

  /** What the queue holds, in the sizer's unit. */
  get size(): number {
    const wal = this.wal;
    if (!wal) return 0;
    if (this.cfg.sizer === 'bytes') return wal.stats().usedBytes + this.appendingBytes;
    if (this.cfg.sizer === 'items') return this.pendingItems;
    return wal.stats().pendingRecords + this.appending;
  }

  /**
   * The fill the somatic controller reads: the queue's own backlog, the larger of size / queue_size and
   * its bytes / max_size_mib. Not the volume's free space (the WAL's fillRatio): on a volume shared with
   * the somatic WAL, a volume full of debt would read as a full queue, hold the zone in Red, and Red
   * replays nothing, so the debt that fills the volume would never drain. A full volume still refuses
   * appends (retryably), and replayed debt then goes directly.
   */
  fill(): number {
    const st = this.wal?.stats();
    return st ? Math.max(this.size / this.cfg.queue_size, st.usedBytes / st.maxSizeBytes) : 0;
  }

  stats() {
    return this.wal?.stats();
  }

  async enqueue(payload: Payload): Promise<void> {
    const items = itemsOf(payload);
    const units = sizeOf(this.cfg.sizer, payload);
    while (this.size > 0 && this.size + units > this.cfg.queue_size) {
      if (isReplay(payload.meta)) return this.sendDirectly(payload, 'the queue is full');
      if (!this.cfg.block_on_overflow || this.stopping) throw this.refusals.full(payload, items, sizeText(this.cfg.sizer, this.cfg.queue_size));
      await new Promise<void>((r) => this.roomWaiters.push(r));
    }
    if (!isReplay(payload.meta)) return this.append(payload, items);
    try {
      await this.wal!.append(payload.chunks(), recordTag(SIGNAL_CODE[payload.signal], payload.meta)).then((sequence) => this.counted(sequence, items));
    } catch (err) {
      return this.sendDirectly(payload, messageOf(err));
    }
  }

  private counted(sequence: number, items: number): void {
    this.itemsBySequence.set(sequence, items);
    this.pendingItems += items;
  }

  /** Appends without a capacity check: requests a memory queue keeps at shutdown for the next start. */
  async keep(payloads: readonly Payload[]): Promise<void> {
    await Promise.all(payloads.map((p) => this.append(p, itemsOf(p))));
  }

  private async append(payload: Payload, items: number): Promise<void> {
    const wal = this.wal!;
    const requests = payload.requests;
    const bytes = payload.byteLength;
    this.appending++;
    this.appendingBytes += bytes;
    try {
      // A batch (or a body kept as it arrived) is written as its pieces: one record, never joined first.
      // The tag keeps the client info (headers_setter reads it when the record is sent, after a restart too).
      this.counted(await wal.append(payload.chunks(), recordTag(SIGNAL_CODE[payload.signal], payload.meta)), items);
    } catch (err) {
      this.metrics.countEnqueueFailed(payload, items);
      if (err instanceof PermanentError) {
        // Only a record larger than the whole budget is refused for good: name the config keys that set it.
        const what = requests > 1 ? `a batch of ${requests} requests (${bytes} bytes)` : `a request of ${bytes} bytes`;
        const batch = requests > 1 ? ", or lower the batch processor's send_batch_size (a batch is sent once it holds that many items)" : '';
        throw new PermanentError(
          `exporter ${this.id}: sending_queue: ${what} is larger than the WAL queue's whole disk budget (sending_queue.max_size_mib ${this.cfg.max_size_mib}) and can never be queued; raise max_size_mib${batch}`,
          { cause: err },
        );
      }
      throw new RetryableError(`exporter ${this.id}: sending queue (storage wal, max_size_mib ${this.cfg.max_size_mib}): ${messageOf(err)}`, {
        retryAfterMs: this.refusals.retryAfterEstimate(),
        cause: err,
      });
    } finally {
      this.appending--;
      this.appendingBytes -= bytes;
    }
  }

  /**
   * Replayed debt the queue cannot take goes straight to the downstream (with retries); the caller (the
   * somatic replayer) keeps it until this resolves, so it stays durable meanwhile.
   */
  private async sendDirectly(payload: Payload, why: string): Promise<void> {
    this.log.debug('sending queue: replayed debt sent directly, since the WAL queue cannot take it', { reason: why, signal: payload.signal });
    const verdict = await this.metrics.deliver(payload, 'sync');
    if (verdict.error) throw verdict.error;
  }

  private ack(wal: WriteAheadLog, sequence: number): void {
    wal.ack(sequence);
    const items = this.itemsBySequence.get(sequence);
    if (items !== undefined) {
      this.itemsBySequence.delete(sequence);
      this.pendingItems -= items;
    }
    for (const w of this.roomWaiters.splice(0)) w();
  }

  /** Reads the WAL and hands records (joined into batches when `batch` is set) to at most num_consumers deliveries. */
  private async dispatch(wal: WriteAheadLog): Promise<void> {
    const n = this.cfg.num_consumers;
    try {
      for (;;) {
        while (this.inflight.size >= n && !this.stopping) await new Promise<void>((r) => (this.slotWaiter = r));
        if (this.stopping) return;
        // Records read back are memory the service holds: with a memory limit, read no more than the room
        // left under it (at least one record when none is being delivered: the queue never stops for lack
        // of room).
        const ledger = this.memory.ledger;
        if (ledger && ledger.room() <= 0 && this.inflight.size > 0) {
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
        // The room is read again when the records are: next() may first wait for some to be written.
        const maxBytes = ledger ? () => Math.max(1, Math.min(ledger.room(), READ_BACK_MAX_BYTES)) : READ_BACK_MAX_BYTES;
        const recs = await wal.next(this.cfg.batch ? 1024 : n - this.inflight.size, maxBytes);
        // Records read after the stop began stay unacknowledged: the next start sends them.
        if (recs.length === 0 || this.stopping) return;
        let group: ReadRecord[] = [];
        let groupSize = 0;
        for (const rec of recs) {
          const tag = readRecordTag(rec.meta);
          const signal = tag.code === undefined ? undefined : SIGNAL_OF_CODE[tag.code];
          if (!signal) {
            this.log.error('sending queue: WAL record without a known signal (written by another program?); skipping it', {
              sequence: rec.sequence,
              directory: wal.dir,
            });
            this.ack(wal, rec.sequence);
            continue;
          }
          // Record data is a view into the WAL's read buffer. A record that fills most of it (a large one is
          // read into a buffer of its own) is used as it is; a small one is copied, so that a delivery held
          // for long does not keep a whole read chunk alive.
          const data = rec.data.byteLength * 2 >= rec.data.buffer.byteLength ? rec.data : Buffer.from(rec.data);
          const payload = new Payload(signal, data, { meta: tag.meta });
          const held = data === rec.data ? data.buffer.byteLength : data.byteLength;
          ledger?.hold(held);
          const r: ReadRecord = { sequence: rec.sequence, payload, held, at: 0, batchSize: this.cfg.batch ? sizeOf(this.batchSizer, payload) : 0 };
          const b = this.cfg.batch;
          if (
            group.length > 0 &&
            (!b || group[0]!.payload.signal !== signal || groupSize >= b.min_size || (b.max_size > 0 && groupSize + r.batchSize > b.max_size))
          ) {
            this.startDelivery(wal, group);
            group = [];
            groupSize = 0;
          }
          group.push(r);
          groupSize += r.batchSize;
        }
        if (group.length > 0) this.startDelivery(wal, group);
      }
    } catch (err) {
      if (!this.stopping)
        this.log.error('sending queue: reading the WAL failed; queued requests wait for the next start', { error: messageOf(err), directory: wal.dir });
    }
  }

  private startDelivery(wal: WriteAheadLog, group: ReadRecord[]): void {
    const ledger = this.memory.ledger;
    const task: Promise<void> = this.deliverRecords(wal, group).finally(() => {
      for (const r of group) ledger?.unhold(r.held);
      this.inflight.delete(task);
      const w = this.slotWaiter;
      this.slotWaiter = undefined;
      w?.();
    });
    this.inflight.add(task);
  }

  private async deliverRecords(wal: WriteAheadLog, group: ReadRecord[]): Promise<void> {
    try {
      const verdict = await this.metrics.deliver(joinBatch(group[0]!.payload.signal, group), 'wal');
      if (verdict.release) for (const r of group) this.ack(wal, r.sequence);
    } catch (err) {
      this.log.error('sending queue: delivering a WAL record failed; it is sent again after the next start', {
        error: messageOf(err),
        sequences: group.map((r) => r.sequence),
      });
    }
  }

  /** Stops reading records (the stop begins); what is appended from now on waits for the next start. */
  stopReading(): void {
    this.stopping = true;
    const w = this.slotWaiter;
    this.slotWaiter = undefined;
    w?.();
    for (const r of this.roomWaiters.splice(0)) r();
  }

  /** Stops the consumers (attempts in flight finish, up to drainMs) and closes the WAL; pending records stay. */
  async shutdown(drainMs: number): Promise<void> {
    this.stopReading();
    const wal = this.wal;
    if (!wal) return;
    await withTimeout(Promise.allSettled([...this.inflight]), drainMs);
    await wal.close();
    await this.dispatcher;
    const st = wal.stats();
    if (st.pendingRecords > 0)
      this.log.info('sending queue: requests kept in the WAL for the next start', { requests: st.pendingRecords, bytes: st.bytesOnDisk, directory: this.dir });
  }
}
