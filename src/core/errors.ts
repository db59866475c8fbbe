/**
 * Typed failures that travel upstream as rejected promises. A receiver maps them to the client's reply:
 * retryable -> HTTP 503/429 with Retry-After, gRPC UNAVAILABLE/RESOURCE_EXHAUSTED with RetryInfo;
 * permanent -> HTTP 400, gRPC INVALID_ARGUMENT.
 */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
  /** How long the client should wait before retrying, when known. */
  readonly retryAfterMs: number | undefined;
  /** True when the refusal is throttling (429 / RESOURCE_EXHAUSTED with RetryInfo) rather than unavailability (503). */
  readonly throttled: boolean;
  constructor(message: string, opts: { retryAfterMs?: number; throttled?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.retryAfterMs = opts.retryAfterMs;
    this.throttled = opts.throttled ?? false;
  }
}

export class PermanentError extends Error {
  override readonly name = 'PermanentError';
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
  }
}

export function isRetryable(err: unknown): err is RetryableError {
  return err instanceof RetryableError;
}

export function isPermanent(err: unknown): err is PermanentError {
  return err instanceof PermanentError;
}

/**
 * Combines the failures of a fan-out into the one the client sees: the whole is permanent only when every
 * failure is (a PermanentError); any other failure makes it retryable (the client resends; the exporters
 * that succeeded see a duplicate, which at-least-once allows), with the longest retry delay asked for. An
 * untyped error (a bug, not a verdict on the data) counts as retryable, as a receiver answers it alone
 * (503): a client must not drop data because two branches failed unexpectedly.
 */
export function combineErrors(errors: unknown[]): Error {
  const first = errors[0];
  if (errors.length === 1 && first instanceof Error) return first;
  if (errors.every(isPermanent)) return new PermanentError(errors.map(messageOf).join('; '));
  let retryable: RetryableError | undefined;
  for (const e of errors) {
    if (e instanceof RetryableError && (!retryable || (e.retryAfterMs ?? 0) > (retryable.retryAfterMs ?? 0))) retryable = e;
  }
  return new RetryableError(errors.map(messageOf).join('; '), {
    retryAfterMs: retryable?.retryAfterMs,
    throttled: retryable?.throttled ?? false,
  });
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
