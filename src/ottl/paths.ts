/**
 * OTTL paths on the decoded OTLP messages (protobuf-es), per context as pkg/ottl/contexts document
 * them: `resource`, `scope` (`instrumentation_scope`), `span`, `spanevent`, `metric`, `datapoint`, `log`,
 * and `cache` (a scratch map per item). A path names its context (`span.attributes["k"]`) or takes the
 * statement's (`attributes["k"]`). Each path compiles once to a getter and, where writable, a setter.
 */
import { create } from '@bufbuild/protobuf';
import {
  AnyValueSchema,
  InstrumentationScopeSchema,
  KeyValueListSchema,
  KeyValueSchema,
  type AnyValue,
  type KeyValue,
} from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';
import { ResourceSchema } from '../../proto/gen/opentelemetry/proto/resource/v1/resource_pb.js';
import { StatusSchema } from '../../proto/gen/opentelemetry/proto/trace/v1/trace_pb.js';
import { EXPONENTIAL_POINT_FIELDS } from './exponential-fields.js';
import type { KeyExpr } from './grammar.js';
import { fromAnyValue, fromKeyValues, isList, isMap, OttlTime, toAnyValue, typeOf, valuesEqual, type Value, type ValueMap } from './values.js';
import { clientInfoValue } from '../pdata/client-info.js';
import { pathNotYet } from './not-yet.js';
import { traceStateGet, traceStateInsert } from './trace-state.js';
import { NOT_SUPPORTED_YET } from '../core/schema.js';

export type ContextName = 'resource' | 'scope' | 'span' | 'spanevent' | 'metric' | 'datapoint' | 'log';

/** The contexts of each signal, from the outermost in. A statement reads its own context and those above. */
export const CONTEXT_CHAIN: Readonly<Record<'traces' | 'metrics' | 'logs', readonly ContextName[]>> = {
  traces: ['resource', 'scope', 'span', 'spanevent'],
  metrics: ['resource', 'scope', 'metric', 'datapoint'],
  logs: ['resource', 'scope', 'log'],
};

const CONTEXT_ALIASES: Record<string, ContextName> = {
  resource: 'resource',
  scope: 'scope',
  instrumentation_scope: 'scope',
  span: 'span',
  spanevent: 'spanevent',
  metric: 'metric',
  datapoint: 'datapoint',
  log: 'log',
};

/** The item a statement is evaluated on: the messages of its context and every context above it. */
export interface EvalContext {
  /** ResourceLogs / ResourceSpans / ResourceMetrics (holds `resource`). */
  resource: any;
  /** ScopeLogs / ScopeSpans / ScopeMetrics (holds `scope`). */
  scope: any;
  span: any;
  spanevent: any;
  metric: any;
  datapoint: any;
  log: any;
  /** The `cache` map: one per item, created on first write. */
  cache: ValueMap | undefined;
  /** Request metadata (the routing connector's `request` context). */
  meta: Readonly<Record<string, string>> | undefined;
}

export function newEvalContext(): EvalContext {
  return {
    resource: undefined,
    scope: undefined,
    span: undefined,
    spanevent: undefined,
    metric: undefined,
    datapoint: undefined,
    log: undefined,
    cache: undefined,
    meta: undefined,
  };
}

/** A failure while evaluating (a wrong type, an index out of range): error_mode decides what follows. */
export class OttlRuntimeError extends Error {}

export interface PathRef {
  readonly text: string;
  readonly context: ContextName | 'cache' | 'request';
  get(ctx: EvalContext): Value;
  /** Undefined for read-only paths. */
  set: ((ctx: EvalContext, v: Value) => void) | undefined;
}

/** A path that does not exist in its context, reported at compile time with what does. */
export class PathError extends Error {}

// ---------------------------------------------------------------------------------------------------
// Keyed access inside values

function keyText(keys: readonly KeyExpr[]): string {
  return keys.map((k) => (k.k === 'string' ? `["${k.v}"]` : `[${k.v}]`)).join('');
}

