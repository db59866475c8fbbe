/**
 * Filter processor: drops log records, spans or metrics by the collector's legacy include/exclude rules.
 * It works on the wire (src/processorhelper/wire-edit.ts): criteria read only the fields they name, dropped records
 * are cut out of the bytes, and nothing is decoded. A request in which nothing is dropped goes on as the
 * very bytes it arrived as; a request that loses everything resolves without reaching the next stage (the
 * collector's ErrSkipProcessingData).
 */
import type { Consumer } from '../../src/core/consumer.js';
import type { CreateSettings, Host, Processor } from '../../src/core/component.js';
import type { Payload } from '../../src/pdata/payload.js';
import { SIGNALS, type Signal } from '../../src/core/signal.js';
import {
  AttrList,
  DROP,
  FIELD,
  KEEP,
  RequestWalker,
  findLenField,
  type Range,
  type RecordView,
  type RequestVisitor,
  type WalkResult,
} from '../../src/processorhelper/wire-edit.js';
import { logMatchIsEmpty, metricMatchIsEmpty, spanMatchIsEmpty, type FilterProcessorConfig } from './config.js';
import { logMatcher, metricMatchers, spanMatcher, type LevelMatcher } from './match.js';
import { editAndForward, wireContext, type WireProcessorContext } from '../../src/processorhelper/wire-processor.js';
import type { WireEditor, WorkerEditorFactory, WorkerEditorSpec } from '../../src/processorhelper/offload.js';
import { sharedCounter } from '../../src/telemetry/metrics.js';
import { FILTERED_BY_SIGNAL, METRICS } from './metadata.js';
import { OttlFilter } from './ottl-filter.js';

export class FilterProcessor implements Processor {
  private readonly wire: WireProcessorContext;
  private readonly editor: FilterEditor;
  /** OTTL conditions for this signal (decoded path), when configured; else the wire match rules. */
  private readonly ottl: OttlFilter | undefined;
  /** Counts dropped items in gophership_processor_filtered_items and the collector's per-signal counter. */
  private readonly countFiltered: (items: number) => void;

  constructor(
    private readonly settings: CreateSettings,
    config: FilterProcessorConfig,
    signal: Signal,
    private readonly next: Consumer,
  ) {
    const filtered = sharedCounter(settings.telemetry.registry, METRICS.filteredItems);
    // All three registered (as the collector's meter creates them); this signal's counts.
    for (const sig of SIGNALS) sharedCounter(settings.telemetry.registry, FILTERED_BY_SIGNAL[sig]);
    const collectorFiltered = sharedCounter(settings.telemetry.registry, FILTERED_BY_SIGNAL[signal]).labels({ filter: settings.id.id });
    const countFiltered = (items: number): void => {
      filtered.inc(this.wire.labels, items);
      collectorFiltered.inc(items);
    };
    this.countFiltered = countFiltered;
    this.ottl = OttlFilter.create(config, signal, settings.logger);
    this.editor = new FilterEditor(config, signal);
    this.wire = wireContext(settings, signal, next, {
      // Per-record matching: worth a worker thread when the service has them (and the config filters).
      offload: this.editor.active ? { editor: WORKER_EDITOR, config } : undefined,
      settle: (out, before) => {
        // Nothing dropped: the request goes on untouched, even if pruning would have removed containers
        // that arrived empty.
        if (!out || !out.changed || out.items === before) return undefined;
        countFiltered(before - out.items);
        return out;
      },
    });
  }

  async start(_host?: Host): Promise<void> {}
  async shutdown(): Promise<void> {}

  consume(payload: Payload): Promise<void> {
    if (this.ottl) return this.consumeOttl(this.ottl, payload);
    return editAndForward(this.wire, payload, this.editor);
  }

  private consumeOttl(ottl: OttlFilter, payload: Payload): Promise<void> {
    const tel = this.settings.telemetry;
    let before: number;
    let dropped: number;
    try {
      before = payload.itemCount;
      tel.processorIncoming.inc(this.wire.labels, before);
      dropped = ottl.apply(payload, this.settings.id.id);
    } catch (err) {
      return Promise.reject(err);
    }
    if (dropped > 0) this.countFiltered(dropped);
    const after = before - dropped;
    tel.processorOutgoing.inc(this.wire.labels, after);
    // Nothing left: done, as the collector's ErrSkipProcessingData.
    if (after === 0 && dropped > 0) return Promise.resolve();
    return this.next.consume(payload);
  }
}

/** The filter's edit of one request: matching records (and then empty containers) cut out. */
export class FilterEditor implements WireEditor {
  /** Undefined when the config filters nothing for this signal: requests pass without a walk. */
  private readonly walker: RequestWalker | undefined;

