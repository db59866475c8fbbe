/**
 * The count connector's config, as the collector's: with no settings it emits the default counts
 * (trace.span.count, trace.span.event.count, metric.count, metric.data_point.count, log.record.count);
 * `spans`, `spanevents`, `metrics`, `datapoints`, `logs` define custom counts by metric name, each with a
 * description and OTTL `conditions` (an item is counted when any holds; none: every item). Grouping by
 * `attributes` is not supported yet.
 */
import { Schema, s, type ConfigIssue, type ConfigOf, type SchemaDoc } from '../../src/core/schema.js';
import { ConditionsSchema } from '../../src/ottl/config.js';
import type { ContextName } from '../../src/ottl/paths.js';

export interface CountMetricConfig {
  description: string;
  conditions: string[];
}

class CountsSchema extends Schema<Record<string, CountMetricConfig>> {
  private readonly conditions: ConditionsSchema;
  constructor(context: ContextName, signal: 'traces' | 'metrics' | 'logs') {
    super();
    this.conditions = new ConditionsSchema(context, signal);
  }
  protected check(v: unknown, path: string[], issues: ConfigIssue[]): Record<string, CountMetricConfig> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      issues.push({ path, message: 'expected a map of metric names to {description, conditions}' });
      return {};
    }
    const out: Record<string, CountMetricConfig> = {};
    for (const [name, raw] of Object.entries(v)) {
      const at = [...path, name];
      const o = (raw ?? {}) as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        if (k === 'attributes') issues.push({ path: [...at, k], message: 'grouping counts by attributes is not supported yet' });
        else if (k !== 'description' && k !== 'conditions') issues.push({ path: [...at, k], message: 'unknown key; valid keys here: description, conditions' });
      }
      out[name] = {
        description: typeof o.description === 'string' ? o.description : '',
        conditions: this.conditions.parse(o.conditions, [...at, 'conditions'], issues) ?? [],
      };
    }
    return out;
  }
  doc(): SchemaDoc {
    return { ...this.baseDoc('map'), items: { type: 'map', fields: { description: { type: 'string' }, conditions: { type: 'list of string' } } } };
  }
}

export const countConnectorConfig = s.object({
  spans: new CountsSchema('span', 'traces').default({}).describe('custom span counts (replace trace.span.count)'),
  spanevents: new CountsSchema('spanevent', 'traces').default({}).describe('custom span event counts (replace trace.span.event.count)'),
  metrics: new CountsSchema('metric', 'metrics').default({}).describe('custom metric counts (replace metric.count)'),
  datapoints: new CountsSchema('datapoint', 'metrics').default({}).describe('custom data point counts (replace metric.data_point.count)'),
  logs: new CountsSchema('log', 'logs').default({}).describe('custom log record counts (replace log.record.count)'),
});

export type CountConnectorConfig = ConfigOf<typeof countConnectorConfig>;
