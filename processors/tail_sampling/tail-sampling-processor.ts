/**
 * tail_sampling: holds the spans of each trace (grouped by trace ID on the wire, as the bytes they will
 * leave as) until `decision_wait` after the trace's first span arrived, then runs the policies and sends a
 * sampled trace on whole, in one request with the other traces decided at the same tick. Late spans follow
 * the remembered decision. What it holds is bounded by `num_traces` and counted in the service's memory
 * ledger; under pressure it decides its oldest traces early instead of holding more (README).
 *
 * Acknowledgement: a request is answered once its spans are held here (the collector's behaviour), or,
 * for late spans of a sampled trace, once the next stage accepted them. A sampled trace is delivered later;
 * a retryable refusal is retried (its bytes stay held and counted) until accepted or the shutdown deadline.
 */
import type { Consumer } from '../../src/core/consumer.js';
import type { CreateSettings, Host, Processor } from '../../src/core/component.js';
import type { MemoryLedger } from '../../src/core/memory-ledger.js';
import { PermanentError, isRetryable, messageOf } from '../../src/core/errors.js';
import { Payload } from '../../src/pdata/payload.js';
import { asBuffer, type Range } from '../../src/pdata/wire-primitives.js';
import { AttrList } from '../../src/processorhelper/wire-edit.js';
import { GREEN } from '../../src/somatic/zone.js';
import type { TailSamplingConfig } from './config.js';
import { DecisionMemory } from './decision-cache.js';
import { SamplingMetrics, VOTED_DROPPED, VOTED_NOT_SAMPLED, VOTED_SAMPLED } from './sampling-metrics.js';
import { Decision, PolicySet, combine, type TraceFacts } from './policies.js';
import { SpanScan } from './span-scan.js';
import { TraceSplitter, type SplitVisitor } from './trace-split.js';
import { ArrivalOrder } from './arrival-order.js';

const PENDING = 0;
const SAMPLED = 1;
const NOT_SAMPLED = 2;

/** A trace held for its decision. */
class HeldTrace implements TraceFacts {
  spanCount = 0;
  minHi = 0;
  minLo = 0;
  maxHi = 0;
  maxLo = 0;
  buf: Buffer = EMPTY;
  len = 0;
  state = PENDING;
  /** When it is due (ms, the processor's clock): decision_wait after its first span, or sooner after its root. */
  dueAt: number;
  readonly flags: Uint8Array;
  constructor(
    readonly key: string,
    readonly firstSeen: number,
    waitMs: number,
    slots: number,
  ) {
    this.dueAt = firstSeen + waitMs;
    this.flags = new Uint8Array(slots);
  }
}

const EMPTY = Buffer.alloc(0);

function sameBytes(buf: Uint8Array, a: number, b: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}
/**
 * Group targets of a request that are not a held trace: late spans of a decided trace, its decision among
 * the last ones (LATE_*) or from decision_cache (CACHED_*, the collector's early release).
 */
const LATE_SAMPLED = 1;
const LATE_NOT_SAMPLED = 2;
const CACHED_SAMPLED = 3;
const CACHED_NOT_SAMPLED = 4;
/** Sampled traces decided together leave in requests of at most this many bytes (each trace whole). */
const MAX_REQUEST_BYTES = 4 << 20;

export type EarlyReason = 'num_traces' | 'pressure' | 'shutdown' | 'max_size';

