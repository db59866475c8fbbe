/**
 * The spanmetrics state: per resource (its attributes, or the configured key attributes, identify it) a
 * table of series keyed by the dimension values, each with its call count, duration histogram and the
 * exemplars of this flush interval. With calls_dimensions or histogram.dimensions the calls and the
 * duration histogram have tables of their own (each keyed by its own dimensions), and with events a third
 * table counts span events. Spans are read on the wire (RequestWalker and SpanFields): a span that falls
 * in an existing series costs a key string and a map lookup per table; only a new series decodes the
 * attribute values it keeps.
 */
import { randomUUID } from 'node:crypto';
import { create, fromBinary } from '@bufbuild/protobuf';
import { AnyValueSchema, KeyValueSchema, type KeyValue } from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';
import { ResourceSchema } from '../../proto/gen/opentelemetry/proto/resource/v1/resource_pb.js';
import { AttrList } from '../../src/processorhelper/attr-list.js';
import { utf8 } from '../../src/processorhelper/any-value.js';
import { RequestWalker } from '../../src/processorhelper/request-walker.js';
import { KEEP, SKIP, type RecordView, type ResourceView, type ScopeView, type VisitResult } from '../../src/processorhelper/record-views.js';
import { NEXT, lenTag, readVarint, skipField } from '../../src/pdata/wire-primitives.js';
import { FIELD, ValueType } from '../../src/processorhelper/otlp-fields.js';
import { COLLECTOR_INSTANCE_DIMENSION, DEFAULT_BUCKETS_MS, type SpanMetricsConfig } from './config.js';
import { ExplicitHistogram, ExponentialHistogram, type DurationHistogram } from './histograms.js';
import { SpanFields, spanKindName, statusCodeName } from './span-fields.js';
import { EXEMPLAR_BYTES, HeldBytes, resourceBytes, seriesBytes } from './held-bytes.js';
import { AdjustedCounts, stochasticCount } from './adjusted-count.js';

export interface Exemplar {
  traceId: Uint8Array;
  spanId: Uint8Array;
  value: number;
}

export interface Series {
  readonly attributes: KeyValue[];
  calls: number;
  readonly histogram: DurationHistogram | undefined;
  exemplars: Exemplar[];
  /** When the series began (ns): the start time of its cumulative points. */
  readonly startNanos: bigint;
  lastSeenMs: number;
  /** Estimated bytes held, exemplars included (held-bytes.ts). */
  bytes: number;
}

export interface ResourceState {
  readonly attributes: KeyValue[];
  /** The calls metric's series; they hold the duration histogram too unless `durations` is set. */
  readonly series: Map<string, Series>;
  /** The duration histogram's series when calls_dimensions or histogram.dimensions set them apart. */
  readonly durations: Map<string, Series> | undefined;
  /** The events metric's series (events.enabled). */
  readonly events: Map<string, Series> | undefined;
  lastSeenMs: number;
  /** Estimated bytes held, its series included. */
  bytes: number;
}

/** The key of the overflow series: no dimension key can equal it (keys start with the service name and a NUL). */
const OVERFLOW_KEY = '\u0001otel.metric.overflow';
export const OVERFLOW_ATTRIBUTE = 'otel.metric.overflow';

const SERVICE_NAME = utf8('service.name');
export const SCOPE_NAME_ATTRIBUTE = 'span.instrumentation.scope.name';
export const SCOPE_VERSION_ATTRIBUTE = 'span.instrumentation.scope.version';
export const SAMPLING_METHOD_ATTRIBUTE = 'sampling.method';

// Span.events = 11; Event.attributes = 3; InstrumentationScope name = 1, version = 2.
const T_EVENT = lenTag(11);
const EVENT_ATTRIBUTES = 3;
const T_SCOPE_NAME = lenTag(1);
const T_SCOPE_VERSION = lenTag(2);

/** Which table a new series is for: its attributes and whether it has a histogram follow. */
const CALLS = 0;
const DURATIONS = 1;
const EVENTS = 2;
type TableKind = typeof CALLS | typeof DURATIONS | typeof EVENTS;

interface Dimension {
  name: string;
  key: Buffer;
  default: string | undefined;
}

/** A copy that holds no reference to the request's buffer (Buffer#slice would be a view). */
const copyOf = (b: Uint8Array): Uint8Array => new Uint8Array(b);

const strKv = (key: string, value: string): KeyValue =>
  create(KeyValueSchema, { key, value: create(AnyValueSchema, { value: { case: 'stringValue', value } }) });

