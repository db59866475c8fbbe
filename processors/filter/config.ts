/**
 * The filter processor's config: the collector's legacy include/exclude shape (match_type strict|regexp),
 * not its OTTL conditions. Patterns are compiled here so a bad regexp fails validation with its key path.
 */
import { regexpCacheSchema } from '../../src/processorhelper/attr-actions.js';
import { Schema, notSupportedYetMessage, s, type ConfigIssue, type ConfigOf, type SchemaDoc } from '../../src/core/schema.js';
import { ConditionGroupsSchema, ConditionsSchema } from '../../src/ottl/config.js';
import { re2RegExp } from '../../src/processorhelper/re2.js';

export type AttrValue = string | number | boolean;

/** One `{key, value}` entry; the value is optional (absent: the key only has to exist). */
export interface AttributeMatch {
  key: string;
  value?: AttrValue;
}

/**
 * `{key, value}` as the collector reads it (mapstructure is case-insensitive, and its README writes
 * `Key:`/`Value:`, so both spellings are accepted).
 */
class AttributeMatchSchema extends Schema<AttributeMatch> {
  protected check(v: unknown, path: string[], issues: ConfigIssue[]): AttributeMatch {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      issues.push({ path, message: 'expected a map {key, value}' });
      return { key: '' };
    }
    let key: unknown;
    let value: unknown;
    for (const [k, val] of Object.entries(v)) {
      const lk = k.toLowerCase();
      if (lk === 'key') key = val;
      else if (lk === 'value') value = val;
      else issues.push({ path: [...path, k], message: 'unknown key; valid keys here: key, value' });
    }
    if (typeof key !== 'string' || key === '') {
      issues.push({ path: [...path, 'key'], message: 'is required: the attribute key to match (a non-empty string)' });
      return { key: '' };
    }
    if (value === undefined || value === null) return { key };
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      issues.push({ path: [...path, 'value'], message: 'must be a string, number or bool (lists and maps are not supported)' });
      return { key };
    }
    return { key, value };
  }
  doc(): SchemaDoc {
    return { type: 'map', fields: { key: { type: 'string' }, value: { type: 'any', description: 'optional; absent = the key only has to exist' } } };
  }
}

const attributes = () => s.array(new AttributeMatchSchema()).default([]);
const matchType = () => s.enum('strict', 'regexp').describe('strict: exact equality; regexp: RE2-style pattern found anywhere in the value');
const strings = () => s.array(s.string()).default([]);

/** Severity names the collector accepts for `severity_number.min` (case-insensitive), and 1..24. */
export const SEVERITY_NUMBERS: Record<string, number> = (() => {
  const out: Record<string, number> = {};
  ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].forEach((name, i) => {
    const base = i * 4 + 1;
    out[name] = base;
    for (let k = 2; k <= 4; k++) out[`${name}${k}`] = base + k - 1;
  });
  for (let n = 1; n <= 24; n++) out[String(n)] = n;
  return out;
})();

const logMatch = s.object({
  match_type: matchType(),
  regexp: regexpCacheSchema,
  resource_attributes: attributes().describe('all listed resource attributes must match'),
  record_attributes: attributes().describe('all listed log record attributes must match'),
  severity_texts: strings().describe('the severity text must match one of these'),
  severity_number: s.object({
    min: s.string().default('').describe('lowest severity that matches: TRACE..FATAL4 (case-insensitive) or 1..24'),
    match_undefined: s.bool().default(false).describe('whether records without a severity number match'),
  }),
  bodies: strings().describe('the body (as a string) must match one of these'),
});

const spanMatch = s.object({
  match_type: matchType(),
  regexp: regexpCacheSchema,
  services: strings().describe('service.name of the resource must match one of these'),
  span_names: strings().describe('the span name must match one of these'),
  span_kinds: strings().describe('the span kind (SPAN_KIND_SERVER, ...) must match one of these'),
  attributes: attributes().describe('all listed span attributes must match'),
  resources: attributes().describe('all listed resource attributes must match'),
  libraries: s
    .array(s.object({ name: s.string().default(''), version: s.string() }))
    .default([])
    .describe('instrumentation scope name (and version when given) must match'),
});

