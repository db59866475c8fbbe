import { describe, expect, it } from 'vitest';
import { PermanentError, RetryableError, codeOf, combineErrors, isPermanent, isRetryable } from './errors.js';

describe('combineErrors (what a fan-out answers)', () => {
  it('is permanent only when every branch failed permanently', () => {
    const e = combineErrors([new PermanentError('bad a'), new PermanentError('bad b')]);
    expect(isPermanent(e)).toBe(true);
    expect(e.message).toBe('bad a; bad b');
  });

  it('is retryable when any branch may succeed on retry, with the longest delay asked for', () => {
    const e = combineErrors([
      new PermanentError('bad'),
      new RetryableError('full', { retryAfterMs: 500 }),
      new RetryableError('down', { retryAfterMs: 2000, throttled: true }),
    ]);
    expect(isRetryable(e)).toBe(true);
    expect((e as RetryableError).retryAfterMs).toBe(2000);
    expect((e as RetryableError).throttled).toBe(true);
  });

  it('treats unexpected (untyped) failures as retryable, one or several: a client must not drop data for a bug', () => {
    const one = new Error('boom');
    expect(combineErrors([one])).toBe(one); // answered 503 by the receiver, as an internal error
    const two = combineErrors([new Error('boom a'), new Error('boom b')]);
    expect(isRetryable(two)).toBe(true);
    expect(two.message).toBe('boom a; boom b');
    expect(isRetryable(combineErrors([new PermanentError('bad'), new Error('boom')]))).toBe(true);
    expect(isRetryable(combineErrors(['thrown string']))).toBe(true);
  });

  it('passes a single typed failure through unchanged', () => {
    const r = new RetryableError('x', { retryAfterMs: 1 });
    expect(combineErrors([r])).toBe(r);
    const p = new PermanentError('y');
    expect(combineErrors([p])).toBe(p);
  });

  it('keeps the code the failures share, else the general one of the verdict', () => {
    const full = (m: string) => new RetryableError(m, { code: 'GS_WAL_FULL' });
    expect(codeOf(combineErrors([full('a'), full('b')]))).toBe('GS_WAL_FULL');
    expect(codeOf(combineErrors([full('a'), new RetryableError('b', { code: 'GS_QUEUE_FULL' })]))).toBe('GS_RETRY_LATER');
    expect(codeOf(combineErrors([new PermanentError('a'), new PermanentError('b', { code: 'GS_EXPORTER_REJECTED' })]))).toBe('GS_DATA_REFUSED');
  });
});
