/**
 * The sampling policies. Whatever a policy reads of the spans (attributes, status, tracestate, times) is
 * judged once per span as it arrives, on the wire (a SpanRule sets the trace's flag for it), so a decision
 * reads flags and counts instead of walking the held bytes again; only `ottl_condition` decodes the held
 * trace, at its decision. The outcome is the collector's for the same spans in the same order: "any
 * span (or resource) matches" is an OR that does not depend on when it is computed, and `latency` keeps the
 * collector's running earliest-start/latest-end check span by span.
 */
import { ValueType, utf8, type AttrList } from '../../src/processorhelper/wire-edit.js';
import { decodeRequest } from '../../src/pdata/codec.js';
import { re2RegExp } from '../../src/processorhelper/re2.js';
import { compileConditions } from '../../src/ottl/config.js';
import { anyHolds, type ErrorMode } from '../../src/ottl/run.js';
import { newEvalContext } from '../../src/ottl/paths.js';
import type { CompiledCondition } from '../../src/ottl/compile.js';
import type { CompositeSubPolicyConfig, LeafPolicyConfig, PolicyConfig, SimplePolicyConfig } from './config.js';
import type { SpanScan } from './span-scan.js';
import { FNV_OFFSET_HI, FNV_OFFSET_LO, fnv1a64, probabilityThreshold, traceStateValue } from './trace-id-hash.js';

/** A policy's vote, as the collector's samplingpolicy.Decision. */
export const enum Decision {
  Sampled = 1,
  NotSampled = 2,
  InvertSampled = 3,
  InvertNotSampled = 4,
  Dropped = 5,
}

/** What the processor keeps of one trace while it waits: its bytes and what the span rules found. */
export interface TraceFacts {
  /** The trace ID's 16 bytes as a latin1 string (the table key). */
  readonly key: string;
  spanCount: number;
  /** One byte per span rule (SpanRule.slot): 1 once the rule matched a span or resource of the trace. */
  readonly flags: Uint8Array;
  /** Earliest start and latest end seen so far (unix ns as two uint32 halves; 0/0 unset, as the collector's zero Timestamp). */
  minHi: number;
  minLo: number;
  maxHi: number;
  maxLo: number;
  /** The held fragments (a valid request): buf[0:len]. */
  buf: Buffer;
  len: number;
}

/** A check made on every span (and resource) as it arrives: sets the trace's flag `slot` when it holds. */
export interface SpanRule {
  slot: number;
  /** Whether the ResourceSpans' resource attributes hold for it (checked once per ResourceSpans). */
  resource?(attrs: AttrList): boolean;
  span(span: SpanScan, trace: TraceFacts): boolean;
}

/** A policy's vote at decision time. */
export interface Evaluator {
  readonly name: string;
  evaluate(trace: TraceFacts, nowMs: number): Decision;
}

/**
 * Reports a failed evaluation: the policy then votes NotSampled, as the collector counts an error.
 * `ignored`: an OTTL condition failed under error_mode ignore (logged only; the condition is false).
 */
export type OnPolicyError = (policy: string, err: unknown, ignored?: boolean) => void;

// ------------------------------------------------------------------------------------------------
// Attribute matching (resource and span), as pcommon's typed getters read a value of another type.

type AttrTest = (a: AttrList, i: number) => boolean;

/** A rule for "a resource or span has attribute `key` that passes `test`" (spans: `spanTest` when given). */
function attributeRule(slot: number, key: string, test: AttrTest, spanTest: AttrTest = test): SpanRule {
  const k = utf8(key);
  return {
    slot,
    resource(attrs) {
      const i = attrs.indexOf(k);
      return i >= 0 && test(attrs, i);
    },
    span(span) {
      const a = span.attrs();
      const i = a.indexOf(k);
      return i >= 0 && spanTest(a, i);
    },
  };
}

/** pcommon Value.Str(): the string, or '' for another type. */
const strOf = (a: AttrList, i: number): string => (a.type(i) === ValueType.String ? a.str(i) : '');
/** pcommon Value.Int(): the int, or 0 for another type. */
const intOf = (a: AttrList, i: number): bigint => (a.type(i) === ValueType.Int ? a.int(i) : 0n);
/** pcommon Value.Bool(): the bool, or false for another type. */
const boolOf = (a: AttrList, i: number): boolean => (a.type(i) === ValueType.Bool ? a.bool(i) : false);

