/**
 * The count connector's config, as the collector's: with no settings it emits the default counts
 * (trace.span.count, trace.span.event.count, metric.count, metric.datapoint.count, log.record.count);
 * `spans`, `spanevents`, `metrics`, `datapoints`, `logs` define custom counts by metric name, each with a
 * description, OTTL `conditions` (an item is counted when any holds; none: every item) and `attributes`
 * (a count per set of values of those attributes; not for `metrics`, as the collector).
 */
import { Schema, notSupportedYetMessage, s, type ConfigIssue, type ConfigOf, type SchemaDoc } from '../../src/core/schema.js';
import { ConditionsSchema } from '../../src/ottl/config.js';
import type { ContextName } from '../../src/ottl/paths.js';

/** One attribute a count is grouped by; `default_value` counts items without it (string, int or float; '' or 0: none). */
export interface CountAttributeConfig {
  key: string;
  default_value: string | number | undefined;
}

export interface CountMetricConfig {
  description: string;
  conditions: string[];
  attributes: CountAttributeConfig[];
}

const METRIC_KEYS = ['description', 'conditions', 'attributes'];

class CountsSchema extends Schema<Record<string, CountMetricConfig>> {
  private readonly conditions: ConditionsSchema;
  constructor(
    context: ContextName,
    signal: 'traces' | 'metrics' | 'logs',
    private readonly groupable: boolean,
  ) {
    super();
    this.conditions = new ConditionsSchema(context, signal);
  }
  protected check(v: unknown, path: string[], issues: ConfigIssue[]): Record<string, CountMetricConfig> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      issues.push({ path, message: 'expected a map of metric names to {description, conditions, attributes}' });
      return {};
    }
    const out: Record<string, CountMetricConfig> = {};
    for (const [name, raw] of Object.entries(v)) {
      const at = [...path, name];
      const o = (raw ?? {}) as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        if (!METRIC_KEYS.includes(k)) issues.push({ path: [...at, k], message: `unknown key; valid keys here: ${METRIC_KEYS.join(', ')}` });
      }
      out[name] = {
        description: typeof o.description === 'string' ? o.description : '',
        conditions: this.conditions.parse(o.conditions, [...at, 'conditions'], issues) ?? [],
        attributes: this.attributes(o.attributes, [...at, 'attributes'], issues),
      };
    }
    return out;
  }
  private attributes(v: unknown, path: string[], issues: ConfigIssue[]): CountAttributeConfig[] {
    if (v === undefined || v === null) return [];
    if (!this.groupable) {
      // The collector refuses it too ("metrics attributes not supported").
      issues.push({ path, message: 'metric counts cannot be grouped by attributes (the collector refuses them too); group datapoints instead' });
      return [];
    }
    if (!Array.isArray(v)) {
      issues.push({ path, message: 'expected a list of {key, default_value}' });
      return [];
    }
    return v.map((item, i) => {
      const o = (item ?? {}) as Record<string, unknown>;
      const at = [...path, String(i)];
      for (const k of Object.keys(o))
        if (k !== 'key' && k !== 'default_value' && k !== 'any_depth')
          issues.push({ path: [...at, k], message: 'unknown key; valid keys here: key, default_value, any_depth' });
      // Its off value is the collector's default, and means what the key alone means here.
      if (o.any_depth !== undefined && o.any_depth !== null && o.any_depth !== false)
        issues.push({ path: [...at, 'any_depth'], message: notSupportedYetMessage('finds the key inside nested map attributes too') });
      if (typeof o.key !== 'string' || o.key === '') issues.push({ path: [...at, 'key'], message: 'is required: the attribute to count by' });
      const d = o.default_value;
      if (d !== undefined && d !== null && typeof d !== 'string' && typeof d !== 'number')
        issues.push({ path: [...at, 'default_value'], message: `must be a string, an integer or a float; got ${JSON.stringify(d)}` });
      return { key: typeof o.key === 'string' ? o.key : '', default_value: typeof d === 'string' || typeof d === 'number' ? d : undefined };
    });
  }
  doc(): SchemaDoc {
    return {
      ...this.baseDoc('map'),
      items: {
        type: 'map',
        fields: {
          description: { type: 'string' },
          conditions: { type: 'list of string' },
          ...(this.groupable ? { attributes: { type: 'list of {key, default_value, any_depth}' } } : {}),
        },
      },
    };
  }
}

export const countConnectorConfig = s.object({
  spans: new CountsSchema('span', 'traces', true).default({}).describe('custom span counts (replace trace.span.count)'),
  spanevents: new CountsSchema('spanevent', 'traces', true).default({}).describe('custom span event counts (replace trace.span.event.count)'),
  metrics: new CountsSchema('metric', 'metrics', false).default({}).describe('custom metric counts (replace metric.count)'),
  datapoints: new CountsSchema('datapoint', 'metrics', true).default({}).describe('custom data point counts (replace metric.datapoint.count)'),
  logs: new CountsSchema('log', 'logs', true).default({}).describe('custom log record counts (replace log.record.count)'),
  profiles: s.notYet('counts profiles (GopherShip has no profiles signal)'),
});

export type CountConnectorConfig = ConfigOf<typeof countConnectorConfig>;
