/**
 * The filter processor's OTTL conditions (`<signal>.resource`, `traces.span`, `traces.spanevent`,
 * `metrics.metric`, `metrics.datapoint`, `logs.log_record`, and the context-inferred
 * `<signal>_conditions` groups, run in order): an item matching any condition of its context is
 * dropped, then containers left empty. Conditions run on the decoded request (src/ottl/run.ts), which is re-encoded only
 * when something was dropped.
 */
import type { Signal } from '../../src/core/signal.js';
import { PermanentError, messageOf } from '../../src/core/errors.js';
import type { Logger } from '../../src/telemetry/logger.js';
import type { Payload } from '../../src/pdata/payload.js';
import { compileConditionGroup, compileConditions } from '../../src/ottl/config.js';
import { filterItems, OttlEvalError, type ErrorMode, type FilterRules, type RunOptions } from '../../src/ottl/run.js';
import { compileWireRecordFilter, type WireRecordFilter } from '../../src/ottl/wire-paths.js';
import type { FilterProcessorConfig } from './config.js';

/** Rules run together under one error mode; `<signal>_conditions` groups are one pass each, in order. */
interface Pass {
  rules: FilterRules;
  errorMode: ErrorMode;
}

export class OttlFilter {
  /** Set when every condition is on records and reads only what the wire offers (src/ottl/wire-paths.ts). */
  private readonly wire: WireRecordFilter | undefined;

  private constructor(
    private readonly signal: Signal,
    private readonly passes: readonly Pass[],
    private readonly config: FilterProcessorConfig,
    private readonly logger: Logger,
  ) {
    const recordTexts = signal === 'logs' ? config.logs.log_record : signal === 'traces' ? config.traces.span : config.metrics.datapoint;
    // The wire filter takes the per-signal record conditions alone (no resource, spanevent or metric rules).
    const onlyRecords = passes.length === 1 && recordTexts.length > 0 && Object.keys(passes[0]!.rules).length === 1;
    this.wire = onlyRecords ? compileWireRecordFilter(signal, recordTexts) : undefined;
  }

  /** Which path requests take. */
  get path(): 'wire' | 'decoded' {
    return this.wire ? 'wire' : 'decoded';
  }

  /** The OTTL filter for this signal, or undefined when the config has no conditions for it. */
  static create(config: FilterProcessorConfig, signal: Signal, logger: Logger): OttlFilter | undefined {
    const passes: Pass[] = [];
    const groups = signal === 'logs' ? config.log_conditions : signal === 'traces' ? config.trace_conditions : config.metric_conditions;
    for (const g of groups) {
      const { context, conditions, errorMode } = compileConditionGroup(g, signal);
      passes.push({ rules: { [context]: conditions }, errorMode: errorMode ?? config.error_mode });
    }
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
    if (Object.keys(rules).length > 0) passes.push({ rules, errorMode: config.error_mode });
    return passes.length > 0 ? new OttlFilter(signal, passes, config, logger) : undefined;
  }

  /** Drops matching items in place; returns the records dropped. Throws PermanentError under propagate. */
  apply(payload: Payload, id: string): number {
    const opts = (errorMode: ErrorMode): RunOptions => ({
      errorMode,
      meta: payload.meta,
      onIgnoredError: (text: string, err: unknown) =>
        this.logger.warn('OTTL condition failed; treated as false (error_mode ignore)', { condition: text, error: messageOf(err) }),
    });
    let dropped = 0;
    let changed = false;
    try {
      if (this.wire) {
        const before = payload.itemCount;
        const out = this.wire.edit(payload.bytes, opts(this.passes[0]!.errorMode));
        if (!out.changed || out.items === before) return 0;
        payload.replaceBytes(out.bytes, out.items);
        return before - out.items;
      }
      const msg = payload.decode();
      for (const pass of this.passes) {
        const outcome = filterItems(this.signal, msg, pass.rules, opts(pass.errorMode));
        dropped += outcome.dropped;
        changed ||= outcome.changed;
      }
    } catch (err) {
      const what = err instanceof OttlEvalError ? err.message : `cannot read the ${this.signal} request: ${messageOf(err)}`;
      throw new PermanentError(`processor ${id}: ${what}`, { cause: err, code: 'GS_PROCESSOR_FAILED' });
    }
    if (changed) payload.changed();
    return dropped;
  }
}
