/**
 * Compiled matchers for the legacy filter semantics of the collector (internal/filter), read straight
 * from the wire: a string set (strict equality, or regexps any one of which is found in the value, as
 * Go's MatchString), an attribute matcher (every listed key present, with a matching value when one is
 * given) and the log/span property matchers, where every criterion given must hold.
 *
 * A property matcher is split by level so the walk evaluates resource and scope criteria once per
 * resource/scope and only record criteria per record.
 */
import { AttrList, FIELD, ValueType, anyValueAsString, findLenField, findVarintField, utf8, type Range, type RecordView } from '../../src/processorhelper/wire-edit.js';
import type { AttrValue, AttributeMatch, LogMatchConfig, MetricMatchConfig, SpanMatchConfig } from './config.js';
import { SEVERITY_NUMBERS } from './config.js';

export interface StringSet {
  matches(value: string): boolean;
}

export function stringSet(patterns: readonly string[], matchType: string | undefined): StringSet | undefined {
  if (patterns.length === 0) return undefined;
  if (matchType === 'regexp') {
    const res = [...new Set(patterns)].map((p) => new RegExp(p));
    return { matches: (v) => res.some((r) => r.test(v)) };
  }
  const set = new Set(patterns);
  return { matches: (v) => set.has(v) };
}

interface AttrCriterion {
  key: Uint8Array;
  value?: AttrValue;
  re?: RegExp;
}

/** Strict equality after the collector: the types must agree (a YAML integer also equals a double of that value). */
function strictEquals(want: AttrValue, attrs: AttrList, i: number): boolean {
  switch (attrs.type(i)) {
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

/** A regexp attribute criterion sees scalars only (the collector's attributeStringValue). */
function isScalar(t: ValueType): boolean {
  return t === ValueType.String || t === ValueType.Bool || t === ValueType.Int || t === ValueType.Double;
}

export type AttrsMatcher = (attrs: AttrList) => boolean;

export function attrsMatcher(list: readonly AttributeMatch[], matchType: string | undefined): AttrsMatcher | undefined {
  if (list.length === 0) return undefined;
  const crit: AttrCriterion[] = list.map((a) =>
    a.value === undefined
      ? { key: utf8(a.key) }
      : matchType === 'regexp'
        ? { key: utf8(a.key), re: new RegExp(String(a.value)) }
        : { key: utf8(a.key), value: a.value },
  );
  return (attrs) => {
    for (const c of crit) {
      const i = attrs.indexOf(c.key);
      if (i < 0) return false;
      if (c.re) {
        if (!isScalar(attrs.type(i)) || !c.re.test(attrs.asString(i))) return false;
      } else if (c.value !== undefined && !strictEquals(c.value, attrs, i)) return false;
    }
    return true;
  };
}

/** One include or exclude rule, split by the level its criteria read. */
export interface LevelMatcher {
  /** Criteria on the resource (attributes, service.name); undefined = none. */
  resource?: (attrs: AttrList) => boolean;
  /** Criteria on the instrumentation scope (name, version). */
  scope?: (name: string, version: string) => boolean;
  /** Criteria on the record itself; `attrs` is loaded lazily through `loadAttrs`. */
  record?: (rec: RecordView, loadAttrs: () => AttrList) => boolean;
}

const SERVICE_NAME = utf8('service.name');
const RANGE: Range = { start: 0, end: 0 };

function lenFieldString(rec: RecordView, field: number): string {
  return findLenField(rec.buf, rec.start, rec.end, field, RANGE) ? rec.buf.toString('utf8', RANGE.start, RANGE.end) : '';
}

export function logMatcher(m: LogMatchConfig): LevelMatcher {
  const bodies = stringSet(m.bodies, m.match_type);
  const texts = stringSet(m.severity_texts, m.match_type);
  const rec = attrsMatcher(m.record_attributes, m.match_type);
  const min = m.severity_number.min === '' ? undefined : SEVERITY_NUMBERS[m.severity_number.min.toUpperCase()]!;
  const matchUndefined = m.severity_number.match_undefined;
  return {
    resource: attrsMatcher(m.resource_attributes, m.match_type),
    record: (r, loadAttrs) => {
      if (bodies) {
        const body = findLenField(r.buf, r.start, r.end, FIELD.logBody, RANGE) ? anyValueAsString(r.buf, RANGE.start, RANGE.end) : '';
        if (!bodies.matches(body)) return false;
      }
      if (texts && !texts.matches(lenFieldString(r, FIELD.logSeverityText))) return false;
      if (min !== undefined) {
        const sev = findVarintField(r.buf, r.start, r.end, FIELD.logSeverityNumber, 0);
        if (sev === 0) {
          if (!matchUndefined) return false;
        } else if (sev < min) return false;
      }
      return !rec || rec(loadAttrs());
    },
  };
}

const SPAN_KIND_NAMES = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];

export function spanMatcher(m: SpanMatchConfig): LevelMatcher {
  const services = stringSet(m.services, m.match_type);
  const res = attrsMatcher(m.resources, m.match_type);
  const names = stringSet(m.span_names, m.match_type);
  const kinds = stringSet(m.span_kinds, m.match_type);
  const attrs = attrsMatcher(m.attributes, m.match_type);
  const libs = m.libraries.map((l) => ({ name: stringSet([l.name], m.match_type)!, version: l.version === undefined ? undefined : stringSet([l.version], m.match_type) }));
  const out: LevelMatcher = {};
  if (services || res) {
    out.resource = (a) => {
      if (services) {
        const i = a.indexOf(SERVICE_NAME);
        // The collector's placeholder when the resource has no service.name.
        if (!services.matches(i < 0 ? '<nil-service-name>' : a.asString(i))) return false;
      }
      return !res || res(a);
    };
  }
  if (libs.length > 0) {
    out.scope = (name, version) => libs.every((l) => l.name.matches(name) && (!l.version || l.version.matches(version)));
  }
  if (names || kinds || attrs) {
    out.record = (r, loadAttrs) => {
      if (names && !names.matches(lenFieldString(r, FIELD.spanName))) return false;
      if (kinds && !kinds.matches(SPAN_KIND_NAMES[findVarintField(r.buf, r.start, r.end, FIELD.spanKind, 0)] ?? '')) return false;
      return !attrs || attrs(loadAttrs());
    };
  }
  return out;
}

/**
 * Metrics are matched in two independent steps, as the collector does: resource_attributes decide for a
 * whole resource, metric_names for each metric.
 */
export function metricMatchers(m: MetricMatchConfig): { resource?: AttrsMatcher; name?: StringSet } {
  return { resource: attrsMatcher(m.resource_attributes, m.match_type), name: stringSet(m.metric_names, m.match_type) };
}