export class SpanMetricsAggregator {
  /** Resource key -> state; Map order is recency (a touched resource moves to the end). */
  readonly resources = new Map<string, ResourceState>();
  /** Estimated bytes of all the state, counted in the memory ledger once attached (held-bytes.ts). */
  readonly held = new HeldBytes();
  private readonly walker: RequestWalker;
  private readonly resourceAttrs = new AttrList();
  private readonly spanAttrs = new AttrList();
  private readonly span = new SpanFields();
  private readonly dims: Dimension[];
  /** Dimensions of the calls series past `dims` (calls_dimensions), and of the duration series (histogram.dimensions). */
  private readonly callsExtra: Dimension[];
  private readonly durationExtra: Dimension[];
  /** Whether the duration histogram has its own series (calls_dimensions or histogram.dimensions set). */
  private readonly split: boolean;
  /** events.dimensions past `dims` (events.enabled), else undefined. */
  private readonly eventExtra: Dimension[] | undefined;
  private readonly eventAttrs = new AttrList();
  /** include_instrumentation_scope, and what the current scope adds (empty: nothing). */
  private readonly scopes: Set<string>;
  private scopeName = '';
  private scopeVersion = '';
  // The span being counted (for a new series' attributes).
  private spanName = '';
  private spanKind = 0;
  private spanStatus = 0;
  /** Whether the span's count came from its tracestate (sampling.method extrapolated, else counted). */
  private extrapolated = false;
  private readonly adjusted = new AdjustedCounts();
  private inEvent = false;
  private readonly keyAttrs: Set<string> | undefined;
  private readonly unitDivisor: number;
  private readonly bounds: number[];
  private readonly include: { service: boolean; name: boolean; kind: boolean; status: boolean };
  /** `collector.instance.id` of every series (undefined: excluded). */
  private readonly instance: KeyValue | undefined;
  // The resource being walked.
  private current: ResourceState | undefined;
  private serviceName = '';
  private nowMs = 0;
  private nowNanos = 0n;

  constructor(
    private readonly config: SpanMetricsConfig,
    instanceId: string = randomUUID(),
  ) {
    const toDims = (list: readonly { name: string; default?: string | undefined }[]) =>
      list.map((d) => ({ name: d.name, key: utf8(d.name), default: d.default }));
    this.dims = toDims(config.dimensions);
    // A name already in `dimensions` is one attribute, as the collector's attribute map holds it once.
    const extra = (list: readonly { name: string; default?: string | undefined }[]) =>
      toDims(list.filter((d) => !config.dimensions.some((x) => x.name === d.name)));
    this.callsExtra = extra(config.calls_dimensions);
    this.durationExtra = extra(config.histogram.dimensions);
    this.split = !config.histogram.disable && (this.callsExtra.length > 0 || this.durationExtra.length > 0);
    this.eventExtra = config.events.enabled ? extra(config.events.dimensions) : undefined;
    this.scopes = new Set(config.include_instrumentation_scope.filter((n) => n !== ''));
    this.keyAttrs = config.resource_metrics_key_attributes.length > 0 ? new Set(config.resource_metrics_key_attributes) : undefined;
    this.unitDivisor = config.histogram.unit === 's' ? 1e9 : 1e6;
    const ex = config.exclude_dimensions as readonly string[];
    this.include = {
      service: !ex.includes('service.name'),
      name: !ex.includes('span.name'),
      kind: !ex.includes('span.kind'),
      status: !ex.includes('status.code'),
    };
    // As the collector's: a random ID per connector, so two gateways (or two starts) never share a series.
    this.instance = ex.includes(COLLECTOR_INSTANCE_DIMENSION) ? undefined : strKv(COLLECTOR_INSTANCE_DIMENSION, instanceId);
    const bucketsMs = config.histogram.explicit?.buckets ?? [...DEFAULT_BUCKETS_MS];
    this.bounds = bucketsMs.map((ms) => (config.histogram.unit === 's' ? ms / 1000 : ms));
    this.walker = new RequestWalker({
      resource: (r) => this.visitResource(r),
      ...(this.scopes.size > 0 ? { scope: (sc: ScopeView) => this.visitScope(sc) } : {}),
      record: (r) => this.visitSpan(r),
    });
  }

  /** Adds the spans of an encoded ExportTraceServiceRequest. */
  add(bytes: Uint8Array, nowMs = Date.now()): void {
    this.nowMs = nowMs;
    this.nowNanos = BigInt(nowMs) * 1_000_000n;
    this.current = undefined;
    this.walker.walk('traces', bytes);
  }

