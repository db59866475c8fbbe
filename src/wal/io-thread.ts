/**
 * The direct writes and fdatasyncs of a WAL, issued from a thread of their own.
 *
 * Why: from the main thread, every step of the write loop (a write ended, so the next can start; a sync is
 * due; a sync ended, so its appends are acknowledged) waits for node's event loop to reach the thread
 * pool's completion, and in the gateway that loop is busy with the next requests (receiving, validating,
 * CRC): measured under the somatic Red zone's closed loop, a write's completion waited 0.5-2.6 ms on
 * average after the kernel finished it, against 0.3-0.9 ms in the minimal durable forwarder on the same
 * run (bench/RESULTS.md, 2026-12-07 05:xx). Here two worker threads that do nothing else make the same
 * calls synchronously, one the writes and one the fdatasyncs (so a write still runs beside a sync; each
 * runs its calls in the order given), record each success in shared memory at once, and post it to the
 * main thread. `poll` settles the operations that
 * have ended from wherever the main thread calls it (the WAL's `append`, once per request), so the write
 * loop moves on right after the request being handled, instead of after every request of the current
 * event-loop turn. Failures travel only by message (with their errno code).
 *
 * The bytes are written from the direct appender's staging buffer, which is then shared memory
 * (`alignedBuffer(bytes, true)`): the main thread fills it, the worker hands it to pwrite(2).
 */
import { Worker } from 'node:worker_threads';
import type { FileHandle } from 'node:fs/promises';
import type { WalFile } from './file-system.js';

/** Operations in flight at once, at most (the write loop has a write and a sync). */
const SLOTS = 64;
/** Operations queued for the thread and not yet taken, at most. */
const RING = 16;
/** Numbers per queued operation: id, op, fd, offset, length, position. */
const OP_FIELDS = 6;
// ctl[]: operations submitted, operations taken, stop.
const SUBMITTED = 0;
const TAKEN = 1;
const STOP = 2;
/** The counters wrap here (a multiple of RING), inside an Int32. */
const WRAP = 2 ** 30;
const PENDING = 0;
const DONE = 1;
const OP_WRITE = 0;
const OP_SYNC = 1;

