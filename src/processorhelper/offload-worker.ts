/**
 * A wire-edit worker thread (src/processorhelper/offload.ts): builds the editors the pool registers, from
 * the module and export each processor declared (WorkerEditorSpec), and runs them on the requests it is
 * sent, in arrival order.
 */
import { parentPort } from 'node:worker_threads';
import { collectGarbage } from '../core/gc.js';
import type { FromWorker, RequestMeta, ToWorker, WireEditor, WorkerEditorFactory } from './offload.js';

/** Loads the editor factory a processor declared (WorkerEditorSpec): its module, then the named export. */
async function loadEditorFactory(module: string, exportName: string): Promise<WorkerEditorFactory> {
  const m = (await import(module)) as Record<string, unknown>;
  const make = m[exportName];
  if (typeof make !== 'function') throw new Error(`worker editor ${exportName} is not a function exported by ${module}`);
  return make as WorkerEditorFactory;
}

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
    editors[m.key] = loadEditorFactory(m.module, m.exportName).then((make) => make(m.config, m.signal, m.id));
    // A config the event loop accepted builds here too; if not, every edit with it reports why.
    editors[m.key]!.catch(() => {});
    return;
  }
  // Editors are ready after their first import; until then requests wait in order behind it.
  chain = chain
    .then(() => editors[m.key]!)
    .then(
      (editor) => reply(m.seq, editor, m.bytes, m.meta),
      (err: unknown) => port.postMessage({ seq: m.seq, error: (err as Error).message, input: m.bytes } satisfies FromWorker, [m.bytes.buffer as ArrayBuffer]),
    )
    .finally(workDone);
});

/**
 * Edits and answers. The request's copy goes back with every answer (transferred, so the worker keeps no
 * reference): dead in a worker, it would wait for that worker's GC, and a worker allocates so little JS
 * that V8 collects only when dead copies pass its external-memory limit (~64 MiB; 48 edits of 1 MiB left
 * 50 MiB, src/processorhelper/offload.test.ts). Worse, the event loop's allocator counted them (they were
 * allocated there), so the somatic runtime saw them as its own garbage and forced collections of the
 * event loop's heap that could not free them. Handed back, the copy dies where the runtime collects.
 */
function reply(seq: number, editor: WireEditor, input: Uint8Array, meta: RequestMeta | undefined): void {
  let msg: FromWorker;
  try {
    const out = editor.edit(input, meta);
    const tally = editor.tally ? [...editor.tally] : undefined;
    if (!out || !out.changed) msg = { seq, changed: false, items: out?.items ?? -1, tally, input };
    else msg = { seq, changed: true, items: out.items, bytes: out.bytes, tally, input };
  } catch (err) {
    port!.postMessage({ seq, error: (err as Error).message, input } satisfies FromWorker, [input.buffer as ArrayBuffer]);
    return;
  }
  const transfer = [input.buffer as ArrayBuffer];
  if (msg.changed) {
    const b = msg.bytes;
    // An edit's output owns its ArrayBuffer (or is a view into a shared one, maybe the input's): transfer only the former.
    if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer !== input.buffer) transfer.push(b.buffer as ArrayBuffer);
  }
  port!.postMessage(msg, transfer);
}
