/**
 * Worker threads for wire edits. A Node process runs its JavaScript on one event loop, so a gateway whose
 * processors edit every record (attributes, filter, redaction: up to ~2 us per record, bench/RESULTS.md)
 * spends its one core on them while receiving and exporting wait. (resource and resourcedetection edit
 * only resources, a few per request: they stay on the event loop.) The pool runs those edits on worker threads instead: the event
 * loop copies a request's bytes to a worker (one memcpy, the copy's buffer transferred, not cloned), the
 * worker runs the same editor the processor would run (built from the same parsed config) and transfers
 * the edited bytes back.
 *
 * Contracts:
 *  - An editor is pure: bytes (+ request metadata) in, WalkResult (+ a tally of numbers) out; no
 *    telemetry, no I/O. The processor around it counts and forwards on the event loop, from the result and
 *    the tally, so its metrics and errors are the same either way.
 *  - Every edit goes to the worker with the fewest requests waiting. The event loop does not take edits
 *    back when the workers are busy: measured, that starved the workers (their replies waited behind the
 *    edit the event loop was running) and was slower than queueing. What waits is bounded by the
 *    receiver's admission gate, which counts a request's bytes until it is answered.
 *  - A request the editor cannot read rejects as the in-thread walk would (the caller makes it permanent);
 *    a worker that dies rejects its requests with a RetryableError (the client retries) and is replaced;
 *    threads that keep dying stop the pool, and the processors edit in-thread again.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Registry } from 'prom-client';
import { RetryableError } from '../core/errors.js';
import type { Signal } from '../core/signal.js';
import { silentLogger, type Logger } from '../telemetry/logger.js';
import type { WalkResult } from './wire-edit.js';
import { usableCores } from '../core/cores.js';
import { SERVICE_METRICS, counterFor, gaugeFor } from '../telemetry/metrics.js';

export type RequestMeta = Readonly<Record<string, string>>;

/** The pure part of a wire processor: one request's edit. */
export interface WireEditor {
  edit(bytes: Uint8Array, meta: RequestMeta | undefined): WalkResult | undefined;
  /** What the last edit counted for the processor's metrics (e.g. values masked), read right after it. */
  readonly tally?: readonly number[];
}

/** An edit's result as the processor gets it back, with the editor's tally. */
export type EditResult = WalkResult & { tally?: readonly number[] | undefined };

/**
 * What a worker thread runs for a processor, declared by the processor itself: the URL of a module (its
 * own `import.meta.url`, usually) and the name of the function that module exports to build its editor
 * from the processor's parsed config. The worker imports the module, so the pool knows no processor.
 */
export interface WorkerEditorSpec {
  readonly module: string;
  readonly exportName: string;
}

/** The shape of the function a WorkerEditorSpec names. */
export type WorkerEditorFactory = (config: unknown, signal: Signal, id: string) => WireEditor;

/** More worker deaths than this within GIVE_UP_WINDOW_MS and the pool stops (edits go back in-thread). */
const GIVE_UP_DEATHS = 5;
const GIVE_UP_WINDOW_MS = 10_000;

/**
 * A worker's young generation, MiB (V8 splits it into two semi-spaces and a large-object space). V8's
 * default lets an isolate's semi-spaces grow to 32 MiB under allocation and shrink again after a full GC:
 * memory that comes and goes between two readings of the somatic admission gate, which sees only RSS.
 * Under the processors flood of test/rss-flood.test.ts each worker's grew to 8 MiB (4 MiB at this cap).
 * An edit's live JavaScript is small (the walk's cursors and attribute views, well under a MiB), so a
 * small young generation costs scavenges, not promotions: see bench/RESULTS.md (rss-breakdown).
 */
export const WORKER_YOUNG_GENERATION_MIB = 6;

/** Most threads `auto` starts: past a few, the event loop receiving and exporting is the limit. */
const MAX_AUTO_THREADS = 4;

/**
 * Worker threads for a `service.processing.worker_threads` setting. `auto`: one per core (at most 4), none
 * on a single core, where a thread could only take time from the event loop. On 2 cores 2 threads beat 1
 * (bench/RESULTS.md, green-processors): the event loop is idle much of the time it waits for edits.
 */
