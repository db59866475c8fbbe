/**
 * include / exclude matching of the collector's attributes processor (internal/filter filterconfig
 * MatchProperties), evaluated on the wire: resource and scope parts once per resource/scope, record parts
 * per record from fields read in place.
 * - Every property given must match (AND); within a list of names/bodies one match is enough (OR).
 * - match_type strict compares whole strings (attribute values by type and value); regexp is an
 *   unanchored regular-expression search (attribute values: string/bool/int/double in string form).
 * - An item is processed when it matches `include` (if set) and does not match `exclude` (if set).
 */
import { regexpCacheSchema } from '../../src/processorhelper/attr-actions.js';
import { Schema, s, type ConfigIssue, type ConfigOf, type SchemaDoc } from '../../src/core/schema.js';
import type { Signal } from '../../src/core/signal.js';
import {
  AttrList,
  FIELD,
  ValueType,
  anyValueAsString,
  encodeAnyValue,
  findLenField,
  findVarintField,
  utf8,
  type JsAnyValue,
  type MetricView,
  type Range,
  type RecordView,
  type ResourceView,
  type ScopeView,
} from '../../src/processorhelper/wire-edit.js';

/** A section that is absent (undefined) unless written; when written, parsed by `inner`. */
class OptionalSchema<T> extends Schema<T | undefined> {
  constructor(private readonly inner: Schema<T>) {
    super();
  }
  override parse(value: unknown, path: string[], issues: ConfigIssue[]): T | undefined {
    if (value === undefined || value === null) return undefined;
    return this.inner.parse(value, path, issues);
  }
  protected check(): T {
    throw new Error('unreachable');
  }
  doc(): SchemaDoc {
    return { ...this.inner.doc(), description: this.description ?? this.inner.doc().description };
  }
}

class AnyConfigSchema extends Schema<unknown> {
  protected check(v: unknown): unknown {
    return v;
  }
  doc(): SchemaDoc {
    return this.baseDoc('any');
  }
}

export const optional = <T>(inner: Schema<T>) => new OptionalSchema(inner);

const attrMatchSchema = s.object({
  key: s.string().mustBeSet().describe('Attribute key that must be present'),
  value: new AnyConfigSchema().describe('Value it must have (strict: same type and value; regexp: a pattern for its string form); absent = key present'),
});

export const matchPropertiesSchema = s.object({
  match_type: s.enum('strict', 'regexp').mustBeSet().describe('strict (exact) or regexp (unanchored search)'),
  regexp: regexpCacheSchema,
  services: s.array(s.string()).default([]).describe('traces: resource service.name values'),
  span_names: s.array(s.string()).default([]).describe('traces: span names'),
  span_kinds: s.array(s.string()).default([]).describe('traces: SPAN_KIND_SERVER, SPAN_KIND_CLIENT, ...'),
  log_bodies: s.array(s.string()).default([]).describe('logs: bodies (their string form)'),
  log_severity_texts: s.array(s.string()).default([]).describe('logs: severity texts'),
  log_severity_number: optional(
    s.object({
      min: new AnyConfigSchema().describe('lowest severity number matched: 1-24 or a name (TRACE..FATAL4)'),
      match_undefined: s.bool().default(false).describe('whether records without a severity number match'),
    }),
  ).describe('logs: severity number at least `min`'),
  metric_names: s.array(s.string()).default([]).describe('metrics: metric names'),
  attributes: s.array(attrMatchSchema).default([]).describe('item attributes; all must match'),
  resources: s.array(attrMatchSchema).default([]).describe('resource attributes; all must match'),
  libraries: s
    .array(s.object({ name: s.string().mustBeSet(), version: optional(s.string()) }))
    .default([])
    .describe('instrumentation scopes (name, optional version); each listed must match'),
});

export type MatchPropertiesConfig = ConfigOf<typeof matchPropertiesSchema>;

const SEVERITY_NAMES = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

/** A severity given as 0-24 or a name such as INFO, info, INFO3. */
function parseSeverity(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 24) return v;
  if (typeof v !== 'string') return undefined;
  if (/^\d+$/.test(v)) return parseSeverity(Number(v));
  const m = /^([A-Za-z]+)([1-4])?$/.exec(v);
  if (!m) return v.toUpperCase() === 'UNDEFINED' || v.toUpperCase() === 'UNSPECIFIED' ? 0 : undefined;
  const base = SEVERITY_NAMES.indexOf(m[1]!.toUpperCase());
  if (base < 0) return undefined;
  return base * 4 + Number(m[2] ?? '1');
}

const SPAN_KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];

/** Which properties each signal accepts (the collector's ValidateForLogs/Spans/Metrics). */
const SIGNAL_PROPS: Record<Signal, string[]> = {
  logs: ['attributes', 'resources', 'libraries', 'log_bodies', 'log_severity_texts', 'log_severity_number'],
  traces: ['services', 'span_names', 'span_kinds', 'attributes', 'resources', 'libraries'],
  metrics: ['metric_names', 'resources'],
};

