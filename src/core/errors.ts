/**
 * Typed failures that travel upstream as rejected promises. A receiver maps them to the client's reply:
 * retryable -> HTTP 503/429 with Retry-After, gRPC UNAVAILABLE/RESOURCE_EXHAUSTED with RetryInfo;
 * permanent -> HTTP 400, gRPC INVALID_ARGUMENT.
 *
 * Every error the gateway makes for a user carries a stable `code` listed in error-codes.ts (and
 * docs/errors.md), and an error about a component starts with that component's label:
 * `<kind> <type>[/<name>]: ...` (`exporter otlphttp/2: ...`), made by componentLabel.
 */
import { isErrorCode, type ErrorCode } from './error-codes.js';

export type { ErrorCode } from './error-codes.js';

/** An error with a stable code (docs/errors.md). */
export class CodedError extends Error {
  override readonly name: string = 'CodedError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
  }
}

export class RetryableError extends CodedError {
  override readonly name = 'RetryableError';
  /** How long the client should wait before retrying, when known. */
  readonly retryAfterMs: number | undefined;
  /** True when the refusal is throttling (429 / RESOURCE_EXHAUSTED with RetryInfo) rather than unavailability (503). */
  readonly throttled: boolean;
  constructor(message: string, opts: { retryAfterMs?: number; throttled?: boolean; cause?: unknown; code?: ErrorCode } = {}) {
    super(opts.code ?? 'GS_RETRY_LATER', message, opts);
    this.retryAfterMs = opts.retryAfterMs;
    this.throttled = opts.throttled ?? false;
  }
}

export class PermanentError extends CodedError {
  override readonly name = 'PermanentError';
  constructor(message: string, opts: { cause?: unknown; code?: ErrorCode } = {}) {
    super(opts.code ?? 'GS_DATA_REFUSED', message, opts);
  }
}

/** The one prefix of an error about a component: `exporter otlphttp/2`, `receiver otlp`, `processor batch/x`. */
export function componentLabel(c: { readonly kind: string; readonly id: { readonly id: string } | string }): string {
  return `${c.kind} ${typeof c.id === 'string' ? c.id : c.id.id}`;
}

/**
 * `err` as an error about component `c`: unchanged when its message already starts with the component's
 * label, else the same kind of error (retryable, with its delay; permanent; or coded) with the message
 * `<label>: <message>`, `err`'s listed code (`code` when it has none) and `err` as its cause.
 */
export function componentError(c: Parameters<typeof componentLabel>[0], err: unknown, code: ErrorCode): Error {
  const label = componentLabel(c);
  const msg = messageOf(err);
  if (err instanceof Error && (msg.startsWith(`${label}:`) || msg.startsWith(`${label} `))) return err;
  const opts = { cause: err, code: codeOf(err) ?? code };
  if (err instanceof RetryableError) return new RetryableError(`${label}: ${msg}`, { ...opts, retryAfterMs: err.retryAfterMs, throttled: err.throttled });
  if (err instanceof PermanentError) return new PermanentError(`${label}: ${msg}`, opts);
  return new CodedError(opts.code, `${label}: ${msg}`, opts);
}

/** The listed code an error carries, if any. */
export function codeOf(err: unknown): ErrorCode | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return isErrorCode(code) ? code : undefined;
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
  // The code they share, if they share one; else the refusal's general code.
  const codes = new Set(errors.map(codeOf));
  const code = codes.size === 1 ? [...codes][0] : undefined;
  if (errors.every(isPermanent)) return new PermanentError(errors.map(messageOf).join('; '), { code });
  let retryable: RetryableError | undefined;
  for (const e of errors) {
    if (e instanceof RetryableError && (!retryable || (e.retryAfterMs ?? 0) > (retryable.retryAfterMs ?? 0))) retryable = e;
  }
  return new RetryableError(errors.map(messageOf).join('; '), {
    retryAfterMs: retryable?.retryAfterMs,
    throttled: retryable?.throttled ?? false,
    code,
  });
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