export class TailSamplingProcessor implements Processor, SplitVisitor {
  private readonly policies: PolicySet;
  /** Traces waiting for their decision, in the order their first span arrived. */
  private readonly pending = new Map<string, HeldTrace>();
  /** The last span's group and trace ID range in the request being read (-1: none yet). */
  private lastGroup = -1;
  private lastIdStart = 0;
  private lastIdLen = 0;
  /** The pending traces in arrival order (the Map's own order is costly to take from the front). */
  private readonly arrival = new ArrivalOrder<HeldTrace>((t) => t.state === PENDING);
  /**
   * Traces whose root span arrived while decision_wait_after_root_received is set, in root arrival order
   * (so in due order too: the wait after a root is the same for all), each at most once.
   */
  private readonly rooted = new ArrivalOrder<HeldTrace>((t) => t.state === PENDING);
  private readonly decisions: DecisionMemory;
  private readonly splitter = new TraceSplitter();
  private readonly scan = new SpanScan();
  private readonly resourceAttrs = new AttrList();
  private readonly resourceMatch: Uint8Array;
  private readonly waitMs: number;
  private readonly rootWaitMs: number;
  private ledger: MemoryLedger | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private deadlineAt: number | undefined;
  /** Bytes held: pending traces' buffers and sampled traces being delivered (what the ledger counts). */
  private held = 0;
  private readonly deliveries = new Set<Promise<void>>();
  /** Requests waiting for room in the table (block_on_overflow). */
  private waiting: (() => void)[] = [];
  private readonly votes: Decision[] = [];

  // Per request (reused): groups of the request and where each one's fragments go.
  private readonly groupOf = new Map<string, number>();
  private targets: (HeldTrace | number)[] = [];
  private now = 0;
  private lateBuf: Buffer = Buffer.allocUnsafeSlow(4096);
  private lateLen = 0;
  private lateSpans = 0;

  // Sampled traces decided and not yet handed to a delivery.
  private outParts: Uint8Array[] = [];
  private outBytes = 0;
  private outHeld = 0;
  private outSpans = 0;

