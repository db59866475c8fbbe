/**
 * The spanmetrics state: per resource (its attributes, or the configured key attributes, identify it) a
 * table of series keyed by the dimension values, each with its call count, duration histogram and the
 * exemplars of this flush interval. Spans are read on the wire (RequestWalker and SpanFields): a span that
 * falls in an existing series costs a key string and a map lookup; only a new series decodes the
 * attribute values it keeps.
 */
import { create, fromBinary } from '@bufbuild/protobuf';
import { AnyValueSchema, KeyValueSchema, type KeyValue } from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';
import { ResourceSchema } from '../../proto/gen/opentelemetry/proto/resource/v1/resource_pb.js';
import { AttrList } from '../../src/processorhelper/attr-list.js';
import { utf8 } from '../../src/processorhelper/any-value.js';
import { RequestWalker } from '../../src/processorhelper/request-walker.js';
import { KEEP, SKIP, type RecordView, type ResourceView, type VisitResult } from '../../src/processorhelper/record-views.js';
import { FIELD, ValueType } from '../../src/processorhelper/otlp-fields.js';
import { DEFAULT_BUCKETS_MS, type SpanMetricsConfig } from './config.js';
import { ExplicitHistogram, ExponentialHistogram, type DurationHistogram } from './histograms.js';
import { SpanFields, spanKindName, statusCodeName } from './span-fields.js';
import { EXEMPLAR_BYTES, HeldBytes, resourceBytes, seriesBytes } from './held-bytes.js';

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
  readonly series: Map<string, Series>;
  lastSeenMs: number;
  /** Estimated bytes held, its series included. */
  bytes: number;
}

/** The key of the overflow series: no dimension key can equal it (keys start with the service name and a NUL). */
const OVERFLOW_KEY = '\u0001otel.metric.overflow';
export const OVERFLOW_ATTRIBUTE = 'otel.metric.overflow';

