/**
 * The filter processor's OTTL conditions (`<signal>.resource`, `traces.span`, `traces.spanevent`,
 * `metrics.metric`, `metrics.datapoint`, `logs.log_record`): an item matching any condition of its context is dropped, then
 * containers left empty. Conditions run on the decoded request (src/ottl/run.ts), which is re-encoded only
 * when something was dropped.
 */
import type { Signal } from '../../src/core/signal.js';
import { PermanentError, messageOf } from '../../src/core/errors.js';
import type { Logger } from '../../src/telemetry/logger.js';
import type { Payload } from '../../src/pdata/payload.js';
import { compileConditions } from '../../src/ottl/config.js';
import { filterItems, OttlEvalError, type FilterRules } from '../../src/ottl/run.js';
import { compileWireRecordFilter, type WireRecordFilter } from '../../src/ottl/wire-paths.js';
import type { FilterProcessorConfig } from './config.js';

export class OttlFilter {
  /** Set when every condition is on records and reads only what the wire offers (src/ottl/wire-paths.ts). */
  private readonly wire: WireRecordFilter | undefined;

  private constructor(
    private readonly signal: Signal,
    private readonly rules: FilterRules,
    private readonly config: FilterProcessorConfig,
    private readonly logger: Logger,
  ) {
    const recordTexts = signal === 'logs' ? config.logs.log_record : signal === 'traces' ? config.traces.span : config.metrics.datapoint;
    const onlyRecords =
      rules.resource === undefined && (signal === 'logs' || (signal === 'traces' ? config.traces.spanevent.length === 0 : config.metrics.metric.length === 0));
    this.wire = onlyRecords ? compileWireRecordFilter(signal, recordTexts) : undefined;
  }

  /** Which path requests take. */
  get path(): 'wire' | 'decoded' {
    return this.wire ? 'wire' : 'decoded';
  }

  /** The OTTL filter for this signal, or undefined when the config has no conditions for it. */
  static create(config: FilterProcessorConfig, signal: Signal, logger: Logger): OttlFilter | undefined {
    const rules: FilterRules = {};
    const resource = config[signal].resource;
    if (resource.length > 0) rules.resource = compileConditions(resource, 'resource', signal);
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
    const opts = {
      errorMode: this.config.error_mode,
      meta: payload.meta,
      onIgnoredError: (text: string, err: unknown) =>
        this.logger.warn('OTTL condition failed; treated as false (error_mode ignore)', { condition: text, error: messageOf(err) }),
    };
    try {
      if (this.wire) {
        const before = payload.itemCount;
        const out = this.wire.edit(payload.bytes, opts);
        if (!out.changed || out.items === before) return 0;
        payload.replaceBytes(out.bytes, out.items);
        return before - out.items;
      }
      outcome = filterItems(this.signal, payload.decode(), this.rules, opts);
    } catch (err) {
      const what = err instanceof OttlEvalError ? err.message : `cannot read the ${this.signal} request: ${messageOf(err)}`;
      throw new PermanentError(`processor ${id}: ${what}`, { cause: err, code: 'GS_PROCESSOR_FAILED' });
    }
    if (outcome.changed) payload.changed();
    return outcome.dropped;
  }
}
