/**
 * The somatic processor, first in its pipeline. Green and Yellow: the payload goes on (in Yellow the
 * service's bypass stages skip the optional processors behind it). Red: the request bytes are appended
 * to this pipeline's debt WAL and the request is acknowledged once durable. A replayer feeds the debt
 * back through the rest of the pipeline, with full processing, once the zone has fallen, at a pace that
 * keeps the sensors below Yellow.
 */
import { resolve, join } from 'node:path';
import type { Consumer } from '../../src/core/consumer.js';
import type { CreateSettings, Host, Processor } from '../../src/core/component.js';
import { PermanentError, RetryableError, messageOf } from '../../src/core/errors.js';
import { Payload } from '../../src/pdata/payload.js';
import { SIGNALS, type Signal } from '../../src/core/signal.js';
import { RED, YELLOW, isReplay, replayMeta, type SomaticRuntime } from '../../src/somatic/index.js';
import { WriteAheadLog } from '../../src/wal/index.js';
import { readRecordTag, recordTag } from '../../src/pdata/record-tag.js';
import { DeadLetterFile } from '../../src/exporterhelper/dead-letter.js';
import type { SomaticProcessorConfig } from './config.js';

/** Records' signal code in the WAL record's tag (src/pdata/record-tag.ts): index in SIGNALS. */
const SIGNAL_CODE: Readonly<Record<Signal, number>> = { logs: 0, traces: 1, metrics: 2 };
/** Bytes read from the WAL per replay read. */
const REPLAY_READ_BYTES = 16 * 1024 * 1024;
/**
 * Replay window changes with the pressure (max sensor value / its Yellow threshold): it grows by one per
 * check below GROW_BELOW, holds up to SHRINK_ABOVE and halves above, so replay stays well clear of Yellow.
 */
const GROW_BELOW = 0.6;
const SHRINK_ABOVE = 0.85;

/** A directory name for a pipeline ID (`logs/2` -> `logs_2`). */
export function pipelineDirName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}

