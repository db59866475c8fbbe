/**
 * The collector's attribute actions (coreinternal/attraction): insert, update, upsert, delete, hash,
 * extract, convert — shared by the `attributes` and `resource` processors. Each action list applies
 * either to an AttrList over the wire bytes (the hot path) or to decoded KeyValue messages (the reference
 * the tests compare against, and the decode path of the benchmark). Both follow the collector:
 * - insert adds only when the key is absent; update changes only an existing key; upsert does both;
 *   a value source that is absent (from_attribute/from_context not found) makes the action a no-op.
 * - delete / hash act on `key` and then on every key matching `pattern`.
 * - hash: SHA-256 hex of the value's bytes (string UTF-8, bool 1 byte, int/double 8 bytes LE); other
 *   kinds and the empty string become "".
 * - extract: named groups of `pattern` matched against the string value of `key` are upserted as strings.
 * - convert: int|double|string; a value that cannot be converted is left unchanged.
 * Order of the remaining attributes is kept on delete (the collector swaps in the last one; attributes
 * are a map, so order carries no meaning).
 */
import { create, clone } from '@bufbuild/protobuf';
import { Schema, s, type ConfigIssue, type SchemaDoc } from '../core/schema.js';
import { AnyValueSchema, KeyValueSchema, type AnyValue, type KeyValue } from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';
import { AttrList, ValueType, encodeAnyValue, formatDouble, hashEntry, sha256Hex, utf8, type JsAnyValue } from './wire-edit.js';
import { clientInfoValue } from '../pdata/client-info.js';
import { re2RegExp } from './re2.js';

/** Accepts any YAML value (an attribute value: string, number, bool, list, map). */
class AnyValueConfigSchema extends Schema<unknown> {
  protected check(v: unknown): unknown {
    return v;
  }
  doc(): SchemaDoc {
    return this.baseDoc('any');
  }
}

/**
 * The collector's `regexp:` block of legacy match rules (filter, attributes include/exclude): a cache of
 * match results per string. Accepted with no effect: each pattern is compiled once at start and V8's
 * regexps need no result cache to keep up.
 */
export const regexpCacheSchema = s
  .object({
    cacheenabled: s.bool().default(false).describe('Accepted; GopherShip compiles each pattern once and keeps no result cache'),
    cachemaxnumentries: s.int(0).default(0).describe('Accepted; see cacheenabled'),
  })
  .describe("The collector's regexp result cache (accepted, no effect here)");

export const ACTIONS = ['insert', 'update', 'upsert', 'delete', 'hash', 'extract', 'convert'] as const;
export type ActionName = (typeof ACTIONS)[number];

export const attrActionSchema = s.object({
  key: s.string().describe('The attribute to act on (required except for delete/hash with a pattern)'),
  action: s.string().describe('insert | update | upsert | delete | hash | extract | convert (case-insensitive)'),
  value: new AnyValueConfigSchema().describe('insert/update/upsert: the value to set (its YAML type is kept)'),
  from_attribute: s.string().describe('insert/update/upsert: copy the value of this attribute of the same item'),
  from_context: s.string().describe('insert/update/upsert: take the value from request metadata (client.address, metadata.<key>)'),
  default_value: new AnyValueConfigSchema().describe(
    'insert/update/upsert: the value set when the source gives none (from_attribute or from_context not found, value empty, as an unset variable leaves it); alone, the value to set',
  ),
  pattern: s.string().describe('extract: regex with named groups; delete/hash: also act on keys matching it'),
  converted_type: s.string().describe('convert: int | double | string'),
});

export type AttrActionConfig = {
  key: string;
  action: string;
  value: unknown;
  from_attribute: string;
  from_context: string;
  default_value?: unknown;
  pattern: string;
  converted_type: string;
};

const enum Kind {
  Insert,
  Update,
  Upsert,
  Delete,
  Hash,
  Extract,
  Convert,
}

