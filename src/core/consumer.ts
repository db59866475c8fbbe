import { combineErrors } from './errors.js';
import type { Payload } from '../pdata/payload.js';

/**
 * A stage that takes one request. It resolves when the data is accepted downstream of it and rejects
 * with a RetryableError or PermanentError otherwise. Back-pressure travels up only as such a rejection.
 */
export interface Consumer {
  consume(payload: Payload): Promise<void>;
}

/**
 * Sends one request to several consumers and waits for all of them. With `clonePerConsumer` (a receiver
 * feeding several pipelines) each consumer gets its own Payload over the same bytes, so one pipeline's
 * processors cannot edit another's data; exporters at the end of one pipeline share it, as they only read.
 */
export class FanOutConsumer implements Consumer {
  constructor(
    private readonly consumers: readonly Consumer[],
    private readonly clonePerConsumer = false,
  ) {
    if (consumers.length === 0) throw new Error('FanOutConsumer needs at least one consumer');
  }

  consume(payload: Payload): Promise<void> {
    if (this.consumers.length === 1) return this.consumers[0]!.consume(payload);
    const clone = this.clonePerConsumer;
    return Promise.allSettled(this.consumers.map((c) => c.consume(clone ? payload.clone() : payload))).then((results) => {
      const errors: unknown[] = [];
      for (const r of results) if (r.status === 'rejected') errors.push(r.reason);
      if (errors.length > 0) throw combineErrors(errors);
    });
  }
}