/** A string matcher: exact values, or regular expressions with a bounded cache of results. */
function stringMatcher(values: readonly string[], regex: boolean, cacheSize: number): (s: string) => boolean {
  if (!regex) {
    const set = new Set(values.filter((v) => v !== ''));
    return (s) => set.has(s);
  }
  const res = values.map((v) => re2RegExp(v));
  const cache = new Map<string, boolean>();
  const max = cacheSize > 0 ? cacheSize : 128;
  return (s) => {
    const hit = cache.get(s);
    if (hit !== undefined) {
      cache.delete(s);
      cache.set(s, hit);
      return hit;
    }
    const m = res.some((r) => r.test(s));
    if (cache.size >= max) cache.delete(cache.keys().next().value!);
    cache.set(s, m);
    return m;
  };
}

// ------------------------------------------------------------------------------------------------
// The policy tree.

interface Built {
  evaluator: Evaluator;
}

/** Compiles the configured policies into evaluators and the span rules they read. */
export class PolicySet {
  readonly rules: SpanRule[] = [];
  /** Rules that read resource attributes (checked once per ResourceSpans). */
  readonly resourceRules: SpanRule[] = [];
  readonly hasLatency: boolean;
  /** Every policy in its configured order, as the collector evaluates them. */
  readonly ordered: Evaluator[] = [];
  private latency = false;

  constructor(
    policies: readonly PolicyConfig[],
    private readonly onError: OnPolicyError,
    private readonly clock: () => number = () => performance.now(),
  ) {
    for (const p of policies) this.ordered.push(this.build(p).evaluator);
    this.hasLatency = this.latency;
  }

  get slots(): number {
    return this.rules.length;
  }

  private rule(r: Omit<SpanRule, 'slot'>): number {
    const slot = this.rules.length;
    const rule = { ...r, slot } as SpanRule;
    this.rules.push(rule);
    if (rule.resource) this.resourceRules.push(rule);
    return slot;
  }

  private flag(name: string, slot: number, invert: boolean): Evaluator {
    return invert
      ? { name, evaluate: (t) => (t.flags[slot] ? Decision.InvertNotSampled : Decision.InvertSampled) }
      : { name, evaluate: (t) => (t.flags[slot] ? Decision.Sampled : Decision.NotSampled) };
  }

