/**
 * The attributes processor's include / exclude sections: their config keys (the collector's
 * filterconfig.MatchProperties), validation per signal, and the adapter to the walker's views. The rules
 * themselves are shared with the filter processor (src/processorhelper/match-rules.ts). An item is
 * processed when it matches `include` (if set) and does not match `exclude` (if set).
 */
import { regexpCacheSchema } from '../../src/processorhelper/attr-actions.js';
import { Schema, s, type ConfigIssue, type ConfigOf, type SchemaDoc } from '../../src/core/schema.js';
import type { Signal } from '../../src/core/signal.js';
import { AttrList, FIELD, type MetricView, type RecordView, type ResourceView, type ScopeView } from '../../src/processorhelper/wire-edit.js';
import { MatchRule, lenFieldString, type MatchProperties } from '../../src/processorhelper/match-rules.js';
import { re2RegExp } from '../../src/processorhelper/re2.js';

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
          re2RegExp(p);
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
            re2RegExp(a.value);
          } catch (err) {
            issues.push({ path: [...path, l, String(i), 'value'], message: `invalid regular expression "${a.value}": ${(err as Error).message}` });
          }
        }
      });
    }
  }
  if (m.log_severity_number && parseSeverity(m.log_severity_number.min) === undefined) {
    issues.push({
      path: [...path, 'log_severity_number', 'min'],
      message: `expected a severity number 0-24 or a name such as INFO or ERROR2, got ${JSON.stringify(m.log_severity_number.min)}`,
    });
  }
}

/** The collector's per-signal rules for a match section; returns an error message or undefined. */
export function checkMatchForSignal(m: MatchPropertiesConfig, signal: Signal, which: string): string | undefined {
  const given: string[] = [];
  for (const k of [
    'services',
    'span_names',
    'span_kinds',
    'log_bodies',
    'log_severity_texts',
    'metric_names',
    'attributes',
    'resources',
    'libraries',
  ] as const) {
    if (m[k].length > 0) given.push(k);
  }
  if (m.log_severity_number) given.push('log_severity_number');
  const allowed = SIGNAL_PROPS[signal];
  const bad = given.filter((g) => !allowed.includes(g));
  if (bad.length > 0) return `${which}: ${bad.join(', ')} cannot be used in a ${signal} pipeline (allowed: ${allowed.join(', ')})`;
  if (given.length === 0) return `${which}: at least one of ${allowed.join(', ')} must be specified`;
  return undefined;
}

/** The match section as the collector's MatchProperties (src/processorhelper/match-rules.ts evaluates them). */
function matchProperties(m: MatchPropertiesConfig): MatchProperties {
  return {
    matchType: m.match_type,
    services: m.services,
    spanNames: m.span_names,
    spanKinds: m.span_kinds,
    logBodies: m.log_bodies,
    logSeverityTexts: m.log_severity_texts,
    logSeverityNumber: m.log_severity_number
      ? { min: parseSeverity(m.log_severity_number.min) ?? 0, matchUndefined: m.log_severity_number.match_undefined }
      : undefined,
    metricNames: m.metric_names,
    attributes: m.attributes,
    resources: m.resources,
    libraries: m.libraries,
  };
}

/** One compiled include or exclude section, read at the level the walker visits. */
export class Matcher {
  private readonly rule: MatchRule;
  readonly hasResourcePart: boolean;
  readonly hasScopePart: boolean;
  readonly hasMetricPart: boolean;
  private readonly resAttrs = new AttrList();

  constructor(m: MatchPropertiesConfig) {
    this.rule = new MatchRule(matchProperties(m));
    this.hasResourcePart = this.rule.resource !== undefined;
    this.hasScopePart = this.rule.scope !== undefined;
    this.hasMetricPart = this.rule.metric !== undefined;
  }

  /** The resource part: `resources` and (traces) `services`. */
  matchResource(rv: ResourceView): boolean {
    const part = this.rule.resource;
    return !part || part(this.resAttrs.load(rv.buf, rv.start, rv.end, FIELD.resourceAttributes));
  }

  /** The scope part: `libraries` (name and optional version). */
  matchScope(sv: ScopeView): boolean {
    const part = this.rule.scope;
    return !part || part(lenFieldString(sv, FIELD.scopeName), lenFieldString(sv, FIELD.scopeVersion));
  }

  matchMetric(mv: MetricView): boolean {
    const part = this.rule.metric;
    return !part || part.matches(lenFieldString(mv, FIELD.metricName));
  }

  /** The record part; `attrs` holds the record's attributes, loaded by the caller. */
  matchRecord(rec: RecordView, attrs: AttrList): boolean {
    const part = this.rule.record;
    return !part || part(rec, () => attrs);
  }
}