/** Reads `keys` below an AnyValue (maps by string keys, slices by int indexes); nil when absent. */
function getInAny(av: AnyValue | undefined, keys: readonly KeyExpr[], from: number): Value {
  let cur = av;
  for (let i = from; i < keys.length; i++) {
    const key = keys[i]!;
    const v = cur?.value;
    if (key.k === 'string') {
      if (v?.case !== 'kvlistValue') return null;
      cur = v.value.values.find((kv) => kv.key === key.v)?.value;
    } else {
      if (v?.case !== 'arrayValue') return null;
      const arr = v.value.values;
      if (key.v < 0 || key.v >= arr.length) throw new OttlRuntimeError(`index ${key.v} out of range (length ${arr.length})`);
      cur = arr[key.v];
    }
    if (cur === undefined) return null;
  }
  return fromAnyValue(cur);
}

/** Writes `v` at `keys` below `av` (a map is made where a key needs one), in place. */
function setInAny(av: AnyValue, keys: readonly KeyExpr[], from: number, v: Value): void {
  let cur = av;
  for (let i = from; i < keys.length; i++) {
    const key = keys[i]!;
    if (key.k === 'string') {
      if (cur.value.case !== 'kvlistValue') cur.value = { case: 'kvlistValue', value: create(KeyValueListSchema) };
      const list = cur.value.value.values;
      let kv = list.find((x) => x.key === key.v);
      if (!kv) list.push((kv = create(KeyValueSchema, { key: key.v, value: create(AnyValueSchema) })));
      cur = kv.value ??= create(AnyValueSchema);
    } else {
      if (cur.value.case !== 'arrayValue') throw new OttlRuntimeError(`cannot index a ${typeOf(fromAnyValue(cur))} with [${key.v}]`);
      const arr = cur.value.value.values;
      if (key.v < 0 || key.v >= arr.length) throw new OttlRuntimeError(`index ${key.v} out of range (length ${arr.length})`);
      cur = arr[key.v]!;
    }
  }
  cur.value = toAnyValue(v).value;
}

/** Reads `keys` below a JS value (the cache, a converter's result). */
export function getInValue(val: Value, keys: readonly KeyExpr[]): Value {
  let cur: Value = val;
  for (const key of keys) {
    if (key.k === 'string') {
      if (!isMap(cur)) return null;
      cur = cur.get(key.v) ?? null;
    } else {
      if (!isList(cur)) return null;
      if (key.v < 0 || key.v >= cur.length) throw new OttlRuntimeError(`index ${key.v} out of range (length ${cur.length})`);
      cur = cur[key.v]!;
    }
  }
  return cur;
}

function setInValue(root: ValueMap, keys: readonly KeyExpr[], v: Value): void {
  let cur: Value = root;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const last = i === keys.length - 1;
    if (key.k === 'string') {
      if (!isMap(cur)) throw new OttlRuntimeError(`cannot set key "${key.v}" on a ${typeOf(cur)}`);
      if (last) cur.set(key.v, v);
      else {
        let next: Value = cur.get(key.v) ?? null;
        if (!isMap(next) && !isList(next)) cur.set(key.v, (next = new Map()));
        cur = next;
      }
    } else {
      if (!isList(cur) || key.v < 0 || key.v >= cur.length) throw new OttlRuntimeError(`index ${key.v} out of range`);
      if (last) cur[key.v] = v;
      else cur = cur[key.v]!;
    }
  }
}

/** A KeyValue list's entry by key (the first, as pcommon.Map.Get). */
export function findKv(kvs: readonly KeyValue[], key: string): KeyValue | undefined {
  for (let i = 0; i < kvs.length; i++) if (kvs[i]!.key === key) return kvs[i];
  return undefined;
}