  private build(p: SimplePolicyConfig | LeafPolicyConfig | CompositeSubPolicyConfig | PolicyConfig): Built {
    const name = p.name;
    switch (p.type) {
      case 'always_sample':
        return { evaluator: { name, evaluate: () => Decision.Sampled } };
      case 'latency': {
        this.latency = true;
        const lower = p.latency.threshold_ms;
        const upper = p.latency.upper_threshold_ms;
        const slot = this.rule({
          span: (_s, t) => {
            // The collector's running check: duration of the earliest start to the latest end seen so far.
            const ms = Math.trunc(((t.maxHi - t.minHi) * 0x1_0000_0000 + (t.maxLo - t.minLo)) / 1e6);
            return upper === 0 ? ms >= lower : lower < ms && ms <= upper;
          },
        });
        return { evaluator: this.flag(name, slot, false) };
      }
      case 'numeric_attribute': {
        const { key, invert_match } = p.numeric_attribute;
        // An absent bound is the int64 limit, as the collector's math.MinInt64 / math.MaxInt64.
        const min = p.numeric_attribute.min_value === undefined ? -(2n ** 63n) : BigInt(p.numeric_attribute.min_value);
        const max = p.numeric_attribute.max_value === undefined ? 2n ** 63n - 1n : BigInt(p.numeric_attribute.max_value);
        const slot = this.rule(
          attributeRule(0, key, (a, i) => {
            const v = intOf(a, i);
            return v >= min && v <= max;
          }),
        );
        return { evaluator: this.flag(name, slot, invert_match) };
      }
      case 'string_attribute': {
        const c = p.string_attribute;
        const match = stringMatcher(c.values, c.enabled_regex_matching, c.cache_max_size);
        // The collector skips a span whose value is '' (or not a string), but not a resource.
        const slot = this.rule(
          attributeRule(
            0,
            c.key,
            (a, i) => match(strOf(a, i)),
            (a, i) => {
              const v = strOf(a, i);
              return v !== '' && match(v);
            },
          ),
        );
        return { evaluator: this.flag(name, slot, c.invert_match) };
      }
      case 'boolean_attribute': {
        const c = p.boolean_attribute;
        const slot = this.rule(attributeRule(0, c.key, (a, i) => boolOf(a, i) === c.value));
        return { evaluator: this.flag(name, slot, c.invert_match) };
      }
      case 'status_code': {
        const codes = new Set<number>(p.status_code.status_codes.map((c) => (c === 'UNSET' ? 0 : c === 'OK' ? 1 : 2)));
        const slot = this.rule({ span: (s) => codes.has(s.status) });
        return { evaluator: this.flag(name, slot, false) };
      }
      case 'trace_state': {
        const { key } = p.trace_state;
        // As the collector: a key=value pair longer than 256 characters cannot occur, so it never matches.
        const values = new Set(p.trace_state.values.filter((v) => v !== '' && key.length + v.length < 256));
        const slot = this.rule({ span: (s) => s.traceStateEnd > s.traceStateStart && values.has(traceStateValue(s.traceState(), key)) });
        return { evaluator: this.flag(name, slot, false) };
      }
      case 'probabilistic': {
        const threshold = probabilityThreshold(p.probabilistic.sampling_percentage / 100);
        const tHi = Number(threshold >> 32n);
        const tLo = Number(threshold & 0xffffffffn);
        const salt = utf8(p.probabilistic.hash_salt === '' ? 'default-hash-seed' : p.probabilistic.hash_salt);
        const seeded: [number, number] = [FNV_OFFSET_HI, FNV_OFFSET_LO];
        fnv1a64(salt, seeded);
        const h: [number, number] = [0, 0];
        const id = Buffer.alloc(16);
        return {
          evaluator: {
            name,
            evaluate: (t) => {
              h[0] = seeded[0];
              h[1] = seeded[1];
              const n = id.write(t.key, 'latin1');
              fnv1a64(n === 16 ? id : id.subarray(0, n), h);
              return h[0] < tHi || (h[0] === tHi && h[1] <= tLo) ? Decision.Sampled : Decision.NotSampled;
            },
          },
        };
      }
      case 'rate_limiting': {
        const { spans_per_second: rate, burst_capacity: burst } = p.rate_limiting;
        const bucket = tokenBucket(rate, burst > 0 ? burst : rate * 2, this.clock());
        return { evaluator: { name, evaluate: (t, now) => (bucket(t.spanCount, now) ? Decision.Sampled : Decision.NotSampled) } };
      }
      case 'bytes_limiting': {
        // The trace's size is its held bytes: the ResourceSpans fragments it leaves as, protobuf-encoded (the
        // collector measures the marshaled trace the same way).
        const { bytes_per_second: rate, burst_capacity: burst } = p.bytes_limiting;
        const bucket = tokenBucket(rate, burst > 0 ? burst : rate * 2, this.clock());
        return { evaluator: { name, evaluate: (t, now) => (bucket(t.len, now) ? Decision.Sampled : Decision.NotSampled) } };
      }
      case 'trace_flags': {
        // Any span with the W3C "sampled" flag (bit 0 of the trace flags, the low byte of the span's flags).
        const slot = this.rule({ span: (s) => (s.flags & 1) !== 0 });
        return { evaluator: this.flag(name, slot, false) };
      }
      case 'not': {
        const sub = 'not' in p ? p.not.not_sub_policy : undefined;
        const inner = sub ? this.build(sub).evaluator : { name, evaluate: () => Decision.NotSampled };
        // Sampled and NotSampled swap; other votes (inverted, dropped) pass as they are, as the collector's.
        return {
          evaluator: {
            name,
            evaluate: (t, now) => {
              const d = inner.evaluate(t, now);
              return d === Decision.Sampled ? Decision.NotSampled : d === Decision.NotSampled ? Decision.Sampled : d;
            },
          },
        };
      }
      case 'span_count': {
        const { min_spans: min, max_spans: max } = p.span_count;
        return {
          evaluator: {
            name,
            evaluate: (t) => ((max === 0 ? t.spanCount >= min : t.spanCount >= min && t.spanCount <= max) ? Decision.Sampled : Decision.NotSampled),
          },
        };
      }
      case 'ottl_condition':
        return { evaluator: ottlEvaluator(name, p.ottl_condition, this.onError) };
      case 'and': {
        const subs = ('and' in p ? p.and.and_sub_policy : []).map((sp) => this.build(sp).evaluator);
        return { evaluator: { name, evaluate: (t, now) => (allSample(subs, t, now) ? Decision.Sampled : Decision.NotSampled) } };
      }
      case 'drop': {
        const subs = ('drop' in p ? p.drop.drop_sub_policy : []).map((sp) => this.build(sp).evaluator);
        return { evaluator: { name, evaluate: (t, now) => (allSample(subs, t, now) ? Decision.Dropped : Decision.NotSampled) } };
      }
      case 'composite':
        return { evaluator: this.composite(p as PolicyConfig) };
    }
  }