  private readonly labels: { processor: string };
  private readonly m: SamplingMetrics;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: TailSamplingConfig,
    private readonly next: Consumer,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.labels = { processor: settings.id.id };
    this.policies = new PolicySet(config.policies, (policy, err, ignored) => this.policyError(policy, err, ignored), clock);
    this.m = new SamplingMetrics(
      settings.telemetry.registry,
      this.labels,
      this.policies.ordered.map((p) => p.name),
    );
    this.resourceMatch = new Uint8Array(this.policies.slots);
    this.decisions = new DecisionMemory(config.num_traces, config.decision_cache.sampled_cache_size, config.decision_cache.non_sampled_cache_size);
    this.waitMs = config.decision_wait;
    this.rootWaitMs = config.decision_wait_after_root_received;
  }

  async start(_host?: Host): Promise<void> {
    // The somatic processor provides the ledger when it is created, before any component starts.
    this.ledger = this.settings.pressure.ledger;
    // Decisions are due decision_wait after a first span: checked often enough that none is late by more
    // than a tenth of the wait (at most 100 ms).
    const shortest = this.rootWaitMs > 0 ? Math.min(this.waitMs, this.rootWaitMs) : this.waitMs;
    const tick = Math.max(5, Math.min(100, shortest / 10));
    this.timer = setInterval(() => this.decideDue(), tick);
    this.timer.unref();
  }

  /** Traces waiting for a decision (tests and the bench read it). */
  get tracesHeld(): number {
    return this.pending.size;
  }

  /** Bytes held for decisions and deliveries. */
  get bytesHeld(): number {
    return this.held;
  }

  consume(payload: Payload): Promise<void> {
    let items: number;
    try {
      items = payload.itemCount;
    } catch (err) {
      return Promise.reject(this.unreadable(err));
    }
    this.settings.telemetry.processorIncoming.inc({ processor: this.labels.processor, otel_signal: 'traces' }, items);
    if (this.stopped) return this.forward(payload, items);
    // block_on_overflow: a request waits while the table is full, instead of its new traces deciding the oldest early.
    if (this.config.block_on_overflow && this.pending.size >= this.config.num_traces)
      return this.roomInTable().then(() => (this.stopped ? this.forward(payload, items) : this.take(payload)));
    return this.take(payload);
  }

  /** Holds the request's spans (or sends on the late spans of sampled traces). */
  private take(payload: Payload): Promise<void> {
    const bytes = payload.bytes;
    this.now = this.clock();
    this.relieve(bytes.length);
    this.groupOf.clear();
    this.targets.length = 0;
    this.lastGroup = -1;
    this.lateLen = 0;
    this.lateSpans = 0;
    try {
      this.splitter.split(asBuffer(bytes), this);
    } catch (err) {
      // Spans of the request held before the bad one stay held (they were valid); the client is told.
      this.flushOut();
      return Promise.reject(this.unreadable(err));
    }
    this.flushOut();
    this.updateGauges();
    this.wakeWaiting();
    if (this.lateLen === 0) return Promise.resolve();
    // Late spans of sampled traces go on now; the client's answer waits for the next stage.
    const late = Buffer.from(this.lateBuf.subarray(0, this.lateLen));
    return this.forward(new Payload('traces', late, { itemCount: this.lateSpans, meta: payload.meta }), this.lateSpans);
  }

  /** Resolves once the table has room (or the processor stopped); waiters are woken in arrival order. */
  private async roomInTable(): Promise<void> {
    while (!this.stopped && this.pending.size >= this.config.num_traces) await new Promise<void>((r) => this.waiting.push(r));
  }

  /** Wakes the requests waiting for room when there is some: each checks again, in order, as it runs. */
  private wakeWaiting(): void {
    if (this.waiting.length === 0 || (!this.stopped && this.pending.size >= this.config.num_traces)) return;
    const woken = this.waiting;
    this.waiting = [];
    for (const wake of woken) wake();
  }

  private unreadable(err: unknown): PermanentError {
    return new PermanentError(`tail_sampling ${this.settings.id.id}: cannot read the traces request: ${messageOf(err)}`, { cause: err });
  }

  private forward(payload: Payload, items: number): Promise<void> {
    return this.next.consume(payload).then(() => {
      this.settings.telemetry.processorOutgoing.inc({ processor: this.labels.processor, otel_signal: 'traces' }, items);
    });
  }

  // --------------------------------------------------------------------------------------------
  // SplitVisitor: every span of the request, then each trace's fragment of every ResourceSpans.

  resourceSpans(buf: Uint8Array, resource: Range, present: boolean): void {
    const rules = this.policies.resourceRules;
    if (rules.length === 0) return;
    this.resourceMatch.fill(0);
    if (!present) return;
    const attrs = this.resourceAttrs.load(buf, resource.start, resource.end, 1);
    for (const r of rules) if (r.resource!(attrs)) this.resourceMatch[r.slot] = 1;
  }

  span(buf: Uint8Array, start: number, end: number): number {
    const scan = this.scan;
    scan.load(buf as Buffer, start, end);
    const idStart = scan.traceIdStart;
    const idLen = scan.traceIdEnd - idStart;
    // Spans of a trace usually sit together: the same trace ID as the last span's (in this request) takes
    // its group without a key string and a lookup.
    let g = this.lastGroup;
    if (g >= 0 && idLen === this.lastIdLen && sameBytes(buf, idStart, this.lastIdStart, idLen)) return this.observed(g);
    this.lastIdStart = idStart;
    this.lastIdLen = idLen;
    const key = (buf as Buffer).toString('latin1', idStart, idStart + idLen);
    g = this.groupOf.get(key) ?? -1;
    if (g < 0) {
      g = this.targets.length;
      this.groupOf.set(key, g);
      this.targets.push(this.targetOf(key));
    }
    this.lastGroup = g;
    return this.observed(g);
  }

  private observed(g: number): number {
    const t = this.targets[g]!;
    if (typeof t !== 'number' && t.state === PENDING) this.observe(t);
    return g;
  }

  room(group: number, size: number, spans: number, at: Range): Uint8Array | undefined {
    const t = this.targets[group]!;
    const state = typeof t === 'number' ? (t === LATE_SAMPLED || t === CACHED_SAMPLED ? SAMPLED : NOT_SAMPLED) : t.state;
    if (state === PENDING) {
      const h = t as HeldTrace;
      const max = this.config.maximum_trace_size_bytes;
      if (max > 0 && h.len + size > max) {
        this.m.early.inc({ ...this.labels, reason: 'max_size' });
        this.conclude(h, false);
        return undefined;
      }
      this.reserve(h, size);
      at.start = h.len;
      h.len += size;
      return h.buf;
    }
    this.m.late.inc({ ...this.labels, sampled: state === SAMPLED ? 'true' : 'false' }, spans);
    if (t === CACHED_SAMPLED) this.m.cachedSampledSpans += spans;
    else if (t === CACHED_NOT_SAMPLED) this.m.cachedNotSampledSpans += spans;
    if (state !== SAMPLED) return undefined;
    if (this.lateLen + size > this.lateBuf.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.lateBuf.length * 2, this.lateLen + size));
      this.lateBuf.copy(grown, 0, 0, this.lateLen);
      this.lateBuf = grown;
    }
    at.start = this.lateLen;
    this.lateLen += size;
    this.lateSpans += spans;
    return this.lateBuf;
  }

  /** Where a trace's spans go: its held trace (new or not), or the decision it was given. */
  private targetOf(key: string): HeldTrace | number {
    const held = this.pending.get(key);
    if (held) return held;
    const memory = this.decisions;
    const decided = memory.get(key);
    if (decided !== undefined) {
      if (memory.lastFromCache) return decided ? CACHED_SAMPLED : CACHED_NOT_SAMPLED;
      // Once per trace per request, as the collector records it per trace of a batch.
      this.m.lateSpanAge.observe(Math.trunc((this.now - memory.lastDecidedAt) / 1000));
      return decided ? LATE_SAMPLED : LATE_NOT_SAMPLED;
    }
    // A new trace: the oldest is decided early when the table is full. With block_on_overflow the request
    // was let in when the table had room, and its new traces may fill it past num_traces (by one request's).
    if (this.pending.size >= this.config.num_traces && !this.config.block_on_overflow) {
      const oldest = this.arrival.oldest()!;
      this.m.early.inc({ ...this.labels, reason: 'num_traces' });
      this.decide(oldest);
    }
    const t = new HeldTrace(key, this.now, this.waitMs, this.policies.slots);
    this.pending.set(key, t);
    this.arrival.push(t);
    this.m.newTraces.inc(this.labels);
    return t;
  }

  /** What the span rules learn from one more span of a held trace. */
  private observe(t: HeldTrace): void {
    const s = this.scan;
    t.spanCount++;
    // A root span makes the trace due decision_wait_after_root_received after it arrived, when that is sooner.
    if (this.rootWaitMs > 0 && this.now + this.rootWaitMs < t.dueAt && s.isRoot()) {
      t.dueAt = this.now + this.rootWaitMs;
      this.rooted.push(t);
    }
    if (this.policies.hasLatency) {
      // The collector's running bounds: a zero timestamp counts as unset.
      if ((t.minHi === 0 && t.minLo === 0) || s.startHi < t.minHi || (s.startHi === t.minHi && s.startLo < t.minLo)) {
        t.minHi = s.startHi;
        t.minLo = s.startLo;
      }
      if ((t.maxHi === 0 && t.maxLo === 0) || s.endHi > t.maxHi || (s.endHi === t.maxHi && s.endLo > t.maxLo)) {
        t.maxHi = s.endHi;
        t.maxLo = s.endLo;
      }
    }
    const flags = t.flags;
    const rules = this.policies.rules;
    for (let i = 0; i < rules.length; i++) {
      if (flags[i]) continue;
      if (this.resourceMatch[i] || rules[i]!.span(s, t)) flags[i] = 1;
    }
  }

  /** Makes room in `t.buf` for `size` more bytes; the growth is held in the ledger. */
  private reserve(t: HeldTrace, size: number): void {
    const need = t.len + size;
    if (need <= t.buf.length) return;
    // A trace usually arrives in one or two requests: the first buffer is exact, later ones double.
    const cap = t.buf.length === 0 ? need : Math.max(need, t.buf.length * 2);
    const grown = Buffer.allocUnsafeSlow(cap);
    t.buf.copy(grown, 0, 0, t.len);
    this.hold(cap - t.buf.length);
    t.buf = grown;
  }

  private hold(bytes: number): void {
    this.held += bytes;
    this.ledger?.hold(bytes);
  }

  private unhold(bytes: number): void {
    this.held -= bytes;
    this.ledger?.unhold(bytes);
  }

  // --------------------------------------------------------------------------------------------
  // Decisions

  /** Decides every trace whose decision_wait has passed (the timer). */
  private decideDue(): void {
    const started = performance.now();
    const now = this.clock();
    this.now = now;
    for (let t = this.arrival.oldest(); t !== undefined && t.firstSeen + this.waitMs <= now; t = this.arrival.oldest()) this.decide(t);
    for (let t = this.rooted.oldest(); t !== undefined && t.dueAt <= now; t = this.rooted.oldest()) this.decide(t);
    this.flushOut();
    // Every run, as the collector's timer records each of its runs.
    this.m.timerLatency.observe(performance.now() - started);
    this.updateGauges();
    this.wakeWaiting();
  }

  /**
   * Under memory pressure (the somatic zone Yellow or Red while a memory sensor, RSS or heap, is at its
   * Yellow threshold; or no room in the memory ledger for the request's spans) the oldest traces are
   * decided now, at least as many bytes as arrive, so what is held does not grow. A Yellow zone from the
   * event loop alone holds as usual: deciding early frees memory, not CPU. The delivery of the sampled
   * ones still holds their bytes until the next stage accepts them.
   */
  private relieve(incoming: number): void {
    const ledger = this.ledger;
    if (!this.memoryPressed() && (!ledger || ledger.room() >= incoming)) return;
    let freed = 0;
    for (let t = this.arrival.oldest(); t !== undefined && freed < incoming; t = this.arrival.oldest()) {
      freed += t.buf.length;
      this.m.early.inc({ ...this.labels, reason: 'pressure' });
      this.decide(t);
    }
  }

  private memoryPressed(): boolean {
    const rt = this.settings.pressure.runtime;
    if (!rt || rt.zone === GREEN) return false;
    const th = rt.settings.thresholds;
    const over = (sensor: 'rss' | 'heap') => th[sensor].yellow > 0 && rt.values[sensor] >= th[sensor].yellow;
    return over('rss') || over('heap');
  }

  /** Runs the policies on `t` and acts on the outcome. */
  private decide(t: HeldTrace): void {
    const votes = this.votes;
    votes.length = 0;
    const now = this.now;
    // In the configured order, as the collector: a drop decides at once; with sample_on_first_match so
    // does the first policy that samples, so a drop policy listed after it is not reached.
    let dropped = false;
    const ordered = this.policies.ordered;
    let from = performance.now();
    for (let i = 0; i < ordered.length; i++) {
      const p = ordered[i]!;
      let d: Decision;
      try {
        d = p.evaluate(t, now);
      } catch (err) {
        this.policyError(p.name, err, false);
        d = Decision.NotSampled;
      }
      // One clock read per policy: each evaluation's time ends where the next one's starts.
      const to = performance.now();
      const micros = (to - from) * 1000;
      from = to;
      const vote = d === Decision.Sampled || d === Decision.InvertSampled ? VOTED_SAMPLED : d === Decision.Dropped ? VOTED_DROPPED : VOTED_NOT_SAMPLED;
      this.m.voted(i, vote, t.spanCount, micros);
      if (d === Decision.Dropped) {
        dropped = true;
        break;
      }
      votes.push(d);
      if (this.config.sample_on_first_match && d === Decision.Sampled) break;
    }
    const sampled = !dropped && combine(votes);
    if (sampled) this.m.sampled++;
    else if (dropped) this.m.dropped++;
    else this.m.notSampled++;
    this.conclude(t, sampled);
  }

  private policyError(policy: string, err: unknown, ignored: boolean | undefined): void {
    if (ignored) {
      this.settings.logger.warn('OTTL condition failed; treated as false (error_mode ignore)', {
        processor: this.labels.processor,
        policy,
        error: messageOf(err),
      });
      return;
    }
    this.m.errors.inc({ ...this.labels, policy });
    this.settings.logger.warn('sampling policy failed; it counts as not sampling the trace', {
      processor: this.labels.processor,
      policy,
      error: messageOf(err),
    });
  }

  /** Records the decision; a sampled trace joins the outgoing request, any other is released. */
  private conclude(t: HeldTrace, sampled: boolean): void {
    this.pending.delete(t.key);
    t.state = sampled ? SAMPLED : NOT_SAMPLED;
    this.decisions.remember(t.key, sampled, this.now);
    // Its spans leave memory now (sent on or dropped): whole seconds, as the collector records them.
    this.m.removalAge.observe(Math.trunc((this.now - t.firstSeen) / 1000));
    if (sampled && t.len > 0) {
      if (this.outBytes + t.len > MAX_REQUEST_BYTES) this.flushOut();
      this.outParts.push(t.buf.subarray(0, t.len));
      this.outBytes += t.len;
      this.outHeld += t.buf.length;
      this.outSpans += t.spanCount;
    } else this.unhold(t.buf.length);
    t.buf = EMPTY;
    t.len = 0;
  }

  /** Hands the sampled traces decided so far to one delivery. */
  private flushOut(): void {
    if (this.outParts.length === 0) return;
    const payload = Payload.fromParts('traces', this.outParts, { itemCount: this.outSpans });
    const d = this.deliver(payload, this.outHeld, this.outSpans);
    this.deliveries.add(d);
    void d.finally(() => this.deliveries.delete(d));
    this.outParts = [];
    this.outBytes = this.outHeld = this.outSpans = 0;
  }

  /** Delivers sampled traces; a retryable refusal is retried while the bytes stay held. */
  private async deliver(payload: Payload, held: number, spans: number): Promise<void> {
    let delay = 100;
    try {
      for (;;) {
        try {
          await this.forward(payload, spans);
          return;
        } catch (err) {
          const wait = isRetryable(err) ? (err.retryAfterMs ?? delay) : -1;
          if (wait < 0 || (this.stopped && (this.deadlineAt === undefined || Date.now() + wait >= this.deadlineAt))) {
            this.m.undelivered.inc(this.labels, spans);
            this.settings.logger.error('sampled traces were refused by the next stage and are dropped', {
              processor: this.labels.processor,
              spans,
              error: messageOf(err),
            });
            return;
          }
          await new Promise((r) => setTimeout(r, wait).unref());
          delay = Math.min(delay * 2, 5000);
        }
      }
    } finally {
      this.unhold(held);
      this.updateGauges();
    }
  }

  /** Sets the gauges and adds the decisions counted since the last call (not one counter call per trace). */
  private updateGauges(): void {
    this.m.flush(this.pending.size, this.held);
  }

  async shutdown(deadlineAt?: number): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.stopped = true;
    this.deadlineAt = deadlineAt;
    // Requests waiting for room go on undecided (as any request after shutdown): nothing acknowledged is dropped.
    this.wakeWaiting();
    this.now = this.clock();
    for (const t of this.pending.values()) {
      if (this.config.drop_pending_traces_on_shutdown) this.conclude(t, false);
      else {
        this.m.early.inc({ ...this.labels, reason: 'shutdown' });
        this.decide(t);
      }
    }
    this.flushOut();
    while (this.deliveries.size > 0) await Promise.allSettled([...this.deliveries]);
    this.updateGauges();
  }
}
