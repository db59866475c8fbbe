/**
 * What the processor remembers of decided traces, so late spans follow the decision: the last
 * `num_traces` decisions (the collector keeps a decided trace in its table until num_traces newer ones push
 * it out), and the optional LRU caches of `decision_cache` (sampled / not sampled trace IDs), which outlive it.
 *
 * Neither takes the oldest key from a Map's front: V8 leaves deleted entries as holes that each new
 * iterator walks past, so that costs a walk over the table per eviction (see arrival-order.ts). The last
 * decisions keep their order in a ring of keys; the LRU caches link their slots in typed arrays.
 */

/** A bounded set of keys; the least recently used goes first. Size 0 keeps nothing. */
export class LruSet {
  private readonly slotOf = new Map<string, number>();
  private readonly keys: string[] = [];
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  /** Least and most recently used slots (-1: empty). */
  private oldest = -1;
  private newest = -1;

  constructor(private readonly size: number) {
    this.prev = new Int32Array(Math.max(0, size));
    this.next = new Int32Array(Math.max(0, size));
  }

  has(key: string): boolean {
    const slot = this.slotOf.get(key);
    if (slot === undefined) return false;
    this.touch(slot);
    return true;
  }

  add(key: string): void {
    if (this.size <= 0) return;
    let slot = this.slotOf.get(key);
    if (slot !== undefined) {
      this.touch(slot);
      return;
    }
    if (this.keys.length < this.size) {
      slot = this.keys.length;
      this.keys.push(key);
    } else {
      // The least recently used slot takes the new key.
      slot = this.oldest;
      this.unlink(slot);
      this.slotOf.delete(this.keys[slot]!);
      this.keys[slot] = key;
    }
    this.slotOf.set(key, slot);
    this.append(slot);
  }

  get count(): number {
    return this.slotOf.size;
  }

  private touch(slot: number): void {
    if (slot === this.newest) return;
    this.unlink(slot);
    this.append(slot);
  }

  private unlink(slot: number): void {
    const p = this.prev[slot]!;
    const n = this.next[slot]!;
    if (p >= 0) this.next[p] = n;
    else this.oldest = n;
    if (n >= 0) this.prev[n] = p;
    else this.newest = p;
  }

  private append(slot: number): void {
    this.prev[slot] = this.newest;
    this.next[slot] = -1;
    if (this.newest >= 0) this.next[this.newest] = slot;
    else this.oldest = slot;
    this.newest = slot;
  }
}

export class DecisionMemory {
  /** The last decisions' slots in the ring below, at most `recent` of them. */
  private readonly last = new Map<string, number>();
  /** Their keys in the order decided: a ring of `recent` slots, `at` the next to reuse. */
  private readonly order: string[] = [];
  /** By slot: the decision (1: sampled) and when it was made (the processor's clock, ms). */
  private readonly sampledIn: number[] = [];
  private readonly decidedAt: number[] = [];
  private at = 0;
  private readonly sampled: LruSet;
  private readonly notSampled: LruSet;
  /**
   * Where the last get() found its answer: a decision_cache (the collector's early release, no age) or the
   * last decisions (a late span, `lastDecidedAt` its decision's time). Fields, not a result object: no
   * allocation per lookup.
   */
  lastFromCache = false;
  lastDecidedAt = 0;

  constructor(
    private readonly recent: number,
    sampledCacheSize: number,
    nonSampledCacheSize: number,
  ) {
    this.sampled = new LruSet(sampledCacheSize);
    this.notSampled = new LruSet(nonSampledCacheSize);
  }

  /** Remembers `key`'s decision, made at `at` (ms, the processor's clock). */
  remember(key: string, sampled: boolean, at = 0): void {
    if (this.recent > 0) {
      let slot = this.last.get(key);
      if (slot === undefined) {
        if (this.order.length < this.recent) {
          slot = this.order.length;
          this.order.push(key);
        } else {
          slot = this.at;
          this.last.delete(this.order[slot]!);
          this.order[slot] = key;
          this.at = (this.at + 1) % this.recent;
        }
        this.last.set(key, slot);
      }
      this.sampledIn[slot] = sampled ? 1 : 0;
      this.decidedAt[slot] = at;
    }
    (sampled ? this.sampled : this.notSampled).add(key);
  }

  /** The decision for `key`, or undefined when it is not remembered (a new trace). The caches answer first, as the collector's. */
  get(key: string): boolean | undefined {
    this.lastFromCache = true;
    if (this.sampled.has(key)) return true;
    if (this.notSampled.has(key)) return false;
    this.lastFromCache = false;
    const slot = this.last.get(key);
    if (slot === undefined) return undefined;
    this.lastDecidedAt = this.decidedAt[slot]!;
    return this.sampledIn[slot] === 1;
  }
}
