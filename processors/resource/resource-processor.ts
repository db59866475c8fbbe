/**
 * Resource processor (the collector's `resource`): runs an action list on the resource attributes of
 * every ResourceLogs/ResourceSpans/ResourceMetrics. Only the Resource message bytes and the length prefix
 * of their parent are rewritten; scopes and records are copied untouched, never even read.
 */
import type { Consumer } from '../../src/core/consumer.js';
import type { CreateSettings, Host, Processor } from '../../src/core/component.js';
import type { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';
import { applyActions, compileActions, type CompiledAction } from '../../src/processorhelper/attr-actions.js';
import { AttrList, FIELD, RequestWalker, SKIP, type ResourceView, type VisitResult } from '../../src/processorhelper/wire-edit.js';
import type { ResourceProcessorConfig } from './config.js';
import { editAndForward, wireContext, type WireProcessorContext } from '../../src/processorhelper/wire-processor.js';
import type { WireEditor } from '../../src/processorhelper/offload.js';
import { CodedError, componentLabel } from '../../src/core/errors.js';

export class ResourceProcessor implements Processor {
  private readonly wire: WireProcessorContext;
  private readonly actions: CompiledAction[];
  private readonly attrs = new AttrList();
  private readonly walker: RequestWalker;
  private meta: Readonly<Record<string, string>> | undefined;

  constructor(
    settings: CreateSettings,
    config: ResourceProcessorConfig,
    private readonly signal: Signal,
    next: Consumer,
  ) {
    this.wire = wireContext(settings, signal, next);
    const issues: { path: string[]; message: string }[] = [];
    this.actions = compileActions(config.attributes, ['attributes'], issues);
    if (issues.length > 0)
      throw new CodedError('GS_CONFIG_INVALID', `${componentLabel(settings)}: ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
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

  /** The edit: resource attributes only (cheap per request, so it stays on the event loop). */
  private readonly editor: WireEditor = {
    edit: (bytes, meta) => {
      this.meta = meta;
      try {
        return this.walker.walk(this.signal, bytes);
      } finally {
        this.meta = undefined;
      }
    },
  };

  consume(payload: Payload): Promise<void> {
    return editAndForward(this.wire, payload, this.editor);
  }
}
