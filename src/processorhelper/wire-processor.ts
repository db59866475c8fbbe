/**
 * What every wire-editing processor does around its walk, in one place: count what comes in, walk the
 * bytes, turn a request it cannot read into a permanent error (retrying unreadable bytes cannot help),
 * swap in the edited bytes only when something changed (an untouched request leaves as it arrived),
 * count what goes out, and pass it on (a request left with nothing is done). The edit is the processor's
 * WireEditor (pure: bytes in, result out); when the processor has an offload handle
 * (src/processorhelper/offload.ts) it runs on a worker thread, else here. Either way the processor's `settle`
 * then runs here, on the event loop, with the edit's result and tally: its metrics and decisions.
 */
import type { CreateSettings } from '../core/component.js';
import type { Consumer } from '../core/consumer.js';
import { PermanentError, RetryableError, componentLabel } from '../core/errors.js';
import type { Payload } from '../pdata/payload.js';
import type { Signal } from '../core/signal.js';
import type { WalkResult } from './wire-edit.js';
import type { OffloadHandle, WireEditor, WorkerEditorSpec } from './offload.js';

export interface WireProcessorContext {
  readonly settings: CreateSettings;
  readonly signal: Signal;
  readonly labels: { processor: string; otel_signal: Signal };
  readonly next: Consumer;
  /** Runs the same edit on a worker thread (the service's pool), when there is one. */
  readonly offload?: OffloadHandle | undefined;
  /**
   * After the edit, on the event loop: counts what the edit's tally says and may decide the request goes
   * on unchanged (returns undefined). Without it the edit's result is taken as it is.
   */
  readonly settle?: (out: WalkResult | undefined, before: number, tally: readonly number[] | undefined) => WalkResult | undefined;
}

/**
 * The context of one wire processor. With `offload`, its editor is also built on the service's worker
 * threads (when it has them) and the edits run there.
 */
export function wireContext(
  settings: CreateSettings,
  signal: Signal,
  next: Consumer,
  opts: { offload?: { editor: WorkerEditorSpec; config: unknown }; settle?: WireProcessorContext['settle'] } = {},
): WireProcessorContext {
  const offload = opts.offload && settings.offload?.register(opts.offload.editor, settings.id.id, opts.offload.config, signal);
  // Its edits copy the requests they change (on a worker, the worker's copy too): the admission gate
  // counts them (src/somatic/slot.ts).
  settings.pressure.noteCopyingStage(settings.pipelineId ?? `${signal}:${settings.id.id}`, offload ? 2 : 1);
  return { settings, signal, labels: { processor: settings.id.id, otel_signal: signal }, next, offload, settle: opts.settle };
}

/** Edits the payload's bytes with `editor` (on a worker when the processor has one) and forwards the result. */
export function editAndForward(ctx: WireProcessorContext, payload: Payload, editor: WireEditor): Promise<void> {
  const tel = ctx.settings.telemetry;
  let before: number;
  let out: WalkResult | undefined;
  try {
    before = payload.itemCount;
    tel.processorIncoming.inc(ctx.labels, before);
    const remote = ctx.offload?.edit(payload.bytes, payload.meta);
    if (remote !== undefined) {
      return remote.then(
        (res) => forward(ctx, payload, before, ctx.settle ? ctx.settle(res, before, res.tally) : res),
        (err: unknown) => Promise.reject(err instanceof RetryableError ? err : unreadable(ctx, err)),
      );
    }
    out = editor.edit(payload.bytes, payload.meta);
    if (ctx.settle) out = ctx.settle(out, before, editor.tally);
  } catch (err) {
    return Promise.reject(unreadable(ctx, err));
  }
  return forward(ctx, payload, before, out);
}

/** A request the walk cannot read: retrying the same bytes cannot help. */
function unreadable(ctx: WireProcessorContext, err: unknown): PermanentError {
  return new PermanentError(`${componentLabel(ctx.settings)}: cannot read the ${ctx.signal} request: ${(err as Error).message}`, {
    cause: err,
    code: 'GS_REQUEST_MALFORMED',
  });
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
