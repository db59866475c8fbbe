/**
 * A wire-edit worker thread (src/processorhelper/offload.ts): builds the editors the pool registers and runs
 * them on the requests it is sent, in arrival order.
 */
import { parentPort } from 'node:worker_threads';
import { collectGarbage } from '../core/gc.js';
import type { Signal } from '../core/signal.js';
import type { FromWorker, OffloadableType, RequestMeta, ToWorker, WireEditor } from './offload.js';

type EditorFactory = (config: unknown, signal: Signal, id: string) => WireEditor;

/** Editors by processor type, loaded on first use. */
const EDITORS: Record<OffloadableType, () => Promise<EditorFactory>> = {
  attributes: async () => {
    const m = await import('../../processors/attributes/attributes-processor.js');
    return (config, signal, id) => new m.AttributesEditor(config as ConstructorParameters<typeof m.AttributesEditor>[0], signal, id);
  },
  filter: async () => {
    const m = await import('../../processors/filter/filter-processor.js');
    return (config, signal) => new m.FilterEditor(config as ConstructorParameters<typeof m.FilterEditor>[0], signal);
  },
  redaction: async () => {
    const m = await import('../../processors/redaction/redaction-processor.js');
    return (config, signal) => new m.RedactionEditor(config as ConstructorParameters<typeof m.RedactionEditor>[0], signal);
  },
};

const port = parentPort;
if (!port) throw new Error('wire-offload-worker runs as a worker thread');

// A worker that goes idle after a burst keeps its garbage: V8 collects only when something allocates, and
// the heap-growth slack (process-wide V8 flags) lets a worker's heap hold tens of MB of dead request
// buffers. The process's RSS, which the somatic controller and admission gate read, would then stay high
// after the load is gone. So a worker that has been idle for IDLE_COLLECT_MS collects once.
const IDLE_COLLECT_MS = 1000;
let idleTimer: NodeJS.Timeout | undefined;
function workDone(): void {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => void collectGarbage(), IDLE_COLLECT_MS);
  idleTimer.unref();
}

const editors: Promise<WireEditor>[] = [];
let chain: Promise<void> = Promise.resolve();

port.on('message', (m: ToWorker) => {
  if (m.op === 'editor') {
    editors[m.key] = EDITORS[m.type]().then((make) => make(m.config, m.signal, m.id));
    // A config the event loop accepted builds here too; if not, every edit with it reports why.
    editors[m.key]!.catch(() => {});
    return;
  }
  // Editors are ready after their first import; until then requests wait in order behind it.
  chain = chain
    .then(() => editors[m.key]!)
    .then(
      (editor) => reply(m.seq, editor, m.bytes, m.meta),
      (err: unknown) => port.postMessage({ seq: m.seq, error: (err as Error).message } satisfies FromWorker),
    )
    .finally(workDone);
});

function reply(seq: number, editor: WireEditor, bytes: Uint8Array, meta: RequestMeta | undefined): void {
  let msg: FromWorker;
  try {
    const out = editor.edit(bytes, meta);
    const tally = editor.tally ? [...editor.tally] : undefined;
    if (!out || !out.changed) msg = { seq, changed: false, items: out?.items ?? -1, tally };
    else msg = { seq, changed: true, items: out.items, bytes: out.bytes, tally };
  } catch (err) {
    port!.postMessage({ seq, error: (err as Error).message } satisfies FromWorker);
    return;
  }
  if (msg.changed) {
    const b = msg.bytes;
    // An edit's output owns its ArrayBuffer (or is a view into a shared one): transfer only the former.
    if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) port!.postMessage(msg, [b.buffer as ArrayBuffer]);
    else port!.postMessage(msg);
  } else port!.postMessage(msg);
}