export interface CompiledAction {
  readonly kind: Kind;
  readonly name: ActionName;
  readonly key: string;
  readonly keyBytes: Buffer;
  /** Encoded AnyValue content of `value` (insert/update/upsert). */
  readonly value: Buffer | undefined;
  /** The same value as a message (decoded path). */
  readonly valueMsg: AnyValue | undefined;
  readonly fromAttribute: string | undefined;
  readonly fromAttributeBytes: Buffer | undefined;
  readonly fromContext: string | undefined;
  /** Encoded AnyValue content of `default_value`, set when the source gives nothing; and as a message. */
  readonly defaultValue: Buffer | undefined;
  readonly defaultMsg: AnyValue | undefined;
  readonly regex: RegExp | undefined;
  /** extract: group names and their keys as bytes. */
  readonly groups: readonly string[];
  readonly groupKeys: readonly Buffer[];
  readonly convertedType: 'int' | 'double' | 'string' | undefined;
}

/** Go's RE2 syntax in JavaScript (re2.ts). */
function compileRegex(pattern: string): RegExp {
  return re2RegExp(pattern);
}

/** Converts a YAML value to a JsAnyValue (numbers keep their integer/double kind as YAML wrote them). */
function toJsAnyValue(v: unknown): JsAnyValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint') return v;
  if (Array.isArray(v)) return v.map(toJsAnyValue);
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'object') {
    const out: Record<string, JsAnyValue> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = toJsAnyValue(x);
    return out;
  }
  return String(v);
}

/** Validates an action list as the collector does; problems go to `issues` with their key path. */
export function compileActions(list: readonly AttrActionConfig[], path: string[], issues: ConfigIssue[]): CompiledAction[] {
  const out: CompiledAction[] = [];
  list.forEach((a, i) => {
    const at = [...path, String(i)];
    const fail = (key: string, message: string) => issues.push({ path: key ? [...at, key] : at, message });
    const name = (a.action ?? '').toLowerCase() as ActionName;
    const kind = ACTIONS.indexOf(name);
    if (kind < 0) {
      fail('action', a.action ? `unsupported action "${a.action}"; use one of ${ACTIONS.join(', ')}` : `is required (one of ${ACTIONS.join(', ')})`);
      return;
    }
    const key = a.key ?? '';
    const pattern = a.pattern ?? '';
    const hasDefault = a.default_value !== undefined && a.default_value !== null;
    // An empty value (what an unset ${env:X} leaves) falls back to default_value, as the collector's nil one does.
    const hasValue = a.value !== undefined && a.value !== null && !(a.value === '' && hasDefault);
    const sources = (hasValue ? 1 : 0) + (a.from_attribute ? 1 : 0) + (a.from_context ? 1 : 0);
    if ((kind === Kind.Delete || kind === Kind.Hash) && key === '' && pattern === '') fail('key', 'at least one of "key" and "pattern" must be set');
    if (kind !== Kind.Delete && kind !== Kind.Hash && key === '') fail('key', 'is required');
    let regex: RegExp | undefined;
    let groups: string[] = [];
    let convertedType: CompiledAction['convertedType'];
    if (pattern !== '') {
      try {
        regex = compileRegex(pattern);
      } catch (err) {
        fail('pattern', `invalid regular expression "${pattern}": ${(err as Error).message}`);
      }
    }
    switch (kind) {
      case Kind.Insert:
      case Kind.Update:
      case Kind.Upsert:
        if (sources === 0 && !hasDefault) fail('', `action ${name} needs one of "value", "from_attribute", "from_context" or "default_value"`);
        if (sources > 1) fail('', `action ${name} takes only one of "value", "from_attribute" or "from_context"`);
        if (pattern !== '') fail('pattern', `action ${name} does not use "pattern"`);
        if (a.converted_type) fail('converted_type', `action ${name} does not use "converted_type"`);
        break;
      case Kind.Delete:
      case Kind.Hash:
        if (hasValue || a.from_attribute) fail('', `action ${name} does not use "value" or "from_attribute"`);
        if (a.converted_type) fail('converted_type', `action ${name} does not use "converted_type"`);
        break;
      case Kind.Extract:
        if (sources > 0) fail('', 'action extract does not use "value", "from_attribute" or "from_context"');
        if (pattern === '') fail('pattern', 'is required for action extract');
        if (a.converted_type) fail('converted_type', 'action extract does not use "converted_type"');
        if (regex) {
          // Every group must be named: its name is the attribute it fills.
          const total = new RegExp(`${regex.source}|`).exec('')!.length - 1;
          groups = Object.keys(new RegExp(`${regex.source}|`).exec('')!.groups ?? {});
          if (groups.length === 0) fail('pattern', `"${pattern}" has no named groups (use (?P<name>...) or (?<name>...))`);
          else if (groups.length !== total) fail('pattern', `"${pattern}" has an unnamed group; every group must be named`);
        }
        break;
      case Kind.Convert:
        if (sources > 0 || pattern !== '') fail('', 'action convert does not use value sources or "pattern"');
        if (!a.converted_type) fail('converted_type', 'is required for action convert (int, double or string)');
        else if (a.converted_type !== 'int' && a.converted_type !== 'double' && a.converted_type !== 'string') {
          fail('converted_type', `must be int, double or string; got "${a.converted_type}"`);
        } else convertedType = a.converted_type;
        break;
    }
    const sets = kind === Kind.Insert || kind === Kind.Update || kind === Kind.Upsert;
    const encoded = (v: unknown) => {
      const js = toJsAnyValue(v);
      return { bytes: encodeAnyValue(js), msg: jsToAnyValueMsg(js) };
    };
    const value = hasValue && sets ? encoded(a.value) : undefined;
    const fallback = hasDefault && sets ? encoded(a.default_value) : undefined;
    out.push({
      kind,
      name,
      key,
      keyBytes: utf8(key),
      value: value?.bytes,
      valueMsg: value?.msg,
      fromAttribute: a.from_attribute || undefined,
      fromAttributeBytes: a.from_attribute ? utf8(a.from_attribute) : undefined,
      fromContext: a.from_context || undefined,
      defaultValue: fallback?.bytes,
      defaultMsg: fallback?.msg,
      regex,
      groups,
      groupKeys: groups.map(utf8),
      convertedType,
    });
  });
  return out;
}

