/**
 * gRPC status codes and the OpenTelemetry Collector's mapping between them and HTTP statuses, so a
 * refusal means the same thing to a client whichever OTLP transport it uses.
 */

/** gRPC status codes (google.rpc.Code). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusName = keyof typeof GrpcStatus;
export type GrpcStatusCode = (typeof GrpcStatus)[GrpcStatusName];

const NAMES: readonly GrpcStatusName[] = Object.keys(GrpcStatus) as GrpcStatusName[];

/** The name of a gRPC code ("UNAVAILABLE"), or `CODE_<n>` for a code outside 0..16. */
export function grpcStatusName(code: number): string {
  return NAMES[code] !== undefined && Number.isInteger(code) ? NAMES[code]! : `CODE_${code}`;
}

/** The codes of failures the OTLP spec calls transient: a client retries them, an HTTP peer hears 503. */
function isTransientGrpc(code: number): boolean {
  switch (code) {
    case GrpcStatus.CANCELLED:
    case GrpcStatus.DEADLINE_EXCEEDED:
    case GrpcStatus.ABORTED:
    case GrpcStatus.OUT_OF_RANGE:
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.DATA_LOSS:
      return true;
    default:
      return false;
  }
}

/**
 * The HTTP status an OTLP/HTTP receiver answers for a gRPC code, as the collector maps it: the retryable
 * codes become 503, RESOURCE_EXHAUSTED 429, and the client errors their 4xx; anything else is 500.
 */
export function httpStatusFromGrpc(code: number): number {
  if (isTransientGrpc(code)) return 503;
  switch (code) {
    case GrpcStatus.OK:
      return 200;
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return 429;
    case GrpcStatus.INVALID_ARGUMENT:
      return 400;
    case GrpcStatus.UNAUTHENTICATED:
      return 401;
    case GrpcStatus.PERMISSION_DENIED:
      return 403;
    case GrpcStatus.UNIMPLEMENTED:
      return 404;
    default:
      return 500;
  }
}

/**
 * The gRPC code for an HTTP status received from (or relayed to) an OTLP/HTTP peer, as the collector maps
 * it (gRPC's HTTP mapping, except 400 -> INVALID_ARGUMENT and 429 -> RESOURCE_EXHAUSTED).
 */
export function grpcStatusFromHttp(status: number): GrpcStatusCode {
  if (status >= 200 && status < 300) return GrpcStatus.OK;
  switch (status) {
    case 400:
      return GrpcStatus.INVALID_ARGUMENT;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/**
 * Whether an OTLP/gRPC client should retry a failure with this code (OTLP spec): RESOURCE_EXHAUSTED
 * only when the server attached a RetryInfo (it can recover), the transient codes always.
 */
export function isRetryableGrpc(code: number, hasRetryInfo: boolean): boolean {
  return isTransientGrpc(code) || (code === GrpcStatus.RESOURCE_EXHAUSTED && hasRetryInfo);
}

/** Whether an OTLP/HTTP client should retry a failure with this status (OTLP spec: 429, 502, 503, 504). */
export function isRetryableHttp(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504;
}