  private visitResource(r: ResourceView): VisitResult {
    const attrs = this.resourceAttrs.load(r.buf, r.start, r.present ? r.end : r.start, FIELD.resourceAttributes);
    const svc = attrs.indexOf(SERVICE_NAME);
    // The collector skips a resource without service.name.
    if (svc < 0) {
      this.current = undefined;
      return SKIP;
    }
    this.serviceName = attrs.type(svc) === ValueType.String ? attrs.str(svc) : '';
    const key = this.resourceKey(attrs);
    let state = this.resources.get(key);
    if (state === undefined) {
      const kvs = fromBinary(ResourceSchema, copyOf(r.buf.subarray(r.start, r.present ? r.end : r.start))).attributes;
      state = {
        attributes: kvs,
        series: new Map(),
        durations: this.split ? new Map() : undefined,
        events: this.eventExtra ? new Map() : undefined,
        lastSeenMs: this.nowMs,
        bytes: resourceBytes(key, kvs),
      };
      this.held.hold(state.bytes);
      if (this.resources.size >= this.config.resource_metrics_cache_size) {
        // The least recently seen resource goes first, as the collector's LRU.
        const [oldKey, old] = this.resources.entries().next().value!;
        this.resources.delete(oldKey);
        this.held.unhold(old.bytes);
      }
    } else this.resources.delete(key);
    this.resources.set(key, state);
    state.lastSeenMs = this.nowMs;
    this.current = state;
    return KEEP;
  }

  /** The resource's identity: its (key) attributes' keys and raw values, sorted by key. */
  private resourceKey(attrs: AttrList): string {
    const parts: string[] = [];
    for (let i = 0; i < attrs.length; i++) {
      const k = attrs.key(i);
      if (this.keyAttrs && !this.keyAttrs.has(k)) continue;
      parts.push(`${k}\u0000${Buffer.from(attrs.value(i)).toString('latin1')}`);
    }
    return parts.sort().join('\u0001');
  }

  /** include_instrumentation_scope: the scope's name and version when the name is listed, else nothing. */
  private visitScope(sc: ScopeView): VisitResult {
    this.scopeName = this.scopeVersion = '';
    let name = '';
    let version = '';
    const buf = sc.buf;
    let p = sc.start;
    while (p < sc.end) {
      const tag = readVarint(buf, p, sc.end);
      p = NEXT;
      if (tag === T_SCOPE_NAME || tag === T_SCOPE_VERSION) {
        const len = readVarint(buf, p, sc.end);
        const text = buf.toString('utf8', NEXT, NEXT + len);
        if (tag === T_SCOPE_NAME) name = text;
        else version = text;
        p = NEXT + len;
      } else p = skipField(buf, p, sc.end, tag);
    }
    if (this.scopes.has(name)) {
      this.scopeName = name;
      this.scopeVersion = version;
    }
    return KEEP;
  }

  private visitSpan(r: RecordView): VisitResult {
    const state = this.current;
    if (state === undefined) return KEEP;
    const buf = r.buf;
    const sp = this.span;
    sp.read(buf, r.start, r.end);
    const inc = this.include;
    const name = inc.name ? buf.toString('utf8', sp.nameStart, sp.nameEnd) : '';
    this.spanName = name;
    this.spanKind = sp.kind;
    this.spanStatus = sp.statusCode;
    this.inEvent = false;
    let base = `${inc.service ? this.serviceName : ''}\u0000${name}\u0000${inc.kind ? sp.kind : ''}\u0000${inc.status ? sp.statusCode : ''}`;
    if (this.scopeName !== '') base += `\u0000s=${this.scopeName}\u0000${this.scopeVersion}`;
    // The span stands for its adjusted count of spans (1 without sampling information in its tracestate).
    const weight = this.adjusted.weight(buf, sp.traceStateStart, sp.traceStateEnd);
    const n = weight > 0 ? stochasticCount(weight) : 1;
    this.extrapolated = weight > 0;
    if (this.config.enable_metrics_sampling_method) base += weight > 0 ? '\u0000m=e' : '\u0000m=c';
    if (this.dims.length > 0 || this.callsExtra.length > 0 || this.durationExtra.length > 0 || this.eventExtra !== undefined)
      this.spanAttrs.load(buf, r.start, r.end, FIELD.spanAttributes);
    const key = this.dims.length > 0 ? base + this.dimensionsKey(this.dims) : base;
    const value = sp.durationNanos / this.unitDivisor;
    const series = this.seriesOf(state, state.series, this.callsExtra.length > 0 ? key + this.dimensionsKey(this.callsExtra) : key, CALLS);
    series.calls += n;
    series.lastSeenMs = this.nowMs;
    this.exemplar(state, series, buf, value);
    if (state.durations !== undefined) {
      const d = this.seriesOf(state, state.durations, this.durationExtra.length > 0 ? key + this.dimensionsKey(this.durationExtra) : key, DURATIONS);
      d.histogram!.observe(value, n);
      d.lastSeenMs = this.nowMs;
      this.exemplar(state, d, buf, value);
    } else series.histogram?.observe(value, n);
    if (state.events !== undefined) this.countEvents(state, state.events, buf, r.start, r.end, base, value, n);
    return KEEP;
  }