const metricMatch = s.object({
  match_type: s.enum('strict', 'regexp', 'expr').describe('strict or regexp (expr is not supported yet)'),
  metric_names: strings().describe('the metric name must match one of these'),
  regexp: regexpCacheSchema,
  expressions: s.notYet('expr-language conditions on metrics (match_type: expr)'),
  resource_attributes: attributes().describe('all listed resource attributes must match (applied to whole resources)'),
});

export type LogMatchConfig = ConfigOf<typeof logMatch>;
export type SpanMatchConfig = ConfigOf<typeof spanMatch>;
export type MetricMatchConfig = ConfigOf<typeof metricMatch>;

function compileAll(patterns: readonly string[], path: string[], issues: ConfigIssue[]): void {
  patterns.forEach((p, i) => {
    try {
      re2RegExp(p);
    } catch (err) {
      issues.push({ path: [...path, String(i)], message: `is not a valid regular expression: ${(err as Error).message}` });
    }
  });
}

function checkAttrs(list: readonly AttributeMatch[], mt: string | undefined, path: string[], issues: ConfigIssue[]): void {
  list.forEach((a, i) => {
    if (mt === 'regexp' && a.value !== undefined) {
      if (typeof a.value !== 'string') issues.push({ path: [...path, String(i), 'value'], message: 'match_type regexp needs a string pattern' });
      else compileAll([a.value], [...path, String(i)], issues);
    }
  });
}

/** Properties that hold no criterion are ignored, as the collector ignores an empty include/exclude. */
export function logMatchIsEmpty(m: LogMatchConfig): boolean {
  return (
    m.resource_attributes.length === 0 &&
    m.record_attributes.length === 0 &&
    m.severity_texts.length === 0 &&
    m.bodies.length === 0 &&
    m.severity_number.min === ''
  );
}
export function spanMatchIsEmpty(m: SpanMatchConfig): boolean {
  return (
    m.services.length === 0 &&
    m.span_names.length === 0 &&
    m.span_kinds.length === 0 &&
    m.attributes.length === 0 &&
    m.resources.length === 0 &&
    m.libraries.length === 0
  );
}
export function metricMatchIsEmpty(m: MetricMatchConfig): boolean {
  return m.metric_names.length === 0 && m.resource_attributes.length === 0;
}

const needMatchType = (path: string[], issues: ConfigIssue[]) =>
  issues.push({ path: [...path, 'match_type'], message: 'is required when criteria are given: strict or regexp' });

/** An attribute criterion with a value: it is compared by the match type (a key alone only has to exist). */
const anyValued = (...lists: (readonly AttributeMatch[])[]) => lists.some((l) => l.some((a) => a.value !== undefined));

/**
 * Whether the criteria compare text or values by the match type, as the collector's filtersets do: a
 * `severity_number` (a number compared with `min`) or attribute keys alone need none, so the collector
 * takes `include: {severity_number: {min: INFO}}` without `match_type` (its own testdata does).
 */
const logNeedsMatchType = (m: LogMatchConfig) => m.severity_texts.length > 0 || m.bodies.length > 0 || anyValued(m.resource_attributes, m.record_attributes);
const spanNeedsMatchType = (m: SpanMatchConfig) =>
  m.services.length > 0 || m.span_names.length > 0 || m.span_kinds.length > 0 || m.libraries.length > 0 || anyValued(m.attributes, m.resources);

