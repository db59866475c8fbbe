/**
 * Transform processor: runs the configured OTTL statement groups, in order, over every request of its
 * signal. Statements that only write attributes with literals (set, delete_key; no where clause) run on
 * the encoded request with the wire editor (src/ottl/wire.ts); any other statement decodes the request
 * once, runs every group on the decoded messages and re-encodes it only if a statement ran.
 */
import type { Consumer } from '../../src/core/consumer.js';
import type { CreateSettings, Host, Processor } from '../../src/core/component.js';
import { PermanentError, componentLabel, messageOf } from '../../src/core/errors.js';
import type { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';
import { compileGroup } from '../../src/ottl/config.js';
import { runStatements, OttlEvalError, type ErrorMode, type StatementGroup } from '../../src/ottl/run.js';
import { compileWireTransform, type WireTransform } from '../../src/ottl/wire.js';
import type { TransformProcessorConfig } from './config.js';

const STATEMENTS_KEY = { traces: 'trace_statements', metrics: 'metric_statements', logs: 'log_statements' } as const;

/** Consecutive groups sharing one error mode run as one pass. */
interface Pass {
  errorMode: ErrorMode;
  groups: StatementGroup[];
}

export class TransformProcessor implements Processor {
  private readonly passes: Pass[] = [];
  private readonly wire: WireTransform | undefined;
  private readonly labels: { processor: string; otel_signal: Signal };

  constructor(
    private readonly settings: CreateSettings,
    config: TransformProcessorConfig,
    private readonly signal: Signal,
    private readonly next: Consumer,
  ) {
    this.labels = { processor: settings.id.id, otel_signal: signal };
    const all: StatementGroup[] = [];
    // One group per config group; a list's plain statements are one group (the collector's basic style),
    // run in its inferred context: in order on each item, sharing the item's `cache`.
    for (const g of config[STATEMENTS_KEY[signal]]) {
      const group = compileGroup(g, signal);
      const errorMode = group.errorMode ?? config.error_mode;
      const last = this.passes[this.passes.length - 1];
      if (last && last.errorMode === errorMode) last.groups.push(group);
      else this.passes.push({ errorMode, groups: [group] });
      all.push(group);
    }
    // A statement that writes only literals cannot fail, so error modes do not matter on the wire path.
    this.wire = compileWireTransform(signal, all);
  }

  /** Which path requests take: none (no statements), wire, or decoded. */
  get path(): 'none' | 'wire' | 'decoded' {
    return this.passes.length === 0 ? 'none' : this.wire ? 'wire' : 'decoded';
  }

  async start(_host?: Host): Promise<void> {}
  async shutdown(): Promise<void> {}

  consume(payload: Payload): Promise<void> {
    if (this.passes.length === 0) return this.next.consume(payload);
    const tel = this.settings.telemetry;
    let items: number;
    try {
      items = payload.itemCount;
      tel.processorIncoming.inc(this.labels, items);
      if (this.wire) {
        const out = this.wire.edit(payload.bytes);
        if (out.changed) payload.replaceBytes(out.bytes, items);
      } else {
        const msg = payload.decode();
        let changed = false;
        for (const pass of this.passes) {
          const ran = runStatements(this.signal, msg, pass.groups, {
            errorMode: pass.errorMode,
            meta: payload.meta,
            onIgnoredError: (text, err) =>
              this.settings.logger.warn('OTTL statement failed; going on (error_mode ignore)', { statement: text, error: messageOf(err) }),
          });
          changed ||= ran;
        }
        if (changed) payload.changed();
      }
    } catch (err) {
      const what = err instanceof OttlEvalError ? err.message : `cannot read the ${this.signal} request: ${messageOf(err)}`;
      return Promise.reject(new PermanentError(`${componentLabel(this.settings)}: ${what}`, { cause: err, code: 'GS_PROCESSOR_FAILED' }));
    }
    tel.processorOutgoing.inc(this.labels, items);
    return this.next.consume(payload);
  }
}
