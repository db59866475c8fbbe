/**
 * probabilistic_sampler: keeps or drops each span or log record by a consistent probabilistic decision on
 * its trace ID (or a log attribute), the collector's decision for the same IDs, seed and percentage.
 * It works on the wire: per record it reads the trace ID, the tracestate (spans) and one or two
 * attributes, cuts dropped records out of the bytes and rewrites only a kept record whose sampling
 * information changes (tracestate `ot=rv:..;th:..` on spans, `sampling.threshold`/`sampling.randomness`
 * attributes on log records). Nothing is decoded.
 */
import type { Counter } from 'prom-client';
import { sharedCounter } from '../../src/telemetry/metrics.js';
import { METRICS } from './metadata.js';
import type { Consumer } from '../../src/core/consumer.js';
import type { CreateSettings, Host, Processor } from '../../src/core/component.js';
import type { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';
import {
  AttrList,
  DROP,
  FIELD,
  KEEP,
  RequestWalker,
  ValueType,
  copyBytes,
  findLenField,
  utf8,
  varintSize,
  writeVarint,
  type Range,
  type RecordView,
  type VisitResult,
  type WalkResult,
} from '../../src/processorhelper/wire-edit.js';
import { editAndForward, wireContext, type WireProcessorContext } from '../../src/processorhelper/wire-processor.js';
import type { WireEditor } from '../../src/processorhelper/offload.js';
import type { ProbabilisticSamplerConfig } from './config.js';
import { SamplerError, SamplerPlan, lowerThreshold, priorityThreshold, type RandomnessSource } from './decide.js';
import {
  ALL_PROBABILITIES_HI,
  ALL_PROBABILITIES_LO,
  ALWAYS_SAMPLE,
  fnv1a32,
  hashRandomness,
  parseRValue,
  parseTValue,
  rvalue,
  shouldSample,
  thresholdLess,
  traceIdRandomness,
  tvalue,
  type Threshold,
} from '../../src/pdata/sampling.js';
import { TraceState } from '../../src/pdata/tracestate.js';

const SPAN_TRACE_ID = 1;
const SPAN_TRACE_STATE = 3;
const LOG_TRACE_ID = 9;
const ZERO_TRACE_ID = new Uint8Array(16);
const PRIORITY_KEY = utf8('sampling.priority');
const THRESHOLD_KEY = utf8('sampling.threshold');
const RANDOMNESS_KEY = utf8('sampling.randomness');

export const TRACES_SAMPLED_METRIC = METRICS.tracesSampled.name;
export const LOGS_SAMPLED_METRIC = METRICS.logsSampled.name;

/** Counts per (policy, sampled) in the edit, flushed to the counter once per request (no per-item labels). */
class DecisionTally {
  readonly counts = new Map<string, number>();
  add(policy: string, sampled: boolean): void {
    const k = sampled ? `1${policy}` : `0${policy}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }
  flush(counter: Counter<string>): void {
    for (const [k, n] of this.counts) counter.inc({ policy: k.slice(1), sampled: k[0] === '1' ? 'true' : 'false' }, n);
    this.counts.clear();
  }
}

/** The per-item state of a decision: randomness (two 28-bit halves) and where it came from. */
class Item {
  readonly rnd = [0, 0];
  source: RandomnessSource = 'missing_randomness';
  error = SamplerError.None;
  missing(): void {
    this.source = 'missing_randomness';
    this.rnd[0] = ALL_PROBABILITIES_HI;
    this.rnd[1] = ALL_PROBABILITIES_LO;
  }
}

/** The span editor: reads trace ID, tracestate and `sampling.priority`; keeps, drops or rewrites the tracestate. */
export class SpanSamplerEditor implements WireEditor {
  readonly decisions = new DecisionTally();
  private readonly walker: RequestWalker;
  private readonly attrs = new AttrList();
  private readonly ts = new TraceState();
  private readonly item = new Item();
  private readonly tid: Range = { start: 0, end: 0 };
  private readonly tsRange: Range = { start: 0, end: 0 };
  private scratch = Buffer.allocUnsafe(1024);

  constructor(private readonly plan: SamplerPlan) {
    this.walker = new RequestWalker({ record: (r) => this.span(r) }, { pruneEmpty: true });
  }

  edit(bytes: Uint8Array): WalkResult {
    return this.walker.walk('traces', bytes);
  }

  private span(r: RecordView): VisitResult {
    const { buf, start, end } = r;
    const plan = this.plan;
    const item = this.item;
    const priority = this.priority(r);
    if (priority === 0) {
      this.decisions.add('sampling_priority', false);
      return DROP;
    }
    const hasTid = findLenField(buf, start, end, SPAN_TRACE_ID, this.tid) && this.tid.end - this.tid.start === 16;
    const tidBuf = hasTid ? buf : ZERO_TRACE_ID;
    const tidStart = hasTid ? this.tid.start : 0;
    const hasTs = findLenField(buf, start, end, SPAN_TRACE_STATE, this.tsRange);
    const rawTs = hasTs ? buf.toString('utf8', this.tsRange.start, this.tsRange.end) : '';
    const carrier = this.ts.parse(rawTs) === undefined;
    item.error = carrier ? SamplerError.None : SamplerError.Parse;

    if (plan.hashing) {
      // The trace ID is hashed even when it is all zeros, as the collector does.
      hashRandomness(fnv1a32(plan.hashSeed, tidBuf, tidStart, tidStart + 16), item.rnd);
      item.source = 'trace_id_hash';
      if (carrier) {
        // Explicit sampling information means another sampler is at work: leave it alone.
        if (this.ts.rv !== '') item.error = SamplerError.RandomnessInUse;
        else if (this.ts.th !== '') item.error = SamplerError.ThresholdInUse;
        else this.ts.rv = rvalue(item.rnd[0]!, item.rnd[1]!);
      }
    } else if (carrier && this.ts.rv !== '') {
      parseRValue(this.ts.rv, item.rnd);
      item.source = 'sampling_randomness';
    } else if (!carrier || !hasTid || isZero(tidBuf, tidStart)) {
      item.missing();
    } else {
      traceIdRandomness(tidBuf, tidStart, item.rnd);
      item.source = 'trace_id_w3c';
    }

    const arriving = carrier && this.ts.th !== '' ? parseTValue(this.ts.th) : undefined;
    let threshold: Threshold;
    if (item.error === SamplerError.None) checkConsistency(item, arriving, () => (this.ts.th = ''));
    if (item.error !== SamplerError.None) threshold = plan.onError();
    else threshold = plan.decide(arriving);
    if (priority === 1) threshold = ALWAYS_SAMPLE;

    const sampled = shouldSample(threshold, item.rnd[0]!, item.rnd[1]!);
    this.decisions.add(priority === 1 ? 'sampling_priority' : item.source, sampled);
    if (!sampled) return DROP;
    if (!carrier) return KEEP;
    updateThreshold(this.ts, threshold);
    const out = this.ts.serialize();
    if (out === rawTs) return KEEP;
    return this.withTraceState(buf, start, end, hasTs, out);
  }

  /** -1: no priority; 0: sampling.priority is zero (drop); 1: positive (always sample). */
  private priority(r: RecordView): number {
    const a = this.attrs.load(r.buf, r.start, r.end, FIELD.spanAttributes);
    const i = a.indexOf(PRIORITY_KEY);
    if (i < 0) return -1;
    let v: number;
    switch (a.type(i)) {
      case ValueType.Int:
        v = Number(a.int(i));
        break;
      case ValueType.Double:
        v = a.double(i);
        break;
      case ValueType.String: {
        const text = a.str(i).trim();
        v = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
        break;
      }
      default:
        return -1;
    }
    return v === 0 ? 0 : v > 0 ? 1 : -1;
  }

  /** The span's content with its trace_state replaced by `ts` (the old field cut out, the new one last). */
  private withTraceState(buf: Buffer, start: number, end: number, hadTs: boolean, ts: string): Uint8Array {
    let cutStart = end;
    let cutEnd = end;
    if (hadTs) {
      const len = this.tsRange.end - this.tsRange.start;
      const framed = this.tsRange.start - 1 - varintSize(len);
      // Only a minimally framed field is cut; otherwise the new value simply comes last (last one wins).
      if (framed >= start && buf[framed] === 0x1a) {
        cutStart = framed;
        cutEnd = this.tsRange.end;
      }
    }
    const tsLen = Buffer.byteLength(ts);
    const size = end - start - (cutEnd - cutStart) + 1 + varintSize(tsLen) + tsLen;
    if (this.scratch.length < size) this.scratch = Buffer.allocUnsafe(size * 2);
    const out = this.scratch;
    let p = copyBytes(buf, start, cutStart, out, 0);
    p = copyBytes(buf, cutEnd, end, out, p);
    out[p++] = (SPAN_TRACE_STATE << 3) | 2;
    p = writeVarint(out, p, tsLen);
    p += out.write(ts, p, 'utf8');
    return out.subarray(0, p);
  }
}

/** The log record editor: randomness from the trace ID or `from_attribute`; sampling info in attributes. */
export class LogSamplerEditor implements WireEditor {
  readonly decisions = new DecisionTally();
  private readonly walker: RequestWalker;
  private readonly attrs = new AttrList();
  private readonly item = new Item();
  private readonly tid: Range = { start: 0, end: 0 };
  private readonly fromKey: Uint8Array | undefined;
  private readonly priorityKey: Uint8Array | undefined;
  private readonly useTraceId: boolean;
  private readonly arrivingRnd = [0, 0];

  constructor(
    private readonly plan: SamplerPlan,
    private readonly cfg: ProbabilisticSamplerConfig,
  ) {
    this.fromKey = cfg.from_attribute === '' ? undefined : utf8(cfg.from_attribute);
    this.priorityKey = cfg.sampling_priority === '' ? undefined : utf8(cfg.sampling_priority);
    this.useTraceId = cfg.attribute_source === 'traceID';
    this.walker = new RequestWalker({ record: (r) => this.record(r) }, { pruneEmpty: true });
  }

  edit(bytes: Uint8Array): WalkResult {
    return this.walker.walk('logs', bytes);
  }

  private record(r: RecordView): VisitResult {
    const { buf, start, end } = r;
    const plan = this.plan;
    const item = this.item;
    const a = this.attrs.load(buf, start, end, FIELD.logAttributes);
    const hasTid = findLenField(buf, start, end, LOG_TRACE_ID, this.tid) && this.tid.end - this.tid.start === 16;

    // The carrier: sampling.threshold / sampling.randomness string attributes.
    const thIdx = a.indexOf(THRESHOLD_KEY);
    const rvIdx = a.indexOf(RANDOMNESS_KEY);
    const thText = thIdx >= 0 && a.type(thIdx) === ValueType.String ? a.str(thIdx) : '';
    const rvText = rvIdx >= 0 && a.type(rvIdx) === ValueType.String ? a.str(rvIdx) : '';
    let arriving = thText === '' ? undefined : parseTValue(thText);
    const rvOk = rvText === '' || parseRValue(rvText, this.arrivingRnd);
    const carrier = (thText === '' || arriving !== undefined) && rvOk;
    if (!carrier) arriving = undefined;
    item.error = carrier ? SamplerError.None : SamplerError.Parse;
    item.missing();
    let setRandomness = false;

    if (plan.hashing) {
      if (this.useTraceId) {
        const b = hasTid ? buf : ZERO_TRACE_ID;
        const s = hasTid ? this.tid.start : 0;
        hashRandomness(fnv1a32(plan.hashSeed, b, s, s + 16), item.rnd);
        item.source = 'trace_id_hash';
      } else this.hashAttribute(a);
      if (carrier) {
        if (rvText !== '') item.error = SamplerError.RandomnessInUse;
        else if (thText !== '') item.error = SamplerError.ThresholdInUse;
        else setRandomness = item.source !== 'missing_randomness';
      }
    } else if (!carrier) {
      // Unreadable sampling attributes: no randomness (an error below).
    } else if (rvText !== '') {
      item.rnd[0] = this.arrivingRnd[0]!;
      item.rnd[1] = this.arrivingRnd[1]!;
      item.source = 'sampling_randomness';
    } else if (hasTid && !isZero(buf, this.tid.start)) {
      traceIdRandomness(buf, this.tid.start, item.rnd);
      item.source = 'trace_id_w3c';
    } else this.hashAttribute(a);

    let clearThreshold = false;
    if (item.error === SamplerError.None) checkConsistency(item, arriving, () => (clearThreshold = true));
    let threshold = item.error !== SamplerError.None ? plan.onError() : plan.decide(arriving);
    if (this.priorityKey) threshold = lowerThreshold(threshold, priorityThreshold(this.priorityPercent(a), plan.precision));

    const sampled = shouldSample(threshold, item.rnd[0]!, item.rnd[1]!);
    this.decisions.add(item.source === 'attribute' ? this.cfg.from_attribute : item.source, sampled);
    if (!sampled) return DROP;
    if (!carrier) return KEEP;
    if (setRandomness) a.appendString(RANDOMNESS_KEY, rvalue(item.rnd[0]!, item.rnd[1]!));
    if (clearThreshold) a.remove(thIdx);
    // Raising the arriving probability would be inconsistent: then no threshold is written (as the
    // collector, which compares with the arriving value even after clearing an inconsistent one).
    if (arriving === undefined || !thresholdLess(threshold, arriving)) {
      const text = tvalue(threshold);
      if (thIdx >= 0 && !clearThreshold) {
        if (text !== thText) a.setString(thIdx, text);
      } else a.appendString(THRESHOLD_KEY, text);
    }
    return a.changed ? this.walker.replaceRecord(a) : KEEP;
  }

  /** Randomness from the FNV hash of `from_attribute` (bytes as they are, other values as strings). */
  private hashAttribute(a: AttrList): void {
    if (!this.fromKey) return;
    const i = a.indexOf(this.fromKey);
    if (i < 0) return;
    const bytes = a.type(i) === ValueType.Bytes || a.type(i) === ValueType.String ? a.rawBytes(i) : utf8(a.asString(i));
    hashRandomness(fnv1a32(this.plan.hashSeed, bytes, 0, bytes.length), this.item.rnd);
    this.item.source = 'attribute';
  }

  private priorityPercent(a: AttrList): number | undefined {
    const i = a.indexOf(this.priorityKey!);
    if (i < 0) return undefined;
    const t = a.type(i);
    if (t === ValueType.Int) return Number(a.int(i));
    if (t === ValueType.Double) return a.double(i);
    return undefined;
  }
}

function isZero(buf: Uint8Array, s: number): boolean {
  for (let i = 0; i < 16; i++) if (buf[s + i] !== 0) return false;
  return true;
}

/**
 * Without randomness nothing can be decided; an arriving threshold the randomness does not pass is a lie
 * (the item should not have been sampled): it is cleared and the item counts as an error.
 */
function checkConsistency(item: Item, arriving: Threshold | undefined, clear: () => void): void {
  if (item.source === 'missing_randomness') item.error = SamplerError.MissingRandomness;
  else if (arriving !== undefined && !shouldSample(arriving, item.rnd[0]!, item.rnd[1]!)) {
    clear();
    item.error = SamplerError.InconsistentThreshold;
  }
}

/** Writes the threshold as `th` unless that would raise the arriving probability. */
function updateThreshold(ts: TraceState, threshold: Threshold): void {
  if (ts.th !== '') {
    const existing = parseTValue(ts.th);
    if (existing && thresholdLess(threshold, existing)) return;
  }
  ts.th = tvalue(threshold);
}

export class ProbabilisticSamplerProcessor implements Processor {
  private readonly wire: WireProcessorContext;
  private readonly editor: SpanSamplerEditor | LogSamplerEditor;

  constructor(settings: CreateSettings, config: ProbabilisticSamplerConfig, signal: Signal, next: Consumer) {
    const plan = new SamplerPlan(config);
    const traces = signal === 'traces';
    this.editor = traces ? new SpanSamplerEditor(plan) : new LogSamplerEditor(plan, config);
    // Both counters exist from the start (as the collector registers both), whichever signal this serves.
    const tracesCounter = sharedCounter(settings.telemetry.registry, METRICS.tracesSampled);
    const logsCounter = sharedCounter(settings.telemetry.registry, METRICS.logsSampled);
    const counter: Counter<string> = traces ? tracesCounter : logsCounter;
    this.wire = wireContext(settings, signal, next, {
      settle: (out) => {
        this.editor.decisions.flush(counter);
        return out;
      },
    });
  }

  async start(_host?: Host): Promise<void> {}
  async shutdown(): Promise<void> {}

  consume(payload: Payload): Promise<void> {
    return editAndForward(this.wire, payload, this.editor);
  }
}
