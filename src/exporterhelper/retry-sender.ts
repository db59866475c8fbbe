/**
 * The retry stage: sends until the downstream accepts, the error is permanent, or retries run out, with
 * the collector's exponential backoff (a downstream's Retry-After / RetryInfo replaces the next wait). A
 * persistent request (a WAL record) never runs out of retries unless a dead-letter file can take it, and
 * stops at shutdown without a verdict; a memory-queue request gets one last attempt at shutdown.
 */
import { PermanentError, RetryableError } from '../core/errors.js';
import type { Payload } from '../pdata/payload.js';
import type { Logger } from '../telemetry/logger.js';
import { Backoff } from './backoff.js';
import type { RetryConfig } from './config.js';
import { SENT, STOPPED, itemsOf, type Delivery, type Outcome, type SendFn } from './sender.js';

/** One "will retry" warning per exporter per this interval; the rest go to debug. */
const WARN_EVERY_MS = 5000;

export class RetrySender implements Delivery {
  private stopping = false;
  /** After the stop, every request (not only persistent ones) stops without a verdict, to be kept. */
  private keepAtStop = false;
  /** After the stop, a request waiting to retry still gets its next attempt before it is kept. */
  private attemptAfterStop = false;
  /** Retry sleeps in progress: wake function -> wake time. */
  private readonly sleepers = new Map<() => void, number>();
  private lastWarnAt = 0;

  constructor(
    private readonly cfg: RetryConfig,
    private readonly send: SendFn,
    private readonly log: Logger,
    /** Whether an exhausted persistent request has somewhere to go (a dead-letter file). */
    private readonly canGiveUpPersistent: boolean,
    /**
     * Told of every attempt after the first (counted in gophership_exporter_resent_*): the failed attempt
     * before it may have been delivered (a lost answer, a timeout), so these bound the duplicates.
     */
    private readonly onResend: (payload: Payload) => void = () => {},
    private readonly random: () => number = Math.random,
  ) {}

  async deliver(payload: Payload, persistent: boolean): Promise<Outcome> {
    const r = this.cfg;
    const signal = payload.signal;
    const start = Date.now();
    let backoff: Backoff | undefined;
    let keptNoted = false;
    for (let attempt = 1; ; attempt++) {
      let failure: unknown;
      if (attempt > 1) this.onResend(payload);
      try {
        await this.send(payload, signal);
        return SENT;
      } catch (e) {
        failure = e;
      }
      if (failure instanceof PermanentError) return { kind: 'permanent', err: failure };
      // As the collector: anything not marked permanent is worth another try.
      const err = failure instanceof Error ? failure : new Error(String(failure));
      if (this.stopping) return persistent || this.keepAtStop ? STOPPED : { kind: 'exhausted', err };
      backoff ??= new Backoff(r, this.random);
      const retryAfter = err instanceof RetryableError ? err.retryAfterMs : undefined;
      let delay = backoff.next();
      if (retryAfter !== undefined) delay = retryAfter;
      const elapsed = Date.now() - start;
      const giveUp = !r.enabled || (r.max_elapsed_time > 0 && elapsed + delay > r.max_elapsed_time);
      if (giveUp) {
        if (!persistent || this.canGiveUpPersistent) return { kind: 'exhausted', err };
        // Data on disk is not dropped for want of retries: it waits in the WAL, retried every max_interval.
        if (!keptNoted) {
          keptNoted = true;
          this.log.warn(
            'Exporting failed. Retries are exhausted; the request stays in the WAL and is retried every max_interval (set dead_letter.path to move such requests aside)',
            {
              error: err.message,
              signal,
              items: itemsOf(payload),
              elapsed_ms: elapsed,
            },
          );
        }
        delay = retryAfter ?? r.max_interval;
      }
      const now = Date.now();
      const fields = { error: err.message, signal, attempt, interval_ms: Math.round(delay) };
      if (now - this.lastWarnAt >= WARN_EVERY_MS) {
        this.lastWarnAt = now;
        this.log.warn('Exporting failed. Will retry the request after interval.', fields);
      } else {
        this.log.debug('Exporting failed. Will retry the request after interval.', fields);
      }
      await this.sleep(delay);
      if (this.stopping && (persistent || this.keepAtStop) && !this.attemptAfterStop) return STOPPED;
    }
  }

  /**
   * Cuts every retry wait short; from now on a failed persistent request stops without a verdict, and so
   * does every failed request when `keep` (its queue has somewhere durable to keep it for the next start).
   * `attemptAfterStop`: a request whose wait was cut short is tried once more first (a loadbalancing
   * backend that left the ring re-routes it on that attempt).
   */
  stop(keep = false, attemptAfterStop = false): void {
    this.stopping = true;
    this.keepAtStop = keep;
    this.attemptAfterStop = attemptAfterStop;
    for (const wake of [...this.sleepers.keys()]) wake();
  }

  /** When the soonest retry wait ends (epoch ms), or undefined when none is waiting. */
  soonestRetryAt(): number | undefined {
    let soonest: number | undefined;
    for (const at of this.sleepers.values()) if (soonest === undefined || at < soonest) soonest = at;
    return soonest;
  }

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
}
