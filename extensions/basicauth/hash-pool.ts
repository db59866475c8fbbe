/**
 * The slow htpasswd checks (bcrypt ~70 ms, SHA-crypt ~9 ms: slow on purpose) on worker threads. On the
 * event loop every wrong guess held it for that long, so anyone who can reach the gateway could stall
 * every other client of it with a flood of wrong passwords (test/auth-flood.test.ts: 2 s to over 20 s).
 *
 * The checks wait here, on the event loop, in one queue per user, and go to a thread one at a time per
 * thread. The next check is that of the user served least recently (a user with none waiting or running
 * starts afresh, first in line): a user flooded with guesses is served between every other user's checks. What waits is bounded, in all and per user: past either bound a check
 * is refused at once, retryably (the receiver answers 503 / UNAVAILABLE with a retry delay), so a flood
 * costs the event loop a refusal per request, and a flood against one user leaves room, and turns, for
 * the checks of the others.
 *
 * The wire-edit pool (src/processorhelper/offload.ts) does not fit: it edits request bytes for processors,
 * exists only when `worker_threads` is set, and does not bound what waits; this pool must run whenever a
 * receiver checks passwords. It reuses that pool's way to find the built worker module.
 */
import { Worker } from 'node:worker_threads';
import { usableCores } from '../../src/core/cores.js';
import { RetryableError } from '../../src/core/errors.js';
import { builtModule } from '../../src/processorhelper/offload.js';
import type { Logger } from '../../src/telemetry/logger.js';

/** Threads: one per core beyond the event loop's, at least one (a thread is time-sliced, not blocking), at most two. */
export const HASH_THREADS = Math.max(1, Math.min(2, usableCores() - 1));
/** Checks that may wait for a thread, all users together: at ~70 ms a bcrypt check, seconds of work at most. */
export const MAX_WAITING = 64;
/** Checks that may wait for one user: a flood against one user fills this, not MAX_WAITING. */
export const MAX_WAITING_PER_USER = 8;
/** What a refused check tells the client to wait. */
export const BUSY_RETRY_AFTER_MS = 1000;
/** More thread deaths than this within DEATH_WINDOW_MS and the pool refuses checks for that long (no respawn loop). */
const MAX_DEATHS = 5;
const DEATH_WINDOW_MS = 10_000;

/** To a worker: one check. */
export interface ToHashWorker {
  seq: number;
  hash: string;
  password: string;
}
/** From a worker: its verdict. */
export interface FromHashWorker {
  seq: number;
  matches: boolean;
}

interface Job {
  readonly hash: string;
  readonly password: string;
  resolve(matches: boolean): void;
  reject(err: Error): void;
}

/** One user's waiting checks, when one of them was last handed to a thread, and how many run. */
interface UserQueue {
  readonly user: string;
  readonly jobs: Job[];
  served: number;
  running: number;
}

interface Slot {
  readonly worker: Worker;
  job: Job | undefined;
  /** The queue of the user whose check runs. */
  queue: UserQueue | undefined;
  seq: number;
}

function busy(why: string): RetryableError {
  return new RetryableError(`${why}; retry later`, { retryAfterMs: BUSY_RETRY_AFTER_MS, code: 'GS_AUTH_BUSY' });
}

export class SlowHashPool {
  /** Waiting checks by user (a user without any has no entry). */
  private readonly queues = new Map<string, UserQueue>();
  private waiting = 0;
  /** Counts hand-outs to threads: the order in which users were served. */
  private turn = 0;
  private readonly slots: Slot[] = [];
  private deaths: number[] = [];
  private closed = false;
  /** Hashes computed so far (tests read it; a replayed guess computes none). */
  checks = 0;

  constructor(
    private readonly logger: Logger,
    private readonly threads = HASH_THREADS,
  ) {}