  /** The events metric: each event of the span counts in the series of its dimensions (span, then event, then resource attributes). */
  private countEvents(state: ResourceState, table: Map<string, Series>, buf: Buffer, start: number, end: number, base: string, value: number, n: number): void {
    this.inEvent = true;
    let p = start;
    while (p < end) {
      const tag = readVarint(buf, p, end);
      p = NEXT;
      if (tag !== T_EVENT) {
        p = skipField(buf, p, end, tag);
        continue;
      }
      const len = readVarint(buf, p, end);
      const eventStart = NEXT;
      p = eventStart + len;
      this.eventAttrs.load(buf, eventStart, p, EVENT_ATTRIBUTES);
      const series = this.seriesOf(state, table, base + this.dimensionsKey(this.dims) + this.dimensionsKey(this.eventExtra!), EVENTS);
      series.calls += n;
      series.lastSeenMs = this.nowMs;
      this.exemplar(state, series, buf, value);
    }
    this.inEvent = false;
  }

  /** The key part of `dims`: each one's value as text (AsString), or a mark for a dimension left out. */
  private dimensionsKey(dims: readonly Dimension[]): string {
    let key = '';
    for (let d = 0; d < dims.length; d++) key += `\u0000${d}=${this.dimensionText(dims[d]!) ?? '\u0002'}`;
    return key;
  }

  /** The series of `key` in `table`, made when new (past aggregation_cardinality_limit: the table's overflow series). */
  private seriesOf(state: ResourceState, table: Map<string, Series>, key: string, kind: TableKind): Series {
    let series = table.get(key);
    if (series !== undefined) return series;
    const limit = this.config.aggregation_cardinality_limit;
    const histogram = kind === DURATIONS || (kind === CALLS && !this.split && !this.config.histogram.disable);
    if (limit > 0 && table.size - (table.has(OVERFLOW_KEY) ? 1 : 0) >= limit) {
      series = table.get(OVERFLOW_KEY);
      if (series === undefined) {
        const overflow = create(KeyValueSchema, { key: OVERFLOW_ATTRIBUTE, value: create(AnyValueSchema, { value: { case: 'boolValue', value: true } }) });
        series = this.newSeries(state, OVERFLOW_KEY, [overflow], histogram);
        table.set(OVERFLOW_KEY, series);
      }
      return series;
    }
    const extra = kind === CALLS ? this.callsExtra : kind === DURATIONS ? this.durationExtra : this.eventExtra!;
    series = this.newSeries(state, key, this.seriesAttributes(extra), histogram);
    table.set(key, series);
    return series;
  }

  private exemplar(state: ResourceState, series: Series, buf: Buffer, value: number): void {
    const sp = this.span;
    if (!this.config.exemplars.enabled || series.exemplars.length >= this.config.exemplars.max_per_data_point || !sp.hasTraceId(buf)) return;
    series.exemplars.push({
      traceId: copyOf(buf.subarray(sp.traceIdStart, sp.traceIdEnd)),
      spanId: copyOf(buf.subarray(sp.spanIdStart, sp.spanIdEnd)),
      value,
    });
    series.bytes += EXEMPLAR_BYTES;
    state.bytes += EXEMPLAR_BYTES;
    this.held.hold(EXEMPLAR_BYTES);
  }

  /** A dimension's value as text (pcommon AsString): the span's attribute, (events: the event's,) the resource's, else the default. */
  private dimensionText(d: Dimension): string | undefined {
    let i = this.spanAttrs.indexOf(d.key);
    if (i >= 0) return this.spanAttrs.asString(i);
    if (this.inEvent) {
      i = this.eventAttrs.indexOf(d.key);
      if (i >= 0) return this.eventAttrs.asString(i);
    }
    i = this.resourceAttrs.indexOf(d.key);
    if (i >= 0) return this.resourceAttrs.asString(i);
    return d.default;
  }

