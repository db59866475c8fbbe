/**
 * Attributes processor (the collector's `attributes`): runs an action list on the attributes of every
 * log record, span or metric data point that passes include/exclude. It edits the encoded request in
 * place (src/processorhelper/wire-edit.ts): only records that change are rebuilt, and a request where nothing
 * changed is forwarded as the same bytes. The edit itself (AttributesEditor) is pure, so it can run on a
 * worker thread (src/processorhelper/offload.ts) when the service has them.
 */
import type { Consumer } from '../../src/core/consumer.js';
import type { CreateSettings, Host, Processor } from '../../src/core/component.js';
import type { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';
import { applyActions, compileActions, type CompiledAction } from '../../src/processorhelper/attr-actions.js';
import {
  AttrList,
  KEEP,
  RequestWalker,
  SKIP,
  type MetricView,
  type RecordView,
  type RequestVisitor,
  type ResourceView,
  type ScopeView,
  type VisitResult,
  type WalkResult,
} from '../../src/processorhelper/wire-edit.js';
import type { AttributesProcessorConfig } from './config.js';
import { Matcher, checkMatchForSignal } from './match.js';
import { editAndForward, wireContext, type WireProcessorContext } from '../../src/processorhelper/wire-processor.js';
import type { RequestMeta, WireEditor, WorkerEditorFactory, WorkerEditorSpec } from '../../src/processorhelper/offload.js';
import { CodedError } from '../../src/core/errors.js';

export class AttributesProcessor implements Processor {
  private readonly wire: WireProcessorContext;
  private readonly editor: AttributesEditor;

  constructor(settings: CreateSettings, config: AttributesProcessorConfig, signal: Signal, next: Consumer) {
    this.editor = new AttributesEditor(config, signal, settings.id.id);
    this.wire = wireContext(settings, signal, next, { offload: { editor: WORKER_EDITOR, config } });
  }

  async start(_host?: Host): Promise<void> {}
  async shutdown(): Promise<void> {}

  consume(payload: Payload): Promise<void> {
    return editAndForward(this.wire, payload, this.editor);
  }
}

/** The processor's edit of one request: the action list on every matching record, on the wire. */
export class AttributesEditor implements WireEditor {
  private readonly actions: CompiledAction[];
  private readonly walker: RequestWalker;
  private readonly attrs = new AttrList();
  private readonly include: Matcher | undefined;
  private readonly exclude: Matcher | undefined;
  private meta: RequestMeta | undefined;
  // Per-resource / per-scope parts of include and exclude, computed once per container.
  private inclRes = true;
  private exclRes = true;
  private inclScope = true;
  private exclScope = true;

  constructor(
    config: AttributesProcessorConfig,
    private readonly signal: Signal,
    id: string,
  ) {
    const issues: { path: string[]; message: string }[] = [];
    this.actions = compileActions(config.actions, ['actions'], issues);
    if (issues.length > 0) throw new CodedError('GS_CONFIG_INVALID', `processor ${id}: ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    for (const [which, m] of [
      ['include', config.include],
      ['exclude', config.exclude],
    ] as const) {
      if (!m) continue;
      const problem = checkMatchForSignal(m, signal, which);
      if (problem) throw new CodedError('GS_CONFIG_INVALID', `processor ${id}: ${problem}`);
    }
    this.include = config.include ? new Matcher(config.include) : undefined;
    this.exclude = config.exclude ? new Matcher(config.exclude) : undefined;
    this.walker = new RequestWalker(this.visitor(), {});
  }

  private visitor(): RequestVisitor {
    const incl = this.include;
    const excl = this.exclude;
    const v: RequestVisitor = {
      record: (rec: RecordView): VisitResult => this.record(rec),
    };
    if (incl?.hasResourcePart || excl?.hasResourcePart) {
      v.resource = (rv: ResourceView) => {
        this.inclRes = incl ? incl.matchResource(rv) : true;
        this.exclRes = excl ? excl.matchResource(rv) : false;
        // Nothing below can be processed: skip the whole resource.
        if (!this.inclRes) return SKIP;
        if (excl && this.exclRes && !excl.hasScopePart && this.signal === 'metrics' && !excl.hasMetricPart) return SKIP;
        return KEEP;
      };
    }
    if (incl?.hasScopePart || excl?.hasScopePart) {
      v.scope = (sv: ScopeView) => {
        this.inclScope = incl ? incl.matchScope(sv) : true;
        this.exclScope = excl ? excl.matchScope(sv) : false;
        return this.inclScope ? KEEP : SKIP;
      };
    }
    if (this.signal === 'metrics' && (incl || excl)) {
      // Metrics match on metric name and resource only, so the decision is per metric.
      v.metric = (mv: MetricView) => {
        const inOk = !incl || (this.inclRes && incl.matchMetric(mv));
        const exHit = !!excl && this.exclRes && excl.matchMetric(mv);
        return inOk && !exHit ? KEEP : SKIP;
      };
    }
    return v;
  }

  private record(rec: RecordView): VisitResult {
    const attrs = this.attrs.load(rec.buf, rec.start, rec.end, rec.attrField);
    if (this.signal !== 'metrics') {
      const incl = this.include;
      const excl = this.exclude;
      if (incl && !(this.inclRes && this.inclScope && incl.matchRecord(rec, attrs))) return KEEP;
      if (excl && this.exclRes && this.exclScope && excl.matchRecord(rec, attrs)) return KEEP;
    }
    applyActions(this.actions, attrs, this.meta);
    return this.walker.replaceRecord(attrs);
  }

  edit(bytes: Uint8Array, meta: RequestMeta | undefined): WalkResult {
    this.meta = meta;
    this.inclRes = this.inclScope = true;
    // Parts without a hook (no resources/libraries given) match trivially.
    this.exclRes = this.exclScope = true;
    try {
      return this.walker.walk(this.signal, bytes);
    } finally {
      this.meta = undefined;
    }
  }
}

/** Builds this processor's editor on a worker thread (named by WORKER_EDITOR). */
export const attributesEditor: WorkerEditorFactory = (config, signal, id) => new AttributesEditor(config as AttributesProcessorConfig, signal, id);

/** What the service's worker threads run for this processor: the editor factory above, from this module. */
const WORKER_EDITOR: WorkerEditorSpec = { module: import.meta.url, exportName: 'attributesEditor' };