export function workerThreadsFor(setting: string): number {
  if (setting !== 'auto') return Number(setting);
  const cores = usableCores();
  return cores < 2 ? 0 : Math.min(MAX_AUTO_THREADS, cores);
}

/** To the worker: build an editor, or edit a request with one. */
export type ToWorker =
  | { op: 'editor'; key: number; module: string; exportName: string; id: string; config: unknown; signal: Signal }
  | { op: 'edit'; seq: number; key: number; bytes: Uint8Array; meta: RequestMeta | undefined };
/**
 * From the worker: the edit's result (bytes only when changed), or why it failed; with the request's copy
 * handed back (`input`), so that it dies on the event loop, not in the worker (offload-worker.ts).
 */
export type FromWorker =
  | { seq: number; changed: false; items: number; tally?: number[] | undefined; input: Uint8Array }
  | { seq: number; changed: true; items: number; bytes: Uint8Array; tally?: number[] | undefined; input: Uint8Array }
  | { seq: number; error: string; input: Uint8Array };

interface Pending {
  resolve(r: EditResult): void;
  reject(e: Error): void;
  input: Uint8Array;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

/**
 * The worker script. Tests run this module from its TypeScript source (vitest) while a worker needs
 * JavaScript: then the build's copy in dist/ is used (`npm test` builds first).
 */
function workerScript(): URL {
  return builtModule(import.meta.url.replace(/offload\.(ts|js)$/, 'offload-worker.$1'));
}

/** The repository root as seen from this module (src/processorhelper/), for mapping sources into dist/. */
const ROOT = new URL('../../', import.meta.url);

/**
 * A module's URL as a worker can import it: as given when it is JavaScript; for a TypeScript source (a
 * test running under vitest) the build's copy in dist/ (`npm test` builds first).
 */
export function builtModule(url: string): URL {
  const u = new URL(url.replace(/\.ts$/, '.js'));
  if (!url.endsWith('.ts')) return u;
  if (!u.href.startsWith(ROOT.href)) throw new Error(`worker module ${url} is outside the gateway's tree`);
  const built = new URL('dist/' + u.href.slice(ROOT.href.length), ROOT);
  if (!existsSync(fileURLToPath(built))) throw new Error('worker threads need the built gateway: run `npx tsc -p .` first');
  return built;
}

export class WireOffloadPool {
  private readonly slots: Slot[] = [];
  private readonly editors: Extract<ToWorker, { op: 'editor' }>[] = [];
  private seq = 0;
  private closed = false;
  /** When workers died lately (respawn guard). */
  private deaths: number[] = [];
  /** Worker threads running (none until a processor registers). */
  get running(): number {
    return this.slots.length;
  }

  /** Requests edited on the workers so far. */
  edits = 0;

  constructor(
    readonly threads: number,
    private readonly log: Logger = silentLogger,
    /** Each worker's young generation, MiB (0: V8's default; bench/worker-young.mjs compares). */
    private readonly youngGenerationMib = WORKER_YOUNG_GENERATION_MIB,
  ) {
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`WireOffloadPool needs at least one thread, got ${threads}`);
  }

  /** Exposes the pool in a registry, read at scrape time (nothing on the data path). */
  instrument(registry: Registry): void {
    const pool = this;
    gaugeFor(registry, SERVICE_METRICS.workerThreads, {
      collect() {
        this.set(pool.running);
      },
    });
    counterFor(registry, SERVICE_METRICS.workerEdits, {
      collect() {
        this.reset();
        this.inc(pool.edits);
      },
    });
  }

  /**
   * Builds the processor's editor on every worker (now and in replacements); returns its handle. The
   * workers start with the first registration: a service without such processors starts none.
   */
  register(editor: WorkerEditorSpec, id: string, config: unknown, signal: Signal): OffloadHandle {
    if (this.closed) throw new Error('WireOffloadPool is closed');
    const module = builtModule(editor.module).href;
    if (this.slots.length === 0) for (let i = 0; i < this.threads; i++) this.slots.push(this.spawn());
    const msg = { op: 'editor' as const, key: this.editors.length, module, exportName: editor.exportName, id, config, signal };
    this.editors.push(msg);
    for (const s of this.slots) s.worker.postMessage(msg);
    return new OffloadHandle(this, msg.key);
  }

