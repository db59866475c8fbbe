/**
 * The collector's include/exclude match rules (internal/filter: filterconfig.MatchProperties with its
 * filterset, attribute, span and log matchers), evaluated on the wire. The attributes processor and the
 * filter processor's legacy config both come down to these properties, as they do in the collector; each
 * processor keeps only its own config keys and turns them into a MatchProperties.
 *
 * - Every property given must hold (AND); within a list of names or bodies one match is enough (OR).
 * - match_type strict compares whole strings; regexp is an unanchored search (Go's MatchString).
 * - Attributes: every listed key present; with a value, strict compares type and value (a config number
 *   that is integral also equals a double of that value: YAML `5.0` reaches us as 5), regexp searches the
 *   value's string form (string, bool, int, double as strconv 'f'; other kinds never match).
 * - services: the resource's service.name as a string, `<nil-service-name>` when it has none.
 *
 * A rule is split by the level each criterion reads, so a walk judges resource and scope criteria once per
 * resource or scope and only record criteria per record.
 */
import { encodeAnyValue, anyValueAsString, utf8, type JsAnyValue } from './any-value.js';
import type { AttrList } from './attr-list.js';
import { FIELD, ValueType } from './otlp-fields.js';
import type { RecordView } from './record-views.js';
import { findLenField, findVarintField, type Range } from '../pdata/wire-primitives.js';
import { re2RegExp } from './re2.js';

/** One `{key, value}` criterion; without a value the key only has to exist. */
export interface AttributeProperty {
  readonly key: string;
  readonly value?: unknown;
}

/** The collector's MatchProperties, as the processors' configs give them (absent lists = no criterion). */
export interface MatchProperties {
  readonly matchType: 'strict' | 'regexp';
  readonly services?: readonly string[];
  readonly spanNames?: readonly string[];
  readonly spanKinds?: readonly string[];
  readonly logBodies?: readonly string[];
  readonly logSeverityTexts?: readonly string[];
  /** Records at least this severity number match; records without one match when matchUndefined. */
  readonly logSeverityNumber?: { readonly min: number; readonly matchUndefined: boolean };
  readonly metricNames?: readonly string[];
  readonly attributes?: readonly AttributeProperty[];
  readonly resources?: readonly AttributeProperty[];
  readonly libraries?: readonly { readonly name: string; readonly version?: string | undefined }[];
}

export interface StringSet {
  matches(value: string): boolean;
}

/** A filterset: strict equality with any pattern, or any regexp found in the value. Undefined when empty. */
export function stringSet(patterns: readonly string[] | undefined, regexp: boolean): StringSet | undefined {
  if (!patterns || patterns.length === 0) return undefined;
  if (regexp) {
    const res = [...new Set(patterns)].map((p) => re2RegExp(p));
    return { matches: (v) => res.some((r) => r.test(v)) };
  }
  const set = new Set(patterns);
  return { matches: (v) => set.has(v) };
}

export type AttrsMatcher = (attrs: AttrList) => boolean;

interface AttrCriterion {
  key: Buffer;
  /** strict, a scalar config value. */
  scalar?: string | number | boolean;
  /** strict, a list or map config value: its type and string form. */
  composite?: { type: ValueType; str: string };
  /** regexp. */
  re?: RegExp;
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64): shortest digits, never an exponent. */
export function formatFloatF(d: number): string {
  if (Number.isNaN(d)) return 'NaN';
  if (!Number.isFinite(d)) return d > 0 ? '+Inf' : '-Inf';
  const s = String(d);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const digits = m[2]! + (m[3] ?? '');
  const exp = Number(m[4]);
  if (exp >= 0) return m[1]! + digits.padEnd(exp + 1, '0');
  return `${m[1]}0.${'0'.repeat(-exp - 1)}${digits}`;
}

/** The string a regexp criterion searches (the collector's attributeStringValue); undefined for lists, maps, bytes. */
function attributeStringValue(attrs: AttrList, i: number): string | undefined {
  switch (attrs.type(i)) {
    case ValueType.String:
      return attrs.str(i);
    case ValueType.Bool:
      return attrs.bool(i) ? 'true' : 'false';
    case ValueType.Int:
      return attrs.int(i).toString();
    case ValueType.Double:
      return formatFloatF(attrs.double(i));
    default:
      return undefined;
  }
}

function strictEquals(c: AttrCriterion, attrs: AttrList, i: number): boolean {
  const t = attrs.type(i);
  if (c.composite) return t === c.composite.type && attrs.asString(i) === c.composite.str;
  const want = c.scalar;
  switch (t) {
    case ValueType.String:
      return typeof want === 'string' && want === attrs.str(i);
    case ValueType.Bool:
      return typeof want === 'boolean' && want === attrs.bool(i);
    case ValueType.Int:
      return typeof want === 'number' && Number.isInteger(want) && BigInt(want) === attrs.int(i);
    case ValueType.Double:
      return typeof want === 'number' && want === attrs.double(i);
    default:
      return false;
  }
}

