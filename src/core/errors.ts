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
 * Combines the failures of a fan-out into the one the client sees: any retryable failure makes the whole
 * retryable (the client resends; the exporters that succeeded see a duplicate, which at-least-once allows),
 * with the longest retry delay asked for; otherwise the first permanent failure.
 */
export function combineErrors(errors: unknown[]): Error {
  let retryable: RetryableError | undefined;
  for (const e of errors) {
    if (e instanceof RetryableError) {
      if (!retryable || (e.retryAfterMs ?? 0) > (retryable.retryAfterMs ?? 0)) retryable = e;
    }
  }
  if (retryable) {
    if (errors.length === 1) return retryable;
    return new RetryableError(errors.map(messageOf).join('; '), {
      retryAfterMs: retryable.retryAfterMs,
      throttled: retryable.throttled,
    });
  }
  const first = errors[0];
  if (errors.length === 1 && first instanceof Error) return first;
  return new PermanentError(errors.map(messageOf).join('; '));
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
