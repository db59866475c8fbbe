/**
 * The queue's `batch` (the collector's exporterhelper batcher), as byte joining: queued requests of one
 * signal are sent as one request whose bytes are theirs in turn (repeated fields concatenate, so the
 * join is a valid request; no decode). A lane per signal; a lane is ready once it holds `min_size` (in the
 * batch sizer's unit), or its oldest request has waited `flush_timeout`, or the queue is stopping. A batch
 * takes requests in order until it reaches `min_size`, never past `max_size` (a single larger request
 * goes alone, not split).
 */
import { Payload } from '../pdata/payload.js';
import type { Signal } from '../core/signal.js';

export interface BatchSettings {
  flushTimeoutMs: number;
  minSize: number;
  /** 0 = no limit. */
  maxSize: number;
}

/** A queued request as the batcher sees it. */
export interface Batchable {
  payload: Payload;
  /** Its size in the batch sizer's unit. */
  batchSize: number;
  /** When it was queued (ms). */
  at: number;
}

/** One FIFO of queued entries (a head index, compacted now and then, so take() is O(1)). */
export class Fifo<E> {
  private items: (E | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(e: E): void {
    this.items.push(e);
  }

  peek(i = 0): E | undefined {
    return this.items[this.head + i];
  }

  shift(): E | undefined {
    if (this.head >= this.items.length) return undefined;
    const e = this.items[this.head]!;
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return e;
  }

  /** Everything still queued, emptied. */
  drain(): E[] {
    const out = this.items.slice(this.head) as E[];
    this.items = [];
    this.head = 0;
    return out;
  }
}

/** When lane `lane` is ready to send (epoch ms; 0 = now), or undefined when it is empty. */
export function readyAt<E extends Batchable>(lane: Fifo<E>, laneSize: number, batch: BatchSettings | undefined, stopping: boolean): number | undefined {
  const first = lane.peek();
  if (!first) return undefined;
  if (!batch || stopping || laneSize >= batch.minSize) return 0;
  return first.at + batch.flushTimeoutMs;
}

/** Takes the next batch from a ready lane: at least one entry, more while they fit max_size. */
export function takeBatch<E extends Batchable>(lane: Fifo<E>, batch: BatchSettings | undefined): E[] {
  const out = [lane.shift()!];
  if (!batch) return out;
  let size = out[0]!.batchSize;
  for (;;) {
    const next = lane.peek();
    if (!next) break;
    // As the collector's batcher: a batch goes once it reaches min_size, and never grows past max_size.
    if (size >= batch.minSize || (batch.maxSize > 0 && size + next.batchSize > batch.maxSize)) break;
    out.push(lane.shift()!);
    size += next.batchSize;
  }
  return out;
}

/** The joined request of a batch (its pieces kept as they are; joined only if a writer needs one buffer). */
export function joinBatch(signal: Signal, entries: readonly Batchable[]): Payload {
  if (entries.length === 1) return entries[0]!.payload;
  let items = 0;
  let requests = 0;
  let countable = true;
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    for (const c of e.payload.chunks()) parts.push(c);
    requests += e.payload.requests;
    try {
      items += e.payload.itemCount;
    } catch {
      countable = false;
    }
  }
  return Payload.fromParts(signal, parts, { itemCount: countable ? items : undefined, requests });
}
