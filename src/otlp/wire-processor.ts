/**
 * What every wire-editing processor does around its walk, in one place: count what comes in, walk the
 * bytes, turn a request it cannot read into a permanent error (retrying unreadable bytes cannot help),
 * swap in the edited bytes only when something changed (an untouched request leaves as it arrived),
 * count what goes out, and pass it on (a request left with nothing is done). When the processor has an
 * offload handle (src/otlp/wire-offload.ts), the walk runs on a worker thread instead, unless every
 * worker is busy: then it runs here, as without workers.
 */
import type { CreateSettings } from '../core/component.js';
import type { Consumer } from '../core/consumer.js';
import { PermanentError, RetryableError } from '../core/errors.js';
import type { Payload } from '../core/payload.js';
import type { Signal } from '../core/signal.js';
import type { WalkResult } from './wire-edit.js';
import type { OffloadHandle } from './wire-offload.js';

export interface WireProcessorContext {
  readonly settings: CreateSettings;
  readonly signal: Signal;
  readonly labels: { processor: string; otel_signal: Signal };
  readonly next: Consumer;
  /** Runs the same edit on a worker thread (the service's pool), when there is one. */
  readonly offload?: OffloadHandle | undefined;
}

/**
 * Runs `walk` over the payload's bytes and forwards the result. `walk` gets the item count before the
 * edit and returns the walk's result, or undefined when the processor has nothing to do for this request.
 */
export function editAndForward(ctx: WireProcessorContext, payload: Payload, walk: (bytes: Uint8Array, items: number) => WalkResult | undefined): Promise<void> {
  const tel = ctx.settings.telemetry;
  let before: number;
  let out: WalkResult | undefined;
  try {
    before = payload.itemCount;
    tel.processorIncoming.inc(ctx.labels, before);
    const remote = ctx.offload?.edit(payload.bytes, payload.meta);
    if (remote !== undefined) {
      return remote.then(
        (res) => forward(ctx, payload, before, res),
        (err: unknown) => Promise.reject(err instanceof RetryableError ? err : unreadable(ctx, err)),
      );
    }
    out = walk(payload.bytes, before);
  } catch (err) {
    return Promise.reject(unreadable(ctx, err));
  }
  return forward(ctx, payload, before, out);
}

/** A request the walk cannot read: retrying the same bytes cannot help. */
function unreadable(ctx: WireProcessorContext, err: unknown): PermanentError {
  return new PermanentError(`${ctx.settings.id.type} processor ${ctx.settings.id.id}: cannot read the ${ctx.signal} request: ${(err as Error).message}`, { cause: err });
}

function forward(ctx: WireProcessorContext, payload: Payload, before: number, out: WalkResult | undefined): Promise<void> {
  const tel = ctx.settings.telemetry;
  if (!out || !out.changed) {
    tel.processorOutgoing.inc(ctx.labels, before);
    return ctx.next.consume(payload);
  }
  const after = out.items >= 0 ? out.items : before;
  tel.processorOutgoing.inc(ctx.labels, after);
  if (out.bytes.length === 0) return Promise.resolve();
  payload.replaceBytes(out.bytes, after);
  return ctx.next.consume(payload);
}
