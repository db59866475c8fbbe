/**
 * Refusals of a full queue: a RetryableError whose Retry-After comes from the recent drain rate (the time
 * it needs to free a tenth of the queue) or, with nothing draining, from the consumers' next retry; 1-30 s.
 */
import { RetryableError } from '../core/errors.js';
import type { Payload } from '../pdata/payload.js';
import type { MetricsSender } from './metrics-sender.js';
import type { RetrySender } from './retry-sender.js';

export class Refusals {
  private rateAt = Date.now();
  private rateCount = 0;
  private rate = 0;

  constructor(
    private readonly id: string,
    /** Requests the queue holds when full (the tenth of it a client waits for). */
    private readonly capacityRequests: number,
    private readonly metrics: MetricsSender,
    private readonly retry: RetrySender,
  ) {}

  /** Counts the refusal in enqueue_failed and says what to do. */
  full(payload: Payload, items: number, what: string): RetryableError {
    this.metrics.countEnqueueFailed(payload, items);
    return new RetryableError(
      `exporter ${this.id}: sending queue is full (${what}): the downstream is slower than the input or unavailable; retry later, or raise sending_queue.queue_size / num_consumers`,
      { retryAfterMs: this.retryAfterEstimate(), code: 'GS_QUEUE_FULL' },
    );
  }

  retryAfterEstimate(now = Date.now()): number {
    const drained = this.metrics.drained;
    if (now - this.rateAt >= 1000) {
      this.rate = ((drained - this.rateCount) * 1000) / (now - this.rateAt);
      this.rateAt = now;
      this.rateCount = drained;
    }
    let ms = 1000;
    if (this.rate > 0) {
      ms = (Math.max(1, Math.ceil(this.capacityRequests / 10)) / this.rate) * 1000;
    } else {
      const soonest = this.retry.soonestRetryAt();
      if (soonest !== undefined) ms = soonest - now;
    }
    return Math.min(30_000, Math.max(1000, Math.ceil(ms / 1000) * 1000));
  }
}
