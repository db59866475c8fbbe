/**
 * The filter processor's legacy include/exclude sections as the collector's match properties: the
 * collector converts them to filterconfig.MatchProperties too, and the rules themselves (string sets,
 * attributes, severities, services, libraries) are shared with the attributes processor in
 * src/processorhelper/match-rules.ts. A rule is split by level so the walk judges resource and scope
 * criteria once per resource/scope and record criteria per record.
 */
import { MatchRule, type AttrsMatcher, type StringSet } from '../../src/processorhelper/match-rules.js';
import type { LogMatchConfig, MetricMatchConfig, SpanMatchConfig } from './config.js';
import { SEVERITY_NUMBERS } from './config.js';

/** One include or exclude rule, split by the level its criteria read (parts without criteria are undefined). */
export type LevelMatcher = Pick<MatchRule, 'resource' | 'scope' | 'record'>;

export function logMatcher(m: LogMatchConfig): LevelMatcher {
  const min = m.severity_number.min === '' ? undefined : SEVERITY_NUMBERS[m.severity_number.min.toUpperCase()]!;
  return new MatchRule({
    matchType: m.match_type === 'regexp' ? 'regexp' : 'strict',
    resources: m.resource_attributes,
    attributes: m.record_attributes,
    logSeverityTexts: m.severity_texts,
    logSeverityNumber: min === undefined ? undefined : { min, matchUndefined: m.severity_number.match_undefined },
    logBodies: m.bodies,
  });
}

export function spanMatcher(m: SpanMatchConfig): LevelMatcher {
  return new MatchRule({
    matchType: m.match_type === 'regexp' ? 'regexp' : 'strict',
    services: m.services,
    resources: m.resources,
    spanNames: m.span_names,
    spanKinds: m.span_kinds,
    attributes: m.attributes,
    libraries: m.libraries,
  });
}

/**
 * Metrics are matched in two independent steps, as the collector does: resource_attributes decide for a
 * whole resource, metric_names for each metric.
 */
export function metricMatchers(m: MetricMatchConfig): { resource?: AttrsMatcher; name?: StringSet } {
  const rule = new MatchRule({ matchType: m.match_type === 'regexp' ? 'regexp' : 'strict', resources: m.resource_attributes, metricNames: m.metric_names });
  return { resource: rule.resource, name: rule.metric };
}