const checkedLog = s.refine(logMatch, (m, path, issues) => {
  if (logMatchIsEmpty(m)) return;
  if (m.match_type === undefined && logNeedsMatchType(m)) return needMatchType(path, issues);
  if (m.severity_number.min !== '' && SEVERITY_NUMBERS[m.severity_number.min.toUpperCase()] === undefined) {
    issues.push({
      path: [...path, 'severity_number', 'min'],
      message: `"${m.severity_number.min}" is not a severity: use TRACE, DEBUG, INFO, WARN, ERROR, FATAL (optionally 2-4 suffixed) or 1..24`,
    });
  }
  if (m.match_type === 'regexp') {
    compileAll(m.severity_texts, [...path, 'severity_texts'], issues);
    compileAll(m.bodies, [...path, 'bodies'], issues);
  }
  checkAttrs(m.resource_attributes, m.match_type, [...path, 'resource_attributes'], issues);
  checkAttrs(m.record_attributes, m.match_type, [...path, 'record_attributes'], issues);
});

const SPAN_KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];

const checkedSpan = s.refine(spanMatch, (m, path, issues) => {
  if (spanMatchIsEmpty(m)) return;
  if (m.match_type === undefined && spanNeedsMatchType(m)) return needMatchType(path, issues);
  if (m.match_type === 'regexp') {
    compileAll(m.services, [...path, 'services'], issues);
    compileAll(m.span_names, [...path, 'span_names'], issues);
    compileAll(m.span_kinds, [...path, 'span_kinds'], issues);
    m.libraries.forEach((l, i) => compileAll(l.version === undefined ? [l.name] : [l.name, l.version], [...path, 'libraries', String(i)], issues));
  } else {
    m.span_kinds.forEach((k, i) => {
      if (!SPAN_KINDS.includes(k))
        issues.push({ path: [...path, 'span_kinds', String(i)], message: `"${k}" is not a span kind; use one of ${SPAN_KINDS.slice(1).join(', ')}` });
    });
  }
  checkAttrs(m.attributes, m.match_type, [...path, 'attributes'], issues);
  checkAttrs(m.resources, m.match_type, [...path, 'resources'], issues);
});

const checkedMetric = s.refine(metricMatch, (m, path, issues) => {
  if (m.match_type === 'expr') {
    issues.push({
      path: [...path, 'match_type'],
      message: `"expr": ${notSupportedYetMessage('matches metrics by expr-language expressions')}; use strict or regexp metric_names, or OTTL metric conditions`,
    });
    return;
  }
  if (metricMatchIsEmpty(m)) return;
  if (m.match_type === undefined && (m.metric_names.length > 0 || anyValued(m.resource_attributes))) return needMatchType(path, issues);
  if (m.match_type === 'regexp') compileAll(m.metric_names, [...path, 'metric_names'], issues);
  checkAttrs(m.resource_attributes, m.match_type, [...path, 'resource_attributes'], issues);
});

const conditions = (context: 'resource' | 'span' | 'spanevent' | 'metric' | 'datapoint' | 'log', signal: 'traces' | 'metrics' | 'logs', what: string) =>
  new ConditionsSchema(context, signal).default([]).describe(`OTTL conditions in the ${context} context: ${what} matching any of them is dropped`);

