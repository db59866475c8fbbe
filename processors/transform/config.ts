/**
 * The transform processor's config, as the collector's: `trace_statements`, `metric_statements`,
 * `log_statements` (`{context, conditions, statements}` groups, then statement strings: one group with
 * one context inferred for them all) and `error_mode`. Statements are parsed and compiled at config load, so a bad one fails
 * validation with its file:line and its column.
 */
import { s, type ConfigOf } from '../../src/core/schema.js';
import { StatementGroupsSchema } from '../../src/ottl/config.js';

export const transformProcessorConfig = s.object({
  error_mode: s
    .enum('ignore', 'silent', 'propagate')
    .default('propagate')
    .describe(
      'What a statement that fails on an item does: propagate (the request is refused as permanent), ignore (logged, the next statement runs), silent (not logged)',
    ),
  trace_statements: new StatementGroupsSchema('traces')
    .default([])
    .describe(
      'OTTL statements for spans: {context: resource|scope|span|spanevent, conditions, statements, error_mode} groups, then strings (one group, one context inferred for them all)',
    ),
  metric_statements: new StatementGroupsSchema('metrics')
    .default([])
    .describe('OTTL statements for metrics: {context: resource|scope|metric|datapoint, conditions, statements, error_mode} groups, then strings (one group)'),
  log_statements: new StatementGroupsSchema('logs')
    .default([])
    .describe('OTTL statements for logs: {context: resource|scope|log, conditions, statements, error_mode} groups, then strings (one group)'),
  flatten_data: s.notYet('flatten_data (log statements on flattened resource/scope copies)'),
  profile_statements: s.notYet('profiles'),
});

export type TransformProcessorConfig = ConfigOf<typeof transformProcessorConfig>;
