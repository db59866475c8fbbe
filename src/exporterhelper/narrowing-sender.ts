/**
 * The narrowing stage: one client's bad bytes must not sink other clients' data. When the downstream
 * refuses a request permanently (e.g. a backend that checks UTF-8 refuses a batch holding one client's
 * invalid string), and the request holds several top-level resource entries (a batch joins requests, each
 * with its resource entries), it is resent in halves, and a refused half is halved again, until only the
 * entries the downstream refuses are left. Those fail (dead-letter file, or logged); everything else is
 * delivered.
 *
 * The split needs no decode: an Export request is a sequence of field-1 entries (resource_logs,
 * resource_spans, resource_metrics), and any run of consecutive entries is itself a valid request, so
 * each half is a view into the same bytes. Bisection finds one bad entry among n in about 2·log2(n)
 * attempts; a budget bounds the attempts spent on one request when the downstream refuses everything.
 */
import { Payload } from '../pdata/payload.js';
import { forEachField } from '../pdata/wire.js';
import type { Logger } from '../telemetry/logger.js';
import type { Delivery, Outcome } from './sender.js';

/** Most extra attempts spent narrowing one request (a downstream refusing everything ends it early). */
const NARROWING_BUDGET = 64;

/** One part of a request and its verdict. */
export interface Piece {
  payload: Payload;
  outcome: Outcome;
}

/**
 * The byte ranges of the top-level entries of an encoded Export request: entry i runs from the end of
 * entry i-1 (0 for the first) to the end of its value, so unknown top-level fields travel with the next
 * entry and the ranges cover the request exactly. Empty when the framing is broken.
 */
export function topLevelEntries(bytes: Uint8Array): number[] {
  const ends: number[] = [];
  try {
    forEachField(bytes, 0, bytes.length, 1, (_s, e) => {
      ends.push(e);
    });
  } catch {
    return [];
  }
  if (ends.length > 0) ends[ends.length - 1] = bytes.length;
  return ends;
}

export class NarrowingSender {
  constructor(
    private readonly next: Delivery,
    private readonly log: Logger,
  ) {}

  async deliver(payload: Payload, persistent: boolean): Promise<Piece[]> {
    const outcome = await this.next.deliver(payload, persistent);
    if (outcome.kind !== 'permanent') return [{ payload, outcome }];
    const bytes = payload.bytes;
    const ends = topLevelEntries(bytes);
    if (ends.length < 2) return [{ payload, outcome }];
    this.log.warn('the downstream refused a request permanently; resending its resource entries in halves so that only the entries it refuses fail', {
      signal: payload.signal,
      entries: ends.length,
      requests: payload.requests,
      error: outcome.err.message,
    });
    const pieces: Piece[] = [];
    const budget = { left: NARROWING_BUDGET };
    await this.narrow(payload, bytes, ends, 0, ends.length, outcome, persistent, budget, pieces);
    return pieces;
  }

  /** Entries [from, to) were refused with `refusal`; resend them in halves. */
  private async narrow(
    whole: Payload,
    bytes: Uint8Array,
    ends: number[],
    from: number,
    to: number,
    refusal: Outcome,
    persistent: boolean,
    budget: { left: number },
    out: Piece[],
  ): Promise<void> {
    const part = (a: number, b: number): Payload => new Payload(whole.signal, bytes.subarray(a === 0 ? 0 : ends[a - 1]!, ends[b - 1]!));
    if (to - from < 2 || budget.left <= 0) {
      out.push({ payload: part(from, to), outcome: refusal });
      return;
    }
    const mid = (from + to) >>> 1;
    for (const [a, b] of [
      [from, mid],
      [mid, to],
    ] as const) {
      const p = part(a, b);
      if (budget.left <= 0) {
        // Out of attempts: the rest fails as it is (the downstream refused it once already).
        out.push({ payload: p, outcome: refusal });
        continue;
      }
      budget.left--;
      const outcome = await this.next.deliver(p, persistent);
      if (outcome.kind === 'permanent' && b - a > 1) await this.narrow(whole, bytes, ends, a, b, outcome, persistent, budget, out);
      else out.push({ payload: p, outcome });
    }
  }
}