  /** A dimension's value as an attribute value (typed as on the wire), or undefined when it is left out. */
  private dimensionValue(d: Dimension): KeyValue | undefined {
    for (const attrs of this.inEvent ? [this.spanAttrs, this.eventAttrs, this.resourceAttrs] : [this.spanAttrs, this.resourceAttrs]) {
      const i = attrs.indexOf(d.key);
      if (i >= 0) return create(KeyValueSchema, { key: d.name, value: fromBinary(AnyValueSchema, copyOf(attrs.value(i))) });
    }
    return d.default === undefined ? undefined : strKv(d.name, d.default);
  }

  private seriesAttributes(extra: readonly Dimension[]): KeyValue[] {
    const inc = this.include;
    const out: KeyValue[] = [];
    if (inc.service) out.push(strKv('service.name', this.serviceName));
    if (inc.name) out.push(strKv('span.name', this.spanName));
    if (inc.kind) out.push(strKv('span.kind', spanKindName(this.spanKind)));
    if (inc.status) out.push(strKv('status.code', statusCodeName(this.spanStatus)));
    if (this.instance) out.push(this.instance);
    for (const list of [this.dims, extra])
      for (const d of list) {
        const kv = this.dimensionValue(d);
        if (kv) out.push(kv);
      }
    if (this.scopeName !== '') {
      out.push(strKv(SCOPE_NAME_ATTRIBUTE, this.scopeName));
      if (this.scopeVersion !== '') out.push(strKv(SCOPE_VERSION_ATTRIBUTE, this.scopeVersion));
    }
    if (this.config.enable_metrics_sampling_method) out.push(strKv(SAMPLING_METHOD_ATTRIBUTE, this.extrapolated ? 'extrapolated' : 'counted'));
    return out;
  }

  private newSeries(state: ResourceState, key: string, attributes: KeyValue[], withHistogram: boolean): Series {
    const h = this.config.histogram;
    const maxSize = h.exponential?.max_size || 160;
    const histogram = !withHistogram ? undefined : h.exponential ? new ExponentialHistogram(maxSize) : new ExplicitHistogram(this.bounds);
    const counts = !withHistogram ? 0 : h.exponential ? 2 * maxSize : this.bounds.length + 1;
    const bytes = seriesBytes(key, attributes, counts);
    state.bytes += bytes;
    this.held.hold(bytes);
    return { attributes, calls: 0, histogram, exemplars: [], startNanos: this.nowNanos, lastSeenMs: this.nowMs, bytes };
  }

  /** After a flush: delta forgets everything; cumulative drops expired resources and series and this interval's exemplars. */
  reset(nowMs: number): void {
    if (this.config.aggregation_temporality === 'AGGREGATION_TEMPORALITY_DELTA') {
      this.clear();
      return;
    }
    const { metrics_expiration: resourceTtl, series_expiration: seriesTtl } = this.config;
    for (const [rk, state] of this.resources) {
      if (resourceTtl > 0 && nowMs - state.lastSeenMs >= resourceTtl) {
        this.resources.delete(rk);
        this.held.unhold(state.bytes);
        continue;
      }
      this.resetTable(state, state.series, nowMs, seriesTtl);
      if (state.durations) this.resetTable(state, state.durations, nowMs, seriesTtl);
      if (state.events) this.resetTable(state, state.events, nowMs, seriesTtl);
    }
  }

  /** Drops the table's expired series and clears this interval's exemplars of the others. */
  private resetTable(state: ResourceState, table: Map<string, Series>, nowMs: number, seriesTtl: number): void {
    for (const [sk, series] of table) {
      if (seriesTtl > 0 && nowMs - series.lastSeenMs >= seriesTtl) {
        table.delete(sk);
        state.bytes -= series.bytes;
        this.held.unhold(series.bytes);
      } else if (series.exemplars.length > 0) {
        const freed = series.exemplars.length * EXEMPLAR_BYTES;
        series.exemplars = [];
        series.bytes -= freed;
        state.bytes -= freed;
        this.held.unhold(freed);
      }
    }
  }

  /** Forgets everything (a delta flush, the connector's shutdown). */
  clear(): void {
    this.resources.clear();
    this.held.unhold(this.held.total);
  }
}