  /** Sends a request to the least busy worker; undefined once the pool is closed (the caller edits in-thread). */
  edit(key: number, bytes: Uint8Array, meta: RequestMeta | undefined): Promise<EditResult> | undefined {
    if (this.closed) return undefined;
    let best = this.slots[0]!;
    for (const s of this.slots) if (s.pending.size < best.pending.size) best = s;
    this.edits++;
    // A view's whole ArrayBuffer would be cloned (a pooled slab, a batch); copy exactly the request and
    // transfer the copy.
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    const seq = ++this.seq;
    const slot = best;
    return new Promise<EditResult>((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(seq, { resolve, reject, input: bytes });
      const msg: ToWorker = { op: 'edit', seq, key, bytes: copy, meta };
      slot.worker.postMessage(msg, [copy.buffer]);
    });
  }

  /** Stops the workers; requests still on them reject (retryable). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const resourceLimits = this.youngGenerationMib > 0 ? { maxYoungGenerationSizeMb: this.youngGenerationMib } : {};
    const worker = new Worker(workerScript(), { name: 'gophership-wire-edit', resourceLimits });
    const slot: Slot = { worker, pending: new Map() };
    worker.unref(); // an idle pool does not keep the process alive; a pending edit refs it
    worker.on('message', (m: FromWorker) => this.settle(slot, m));
    worker.on('error', (err) => this.lost(slot, `failed: ${err.message}`));
    worker.on('exit', (code) => this.lost(slot, `exited with code ${code}`));
    for (const msg of this.editors) worker.postMessage(msg);
    return slot;
  }

  private settle(slot: Slot, m: FromWorker): void {
    const p = slot.pending.get(m.seq);
    if (p === undefined) return;
    slot.pending.delete(m.seq);
    if (slot.pending.size === 0) slot.worker.unref();
    if ('error' in m) p.reject(new Error(m.error));
    else if (m.changed) p.resolve({ bytes: m.bytes, changed: true, items: m.items, tally: m.tally });
    else p.resolve({ bytes: p.input, changed: false, items: m.items, tally: m.tally });
  }

  /** A worker died: its requests are retried by their clients, and a new worker takes its place. */
  private lost(slot: Slot, why: string): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return; // 'error' is followed by 'exit'
    const now = Date.now();
    this.deaths = this.deaths.filter((t) => now - t < GIVE_UP_WINDOW_MS);
    this.deaths.push(now);
    if (!this.closed && this.deaths.length > GIVE_UP_DEATHS) {
      // Threads that keep dying (a broken build, no memory for an isolate) would only burn CPU in a
      // respawn loop: the processors edit on the event loop from now on, as with worker_threads 0.
      this.log.error('wire-edit worker threads keep dying; editing on the event loop from now on', {
        reason: why,
        deaths: this.deaths.length,
        window_ms: GIVE_UP_WINDOW_MS,
      });
      this.closed = true;
      this.slots.splice(i, 1);
      for (const other of this.slots.splice(0)) {
        this.failPending(other, 'was stopped');
        void other.worker.terminate();
      }
    } else if (!this.closed) {
      this.log.error('wire-edit worker thread lost; starting another', { reason: why, requests: slot.pending.size });
      this.slots[i] = this.spawn();
    } else this.slots.splice(i, 1);
    this.failPending(slot, why);
  }

  private failPending(slot: Slot, why: string): void {
    const err = new RetryableError(`the worker thread editing this request ${why}; retry the request`, { retryAfterMs: 1000, code: 'GS_WORKER_FAILED' });
    for (const p of slot.pending.values()) p.reject(err);
    slot.pending.clear();
  }
}

/** One processor's editor on the pool. */
export class OffloadHandle {
  constructor(
    private readonly pool: WireOffloadPool,
    private readonly key: number,
  ) {}

  /** The edit on a worker, or undefined when the caller should run it itself (the pool is closed). */
  edit(bytes: Uint8Array, meta: RequestMeta | undefined): Promise<EditResult> | undefined {
    return this.pool.edit(this.key, bytes, meta);
  }
}