/** Checks a parsed match section (regexes compile, values usable); signal-specific checks run at create(). */
export function validateMatch(m: MatchPropertiesConfig, path: string[], issues: ConfigIssue[]): void {
  if (m.match_type === 'regexp') {
    const lists = ['services', 'span_names', 'span_kinds', 'log_bodies', 'log_severity_texts', 'metric_names'] as const;
    for (const l of lists) {
      m[l].forEach((p, i) => {
        try {
          new RegExp(p);
        } catch (err) {
          issues.push({ path: [...path, l, String(i)], message: `invalid regular expression "${p}": ${(err as Error).message}` });
        }
      });
    }
    for (const l of ['attributes', 'resources'] as const) {
      m[l].forEach((a, i) => {
        if (a.value === undefined || a.value === null) return;
        if (typeof a.value !== 'string') issues.push({ path: [...path, l, String(i), 'value'], message: 'match_type regexp needs a string pattern as value' });
        else {
          try {
            new RegExp(a.value);
          } catch (err) {
            issues.push({ path: [...path, l, String(i), 'value'], message: `invalid regular expression "${a.value}": ${(err as Error).message}` });
          }
        }
      });
    }
  }
  if (m.log_severity_number && parseSeverity(m.log_severity_number.min) === undefined) {
    issues.push({ path: [...path, 'log_severity_number', 'min'], message: `expected a severity number 0-24 or a name such as INFO or ERROR2, got ${JSON.stringify(m.log_severity_number.min)}` });
  }
}

/** The collector's per-signal rules for a match section; returns an error message or undefined. */
export function checkMatchForSignal(m: MatchPropertiesConfig, signal: Signal, which: string): string | undefined {
  const given: string[] = [];
  for (const k of ['services', 'span_names', 'span_kinds', 'log_bodies', 'log_severity_texts', 'metric_names', 'attributes', 'resources', 'libraries'] as const) {
    if (m[k].length > 0) given.push(k);
  }
  if (m.log_severity_number) given.push('log_severity_number');
  const allowed = SIGNAL_PROPS[signal];
  const bad = given.filter((g) => !allowed.includes(g));
  if (bad.length > 0) return `${which}: ${bad.join(', ')} cannot be used in a ${signal} pipeline (allowed: ${allowed.join(', ')})`;
  if (given.length === 0) return `${which}: at least one of ${allowed.join(', ')} must be specified`;
  return undefined;
}

interface StringMatcher {
  test(s: string): boolean;
}

function stringSet(values: readonly string[], regexp: boolean): StringMatcher | undefined {
  if (values.length === 0) return undefined;
  if (regexp) {
    const res = values.map((v) => new RegExp(v));
    return { test: (s) => res.some((r) => r.test(s)) };
  }
  const set = new Set(values);
  return { test: (s) => set.has(s) };
}