export const filterProcessorConfig = s.refine(
  s.object({
    error_mode: s
      .enum('ignore', 'silent', 'propagate')
      .default('propagate')
      .describe(
        'What a condition that fails on an item does: propagate (the request is refused as permanent), ignore (logged; the condition counts as false), silent (not logged)',
      ),
    logs: s
      .object({
        include: checkedLog,
        exclude: checkedLog,
        resource: conditions('resource', 'logs', 'a resource (with all its log records)'),
        log_record: conditions('log', 'logs', 'a log record'),
      })
      .describe('log records to keep (include) or drop (exclude), or OTTL resource and log_record conditions'),
    spans: s.object({ include: checkedSpan, exclude: checkedSpan }).describe('spans to keep (include) or drop (exclude)'),
    traces: s
      .object({
        resource: conditions('resource', 'traces', 'a resource (with all its spans)'),
        span: conditions('span', 'traces', 'a span'),
        spanevent: conditions('spanevent', 'traces', 'a span event'),
      })
      .describe('OTTL conditions for resources, spans and span events'),
    metrics: s
      .object({
        include: checkedMetric,
        exclude: checkedMetric,
        resource: conditions('resource', 'metrics', 'a resource (with all its metrics)'),
        metric: conditions('metric', 'metrics', 'a metric (with all its data points)'),
        datapoint: conditions('datapoint', 'metrics', 'a data point'),
      })
      .describe('metrics to keep (include) or drop (exclude), or OTTL resource, metric and datapoint conditions'),
    trace_conditions: new ConditionGroupsSchema('traces')
      .default([])
      .describe(
        'OTTL conditions, context inferred from their paths (span.name, resource.attributes[...]), or {context: resource|scope|span|spanevent, conditions, error_mode} groups: an item matching any is dropped',
      ),
    metric_conditions: new ConditionGroupsSchema('metrics')
      .default([])
      .describe('OTTL conditions (context inferred) or {context: resource|scope|metric|datapoint, conditions, error_mode} groups'),
    log_conditions: new ConditionGroupsSchema('logs')
      .default([])
      .describe('OTTL conditions (context inferred) or {context: resource|scope|log, conditions, error_mode} groups'),
    profile_conditions: s.notYet('profiles'),
    profiles: s.notYet('profiles'),
  }),
  (c, path, issues) => {
    // As the collector: the context-inferred <signal>_conditions replace the per-signal keys.
    const inferred = (set: boolean, key: string, others: string) => {
      if (set) issues.push({ path: [...path, key], message: `use either ${key} or ${others}, not both (as the collector)` });
    };
    inferred(
      c.trace_conditions.length > 0 && c.traces.resource.length + c.traces.span.length + c.traces.spanevent.length > 0,
      'trace_conditions',
      'traces.resource, traces.span, traces.spanevent',
    );
    inferred(
      c.metric_conditions.length > 0 &&
        (c.metrics.resource.length + c.metrics.metric.length + c.metrics.datapoint.length > 0 ||
          !metricMatchIsEmpty(c.metrics.include) ||
          !metricMatchIsEmpty(c.metrics.exclude)),
      'metric_conditions',
      'metrics.resource, metrics.metric, metrics.datapoint, metrics.include, metrics.exclude',
    );
    inferred(
      c.log_conditions.length > 0 &&
        (c.logs.resource.length + c.logs.log_record.length > 0 || !logMatchIsEmpty(c.logs.include) || !logMatchIsEmpty(c.logs.exclude)),
      'log_conditions',
      'logs.resource, logs.log_record, logs.include, logs.exclude',
    );
    // As the collector: one signal is filtered either by match properties or by OTTL conditions.
    const both = (legacy: boolean, ottl: boolean, key: string, ottlKeys: string) => {
      if (legacy && ottl)
        issues.push({ path: [...path, key], message: `use either include/exclude or OTTL conditions (${ottlKeys}) for one signal, not both` });
    };
    both(
      !logMatchIsEmpty(c.logs.include) || !logMatchIsEmpty(c.logs.exclude),
      c.logs.resource.length + c.logs.log_record.length > 0,
      'logs',
      'logs.resource, logs.log_record',
    );
    both(
      !spanMatchIsEmpty(c.spans.include) || !spanMatchIsEmpty(c.spans.exclude),
      c.traces.resource.length + c.traces.span.length + c.traces.spanevent.length + c.trace_conditions.length > 0,
      'traces',
      'trace_conditions, traces.resource, traces.span, traces.spanevent',
    );
    both(
      !metricMatchIsEmpty(c.metrics.include) || !metricMatchIsEmpty(c.metrics.exclude),
      c.metrics.resource.length + c.metrics.metric.length + c.metrics.datapoint.length > 0,
      'metrics',
      'metrics.resource, metrics.metric, metrics.datapoint',
    );
  },
);

export type FilterProcessorConfig = ConfigOf<typeof filterProcessorConfig>;