  /** Resolves to whether `password` matches `hash`; rejects with a RetryableError when too many checks wait. */
  check(user: string, hash: string, password: string): Promise<boolean> {
    if (this.closed) return Promise.reject(busy('the authenticator is shutting down'));
    if (this.failing()) return Promise.reject(busy('the password check threads keep failing'));
    const queue = this.queues.get(user);
    if (this.waiting >= MAX_WAITING) return Promise.reject(busy('too many password checks are waiting'));
    if (queue !== undefined && queue.jobs.length >= MAX_WAITING_PER_USER) return Promise.reject(busy('too many password checks are waiting for this user'));
    return new Promise<boolean>((resolve, reject) => {
      const job = { hash, password, resolve, reject };
      if (queue) queue.jobs.push(job);
      else this.queues.set(user, { user, jobs: [job], served: 0, running: 0 });
      this.waiting++;
      this.dispatch();
    });
  }

  /** Stops the threads; checks waiting or running are refused retryably. */
  async close(): Promise<void> {
    this.closed = true;
    const err = busy('the authenticator is shutting down');
    this.refuseWaiting(err);
    const slots = this.slots.splice(0);
    for (const slot of slots) slot.job?.reject(err);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  /** True while threads keep dying (a broken build, no memory for an isolate): no respawn loop. */
  private failing(): boolean {
    return this.deaths.length > MAX_DEATHS && Date.now() - this.deaths[this.deaths.length - 1]! < DEATH_WINDOW_MS;
  }

  /** Refuses every waiting check with `err`. */
  private refuseWaiting(err: Error): void {
    for (const queue of this.queues.values()) for (const job of queue.jobs) job.reject(err);
    this.queues.clear();
    this.waiting = 0;
  }

  /** Hands waiting checks to free threads, starting threads up to the limit. */
  private dispatch(): void {
    while (this.waiting > 0) {
      let slot = this.slots.find((s) => s.job === undefined);
      if (!slot && this.slots.length < this.threads) {
        if (this.failing()) return this.refuseWaiting(busy('the password check threads keep failing'));
        slot = this.spawn();
      }
      if (!slot) return;
      // The user served least recently: a scan of at most MAX_WAITING users.
      let queue: UserQueue | undefined;
      for (const q of this.queues.values()) if (q.jobs.length > 0 && (queue === undefined || q.served < queue.served)) queue = q;
      const job = queue!.jobs.shift()!;
      this.waiting--;
      queue!.served = ++this.turn;
      queue!.running++;
      slot.job = job;
      slot.queue = queue;
      slot.worker.ref();
      this.checks++;
      slot.worker.postMessage({ seq: ++slot.seq, hash: job.hash, password: job.password } satisfies ToHashWorker);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(builtModule(import.meta.url.replace(/hash-pool\.(ts|js)$/, 'hash-worker.$1')), {
      name: 'gophership-password-check',
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    const slot: Slot = { worker, job: undefined, queue: undefined, seq: 0 };
    worker.unref(); // an idle pool keeps no process alive; a running check refs it
    worker.on('message', (m: FromHashWorker) => {
      const job = slot.job;
      if (job === undefined || m.seq !== slot.seq) return;
      this.finished(slot);
      worker.unref();
      job.resolve(m.matches);
      this.dispatch();
    });
    worker.on('error', (err) => this.lost(slot, err.message));
    worker.on('exit', (code) => this.lost(slot, `exited with code ${code}`));
    this.slots.push(slot);
    return slot;
  }

  /** A slot's check is over: its user's queue goes once nothing of the user waits or runs. */
  private finished(slot: Slot): void {
    const queue = slot.queue;
    slot.job = undefined;
    slot.queue = undefined;
    if (queue === undefined) return;
    queue.running--;
    if (queue.running === 0 && queue.jobs.length === 0 && this.queues.get(queue.user) === queue) this.queues.delete(queue.user);
  }

  /** A thread died: its check is refused retryably (never the password in the log), another takes its place. */
  private lost(slot: Slot, why: string): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return; // 'error' is followed by 'exit'
    this.slots.splice(i, 1);
    const now = Date.now();
    this.deaths = [...this.deaths.filter((t) => now - t < DEATH_WINDOW_MS), now];
    this.logger.error('a password check thread was lost', { reason: why, deaths: this.deaths.length });
    const job = slot.job;
    this.finished(slot);
    job?.reject(busy('the password check thread failed'));
    if (!this.closed) this.dispatch();
  }
}
