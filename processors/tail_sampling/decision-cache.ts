/**
 * What the processor remembers of decided traces, so late spans follow the decision: the last
 * `num_traces` decisions (the collector keeps a decided trace in its table until num_traces newer ones push
 * it out), and the optional LRU caches of `decision_cache` (sampled / not sampled trace IDs), which outlive it.
 */

/** A bounded set of keys; the least recently used goes first. Size 0 keeps nothing. */
export class LruSet {
  private readonly keys = new Map<string, true>();
  constructor(private readonly size: number) {}

  has(key: string): boolean {
    if (!this.keys.has(key)) return false;
    this.keys.delete(key);
    this.keys.set(key, true);
    return true;
  }

  add(key: string): void {
    if (this.size <= 0) return;
    this.keys.delete(key);
    this.keys.set(key, true);
    if (this.keys.size > this.size) this.keys.delete(this.keys.keys().next().value!);
  }

  get count(): number {
    return this.keys.size;
  }
}

export class DecisionMemory {
  /** The last decisions in the order made (true: sampled), at most `recent` of them. */
  private readonly last = new Map<string, boolean>();
  private readonly sampled: LruSet;
  private readonly notSampled: LruSet;

  constructor(
    private readonly recent: number,
    sampledCacheSize: number,
    nonSampledCacheSize: number,
  ) {
    this.sampled = new LruSet(sampledCacheSize);
    this.notSampled = new LruSet(nonSampledCacheSize);
  }

  remember(key: string, sampled: boolean): void {
    this.last.delete(key);
    this.last.set(key, sampled);
    if (this.last.size > this.recent) this.last.delete(this.last.keys().next().value!);
    (sampled ? this.sampled : this.notSampled).add(key);
  }

  /** The decision for `key`, or undefined when it is not remembered (a new trace). */
  get(key: string): boolean | undefined {
    if (this.sampled.has(key)) return true;
    if (this.notSampled.has(key)) return false;
    return this.last.get(key);
  }
}