function compileAttr(a: AttributeProperty, regexp: boolean): AttrCriterion {
  const key = utf8(a.key);
  const v = a.value;
  if (v === undefined || v === null) return { key };
  if (regexp) return { key, re: re2RegExp(String(v)) };
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return { key, scalar: v };
  const content = encodeAnyValue(v as JsAnyValue);
  return {
    key,
    composite: { type: content.length === 0 ? ValueType.Empty : ((content[0]! >>> 3) as ValueType), str: anyValueAsString(content, 0, content.length) },
  };
}

/** Whether every listed attribute matches (the collector's AttributesMatcher); undefined when none are listed. */
export function attrsMatcher(list: readonly AttributeProperty[] | undefined, regexp: boolean): AttrsMatcher | undefined {
  if (!list || list.length === 0) return undefined;
  const crit = list.map((a) => compileAttr(a, regexp));
  return (attrs) => {
    for (const c of crit) {
      const i = attrs.indexOf(c.key);
      if (i < 0) return false;
      if (c.re) {
        const sv = attributeStringValue(attrs, i);
        if (sv === undefined || !c.re.test(sv)) return false;
      } else if ((c.scalar !== undefined || c.composite) && !strictEquals(c, attrs, i)) return false;
    }
    return true;
  };
}

export const SPAN_KIND_NAMES = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
];

const SERVICE_NAME = utf8('service.name');
const RANGE: Range = { start: 0, end: 0 };

/** A string field of the message a view delimits, '' when absent. */
export function lenFieldString(v: { buf: Buffer; start: number; end: number }, field: number): string {
  return findLenField(v.buf, v.start, v.end, field, RANGE) ? v.buf.toString('utf8', RANGE.start, RANGE.end) : '';
}

/** One compiled include or exclude section, split by level; a part is undefined when it has no criterion. */
export class MatchRule {
  /** resources and services, on the resource's attributes. */
  readonly resource: AttrsMatcher | undefined;
  /** libraries, on the scope's name and version. */
  readonly scope: ((name: string, version: string) => boolean) | undefined;
  /** metric_names. */
  readonly metric: StringSet | undefined;
  /** The record's own criteria; `loadAttrs` loads its attributes when a criterion needs them. */
  readonly record: ((rec: RecordView, loadAttrs: () => AttrList) => boolean) | undefined;

  constructor(p: MatchProperties) {
    const re = p.matchType === 'regexp';
    const services = stringSet(p.services, re);
    const resources = attrsMatcher(p.resources, re);
    if (services || resources) {
      this.resource = (a) => {
        if (services) {
          const i = a.indexOf(SERVICE_NAME);
          if (!services.matches(i < 0 ? '<nil-service-name>' : a.asString(i))) return false;
        }
        return !resources || resources(a);
      };
    }
    const libs = (p.libraries ?? []).map((l) => ({
      name: stringSet([l.name], re)!,
      version: l.version === undefined ? undefined : stringSet([l.version], re),
    }));
    if (libs.length > 0) this.scope = (name, version) => libs.every((l) => l.name.matches(name) && (!l.version || l.version.matches(version)));
    this.metric = stringSet(p.metricNames, re);
    const bodies = stringSet(p.logBodies, re);
    const texts = stringSet(p.logSeverityTexts, re);
    const sev = p.logSeverityNumber;
    const names = stringSet(p.spanNames, re);
    const kinds = stringSet(p.spanKinds, re);
    const attrs = attrsMatcher(p.attributes, re);
    if (bodies || texts || sev || names || kinds || attrs) {
      this.record = (r, loadAttrs) => {
        if (bodies) {
          const body = findLenField(r.buf, r.start, r.end, FIELD.logBody, RANGE) ? anyValueAsString(r.buf, RANGE.start, RANGE.end) : '';
          if (!bodies.matches(body)) return false;
        }
        if (texts && !texts.matches(lenFieldString(r, FIELD.logSeverityText))) return false;
        if (sev) {
          const n = findVarintField(r.buf, r.start, r.end, FIELD.logSeverityNumber, 0);
          if (n === 0 ? !sev.matchUndefined : n < sev.min) return false;
        }
        if (names && !names.matches(lenFieldString(r, FIELD.spanName))) return false;
        if (kinds && !kinds.matches(SPAN_KIND_NAMES[findVarintField(r.buf, r.start, r.end, FIELD.spanKind, 0)] ?? '')) return false;
        return !attrs || attrs(loadAttrs());
      };
    }
  }
}
