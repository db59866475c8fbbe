/**
 * The pieces of the exporterhelper's sender chain, as the collector's exporterhelper chains them:
 *
 *   queue (memory or WAL) -> metrics (counts, dead letters) -> narrowing -> retry -> timeout -> exporter's send
 *
 * Each stage wraps the next. `SendFn` is one attempt (the exporter's own, then the timeout backstop);
 * `Delivery` is the retry stage and what wraps it: it answers with an outcome instead of throwing, so the
 * queue can decide what leaves it.
 */
import type { Payload } from '../pdata/payload.js';
import type { Signal } from '../core/signal.js';

/** One attempt to hand a request to the downstream; rejects with RetryableError or PermanentError. */
export type SendFn = (payload: Payload, signal: Signal) => Promise<void>;

export type Outcome =
  | { kind: 'sent' }
  | { kind: 'permanent'; err: Error }
  | { kind: 'exhausted'; err: Error }
  /** The helper is stopping and a persistent (WAL) request stays where it is. */
  | { kind: 'stopped' };

export const SENT: Outcome = { kind: 'sent' };
export const STOPPED: Outcome = { kind: 'stopped' };

/** Sends a request to a verdict. `persistent`: a WAL record, never given up for want of retries unless a dead-letter file takes it. */
export interface Delivery {
  deliver(payload: Payload, persistent: boolean): Promise<Outcome>;
}

/** Item count for metrics; a request whose framing is broken counts 0 (sending it reports the fault). */
export function itemsOf(payload: Payload): number {
  try {
    return payload.itemCount;
  } catch {
    return 0;
  }
}

/** Resolves true when `p` settles within `ms`, false otherwise. */
export async function withTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([p.then(() => true as const), t]);
  } finally {
    clearTimeout(timer);
  }
}