  constructor(
    config: FilterProcessorConfig,
    private readonly signal: Signal,
  ) {
    const visitor =
      signal === 'metrics'
        ? metricsVisitor(config)
        : signal === 'logs'
          ? recordVisitor(config.logs, logMatchIsEmpty, logMatcher)
          : recordVisitor(config.spans, spanMatchIsEmpty, spanMatcher);
    // pruneEmpty: scopes and resources left without records are removed, as the collector removes them.
    this.walker = visitor && new RequestWalker(visitor, { pruneEmpty: true });
  }

  get active(): boolean {
    return this.walker !== undefined;
  }

  edit(bytes: Uint8Array): WalkResult | undefined {
    return this.walker?.walk(this.signal, bytes);
  }
}

/**
 * Logs and spans: include and exclude are each split by level; resource and scope criteria are judged
 * once per resource/scope, record criteria per record. skip = not included, or excluded.
 */
function recordVisitor<M>(rules: { include: M; exclude: M }, isEmpty: (m: M) => boolean, compile: (m: M) => LevelMatcher): RequestVisitor | undefined {
  const inc = isEmpty(rules.include) ? undefined : compile(rules.include);
  const exc = isEmpty(rules.exclude) ? undefined : compile(rules.exclude);
  if (!inc && !exc) return undefined;
  const resAttrs = new AttrList();
  const recAttrs = new AttrList();
  const range: Range = { start: 0, end: 0 };
  // Per-resource and per-scope verdicts, and the lazily loaded record attributes (no allocation per record).
  let incRes = true;
  let excRes = true;
  let incScope = true;
  let excScope = true;
  let cur: RecordView | undefined;
  let loaded = false;
  const loadAttrs = (): AttrList => {
    if (!loaded) {
      recAttrs.load(cur!.buf, cur!.start, cur!.end, cur!.attrField);
      loaded = true;
    }
    return recAttrs;
  };
  const visitor: RequestVisitor = {
    record(rec) {
      cur = rec;
      loaded = false;
      if (inc && !(incRes && incScope && (!inc.record || inc.record(rec, loadAttrs)))) return DROP;
      if (exc && excRes && excScope && (!exc.record || exc.record(rec, loadAttrs))) return DROP;
      return KEEP;
    },
  };
  if (inc?.resource || exc?.resource) {
    visitor.resource = (r) => {
      resAttrs.load(r.buf, r.start, r.end, FIELD.resourceAttributes);
      incRes = !inc?.resource || inc.resource(resAttrs);
      excRes = !exc?.resource || exc.resource(resAttrs);
      return KEEP;
    };
  }
  if (inc?.scope || exc?.scope) {
    visitor.scope = (s) => {
      const name = findLenField(s.buf, s.start, s.end, FIELD.scopeName, range) ? s.buf.toString('utf8', range.start, range.end) : '';
      const version = findLenField(s.buf, s.start, s.end, FIELD.scopeVersion, range) ? s.buf.toString('utf8', range.start, range.end) : '';
      incScope = !inc?.scope || inc.scope(name, version);
      excScope = !exc?.scope || exc.scope(name, version);
      return KEEP;
    };
  }
  return visitor;
}

/** Metrics: resource_attributes decide whole resources, metric_names each metric (as the collector). */
function metricsVisitor(config: FilterProcessorConfig): RequestVisitor | undefined {
  const { include, exclude } = config.metrics;
  const inc = metricMatchIsEmpty(include) ? {} : metricMatchers(include);
  const exc = metricMatchIsEmpty(exclude) ? {} : metricMatchers(exclude);
  if (!inc.resource && !exc.resource && !inc.name && !exc.name) return undefined;
  const attrs = new AttrList();
  const range: Range = { start: 0, end: 0 };
  const visitor: RequestVisitor = {};
  if (inc.resource || exc.resource) {
    visitor.resource = (r) => {
      attrs.load(r.buf, r.start, r.end, FIELD.resourceAttributes);
      if (inc.resource && !inc.resource(attrs)) return DROP;
      if (exc.resource && exc.resource(attrs)) return DROP;
      return KEEP;
    };
  }
  if (inc.name || exc.name) {
    visitor.metric = (m) => {
      const name = findLenField(m.buf, m.start, m.end, FIELD.metricName, range) ? m.buf.toString('utf8', range.start, range.end) : '';
      if (inc.name && !inc.name.matches(name)) return DROP;
      if (exc.name && exc.name.matches(name)) return DROP;
      return KEEP;
    };
  }
  return visitor;
}

/** Builds this processor's editor on a worker thread (named by WORKER_EDITOR). */
export const filterEditor: WorkerEditorFactory = (config, signal) => new FilterEditor(config as FilterProcessorConfig, signal);

/** What the service's worker threads run for this processor: the editor factory above, from this module. */
const WORKER_EDITOR: WorkerEditorSpec = { module: import.meta.url, exportName: 'filterEditor' };
