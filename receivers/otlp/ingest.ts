/**
 * What both transports share: handing a received request to its signal's consumer, counting it, and
 * turning a pipeline refusal into the reply a client understands.
 */
import type { Consumer } from '../../src/core/consumer.js';
import type { RequestMeta } from '../../src/core/auth.js';
import { PermanentError, RetryableError, messageOf } from '../../src/core/errors.js';
import { Payload } from '../../src/pdata/payload.js';
import { ITEM_NOUN, type Signal } from '../../src/core/signal.js';
import type { Logger } from '../../src/telemetry/logger.js';
import type { Telemetry } from '../../src/telemetry/telemetry.js';
import { GrpcStatus } from '../../src/grpc/status.js';
import type { AdmissionGate, PressureSlot } from '../../src/somatic/index.js';
import type { AuthRefusalReason } from './access.js';

export type Transport = 'http' | 'grpc';

/** How a refused request is answered on either transport. */
export interface Refusal {
  httpStatus: number;
  grpcCode: number;
  message: string;
  /** Retry-After / RetryInfo delay, when the pipeline named one. */
  retryAfterMs: number | undefined;
}

/** When a throttling refusal names no delay, gRPC still needs a RetryInfo to make it retryable. */
const DEFAULT_THROTTLE_DELAY_MS = 1000;

export class Ingest {
  /** Label objects built once, so counting a request allocates nothing. */
  private readonly labels: Record<Transport, { receiver: string; transport: Transport }>;
  private lastUnexpectedLog = 0;
  /**
   * The service's somatic admission gate, when a somatic processor is configured: both transports ask it
   * before reading a body whether the request's bytes fit the memory budget (see src/somatic/gate.ts).
   * The service creates processors before receivers, so a somatic processor has provided it by now.
   */
  readonly gate: AdmissionGate | undefined;
  /** The receiver's `check_utf8`, as the validator takes it. */
  validation: { utf8: boolean } = { utf8: true };

  constructor(
    id: string,
    private readonly telemetry: Telemetry,
    private readonly next: Partial<Record<Signal, Consumer>>,
    private readonly logger: Logger,
    pressure: PressureSlot,
  ) {
    this.labels = { http: { receiver: id, transport: 'http' }, grpc: { receiver: id, transport: 'grpc' } };
    this.gate = pressure.gate;
  }

  hasConsumer(signal: Signal): boolean {
    return this.next[signal] !== undefined;
  }

  /** Counts request bytes as received (after decompression). */
  received(transport: Transport, bytes: number): void {
    this.telemetry.receiverBytes.inc(this.labels[transport], bytes);
  }

  /** Counts a request refused by the authentication step (access.ts). */
  unauthenticated(transport: Transport, reason: AuthRefusalReason): void {
    this.telemetry.receiverUnauthenticated.inc({ ...this.labels[transport], reason });
  }

  /** Counts a request rejected as bad data (its items when they could be counted, else none). */
  failed(signal: Signal, transport: Transport, items: number): void {
    this.telemetry.receiverFailed[signal].inc(this.labels[transport], items);
  }

  /**
   * Hands one request (its bytes, or consecutive pieces of them) to the signal's consumer. Resolves to undefined once the pipeline accepted it, or
   * to the refusal to send the client.
   */
  async deliver(
    signal: Signal,
    transport: Transport,
    bytes: Uint8Array | readonly Uint8Array[],
    itemCount: number,
    meta?: RequestMeta,
  ): Promise<Refusal | undefined> {
    const consumer = this.next[signal];
    if (!consumer) {
      // Callers check hasConsumer first; this only guards the contract.
      return { httpStatus: 404, grpcCode: GrpcStatus.UNIMPLEMENTED, message: noPipelineMessage(signal), retryAfterMs: undefined };
    }
    try {
      // A body kept as the pieces it arrived in goes on as those pieces (see Payload.fromParts).
      const opts = { itemCount, meta };
      await consumer.consume(bytes instanceof Uint8Array ? new Payload(signal, bytes, opts) : Payload.fromParts(signal, bytes, opts));
    } catch (err) {
      this.telemetry.receiverRefused[signal].inc(this.labels[transport], itemCount);
      return this.refusalOf(err);
    }
    this.telemetry.receiverAccepted[signal].inc(this.labels[transport], itemCount);
    return undefined;
  }

  private refusalOf(err: unknown): Refusal {
    if (err instanceof RetryableError) {
      if (err.throttled) {
        return {
          httpStatus: 429,
          grpcCode: GrpcStatus.RESOURCE_EXHAUSTED,
          message: err.message,
          retryAfterMs: err.retryAfterMs ?? DEFAULT_THROTTLE_DELAY_MS,
        };
      }
      return { httpStatus: 503, grpcCode: GrpcStatus.UNAVAILABLE, message: err.message, retryAfterMs: err.retryAfterMs };
    }
    if (err instanceof PermanentError) {
      return { httpStatus: 400, grpcCode: GrpcStatus.INVALID_ARGUMENT, message: err.message, retryAfterMs: undefined };
    }
    // Not a typed refusal: a fault in the gateway. Like the collector, let the client retry it, and say
    // so in the log (at most every 10 s, so a persistent fault cannot flood it).
    const now = Date.now();
    if (now - this.lastUnexpectedLog > 10_000) {
      this.lastUnexpectedLog = now;
      this.logger.error('pipeline failed a request with an unexpected error; answering it as retryable', { error: messageOf(err) });
    }
    return { httpStatus: 503, grpcCode: GrpcStatus.UNAVAILABLE, message: `internal error: ${messageOf(err)}`, retryAfterMs: undefined };
  }
}

export function noPipelineMessage(signal: Signal): string {
  return `this receiver is in no ${signal} pipeline, so it does not take ${ITEM_NOUN[signal].replace('_', ' ')}; add it to a ${signal} pipeline in service.pipelines`;
}

/** The request message type name per signal, for error messages. */
export const REQUEST_TYPE: Readonly<Record<Signal, string>> = {
  logs: 'ExportLogsServiceRequest',
  traces: 'ExportTraceServiceRequest',
  metrics: 'ExportMetricsServiceRequest',
};