/** Access to a repeated KeyValue field (attributes), whole or by keys. */
function kvPath(text: string, context: ContextName, list: (ctx: EvalContext, write: boolean) => KeyValue[] | undefined, keys: readonly KeyExpr[]): PathRef {
  if (keys.length === 0) {
    return {
      text,
      context,
      get: (ctx) => fromKeyValues(list(ctx, false) ?? []),
      set: (ctx, v) => {
        if (!isMap(v)) throw new OttlRuntimeError(`${text} takes a map, got ${typeOf(v)}`);
        const kvs = list(ctx, true)!;
        // Entries the edit left as they were keep their messages (and so their exact encoding).
        const next: KeyValue[] = [];
        for (const [key, val] of v) {
          const old = findKv(kvs, key);
          next.push(old && valuesEqual(fromAnyValue(old.value), val) ? old : create(KeyValueSchema, { key, value: toAnyValue(val) }));
        }
        kvs.splice(0, kvs.length, ...next);
      },
    };
  }
  const first = keys[0]!;
  if (first.k !== 'string') throw new PathError(`${text}: attributes are read by string keys, not [${first.v}]`);
  const key = first.v;
  return {
    text,
    context,
    get: (ctx) => {
      const kvs = list(ctx, false);
      const kv = kvs && findKv(kvs, key);
      if (!kv) return null;
      return keys.length === 1 ? fromAnyValue(kv.value) : getInAny(kv.value, keys, 1);
    },
    set: (ctx, v) => {
      const kvs = list(ctx, true)!;
      let kv = findKv(kvs, key);
      if (!kv) kvs.push((kv = create(KeyValueSchema, { key, value: create(AnyValueSchema) })));
      if (keys.length === 1) kv.value = toAnyValue(v);
      else setInAny((kv.value ??= create(AnyValueSchema)), keys, 1, v);
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Fields per context

export type Obj = any;
export interface Field {
  get(o: Obj): Value;
  set?(o: Obj, v: Value): void;
}

const str = (name: string): Field => ({
  get: (o) => (o[name] as string) ?? '',
  set: (o, v) => {
    if (typeof v === 'string') o[name] = v;
  },
});
const u32 = (name: string): Field => ({
  get: (o) => BigInt(o[name] ?? 0),
  set: (o, v) => {
    if (typeof v === 'bigint') o[name] = Number(v);
  },
});
const nanos = (name: string): Field => ({
  get: (o) => (o[name] as bigint) ?? 0n,
  set: (o, v) => {
    if (typeof v === 'bigint') o[name] = v;
  },
});
const time = (name: string): Field => ({
  get: (o) => new OttlTime((o[name] as bigint) ?? 0n),
  set: (o, v) => {
    if (v instanceof OttlTime) o[name] = v.ns;
  },
});
// An absent ID reads as the all-zero ID of its size, as pcommon's TraceID/SpanID arrays do, so
// `parent_span_id == SpanID(0x0000000000000000)` finds root spans; its string form is then "".
const id = (name: string, size: number): Field => ({
  get: (o) => {
    const b = o[name] as Uint8Array | undefined;
    return b && b.length === size ? b : new Uint8Array(size);
  },
  set: (o, v) => {
    if (!(v instanceof Uint8Array) || v.length !== size) throw new OttlRuntimeError(`${name} takes ${size} bytes`);
    o[name] = v;
  },
});
const idString = (name: string, size: number): Field => ({
  get: (o) => {
    const b = o[name] as Uint8Array | undefined;
    return !b || b.every((x) => x === 0) ? '' : Buffer.from(b).toString('hex');
  },
  set: (o, v) => {
    if (typeof v !== 'string' || !new RegExp(`^[0-9a-fA-F]{${size * 2}}$`).test(v)) throw new OttlRuntimeError(`${name}.string takes ${size * 2} hex digits`);
    o[name] = Uint8Array.from(Buffer.from(v, 'hex'));
  },
});
const enumField = (name: string): Field => ({
  get: (o) => BigInt(o[name] ?? 0),
  set: (o, v) => {
    if (typeof v === 'bigint') o[name] = Number(v);
  },
});

/**
 * A span's kind by name (`names` in kind order): the collector's `kind.string` (pdata's names) and
 * `kind.deprecated_string` (the proto's); a kind outside the list reads as "", and a name outside it is
 * an error when written.
 */
function kindString(names: readonly string[]): Field {
  return {
    get: (o) => names[(o.kind as number | undefined) ?? 0] ?? '',
    set: (o, v) => {
      if (typeof v !== 'string') return;
      const kind = names.indexOf(v);
      if (kind < 0) throw new OttlRuntimeError(`unknown span kind "${v}"; one of ${names.join(', ')}`);
      o.kind = kind;
    },
  };
}

const SPAN_FIELDS: Record<string, Field> = {
  trace_id: id('traceId', 16),
  'trace_id.string': idString('traceId', 16),
  span_id: id('spanId', 8),
  'span_id.string': idString('spanId', 8),
  parent_span_id: id('parentSpanId', 8),
  'parent_span_id.string': idString('parentSpanId', 8),
  trace_state: str('traceState'),
  flags: u32('flags'),
  name: str('name'),
  kind: enumField('kind'),
  'kind.string': kindString(['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer']),
  'kind.deprecated_string': kindString(['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'].map((k) => `SPAN_KIND_${k}`)),
  start_time_unix_nano: nanos('startTimeUnixNano'),
  end_time_unix_nano: nanos('endTimeUnixNano'),
  start_time: time('startTimeUnixNano'),
  end_time: time('endTimeUnixNano'),
  dropped_attributes_count: u32('droppedAttributesCount'),
  dropped_events_count: u32('droppedEventsCount'),
  dropped_links_count: u32('droppedLinksCount'),
  'status.code': {
    get: (o) => BigInt(o.status?.code ?? 0),
    set: (o, v) => {
      if (typeof v === 'bigint') (o.status ??= create(StatusSchema)).code = Number(v);
    },
  },
  'status.message': {
    get: (o) => o.status?.message ?? '',
    set: (o, v) => {
      if (typeof v === 'string') (o.status ??= create(StatusSchema)).message = v;
    },
  },
};

const LOG_FIELDS: Record<string, Field> = {
  time_unix_nano: nanos('timeUnixNano'),
  observed_time_unix_nano: nanos('observedTimeUnixNano'),
  time: time('timeUnixNano'),
  observed_time: time('observedTimeUnixNano'),
  severity_number: enumField('severityNumber'),
  severity_text: str('severityText'),
  'body.string': {
    get: (o) => {
      const v = fromAnyValue(o.body);
      return v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x));
    },
    set: (o, v) => {
      if (typeof v === 'string') o.body = toAnyValue(v);
    },
  },
  dropped_attributes_count: u32('droppedAttributesCount'),
  flags: u32('flags'),
  event_name: str('eventName'),
  trace_id: id('traceId', 16),
  'trace_id.string': idString('traceId', 16),
  span_id: id('spanId', 8),
  'span_id.string': idString('spanId', 8),
};

const EVENT_FIELDS: Record<string, Field> = {
  name: str('name'),
  time_unix_nano: nanos('timeUnixNano'),
  time: time('timeUnixNano'),
  dropped_attributes_count: u32('droppedAttributesCount'),
};

const METRIC_TYPES: Record<string, number> = { gauge: 1, sum: 2, histogram: 3, exponentialHistogram: 4, summary: 5 };
const METRIC_FIELDS: Record<string, Field> = {
  name: str('name'),
  description: str('description'),
  unit: str('unit'),
  type: { get: (o) => BigInt(METRIC_TYPES[o.data?.case ?? ''] ?? 0) },
  aggregation_temporality: {
    get: (o) => BigInt(o.data?.value?.aggregationTemporality ?? 0),
    set: (o, v) => {
      if (typeof v === 'bigint' && o.data?.value && 'aggregationTemporality' in o.data.value) o.data.value.aggregationTemporality = Number(v);
    },
  },
  is_monotonic: {
    get: (o) => o.data?.case === 'sum' && o.data.value.isMonotonic === true,
    set: (o, v) => {
      if (typeof v === 'boolean' && o.data?.case === 'sum') o.data.value.isMonotonic = v;
    },
  },
};

const DATAPOINT_FIELDS: Record<string, Field> = {
  start_time_unix_nano: nanos('startTimeUnixNano'),
  time_unix_nano: nanos('timeUnixNano'),
  start_time: time('startTimeUnixNano'),
  time: time('timeUnixNano'),
  flags: u32('flags'),
  value_double: {
    get: (o) => (o.value?.case === 'asDouble' ? o.value.value : 0),
    set: (o, v) => {
      if (typeof v === 'number') o.value = { case: 'asDouble', value: v };
    },
  },
  value_int: {
    get: (o) => (o.value?.case === 'asInt' ? o.value.value : 0n),
    set: (o, v) => {
      if (typeof v === 'bigint') o.value = { case: 'asInt', value: v };
    },
  },
  count: {
    get: (o) => (o.count as bigint) ?? 0n,
    set: (o, v) => {
      if (typeof v === 'bigint' && 'count' in o) o.count = v;
    },
  },
  sum: {
    get: (o) => (o.sum as number) ?? 0,
    set: (o, v) => {
      if (typeof v === 'number' && 'count' in o) o.sum = v;
    },
  },
  min: { get: (o) => (o.min as number) ?? 0 },
  max: { get: (o) => (o.max as number) ?? 0 },
  bucket_counts: { get: (o) => (o.bucketCounts as bigint[] | undefined)?.slice() ?? [] },
  explicit_bounds: { get: (o) => (o.explicitBounds as number[] | undefined)?.slice() ?? [] },
  ...EXPONENTIAL_POINT_FIELDS,
};

const SCOPE_FIELDS: Record<string, Field> = {
  name: {
    get: (o) => o.scope?.name ?? '',
    set: (o, v) => {
      if (typeof v === 'string') (o.scope ??= create(InstrumentationScopeSchema)).name = v;
    },
  },
  version: {
    get: (o) => o.scope?.version ?? '',
    set: (o, v) => {
      if (typeof v === 'string') (o.scope ??= create(InstrumentationScopeSchema)).version = v;
    },
  },
  dropped_attributes_count: { get: (o) => BigInt(o.scope?.droppedAttributesCount ?? 0) },
  schema_url: str('schemaUrl'),
};

const RESOURCE_FIELDS: Record<string, Field> = {
  dropped_attributes_count: { get: (o) => BigInt(o.resource?.droppedAttributesCount ?? 0) },
  schema_url: str('schemaUrl'),
};

const FIELDS: Record<ContextName, Record<string, Field>> = {
  resource: RESOURCE_FIELDS,
  scope: SCOPE_FIELDS,
  span: SPAN_FIELDS,
  spanevent: EVENT_FIELDS,
  metric: METRIC_FIELDS,
  datapoint: DATAPOINT_FIELDS,
  log: LOG_FIELDS,
};

/** Where each context's attributes live (created on write when the holder has none). */
function attributesOf(context: ContextName): ((ctx: EvalContext, write: boolean) => KeyValue[] | undefined) | undefined {
  switch (context) {
    case 'resource':
      return (ctx, write) => (write ? (ctx.resource.resource ??= create(ResourceSchema)) : ctx.resource.resource)?.attributes;
    case 'scope':
      return (ctx, write) => (write ? (ctx.scope.scope ??= create(InstrumentationScopeSchema)) : ctx.scope.scope)?.attributes;
    case 'metric':
      return undefined;
    default:
      return (ctx) => ctx[context].attributes;
  }
}

export function contextOfName(name: string): ContextName | undefined {
  return CONTEXT_ALIASES[name];
}

/** The names a context's paths may use after the context (for "did you mean" errors and docs). */
export function pathNames(context: ContextName): string[] {
  const extra = context === 'metric' ? [] : ['attributes'];
  return [...extra, ...(context === 'log' ? ['body'] : []), ...Object.keys(FIELDS[context])];
}

/**
 * Compiles a path for a statement in `statementContext` of `signal`. Throws PathError for a path that
 * does not exist there (naming the context and what it offers).
 */
export function compilePath(names: readonly string[], keys: readonly KeyExpr[], statementContext: ContextName, signal: 'traces' | 'metrics' | 'logs'): PathRef {
  const text = names.join('.') + keyText(keys);
  // `log.cache`, `span.cache`...: the cache named with the statement's context, as inferred-context
  // statements write it; another context's cache is not the item's.
  const namedCache = names.length === 2 && names[1] === 'cache' && contextOfName(names[0]!) !== undefined;
  if (namedCache && contextOfName(names[0]!) !== statementContext)
    throw new PathError(`${text}: the ${names[0]} context's cache in a ${statementContext} statement is ${NOT_SUPPORTED_YET}; use ${statementContext}.cache`);
  if ((names[0] === 'cache' && names.length === 1) || namedCache) {
    return {
      text,
      context: 'cache',
      get: (ctx) => (keys.length === 0 ? (ctx.cache ?? new Map()) : ctx.cache ? getInValue(ctx.cache, keys) : null),
      set: (ctx, v) => {
        if (keys.length === 0) {
          if (!isMap(v)) throw new OttlRuntimeError(`cache takes a map, got ${typeOf(v)}`);
          ctx.cache = v;
        } else setInValue((ctx.cache ??= new Map()), keys, v);
      },
    };
  }
  if (names[0] === 'request' && names.length === 1) {
    // Request metadata (a receiver's include_metadata): the routing connector's `request` context.
    const first = keys[0];
    if (keys.length !== 1 || first!.k !== 'string') throw new PathError(`${text}: read request metadata by one string key, e.g. request["x-tenant"]`);
    const key = first.v;
    // The receiver's client info: a header name (any case), `metadata.<header>`, `auth.<name>`, `client.address`.
    return { text, context: 'request', get: (ctx) => clientInfoValue(ctx.meta, key) ?? null, set: undefined };
  }
  const explicit = contextOfName(names[0]!);
  const context = explicit ?? statementContext;
  const rest = explicit ? names.slice(1) : names;
  const chain = CONTEXT_CHAIN[signal];
  if (!chain.includes(context)) throw new PathError(`${text}: there is no ${context} context in ${signal}; contexts here: ${chain.join(', ')}`);
  if (chain.indexOf(context) > chain.indexOf(statementContext)) {
    throw new PathError(`${text}: a ${statementContext} statement cannot read the ${context} context below it (write the statement in the ${context} context)`);
  }
  const field = rest.join('.');
  const notYet = pathNotYet(context, field, keys.length > 0, text, FIELDS[context][field] !== undefined);
  if (notYet) throw new PathError(notYet);
  if (field === '') throw new PathError(`${text}: name a field of ${context}, e.g. ${context}.${pathNames(context)[0]}`);
  if (field === 'attributes') {
    const list = attributesOf(context);
    if (list) return kvPath(text, context, list, keys);
  }
  if (field === 'body' && context === 'log') {
    return {
      text,
      context,
      get: (ctx) => (keys.length === 0 ? fromAnyValue(ctx.log.body) : getInAny(ctx.log.body, keys, 0)),
      set: (ctx, v) => {
        if (keys.length === 0) ctx.log.body = toAnyValue(v);
        else setInAny((ctx.log.body ??= create(AnyValueSchema)), keys, 0, v);
      },
    };
  }
  if (field === 'trace_state' && context === 'span' && keys.length > 0) return traceStateKeyPath(text, keys);
  const f = FIELDS[context][field];
  if (!f) throw new PathError(`${text}: ${context} has no field "${field}"; it has ${pathNames(context).join(', ')}`);
  if (keys.length > 0) {
    return { text, context, get: (ctx) => getInValue(f.get(holder(ctx, context)), keys), set: undefined };
  }
  const set = f.set;
  return {
    text,
    context,
    get: (ctx) => f.get(holder(ctx, context)),
    set: set && ((ctx, v) => set(holder(ctx, context), v)),
  };
}

/** `span.trace_state["key"]`: one member of the W3C tracestate header (trace-state.ts). */
function traceStateKeyPath(text: string, keys: readonly KeyExpr[]): PathRef {
  const first = keys[0]!;
  if (keys.length !== 1 || first.k !== 'string') throw new PathError(`${text}: give exactly one string key, e.g. span.trace_state["vendor"]`);
  const key = first.v;
  return {
    text,
    context: 'span',
    get: (ctx) => traceStateGet(ctx.span.traceState, key),
    set: (ctx, v) => {
      if (typeof v !== 'string') return;
      const updated = traceStateInsert(ctx.span.traceState, key, v);
      if (updated !== undefined) ctx.span.traceState = updated;
    },
  };
}

function holder(ctx: EvalContext, context: ContextName): Obj {
  return ctx[context];
}
