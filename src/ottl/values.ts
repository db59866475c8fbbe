/**
 * OTTL's values in JavaScript, and their conversion to and from OTLP's AnyValue.
 *
 *   nil -> null, string -> string, bool -> boolean, int -> bigint (int64), double -> number,
 *   bytes -> Uint8Array, list (pcommon.Slice) -> Value[], map (pcommon.Map) -> Map<string, Value>,
 *   time.Time -> OttlTime (nanoseconds since the epoch, and the zone its calendar fields are read in),
 *   time.Duration -> OttlDuration (nanoseconds).
 *
 * Ints are bigint so int and double stay distinct (IsInt(1) is true, IsInt(1.0) is not) and int64 keeps
 * its full range, as the collector's int64.
 */
import { create } from '@bufbuild/protobuf';
import {
  AnyValueSchema,
  ArrayValueSchema,
  KeyValueListSchema,
  KeyValueSchema,
  type AnyValue,
  type KeyValue,
} from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';

/**
 * A time.Time. `zone` is where Hour(), FormatTime() and the like read it, as Go's Location: undefined
 * for UTC (a timestamp path's AsTime(), Now() and Unix() in a collector whose local zone is UTC), an
 * IANA name (Time()'s location), or a fixed offset in seconds east of UTC (an offset parsed from text).
 */
export class OttlTime {
  constructor(
    readonly ns: bigint,
    readonly zone?: string | number,
  ) {}
}

/** A time.Duration: signed nanoseconds. */
export class OttlDuration {
  constructor(readonly ns: bigint) {}
}

export type Value = null | string | boolean | bigint | number | Uint8Array | Value[] | ValueMap | OttlTime | OttlDuration;
export type ValueMap = Map<string, Value>;

export const isMap = (v: Value): v is ValueMap => v instanceof Map;
export const isList = (v: Value): v is Value[] => Array.isArray(v);

export function fromAnyValue(av: AnyValue | undefined): Value {
  const v = av?.value;
  if (!v || v.case === undefined) return null;
  switch (v.case) {
    case 'stringValue':
    case 'boolValue':
    case 'intValue':
    case 'doubleValue':
    case 'bytesValue':
      return v.value;
    case 'arrayValue':
      return v.value.values.map(fromAnyValue);
    case 'kvlistValue':
      return fromKeyValues(v.value.values);
  }
}

export function fromKeyValues(kvs: readonly KeyValue[]): ValueMap {
  const m: ValueMap = new Map();
  for (const kv of kvs) m.set(kv.key, fromAnyValue(kv.value));
  return m;
}

export function toAnyValue(v: Value): AnyValue {
  if (v === null) return create(AnyValueSchema);
  if (typeof v === 'string') return create(AnyValueSchema, { value: { case: 'stringValue', value: v } });
  if (typeof v === 'boolean') return create(AnyValueSchema, { value: { case: 'boolValue', value: v } });
  if (typeof v === 'bigint') return create(AnyValueSchema, { value: { case: 'intValue', value: v } });
  if (typeof v === 'number') return create(AnyValueSchema, { value: { case: 'doubleValue', value: v } });
  if (v instanceof Uint8Array) return create(AnyValueSchema, { value: { case: 'bytesValue', value: v } });
  if (v instanceof OttlTime || v instanceof OttlDuration) return create(AnyValueSchema, { value: { case: 'intValue', value: v.ns } });
  if (Array.isArray(v)) return create(AnyValueSchema, { value: { case: 'arrayValue', value: create(ArrayValueSchema, { values: v.map(toAnyValue) }) } });
  return create(AnyValueSchema, { value: { case: 'kvlistValue', value: create(KeyValueListSchema, { values: toKeyValues(v) }) } });
}

export function toKeyValues(m: ValueMap): KeyValue[] {
  const out: KeyValue[] = [];
  for (const [key, v] of m) out.push(create(KeyValueSchema, { key, value: toAnyValue(v) }));
  return out;
}