// Plain JavaScript run with `eval`, so it needs no file of its own next to the compiled one (nor a loader
// under the tests). A thread sleeps in Atomics.wait until an operation is queued, runs it with the
// synchronous call (no event loop, no thread-pool hop), marks a success in shared memory and posts
// [id, bytes], or posts [id, -1, code, message] for a failure. Its calls run one at a time, in order.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const staging = new Uint8Array(workerData.staging);
const ctl = new Int32Array(workerData.ctl);
const ops = new Float64Array(workerData.ops);
const state = new Int32Array(workerData.state);
const result = new Int32Array(workerData.result);
let taken = 0;
for (;;) {
  while (Atomics.load(ctl, ${SUBMITTED}) === taken && Atomics.load(ctl, ${STOP}) === 0) Atomics.wait(ctl, ${SUBMITTED}, taken);
  if (Atomics.load(ctl, ${STOP}) !== 0) break;
  const at = (taken % ${RING}) * ${OP_FIELDS};
  const id = ops[at], op = ops[at + 1], fd = ops[at + 2], offset = ops[at + 3], length = ops[at + 4], position = ops[at + 5];
  taken = (taken + 1) % ${WRAP};
  Atomics.store(ctl, ${TAKEN}, taken);
  try {
    let n = 0;
    if (op === ${OP_WRITE}) n = fs.writeSync(fd, staging, offset, length, position);
    else fs.fdatasyncSync(fd);
    result[id % ${SLOTS}] = n;
    Atomics.store(state, id % ${SLOTS}, ${DONE});
    parentPort.postMessage([id, n]);
  } catch (err) {
    parentPort.postMessage([id, -1, err.code ?? 'EIO', err.message]);
  }
}
`;

interface Pending {
  resolve(bytes: number): void;
  reject(err: Error): void;
}

/** One thread and the queue it takes its calls from. */
class Lane {
  readonly worker: Worker;
  readonly ctl = new Int32Array(new SharedArrayBuffer(4 * 3));
  readonly ops = new Float64Array(new SharedArrayBuffer(8 * RING * OP_FIELDS));
  submitted = 0;

  constructor(staging: Buffer, state: Int32Array, result: Int32Array) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { staging: staging.buffer, ctl: this.ctl.buffer, ops: this.ops.buffer, state: state.buffer, result: result.buffer },
    });
  }

  /** Whether another call fits the queue. */
  get full(): boolean {
    return (this.submitted - Atomics.load(this.ctl, TAKEN) + WRAP) % WRAP >= RING;
  }

  push(id: number, op: number, fd: number, offset: number, length: number, position: number): void {
    const at = (this.submitted % RING) * OP_FIELDS;
    const o = this.ops;
    o[at] = id;
    o[at + 1] = op;
    o[at + 2] = fd;
    o[at + 3] = offset;
    o[at + 4] = length;
    o[at + 5] = position;
    // The store publishes the fields above (Atomics are sequentially consistent) and wakes the thread.
    this.submitted = (this.submitted + 1) % WRAP;
    Atomics.store(this.ctl, SUBMITTED, this.submitted);
    Atomics.notify(this.ctl, SUBMITTED);
  }

  stop(): Promise<number> {
    Atomics.store(this.ctl, STOP, 1);
    Atomics.notify(this.ctl, SUBMITTED);
    return this.worker.terminate();
  }
}

/**
 * Two threads: one for the writes, one for the fdatasyncs, so that a write runs beside a sync as the
 * write loop expects (at most one of each is under way; each thread runs its calls in order).
 */
export class IoThread {
  private readonly lanes: [writes: Lane, syncs: Lane];
  private readonly state = new Int32Array(new SharedArrayBuffer(4 * SLOTS));
  private readonly result = new Int32Array(new SharedArrayBuffer(4 * SLOTS));
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failed: Error | undefined;

  /** `staging`: the shared buffer every write is taken from. */
  constructor(staging: Buffer) {
    if (!(staging.buffer instanceof SharedArrayBuffer)) throw new TypeError('the I/O thread needs a staging buffer in shared memory');
    this.lanes = [new Lane(staging, this.state, this.result), new Lane(staging, this.state, this.result)];
    for (const { worker } of this.lanes) {
      // It keeps the process alive only while a call is under way (as a pending fs call would); close() ends it.
      worker.unref();
      // (The unref above does not hold for the port node uses while the thread starts.)
      worker.once('online', () => this.pending.size === 0 && worker.unref());
      worker.on('message', (m: [number, number, string?, string?]) => this.settle(m));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', () => this.fail(new Error('a WAL I/O thread exited')));
    }
  }

  /** pwrite(2) of staging[offset, offset + length) at `position` of `fd`; resolves with the bytes written. */
  write(fd: number, offset: number, length: number, position: number): Promise<number> {
    return this.submit(OP_WRITE, fd, offset, length, position);
  }

  /** fdatasync(2) of `fd`. */
  async datasync(fd: number): Promise<void> {
    await this.submit(OP_SYNC, fd, 0, 0, 0);
  }

  /** Operations asked for and not settled yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Settles the operations that have ended successfully (and their awaiting code runs in this turn's microtasks). */
  poll(): void {
    if (this.pending.size === 0) return;
    for (const [id, p] of this.pending) {
      const slot = id % SLOTS;
      if (Atomics.load(this.state, slot) !== DONE) continue;
      this.pending.delete(id);
      p.resolve(this.result[slot]!);
    }
    if (this.pending.size === 0) this.hold(false);
  }

  /** Ends the threads. The caller has awaited every operation it started. */
  async close(): Promise<void> {
    for (const { worker } of this.lanes) worker.removeAllListeners('exit');
    this.fail(new Error('the WAL I/O thread is closed'));
    await Promise.all(this.lanes.map((l) => l.stop()));
  }

  private hold(on: boolean): void {
    for (const { worker } of this.lanes) {
      if (on) worker.ref();
      else worker.unref();
    }
  }

  private submit(op: number, fd: number, offset: number, length: number, position: number): Promise<number> {
    if (this.failed) return Promise.reject(this.failed);
    const lane = this.lanes[op === OP_SYNC ? 1 : 0];
    if (this.pending.size >= SLOTS || lane.full) return Promise.reject(new Error(`too many WAL I/O operations in flight (${this.pending.size})`));
    const id = this.nextId;
    this.nextId = (id + 1) % (SLOTS * 1024);
    Atomics.store(this.state, id % SLOTS, PENDING);
    if (this.pending.size === 0) this.hold(true);
    const p = new Promise<number>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    lane.push(id, op, fd, offset, length, position);
    return p;
  }

  private settle([id, bytes, code, message]: [number, number, string?, string?]): void {
    const p = this.pending.get(id);
    if (!p) return; // settled by poll()
    this.pending.delete(id);
    if (this.pending.size === 0) this.hold(false);
    if (bytes >= 0) p.resolve(bytes);
    else p.reject(Object.assign(new Error(`${message}`), { code }));
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const p of this.pending.values()) p.reject(this.failed);
    this.pending.clear();
    this.hold(false);
  }
}

/**
 * A segment file whose writes from the staging buffer and whose fdatasyncs go through `io`; every other
 * call (reads, truncates, close) is the file handle's own.
 */
export function threadedFile(fh: FileHandle, io: IoThread, staging: Buffer): WalFile {
  return {
    read: fh.read.bind(fh),
    writev: fh.writev.bind(fh),
    writeFile: fh.writeFile.bind(fh),
    truncate: fh.truncate.bind(fh),
    sync: fh.sync.bind(fh),
    close: fh.close.bind(fh),
    datasync: () => io.datasync(fh.fd),
    write: ((buf: Uint8Array, offset: number, length: number, position: number) => {
      if (buf.buffer !== staging.buffer) return fh.write(buf, offset, length, position);
      return io.write(fh.fd, buf.byteOffset + offset, length, position).then((bytesWritten) => ({ bytesWritten, buffer: buf }));
    }) as WalFile['write'],
  };
}