interface AttrProperty {
  keyBytes: Buffer;
  /** strict: encoded AnyValue content and its type. */
  strict: { type: ValueType; content: Buffer; str: string } | undefined;
  regex: RegExp | undefined;
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64): shortest digits, never an exponent. */
function formatFloatF(d: number): string {
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

function compileAttrs(list: MatchPropertiesConfig['attributes'], regexp: boolean): AttrProperty[] {
  return list.map((a) => {
    const has = a.value !== undefined && a.value !== null;
    if (!has) return { keyBytes: utf8(a.key), strict: undefined, regex: undefined };
    if (regexp) return { keyBytes: utf8(a.key), strict: undefined, regex: new RegExp(String(a.value)) };
    const content = encodeAnyValue(a.value as JsAnyValue);
    return { keyBytes: utf8(a.key), strict: { type: typeOfContent(content), content, str: anyValueAsString(content, 0, content.length) }, regex: undefined };
  });
}

function typeOfContent(content: Buffer): ValueType {
  if (content.length === 0) return ValueType.Empty;
  return (content[0]! >>> 3) as ValueType;
}

/** Whether every property matches the attributes loaded in `attrs` (the collector's AttributesMatcher). */
function attrsMatch(props: readonly AttrProperty[], attrs: AttrList): boolean {
  for (const p of props) {
    const i = attrs.indexOf(p.keyBytes);
    if (i < 0) return false;
    if (p.regex) {
      const t = attrs.type(i);
      let sv: string;
      if (t === ValueType.String) sv = attrs.str(i);
      else if (t === ValueType.Bool) sv = attrs.bool(i) ? 'true' : 'false';
      else if (t === ValueType.Int) sv = attrs.int(i).toString();
      else if (t === ValueType.Double) sv = formatFloatF(attrs.double(i));
      else return false;
      if (!p.regex.test(sv)) return false;
    } else if (p.strict) {
      const t = attrs.type(i);
      if (t !== p.strict.type) return false;
      if (t === ValueType.String) {
        if (attrs.str(i) !== p.strict.str) return false;
      } else if (t === ValueType.Double) {
        if (attrs.double(i) !== Number(p.strict.str)) return false;
      } else if (attrs.asString(i) !== p.strict.str) return false;
    }
  }
  return true;
}

/** One compiled include or exclude section. */
export class Matcher {
  private readonly services: StringMatcher | undefined;
  private readonly spanNames: StringMatcher | undefined;
  private readonly spanKinds: StringMatcher | undefined;
  private readonly bodies: StringMatcher | undefined;
  private readonly sevTexts: StringMatcher | undefined;
  private readonly sevMin: number | undefined;
  private readonly sevUndefined: boolean;
  private readonly metricNames: StringMatcher | undefined;
  private readonly attributes: AttrProperty[];
  private readonly resources: AttrProperty[];
  private readonly libraries: { name: StringMatcher; version: StringMatcher | undefined }[];
  /** Whether the record-level part needs the record's attributes. */
  readonly needsRecordAttrs: boolean;
  readonly hasResourcePart: boolean;
  readonly hasScopePart: boolean;
  readonly hasMetricPart: boolean;
  private readonly resAttrs = new AttrList();
  private readonly range: Range = { start: 0, end: 0 };

  constructor(m: MatchPropertiesConfig) {
    const re = m.match_type === 'regexp';
    this.services = stringSet(m.services, re);
    this.spanNames = stringSet(m.span_names, re);
    this.spanKinds = stringSet(m.span_kinds, re);
    this.bodies = stringSet(m.log_bodies, re);
    this.sevTexts = stringSet(m.log_severity_texts, re);
    this.sevMin = m.log_severity_number ? parseSeverity(m.log_severity_number.min) : undefined;
    this.sevUndefined = m.log_severity_number?.match_undefined ?? false;
    this.metricNames = stringSet(m.metric_names, re);
    this.attributes = compileAttrs(m.attributes, re);
    this.resources = compileAttrs(m.resources, re);
    this.libraries = m.libraries.map((l) => ({ name: stringSet([l.name], re)!, version: l.version === undefined ? undefined : stringSet([l.version], re) }));
    this.needsRecordAttrs = this.attributes.length > 0;
    this.hasResourcePart = this.resources.length > 0 || this.services !== undefined;
    this.hasScopePart = this.libraries.length > 0;
    this.hasMetricPart = this.metricNames !== undefined;
  }

  /** The resource part: `resources` and (traces) `services`. */
  matchResource(rv: ResourceView): boolean {
    if (!this.hasResourcePart) return true;
    const attrs = this.resAttrs.load(rv.buf, rv.start, rv.end, FIELD.resourceAttributes);
    if (this.resources.length > 0 && !attrsMatch(this.resources, attrs)) return false;
    if (this.services) {
      const i = attrs.indexOf(SERVICE_NAME);
      const name = i >= 0 && attrs.type(i) === ValueType.String ? attrs.str(i) : '';
      if (!this.services.test(name)) return false;
    }
    return true;
  }

  /** The scope part: `libraries` (name and optional version). */
  matchScope(sv: ScopeView): boolean {
    if (!this.hasScopePart) return true;
    const r = this.range;
    const name = findLenField(sv.buf, sv.start, sv.end, FIELD.scopeName, r) ? sv.buf.toString('utf8', r.start, r.end) : '';
    const version = findLenField(sv.buf, sv.start, sv.end, FIELD.scopeVersion, r) ? sv.buf.toString('utf8', r.start, r.end) : '';
    for (const l of this.libraries) {
      if (!l.name.test(name)) return false;
      if (l.version && !l.version.test(version)) return false;
    }
    return true;
  }

  matchMetric(mv: MetricView): boolean {
    if (!this.metricNames) return true;
    const r = this.range;
    const name = findLenField(mv.buf, mv.start, mv.end, FIELD.metricName, r) ? mv.buf.toString('utf8', r.start, r.end) : '';
    return this.metricNames.test(name);
  }

  /** The record part; `attrs` is loaded on the record's attributes when needsRecordAttrs. */
  matchRecord(rec: RecordView, attrs: AttrList): boolean {
    const { buf, start, end } = rec;
    const r = this.range;
    if (this.bodies) {
      const body = findLenField(buf, start, end, FIELD.logBody, r) ? anyValueAsString(buf, r.start, r.end) : '';
      if (!this.bodies.test(body)) return false;
    }
    if (this.sevTexts) {
      const text = findLenField(buf, start, end, FIELD.logSeverityText, r) ? buf.toString('utf8', r.start, r.end) : '';
      if (!this.sevTexts.test(text)) return false;
    }
    if (this.sevMin !== undefined) {
      const sev = findVarintField(buf, start, end, FIELD.logSeverityNumber, 0);
      if (sev === 0 ? !this.sevUndefined : sev < this.sevMin) return false;
    }
    if (this.spanNames) {
      const name = findLenField(buf, start, end, FIELD.spanName, r) ? buf.toString('utf8', r.start, r.end) : '';
      if (!this.spanNames.test(name)) return false;
    }
    if (this.spanKinds) {
      const kind = findVarintField(buf, start, end, FIELD.spanKind, 0);
      if (!this.spanKinds.test(SPAN_KINDS[kind] ?? '')) return false;
    }
    if (this.attributes.length > 0 && !attrsMatch(this.attributes, attrs)) return false;
    return true;
  }
}

const SERVICE_NAME = utf8('service.name');