/** The type name OTTL's errors use. */
export function typeOf(v: Value): string {
  if (v === null) return 'nil';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'double';
  if (typeof v === 'string' || typeof v === 'boolean') return typeof v === 'string' ? 'string' : 'bool';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof OttlTime) return 'time';
  if (v instanceof OttlDuration) return 'duration';
  return Array.isArray(v) ? 'slice' : 'map';
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64) for the numbers users meet (what pcommon's AsString gives). */
export function formatDouble(d: number): string {
  if (Number.isInteger(d) && Math.abs(d) < 1e21) return d.toFixed(0);
  return String(d);
}

/** pcommon.Value.AsString: the string form of any value (maps and slices as JSON, bytes as base64). */
export function asString(v: Value): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'number') return formatDouble(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v instanceof OttlTime) return new Date(Number(v.ns / 1_000_000n)).toISOString();
  if (v instanceof OttlDuration) return formatGoDuration(v.ns);
  return JSON.stringify(toJson(v));
}

export function toJson(v: Value): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v instanceof OttlTime || v instanceof OttlDuration) return asString(v);
  if (Array.isArray(v)) return v.map(toJson);
  const o: Record<string, unknown> = {};
  for (const [k, x] of v) o[k] = toJson(x);
  return o;
}

/** JSON as OTTL reads it (ParseJSON): whole numbers become... doubles, as Go's encoding/json gives float64. */
export function fromJson(j: unknown): Value {
  if (j === null || j === undefined) return null;
  if (typeof j === 'string' || typeof j === 'boolean') return j;
  if (typeof j === 'number') return j;
  if (Array.isArray(j)) return j.map(fromJson);
  const m: ValueMap = new Map();
  for (const [k, x] of Object.entries(j as Record<string, unknown>)) m.set(k, fromJson(x));
  return m;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

export function valuesEqual(a: Value, b: Value): boolean {
  if (a === null || b === null) return a === b;
  if (typeof a === 'bigint' || typeof a === 'number') {
    if (typeof b !== 'bigint' && typeof b !== 'number') return false;
    return typeof a === typeof b ? a === b : Number(a) === Number(b);
  }
  if (typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (a instanceof Uint8Array) return b instanceof Uint8Array && bytesEqual(a, b);
  if (a instanceof OttlTime) return b instanceof OttlTime && a.ns === b.ns;
  if (a instanceof OttlDuration) return b instanceof OttlDuration && a.ns === b.ns;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => valuesEqual(x, b[i]!));
  if (!(b instanceof Map) || a.size !== b.size) return false;
  for (const [k, x] of a) if (!b.has(k) || !valuesEqual(x, b.get(k)!)) return false;
  return true;
}

/**
 * OTTL's ordering (LANGUAGE.md, Comparison Rules): numbers compare numerically across int and double,
 * strings lexically, bools with false < true, bytes bytewise, times by instant, durations by length; any other pairing is not
 * ordered (false).
 */
export function compareOrdered(a: Value, b: Value): number | undefined {
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) {
    if (typeof a === typeof b) return a < b ? -1 : a > b ? 1 : 0;
    const x = Number(a);
    const y = Number(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b);
  if ((a instanceof OttlTime && b instanceof OttlTime) || (a instanceof OttlDuration && b instanceof OttlDuration))
    return a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0;
  return undefined;
}

/** A deep copy (set() of a map or slice into another place must not alias it). */
export function cloneValue(v: Value): Value {
  if (Array.isArray(v)) return v.map(cloneValue);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, cloneValue(x)]));
  return v;
}

/** Go's time.Duration.String(): "1h0m0s", "1.5s", "333ms", "0s". */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < 1_000_000_000n) {
    // Below a second: the largest unit that keeps the integer part non-zero, with a fraction.
    const [unit, size] = u < 1_000n ? ['ns', 1n] : u < 1_000_000n ? ['µs', 1_000n] : ['ms', 1_000_000n];
    out = fraction(u, size) + unit;
  } else {
    const h = u / 3_600_000_000_000n;
    u -= h * 3_600_000_000_000n;
    const m = u / 60_000_000_000n;
    u -= m * 60_000_000_000n;
    out = `${fraction(u, 1_000_000_000n)}s`;
    if (h > 0n || m > 0n) out = `${m}m${out}`;
    if (h > 0n) out = `${h}h${out}`;
  }
  return neg ? `-${out}` : out;
}

function fraction(v: bigint, size: bigint): string {
  const whole = v / size;
  const rest = v % size;
  if (rest === 0n) return String(whole);
  const digits = String(size).length - 1;
  return `${whole}.${String(rest).padStart(digits, '0').replace(/0+$/, '')}`;
}
