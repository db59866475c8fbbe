/**
 * The metrics stage (the collector's obsreport sender), with the dead letters: counts what each delivery
 * came to in `otelcol_exporter_sent_*` / `otelcol_exporter_send_failed_*` and `gophership_exporter_sent_bytes`
 * (and, for the retry stage, each resend in `gophership_exporter_resent_*`), and puts every failed part in the dead-letter file (or logs it as dropped), so nothing leaves silently.
 */
import { RetryableError, componentError, messageOf } from '../core/errors.js';
import type { Payload } from '../pdata/payload.js';
import type { Logger } from '../telemetry/logger.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { DeadLetterFile } from './dead-letter.js';
import type { NarrowingSender } from './narrowing-sender.js';
import { itemsOf } from './sender.js';

/** Where the request came from: the answer to a caller (sync), a memory queue, or a WAL queue. */
export type DeliveryMode = 'sync' | 'memory' | 'wal';

export interface Verdict {
  /** The request may leave its queue: every part was sent or put aside (a WAL record stays otherwise). */
  release: boolean;
  /** The first failure, for a caller that waits for the verdict. */
  error?: Error;
}

export class MetricsSender {
  private readonly labels: { exporter: string };
  /** Requests that reached a verdict (the queues' drain rate). */
  drained = 0;

  constructor(
    private readonly id: string,
    private readonly tel: Telemetry,
    private readonly log: Logger,
    private readonly deadLetter: DeadLetterFile | undefined,
    private readonly next: NarrowingSender,
  ) {
    this.labels = { exporter: id };
  }

  async deliver(payload: Payload, mode: DeliveryMode): Promise<Verdict> {
    const pieces = await this.next.deliver(payload, mode === 'wal');
    if (mode !== 'sync') this.drained++;
    let release = true;
    let error: Error | undefined;
    for (const { payload: part, outcome } of pieces) {
      if (outcome.kind === 'sent') {
        this.countSent(part);
        continue;
      }
      if (outcome.kind === 'stopped') {
        release = false;
        error ??= new RetryableError(`exporter ${this.id} is shutting down; retry later`, { code: 'GS_COMPONENT_STOPPED' });
        continue;
      }
      const items = itemsOf(part);
      this.tel.exporterSendFailed[part.signal].inc(this.labels, items);
      error ??= componentError(
        { kind: 'exporter', id: this.id },
        outcome.err,
        outcome.kind === 'permanent' ? 'GS_EXPORTER_REJECTED' : 'GS_EXPORTER_SEND_FAILED',
      );
      // A caller that waits is told and resends what was retryable; what is permanent is kept here too.
      if (mode === 'sync' && outcome.kind !== 'permanent') continue;
      if (!(await this.dispose(part, items, outcome.kind, outcome.err, mode === 'wal'))) release = false;
    }
    return { release, error };
  }

  countSent(payload: Payload, items = itemsOf(payload)): void {
    this.tel.exporterSent[payload.signal].inc(this.labels, items);
    this.tel.exporterBytes.inc(this.labels, payload.byteLength);
  }

  /** One more attempt at a request after a failed or timed-out one (the retry stage's resend). */
  countResent(payload: Payload): void {
    this.tel.exporterResent[payload.signal].inc(this.labels, itemsOf(payload));
    this.tel.exporterResentRequests.inc(this.labels);
  }

  countEnqueueFailed(payload: Payload, items = itemsOf(payload)): void {
    this.tel.exporterEnqueueFailed[payload.signal].inc(this.labels, items);
  }

  /**
   * Writes a failed request to the dead-letter file, or logs it as dropped. Returns whether it may leave
   * its queue (a WAL record whose dead-letter write failed stays, to be sent again after a restart).
   */
  async dispose(payload: Payload, items: number, kind: 'permanent' | 'exhausted', err: Error, persistent: boolean): Promise<boolean> {
    const reason = kind === 'permanent' ? 'the error is not retryable' : 'no more retries left';
    const fields = { error: err.message, reason, signal: payload.signal, items };
    if (this.deadLetter) {
      try {
        await this.deadLetter.write(payload.signal, payload.bytes);
        this.log.error('Exporting failed. The request was written to the dead-letter file.', { ...fields, dead_letter: this.deadLetter.path });
        return true;
      } catch (e) {
        this.log.error(
          persistent
            ? 'Exporting failed and the dead-letter file could not be written; the request stays in the WAL until the next start'
            : 'Exporting failed and the dead-letter file could not be written. Dropping data.',
          { ...fields, dead_letter: this.deadLetter.path, dead_letter_error: messageOf(e) },
        );
        return !persistent;
      }
    }
    this.log.error('Exporting failed. Dropping data.', { ...fields, hint: 'set dead_letter.path to keep such requests' });
    return true;
  }
}