  /** The collector's composite: sub-policies in order, each within its spans-per-second share, per clock second. */
  private composite(p: PolicyConfig): Evaluator {
    const c = p.composite;
    const total = c.max_total_spans_per_second;
    const share = total / c.composite_sub_policy.length;
    const allocation = new Map<string, number>();
    for (const r of c.rate_allocation) allocation.set(r.policy, r.percent > 0 ? (r.percent / 100) * total : share);
    const subs = c.composite_sub_policy.map((sp) => ({ evaluator: this.build(sp).evaluator, allocated: allocation.get(sp.name) ?? 0, sampled: 0 }));
    let second = -1;
    return {
      name: p.name,
      evaluate: (t, now) => {
        const s = Math.floor(now / 1000);
        if (s !== second) {
          second = s;
          for (const sub of subs) sub.sampled = 0;
        }
        for (const sub of subs) {
          const d = sub.evaluator.evaluate(t, now);
          if (d !== Decision.Sampled && d !== Decision.InvertSampled) continue;
          const after = sub.sampled + t.spanCount;
          if (after <= sub.allocated && after <= total) {
            sub.sampled = after;
            return Decision.Sampled;
          }
          return Decision.NotSampled;
        }
        return Decision.NotSampled;
      },
    };
  }
}

/**
 * A token bucket as golang.org/x/time/rate's AllowN: full at the start, refills at `rate` per second up
 * to `burst`; taking n passes when n tokens are there (so n > burst never passes).
 */
function tokenBucket(rate: number, burst: number, startMs: number): (n: number, nowMs: number) => boolean {
  let tokens = burst;
  let last = startMs;
  return (n, now) => {
    tokens = Math.min(burst, tokens + ((now - last) / 1000) * rate);
    last = now;
    if (n > tokens) return false;
    tokens -= n;
    return true;
  };
}

/** Whether every sub-policy votes to sample (`and` samples then, `drop` drops); stops at the first that does not. */
function allSample(subs: readonly Evaluator[], t: TraceFacts, now: number): boolean {
  for (const sub of subs) {
    const d = sub.evaluate(t, now);
    if (d !== Decision.Sampled && d !== Decision.InvertSampled) return false;
  }
  return true;
}

/** ottl_condition: the held trace decoded at its decision; any span or span event condition true samples it. */
function ottlEvaluator(name: string, c: { error_mode: ErrorMode; span: string[]; spanevent: string[] }, onError: OnPolicyError): Evaluator {
  const span: CompiledCondition[] = compileConditions(c.span, 'span', 'traces');
  const event: CompiledCondition[] = compileConditions(c.spanevent, 'spanevent', 'traces');
  const opts = { errorMode: c.error_mode, onIgnoredError: (text: string, err: unknown) => onError(name, new Error(`${text}: ${String(err)}`), true) };
  return {
    name,
    evaluate: (t) => {
      const msg = decodeRequest('traces', t.buf.subarray(0, t.len));
      const ctx = newEvalContext();
      for (const rx of msg.resourceSpans) {
        ctx.resource = rx;
        for (const sx of rx.scopeSpans) {
          ctx.scope = sx;
          for (const sp of sx.spans) {
            ctx.span = sp;
            ctx.cache = undefined;
            if (span.length > 0 && anyHolds(span, ctx, opts)) return Decision.Sampled;
            if (event.length === 0) continue;
            for (const ev of sp.events) {
              ctx.spanevent = ev;
              ctx.cache = undefined;
              if (anyHolds(event, ctx, opts)) return Decision.Sampled;
            }
          }
        }
      }
      return Decision.NotSampled;
    },
  };
}

/**
 * The final decision from every policy's vote, as the collector's README states it: a drop, or an
 * inverted "not sampled", drops; then any "sampled" samples; then an inverted "sampled" samples when no
 * policy voted "not sampled"; otherwise not sampled.
 */
export function combine(votes: readonly Decision[]): boolean {
  let sampled = false;
  let invertSampled = false;
  let notSampled = false;
  for (const d of votes) {
    if (d === Decision.Dropped || d === Decision.InvertNotSampled) return false;
    if (d === Decision.Sampled) sampled = true;
    else if (d === Decision.InvertSampled) invertSampled = true;
    else if (d === Decision.NotSampled) notSampled = true;
  }
  return sampled || (invertSampled && !notSampled);
}