export class SomaticProcessor implements Processor {
  private wal: WriteAheadLog | undefined;
  private readonly dir: string;
  private readonly labels: { pipeline: string };
  private stopping = false;
  private loop: Promise<void> | undefined;
  /** Replayed requests in the pipeline now, and how many the pace allows. */
  private inFlight = 0;
  private window = 0;
  private wake: (() => void) | undefined;
  private readonly settled = new Set<Promise<void>>();
  private replayedSinceTick = 0;
  private replayedBytesSinceTick = 0;
  private replayRate = 0;
  private replayByteRate = 0;
  private lastTick = Date.now();
  private unsubscribe: (() => void) | undefined;
  private removeWalSource: (() => void) | undefined;
  private lastSpillLog = 0;
  /** Where replayed debt refused permanently goes (opened on first use). */
  private readonly deadLetter: DeadLetterFile;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: SomaticProcessorConfig,
    private readonly signal: Signal,
    private readonly next: Consumer,
    private readonly runtime: SomaticRuntime,
  ) {
    const pipeline = settings.pipelineId ?? `${signal}:${settings.id.id}`;
    this.labels = { pipeline };
    this.dir = join(resolve(config.wal.directory), pipelineDirName(pipeline));
    this.deadLetter = new DeadLetterFile(config.replay.dead_letter_path || `${this.dir}.dead-letter`);
  }

  async start(_host?: Host): Promise<void> {
    try {
      this.wal = await WriteAheadLog.open({
        dir: this.dir,
        maxSizeBytes: this.config.wal.max_size_mib * 2 ** 20,
        fsync: this.config.wal.fsync,
        fsyncIntervalMs: this.config.wal.fsync_interval,
        fsyncAfterBytes: this.config.wal.fsync_after_mib > 0 ? Math.ceil(this.config.wal.fsync_after_mib * 1024 * 1024) : Infinity,
        directIo: this.config.wal.direct_io,
        logger: this.settings.logger,
      });
    } catch (err) {
      throw new Error(`processors::${this.settings.id.id}: cannot open the somatic WAL in ${this.dir} (wal.directory): ${messageOf(err)}`, { cause: err });
    }
    const wal = this.wal;
    const walFill = (): number => wal.stats().fillRatio;
    this.runtime.wals.add(walFill);
    this.removeWalSource = () => this.runtime.wals.delete(walFill);
    this.runtime.debts.set(this.labels.pipeline, {
      records: () => wal.stats().pendingRecords,
      bytes: () => {
        const st = wal.stats();
        return st.usedBytes;
      },
      replayRate: () => this.replayRate,
    });
    const pending = wal.stats().pendingRecords;
    if (pending > 0)
      this.settings.logger.info('somatic debt found from an earlier run; it will be replayed', { pipeline: this.labels.pipeline, records: pending });
    this.runtime.acquire();
    this.unsubscribe = this.runtime.onTick(() => this.onTick());
    this.onTick();
    this.loop = this.replayLoop().catch((err: unknown) => {
      this.settings.logger.error('somatic debt replay stopped on an error; debt stays on disk for the next start', { error: messageOf(err) });
    });
  }

  consume(payload: Payload): Promise<void> {
    if (this.runtime.zone !== RED || isReplay(payload.meta) || this.wal === undefined) return this.next.consume(payload);
    return this.spill(payload);
  }

  /** Red: append the request bytes to the debt WAL; the request is acknowledged once they are durable. */
  private spill(payload: Payload): Promise<void> {
    const wal = this.wal!;
    // The pieces the receiver kept go into one record as they are, without joining them first.
    const bytes = payload.chunks();
    const size = payload.byteLength;
    let items: number;
    try {
      items = payload.itemCount;
    } catch (err) {
      return Promise.reject(err);
    }
    // The tag keeps the request's client info, so the replayed request reaches the pipeline as it came.
    return wal.append(bytes, recordTag(SIGNAL_CODE[payload.signal], payload.meta)).then(
      () => {
        this.runtime.spilledRecords.inc(this.labels, items);
        this.runtime.spilledBytes.inc(this.labels, size);
      },
      (err: unknown) => {
        // A request that can never fit the WAL (larger than wal.max_size_mib) is not bad data: refusing
        // it permanently would make its client drop it. It goes on down the pipeline instead.
        if (err instanceof PermanentError) return this.next.consume(payload);
        throw this.refusal(err, size);
      },
    );
  }

  /** A WAL refusal as the client sees it: past the budget, a Retry-After from the drain rate. */
  private refusal(err: unknown, size: number): Error {
    const st = this.wal!.stats();
    // capacityBytes: the budget, or less when the volume has less room left (see src/wal).
    const full = st.usedBytes + size > st.capacityBytes;
    if (!full) return err instanceof Error ? err : new RetryableError(messageOf(err));
    const over = st.usedBytes + size - st.capacityBytes;
    // Seconds until the replayer has freed room for this request; 5 s while nothing drains (still Red).
    const ms = this.replayByteRate > 0 ? Math.ceil((over / this.replayByteRate) * 1000) : 5000;
    const retryAfterMs = Math.min(60_000, Math.max(1000, ms));
    const now = Date.now();
    if (now - this.lastSpillLog > 10_000) {
      this.lastSpillLog = now;
      this.settings.logger.warn('somatic WAL budget full; refusing Red requests until debt drains', {
        pipeline: this.labels.pipeline,
        used_bytes: st.usedBytes,
        max_size_mib: this.config.wal.max_size_mib,
        volume_free_bytes: st.volumeFreeBytes,
        retry_after_ms: retryAfterMs,
      });
    }
    return new RetryableError(
      `gateway overloaded and its somatic WAL for pipeline ${this.labels.pipeline} is full (${st.usedBytes} of ${st.capacityBytes} bytes: wal.max_size_mib ${this.config.wal.max_size_mib}, ${st.volumeFreeBytes} bytes free on its volume); retry after the delay given`,
      { retryAfterMs, cause: err },
    );
  }

  /** Per check: the replay pace follows the zone and the pressure (AIMD below Yellow). */
  private onTick(): void {
    const now = Date.now();
    const dt = Math.max(1, now - this.lastTick);
    this.lastTick = now;
    const alpha = 1 - Math.exp(-dt / 1000);
    this.replayRate += alpha * ((this.replayedSinceTick * 1000) / dt - this.replayRate);
    this.replayByteRate += alpha * ((this.replayedBytesSinceTick * 1000) / dt - this.replayByteRate);
    this.replayedSinceTick = 0;
    this.replayedBytesSinceTick = 0;

    const rt = this.runtime;
    const max = this.config.replay.max_in_flight;
    if (rt.zone === RED) this.window = 0;
    else if (rt.zone === YELLOW)
      this.window = 1; // a trickle: fresh traffic is what Yellow protects
    else if (rt.pressure < GROW_BELOW) this.window = Math.min(max, this.window + 1);
    else if (rt.pressure > SHRINK_ABOVE) this.window = Math.max(1, this.window >> 1);
    else if (this.window === 0) this.window = 1;
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Resolves when another replayed request may go (or when stopping). */
  private async slot(): Promise<void> {
    while (!this.stopping && this.inFlight >= this.window) {
      await new Promise<void>((r) => {
        this.wake = r;
      });
    }
  }

  private async replayLoop(): Promise<void> {
    const wal = this.wal!;
    while (!this.stopping) {
      const recs = await wal.next(this.config.replay.max_in_flight, REPLAY_READ_BYTES);
      if (recs.length === 0) return; // closed
      // Copy first: the records are views into the WAL's read buffer, reused by the next read.
      const batch = recs.map((r) => {
        const tag = readRecordTag(r.meta);
        return { seq: r.sequence, data: r.data.slice(), signal: SIGNALS[tag.code ?? SIGNAL_CODE[this.signal]] ?? this.signal, meta: replayMeta(tag.meta) };
      });
      for (const r of batch) {
        await this.slot();
        if (this.stopping) return; // not acked: replayed after the next start
        const p = this.replayOne(wal, r.seq, r.data, r.signal, r.meta);
        this.settled.add(p);
        void p.finally(() => this.settled.delete(p));
      }
    }
  }

  private async replayOne(wal: WriteAheadLog, seq: number, data: Uint8Array, signal: Signal, meta: Readonly<Record<string, string>>): Promise<void> {
    const gate = this.runtime.gate;
    this.inFlight++;
    gate.chargeReplay(data.length);
    let delay = 100;
    try {
      for (;;) {
        const payload = new Payload(signal, data, { meta });
        try {
          await this.next.consume(payload);
          const items = payload.itemCount;
          wal.ack(seq);
          this.replayedSinceTick += items;
          this.replayedBytesSinceTick += data.length;
          this.runtime.replayedRecords.inc(this.labels, items);
          return;
        } catch (err) {
          if (err instanceof PermanentError) {
            await this.refusedOnReplay(wal, seq, payload, err);
            return;
          }
          if (this.stopping) return; // kept on disk for the next start
          const wait = err instanceof RetryableError && err.retryAfterMs !== undefined ? Math.min(err.retryAfterMs, 5000) : delay;
          delay = Math.min(delay * 2, 5000);
          await new Promise((r) => setTimeout(r, wait));
          if (this.stopping) return;
        }
      }
    } finally {
      this.inFlight--;
      gate.release(data.length);
      this.poke();
    }
  }

  /**
   * The pipeline refused replayed debt permanently: it was acknowledged to its client, so it goes to the
   * dead-letter file (with a log line) before it leaves the WAL. If that write fails it stays in the WAL
   * and is replayed again after the next start.
   */
  private async refusedOnReplay(wal: WriteAheadLog, seq: number, payload: Payload, err: Error): Promise<void> {
    let items = 0;
    try {
      items = payload.itemCount;
    } catch {
      // Unreadable: counted as none.
    }
    const fields = { pipeline: this.labels.pipeline, items, bytes: payload.byteLength, error: err.message, dead_letter: this.deadLetter.path };
    try {
      await this.deadLetter.write(payload.signal, payload.bytes);
    } catch (e) {
      this.settings.logger.error(
        'the pipeline refused replayed debt permanently and the dead-letter file could not be written; the debt stays in the WAL for the next start',
        {
          ...fields,
          dead_letter_error: messageOf(e),
        },
      );
      return;
    }
    this.runtime.replayDropped.inc(this.labels, items);
    this.settings.logger.error('the pipeline refused replayed debt permanently; it was written to the dead-letter file', fields);
    wal.ack(seq);
  }

  async shutdown(): Promise<void> {
    this.stopping = true;
    this.poke();
    this.unsubscribe?.();
    // Replays in flight finish (or fail and stay on disk); then the WAL flushes and closes.
    await Promise.allSettled([...this.settled]);
    const wal = this.wal;
    this.wal = undefined;
    if (wal) await wal.close();
    await this.loop;
    await this.deadLetter.close().catch(() => {});
    this.removeWalSource?.();
    this.runtime.debts.delete(this.labels.pipeline);
    this.runtime.release();
  }
}