const SERVICE_NAME = utf8('service.name');

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
  private readonly keyAttrs: Set<string> | undefined;
  private readonly unitDivisor: number;
  private readonly bounds: number[];
  private readonly include: { service: boolean; name: boolean; kind: boolean; status: boolean };
  // The resource being walked.
  private current: ResourceState | undefined;
  private serviceName = '';
  private nowMs = 0;
  private nowNanos = 0n;

  constructor(private readonly config: SpanMetricsConfig) {
    this.dims = config.dimensions.map((d) => ({ name: d.name, key: utf8(d.name), default: d.default }));
    this.keyAttrs = config.resource_metrics_key_attributes.length > 0 ? new Set(config.resource_metrics_key_attributes) : undefined;
    this.unitDivisor = config.histogram.unit === 's' ? 1e9 : 1e6;
    const ex = config.exclude_dimensions as readonly string[];
    this.include = {
      service: !ex.includes('service.name'),
      name: !ex.includes('span.name'),
      kind: !ex.includes('span.kind'),
      status: !ex.includes('status.code'),
    };
    const bucketsMs = config.histogram.explicit?.buckets ?? [...DEFAULT_BUCKETS_MS];
    this.bounds = bucketsMs.map((ms) => (config.histogram.unit === 's' ? ms / 1000 : ms));
    this.walker = new RequestWalker({ resource: (r) => this.visitResource(r), record: (r) => this.visitSpan(r) });
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
      state = { attributes: kvs, series: new Map(), lastSeenMs: this.nowMs, bytes: resourceBytes(key, kvs) };
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

  private visitSpan(r: RecordView): VisitResult {
    const state = this.current;
    if (state === undefined) return KEEP;
    const buf = r.buf;
    const sp = this.span;
    sp.read(buf, r.start, r.end);
    const inc = this.include;
    const name = inc.name ? buf.toString('utf8', sp.nameStart, sp.nameEnd) : '';
    let key = `${inc.service ? this.serviceName : ''}\u0000${name}\u0000${inc.kind ? sp.kind : ''}\u0000${inc.status ? sp.statusCode : ''}`;
    if (this.dims.length > 0) {
      this.spanAttrs.load(buf, r.start, r.end, FIELD.spanAttributes);
      for (let d = 0; d < this.dims.length; d++) key += `\u0000${d}=${this.dimensionText(this.dims[d]!) ?? '\u0002'}`;
    }
    let series = state.series.get(key);
    if (series === undefined) {
      const limit = this.config.aggregation_cardinality_limit;
      if (limit > 0 && state.series.size - (state.series.has(OVERFLOW_KEY) ? 1 : 0) >= limit) {
        series = state.series.get(OVERFLOW_KEY);
        if (series === undefined) {
          const overflow = create(KeyValueSchema, { key: OVERFLOW_ATTRIBUTE, value: create(AnyValueSchema, { value: { case: 'boolValue', value: true } }) });
          series = this.newSeries(state, OVERFLOW_KEY, [overflow]);
          state.series.set(OVERFLOW_KEY, series);
        }
      } else {
        series = this.newSeries(state, key, this.seriesAttributes(name, sp.kind, sp.statusCode));
        state.series.set(key, series);
      }
    }
    const value = sp.durationNanos / this.unitDivisor;
    series.calls++;
    series.histogram?.observe(value);
    series.lastSeenMs = this.nowMs;
    if (this.config.exemplars.enabled && series.exemplars.length < this.config.exemplars.max_per_data_point && sp.hasTraceId(buf)) {
      series.exemplars.push({
        traceId: copyOf(buf.subarray(sp.traceIdStart, sp.traceIdEnd)),
        spanId: copyOf(buf.subarray(sp.spanIdStart, sp.spanIdEnd)),
        value,
      });
      series.bytes += EXEMPLAR_BYTES;
      state.bytes += EXEMPLAR_BYTES;
      this.held.hold(EXEMPLAR_BYTES);
    }
    return KEEP;
  }

  /** A dimension's value as text (pcommon AsString): the span's attribute, else the resource's, else the default. */
  private dimensionText(d: Dimension): string | undefined {
    let i = this.spanAttrs.indexOf(d.key);
    if (i >= 0) return this.spanAttrs.asString(i);
    i = this.resourceAttrs.indexOf(d.key);
    if (i >= 0) return this.resourceAttrs.asString(i);
    return d.default;
  }

  /** A dimension's value as an attribute value (typed as on the wire), or undefined when it is left out. */
  private dimensionValue(d: Dimension): KeyValue | undefined {
    for (const attrs of [this.spanAttrs, this.resourceAttrs]) {
      const i = attrs.indexOf(d.key);
      if (i >= 0) return create(KeyValueSchema, { key: d.name, value: fromBinary(AnyValueSchema, copyOf(attrs.value(i))) });
    }
    return d.default === undefined ? undefined : strKv(d.name, d.default);
  }

  private seriesAttributes(name: string, kind: number, status: number): KeyValue[] {
    const inc = this.include;
    const out: KeyValue[] = [];
    if (inc.service) out.push(strKv('service.name', this.serviceName));
    if (inc.name) out.push(strKv('span.name', name));
    if (inc.kind) out.push(strKv('span.kind', spanKindName(kind)));
    if (inc.status) out.push(strKv('status.code', statusCodeName(status)));
    for (const d of this.dims) {
      const kv = this.dimensionValue(d);
      if (kv) out.push(kv);
    }
    return out;
  }

  private newSeries(state: ResourceState, key: string, attributes: KeyValue[]): Series {
    const h = this.config.histogram;
    const maxSize = h.exponential?.max_size || 160;
    const histogram = h.disable ? undefined : h.exponential ? new ExponentialHistogram(maxSize) : new ExplicitHistogram(this.bounds);
    const counts = h.disable ? 0 : h.exponential ? 2 * maxSize : this.bounds.length + 1;
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
      for (const [sk, series] of state.series) {
        if (seriesTtl > 0 && nowMs - series.lastSeenMs >= seriesTtl) {
          state.series.delete(sk);
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
  }

  /** Forgets everything (a delta flush, the connector's shutdown). */
  clear(): void {
    this.resources.clear();
    this.held.unhold(this.held.total);
  }
}