/** Looks up a from_context key in request metadata as the collector does (client.address, metadata.X, auth.X, X). */
export function contextValue(meta: Readonly<Record<string, string>> | undefined, key: string): string | undefined {
  return clientInfoValue(meta, key);
}

// ---------------------------------------------------------------------------------------------------
// Wire path

/**
 * Applies the actions to `attrs` (loaded on one message). Returns nothing: `attrs.changed`/`build()`
 * tell the outcome. `meta` resolves from_context.
 */
export function applyActions(actions: readonly CompiledAction[], attrs: AttrList, meta?: Readonly<Record<string, string>>): void {
  for (let a = 0; a < actions.length; a++) {
    const act = actions[a]!;
    switch (act.kind) {
      case Kind.Insert:
      case Kind.Update:
      case Kind.Upsert: {
        const i = attrs.indexOf(act.keyBytes);
        if (act.kind === Kind.Insert ? i >= 0 : act.kind === Kind.Update ? i < 0 : false) break;
        const j = act.fromAttributeBytes === undefined ? -1 : attrs.indexOf(act.fromAttributeBytes);
        const v = act.fromContext === undefined ? undefined : contextValue(meta, act.fromContext);
        // The source first; its default_value when it gives nothing.
        const set = act.value ?? (j >= 0 || v !== undefined ? undefined : act.defaultValue);
        if (set !== undefined) {
          if (i >= 0) attrs.set(i, set);
          else attrs.append(act.keyBytes, set);
        } else if (j >= 0) {
          if (i >= 0) attrs.copyValue(i, j);
          else attrs.copyValue(attrs.append(act.keyBytes, EMPTY), j);
        } else if (v !== undefined) {
          if (i >= 0) attrs.setString(i, v);
          else attrs.appendString(act.keyBytes, v);
        }
        break;
      }
      case Kind.Delete: {
        const i = attrs.indexOf(act.keyBytes);
        if (i >= 0) attrs.remove(i);
        if (act.regex) for (let k = 0; k < attrs.length; k++) if (!attrs.removed(k) && attrs.keyMatches(k, act.regex)) attrs.remove(k);
        break;
      }
      case Kind.Hash: {
        const i = attrs.indexOf(act.keyBytes);
        if (i >= 0) hashEntry(attrs, i);
        if (act.regex) {
          // The collector lists the matching keys first, then hashes the first entry of each.
          const keys: string[] = [];
          for (let k = 0; k < attrs.length; k++) if (!attrs.removed(k) && attrs.keyMatches(k, act.regex)) keys.push(attrs.key(k));
          for (const key of keys) hashEntry(attrs, attrs.indexOf(utf8(key)));
        }
        break;
      }
      case Kind.Extract: {
        const i = attrs.indexOf(act.keyBytes);
        if (i < 0 || attrs.type(i) !== ValueType.String) break;
        const m = act.regex!.exec(attrs.str(i));
        if (!m) break;
        for (let g = 0; g < act.groups.length; g++) {
          const v = m.groups![act.groups[g]!] ?? '';
          const j = attrs.indexOf(act.groupKeys[g]!);
          if (j >= 0) attrs.setString(j, v);
          else attrs.appendString(act.groupKeys[g]!, v);
        }
        break;
      }
      case Kind.Convert: {
        const i = attrs.indexOf(act.keyBytes);
        if (i >= 0) convertWire(attrs, i, act.convertedType!);
        break;
      }
    }
  }
}

