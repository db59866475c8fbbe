/**
 * Resource processor (the collector's `resource`): runs an action list on the resource attributes of
 * every ResourceLogs/ResourceSpans/ResourceMetrics. Only the Resource message bytes and the length prefix
 * of their parent are rewritten; scopes and records are copied untouched, never even read.
 */
import type { Consumer } from '../../src/core/consumer.js';
import type { CreateSettings, Host, Processor } from '../../src/core/component.js';
import type { Payload } from '../../src/core/payload.js';
import type { Signal } from '../../src/core/signal.js';
import { applyActions, compileActions, type CompiledAction } from '../../src/otlp/attr-actions.js';
import { AttrList, FIELD, RequestWalker, SKIP, type ResourceView, type VisitResult } from '../../src/otlp/wire-edit.js';
import type { ResourceProcessorConfig } from './config.js';

export class ResourceProcessor implements Processor {
  private readonly labels: { processor: string; otel_signal: Signal };
  private readonly actions: CompiledAction[];
  private readonly attrs = new AttrList();
  private readonly walker: RequestWalker;
  private meta: Readonly<Record<string, string>> | undefined;

  constructor(
    private readonly settings: CreateSettings,
    config: ResourceProcessorConfig,
    private readonly signal: Signal,
    private readonly next: Consumer,
  ) {
    this.labels = { processor: settings.id.id, otel_signal: signal };
    const issues: { path: string[]; message: string }[] = [];
    this.actions = compileActions(config.attributes, ['attributes'], issues);
    if (issues.length > 0) throw new Error(`processor ${settings.id.id}: ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    this.walker = new RequestWalker({ resource: (rv) => this.resource(rv) });
  }

  private resource(rv: ResourceView): VisitResult {
    const attrs = this.attrs.load(rv.buf, rv.start, rv.end, FIELD.resourceAttributes);
    applyActions(this.actions, attrs, this.meta);
    // SKIP either way: nothing below the resource is read.
    return attrs.build() ?? SKIP;
  }

  async start(_host?: Host): Promise<void> {}
  async shutdown(): Promise<void> {}

  consume(payload: Payload): Promise<void> {
    let items: number;
    try {
      items = payload.itemCount;
      this.settings.telemetry.processorIncoming.inc(this.labels, items);
      this.meta = payload.meta;
      const out = this.walker.walk(this.signal, payload.bytes);
      if (out.changed) payload.replaceBytes(out.bytes, items);
    } catch (err) {
      return Promise.reject(err);
    } finally {
      this.meta = undefined;
    }
    this.settings.telemetry.processorOutgoing.inc(this.labels, items);
    return this.next.consume(payload);
  }
}
