/**
 * The filter processor's OTTL conditions (`traces.span`, `traces.spanevent`, `metrics.metric`,
 * `metrics.datapoint`, `logs.log_record`): an item matching any condition of its context is dropped, then
 * containers left empty. Conditions run on the decoded request (src/ottl/run.ts), which is re-encoded only
 * when something was dropped.
 */
import type { Signal } from '../../src/core/signal.js';
import { PermanentError, messageOf } from '../../src/core/errors.js';
import type { Logger } from '../../src/telemetry/logger.js';
import type { Payload } from '../../src/pdata/payload.js';
import { compileConditions } from '../../src/ottl/config.js';
import { filterItems, OttlEvalError, type FilterRules } from '../../src/ottl/run.js';
import type { FilterProcessorConfig } from './config.js';

export class OttlFilter {
  private constructor(private readonly signal: Signal, private readonly rules: FilterRules, private readonly config: FilterProcessorConfig, private readonly logger: Logger) {}

  /** The OTTL filter for this signal, or undefined when the config has no conditions for it. */
  static create(config: FilterProcessorConfig, signal: Signal, logger: Logger): OttlFilter | undefined {
    const rules: FilterRules = {};
    if (signal === 'logs' && config.logs.log_record.length > 0) rules.log = compileConditions(config.logs.log_record, 'log', 'logs');
    if (signal === 'traces') {
      if (config.traces.span.length > 0) rules.span = compileConditions(config.traces.span, 'span', 'traces');
      if (config.traces.spanevent.length > 0) rules.spanevent = compileConditions(config.traces.spanevent, 'spanevent', 'traces');
    }
    if (signal === 'metrics') {
      if (config.metrics.metric.length > 0) rules.metric = compileConditions(config.metrics.metric, 'metric', 'metrics');
      if (config.metrics.datapoint.length > 0) rules.datapoint = compileConditions(config.metrics.datapoint, 'datapoint', 'metrics');
    }
    return Object.keys(rules).length > 0 ? new OttlFilter(signal, rules, config, logger) : undefined;
  }

  /** Drops matching items in place; returns the records dropped. Throws PermanentError under propagate. */
  apply(payload: Payload, id: string): number {
    let outcome;
    try {
      outcome = filterItems(this.signal, payload.decode(), this.rules, {
        errorMode: this.config.error_mode,
        meta: payload.meta,
        onIgnoredError: (text, err) => this.logger.warn('OTTL condition failed; treated as false (error_mode ignore)', { condition: text, error: messageOf(err) }),
      });
    } catch (err) {
      const what = err instanceof OttlEvalError ? err.message : `cannot read the ${this.signal} request: ${messageOf(err)}`;
      throw new PermanentError(`filter processor ${id}: ${what}`, { cause: err });
    }
    if (outcome.changed) payload.changed();
    return outcome.dropped;
  }
}