const EMPTY = new Uint8Array(0);
const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Go's strconv.ParseInt(s, 10, 64); undefined on error. */
export function parseGoInt(s: string): bigint | undefined {
  if (!INT_RE.test(s)) return undefined;
  const v = BigInt(s);
  return v < INT64_MIN || v > INT64_MAX ? undefined : v;
}

/** Go's strconv.ParseFloat(s, 64) for decimal forms and inf/nan; undefined on error (out of range included). */
export function parseGoFloat(s: string): number | undefined {
  if (FLOAT_RE.test(s)) {
    const n = Number(s);
    return Number.isFinite(n) ? n : undefined;
  }
  const l = s.toLowerCase();
  if (l === 'inf' || l === '+inf' || l === 'infinity' || l === '+infinity') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  if (l === 'nan') return NaN;
  return undefined;
}

/** Go's int64(float64) conversion: truncation; out of range and NaN give MinInt64 (amd64). */
function goTruncToInt64(d: number): bigint {
  if (!Number.isFinite(d) || d >= 9223372036854775808 || d < -9223372036854775808) return INT64_MIN;
  return BigInt(Math.trunc(d));
}

function convertWire(attrs: AttrList, i: number, to: 'int' | 'double' | 'string'): void {
  const t = attrs.type(i);
  if (to === 'string') {
    if (t !== ValueType.String) attrs.setString(i, attrs.asString(i));
  } else if (to === 'int') {
    if (t === ValueType.Double) attrs.setInt(i, goTruncToInt64(attrs.double(i)));
    else if (t === ValueType.Bool) attrs.setInt(i, attrs.bool(i) ? 1n : 0n);
    else if (t === ValueType.String) {
      const v = parseGoInt(attrs.str(i));
      if (v !== undefined) attrs.setInt(i, v);
    }
  } else {
    if (t === ValueType.Int) attrs.setDouble(i, Number(attrs.int(i)));
    else if (t === ValueType.Bool) attrs.setDouble(i, attrs.bool(i) ? 1 : 0);
    else if (t === ValueType.String) {
      const v = parseGoFloat(attrs.str(i));
      if (v !== undefined) attrs.setDouble(i, v);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Decoded-message path (reference semantics; used by tests and the decode benchmark)

export function jsToAnyValueMsg(v: JsAnyValue): AnyValue {
  if (v === null) return create(AnyValueSchema);
  if (typeof v === 'string') return create(AnyValueSchema, { value: { case: 'stringValue', value: v } });
  if (typeof v === 'boolean') return create(AnyValueSchema, { value: { case: 'boolValue', value: v } });
  if (typeof v === 'bigint') return create(AnyValueSchema, { value: { case: 'intValue', value: v } });
  if (typeof v === 'number') {
    if (Number.isInteger(v) && Number.isSafeInteger(v)) return create(AnyValueSchema, { value: { case: 'intValue', value: BigInt(v) } });
    return create(AnyValueSchema, { value: { case: 'doubleValue', value: v } });
  }
  if (v instanceof Uint8Array) return create(AnyValueSchema, { value: { case: 'bytesValue', value: v } });
  if (Array.isArray(v)) return create(AnyValueSchema, { value: { case: 'arrayValue', value: { values: v.map(jsToAnyValueMsg) } } });
  if (typeof (v as { double?: unknown }).double === 'number' && Object.keys(v).length === 1) {
    return create(AnyValueSchema, { value: { case: 'doubleValue', value: (v as { double: number }).double } });
  }
  return create(AnyValueSchema, {
    value: {
      case: 'kvlistValue',
      value: { values: Object.entries(v as Record<string, JsAnyValue>).map(([key, x]) => create(KeyValueSchema, { key, value: jsToAnyValueMsg(x) })) },
    },
  });
}

const strMsg = (s: string): AnyValue => create(AnyValueSchema, { value: { case: 'stringValue', value: s } });

function msgToRaw(v: AnyValue | undefined): unknown {
  const x = v?.value;
  switch (x?.case) {
    case 'stringValue':
    case 'boolValue':
    case 'doubleValue':
      return x.value;
    case 'intValue':
      return Number(x.value);
    case 'bytesValue':
      return Buffer.from(x.value).toString('base64');
    case 'arrayValue':
      return x.value.values.map(msgToRaw);
    case 'kvlistValue': {
      const entries = x.value.values.map((kv) => [kv.key, msgToRaw(kv.value)] as [string, unknown]);
      entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const o: Record<string, unknown> = {};
      for (const [k, y] of entries) o[k] = y;
      return o;
    }
    default:
      return null;
  }
}

/** pcommon Value.AsString of a decoded AnyValue. */
export function anyValueMsgAsString(v: AnyValue | undefined): string {
  const x = v?.value;
  switch (x?.case) {
    case 'stringValue':
      return x.value;
    case 'boolValue':
      return x.value ? 'true' : 'false';
    case 'intValue':
      return x.value.toString();
    case 'doubleValue':
      return formatDouble(x.value);
    case 'bytesValue':
      return Buffer.from(x.value).toString('base64');
    case 'arrayValue':
    case 'kvlistValue':
      return JSON.stringify(msgToRaw(v));
    default:
      return '';
  }
}

function hashMsg(v: AnyValue | undefined): AnyValue {
  const x = v?.value;
  let data: Uint8Array | undefined;
  switch (x?.case) {
    case 'stringValue':
      data = Buffer.from(x.value, 'utf8');
      break;
    case 'boolValue':
      data = Uint8Array.of(x.value ? 1 : 0);
      break;
    case 'intValue': {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(BigInt.asIntN(64, x.value));
      data = b;
      break;
    }
    case 'doubleValue': {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(x.value);
      data = b;
      break;
    }
    default:
      break;
  }
  return strMsg(data && data.length > 0 ? sha256Hex(data) : '');
}

function convertMsg(v: AnyValue | undefined, to: 'int' | 'double' | 'string'): AnyValue | undefined {
  const x = v?.value;
  const c = x?.case;
  if (to === 'string') return c === 'stringValue' ? undefined : strMsg(anyValueMsgAsString(v));
  if (to === 'int') {
    if (c === 'doubleValue') return create(AnyValueSchema, { value: { case: 'intValue', value: goTruncToInt64(x!.value as number) } });
    if (c === 'boolValue') return create(AnyValueSchema, { value: { case: 'intValue', value: x!.value ? 1n : 0n } });
    if (c === 'stringValue') {
      const n = parseGoInt(x!.value as string);
      return n === undefined ? undefined : create(AnyValueSchema, { value: { case: 'intValue', value: n } });
    }
    return undefined;
  }
  if (c === 'intValue') return create(AnyValueSchema, { value: { case: 'doubleValue', value: Number(x!.value) } });
  if (c === 'boolValue') return create(AnyValueSchema, { value: { case: 'doubleValue', value: x!.value ? 1 : 0 } });
  if (c === 'stringValue') {
    const n = parseGoFloat(x!.value as string);
    return n === undefined ? undefined : create(AnyValueSchema, { value: { case: 'doubleValue', value: n } });
  }
  return undefined;
}

/** Applies the actions to a decoded attribute list in place (the same semantics as applyActions). */
export function applyActionsToMessages(actions: readonly CompiledAction[], kvs: KeyValue[], meta?: Readonly<Record<string, string>>): void {
  const find = (key: string) => kvs.findIndex((kv) => kv.key === key);
  const put = (key: string, v: AnyValue) => {
    const i = find(key);
    if (i >= 0) kvs[i]!.value = v;
    else kvs.push(create(KeyValueSchema, { key, value: v }));
  };
  for (const act of actions) {
    switch (act.kind) {
      case Kind.Insert:
      case Kind.Update:
      case Kind.Upsert: {
        const i = find(act.key);
        if (act.kind === Kind.Insert ? i >= 0 : act.kind === Kind.Update ? i < 0 : false) break;
        let v: AnyValue | undefined;
        const j = act.fromAttribute === undefined ? -1 : find(act.fromAttribute);
        const s = act.fromContext === undefined ? undefined : contextValue(meta, act.fromContext);
        if (act.valueMsg) v = clone(AnyValueSchema, act.valueMsg);
        else if (j >= 0) v = kvs[j]!.value ? clone(AnyValueSchema, kvs[j]!.value!) : create(AnyValueSchema);
        else if (s !== undefined) v = strMsg(s);
        else if (act.defaultMsg) v = clone(AnyValueSchema, act.defaultMsg);
        else break;
        put(act.key, v);
        break;
      }
      case Kind.Delete: {
        const i = find(act.key);
        if (i >= 0) kvs.splice(i, 1);
        if (act.regex) {
          const re = act.regex;
          for (let k = kvs.length - 1; k >= 0; k--) if (re.test(kvs[k]!.key)) kvs.splice(k, 1);
        }
        break;
      }
      case Kind.Hash: {
        const i = find(act.key);
        if (i >= 0) kvs[i]!.value = hashMsg(kvs[i]!.value);
        if (act.regex) {
          const keys = kvs.filter((kv) => act.regex!.test(kv.key)).map((kv) => kv.key);
          for (const key of keys) {
            const j = find(key);
            kvs[j]!.value = hashMsg(kvs[j]!.value);
          }
        }
        break;
      }
      case Kind.Extract: {
        const i = find(act.key);
        const x = i >= 0 ? kvs[i]!.value?.value : undefined;
        if (x?.case !== 'stringValue') break;
        const m = act.regex!.exec(x.value);
        if (!m) break;
        for (const g of act.groups) put(g, strMsg(m.groups![g] ?? ''));
        break;
      }
      case Kind.Convert: {
        const i = find(act.key);
        if (i < 0) break;
        const v = convertMsg(kvs[i]!.value, act.convertedType!);
        if (v) kvs[i]!.value = v;
        break;
      }
    }
  }
}
