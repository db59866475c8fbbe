/**
 * What the Prometheus reader of service.telemetry.metrics.readers does to the registry's series when /metrics
 * is rendered, as the collector's (the OpenTelemetry Go SDK's Prometheus exporter): the instrumentation scope
 * as labels (`without_scope_info: false`), the resource's attributes as labels (`with_resource_constant_labels`;
 * every attribute under the collector's default reader), and service.telemetry.metrics.views (drop, rename,
 * describe, keep some attributes, sum a histogram). The registry itself stays as the instruments made it, so the
 * status page and the primary's sum over workers read the names they always read; only the served text changes.
 * The one exception is a view's histogram buckets, which must be known when the histogram is created
 * (histogramBoundaries, read by sharedHistogram).
 *
 * Everything here runs per scrape, per series: nothing on the data path. What a metric family becomes is
 * decided once, the first time its name is rendered, and kept.
 */
import type { MetricValue, MetricObjectWithValues, Registry } from 'prom-client';
import type { ValidatedConfig } from '../config/validate.js';
import { metricName, type MetricDef } from '../core/metadata.js';
import { servedMetricName, type MetricNaming } from '../core/metric-naming.js';
import { ITEM_NOUN, SIGNALS } from '../core/signal.js';
import { prometheusReader } from './config.js';
import { promLabelName } from './telemetry.js';
import { EXPORTER_METRICS, PROCESSOR_METRICS, RECEIVER_METRICS, SERVICE_METRICS, WORKER_METRICS } from './metrics.js';

/** One instrument as the collector's SDK sees it: the metadata's name, type and unit, and its meter (scope). */
export interface InstrumentInfo {
  readonly instrument: string;
  readonly type: MetricDef['type'];
  readonly unit: string;
  readonly meter: string;
}

const COLLECTOR = 'go.opentelemetry.io/collector';
const CONTRIB = 'github.com/open-telemetry/opentelemetry-collector-contrib';
/** The component types whose collector package is in core (the rest are contrib's). */
const CORE_TYPES = new Set([
  'receiver/otlp',
  'processor/batch',
  'processor/memory_limiter',
  'exporter/otlp',
  'exporter/otlphttp',
  'exporter/debug',
  'connector/forward',
  'extension/zpages',
]);
/** The meter of a metric with no metadata (prom-client's process and Node.js metrics, the somatic runtime's). */
const SERVICE_METER = 'gophership/service';

/**
 * The shared metrics and the package that emits them in the collector: `otelcol_*` ones take its scope name
 * (`go.opentelemetry.io/collector/exporter/exporterhelper`), GopherShip's own `gophership/<package>`.
 */
const HELPER_METERS: ReadonlyArray<readonly [Record<string, MetricDef>, string]> = [
  [RECEIVER_METRICS, 'receiver/receiverhelper'],
  [PROCESSOR_METRICS, 'processor/processorhelper'],
  [EXPORTER_METRICS, 'exporter/exporterhelper'],
  [SERVICE_METRICS, 'service'],
  [WORKER_METRICS, 'service'],
];

const meterFor = (def: MetricDef, pkg: string): string => (def.name.startsWith('otelcol_') ? `${COLLECTOR}/${pkg}` : `gophership/${pkg}`);

/**
 * A component's scope name as the collector's metadata gives it: the Go package, `<kind>/<type><kind>`, in core
 * or contrib; GopherShip's own metrics (`gophership_*`, or any of a component of its own) `gophership/<package>`.
 */
function componentMeter(def: MetricDef, kind: string, type: string, gophershipOnly: boolean): string {
  const pkg = `${kind}/${type.replace(/_/g, '')}${kind}`;
  if (gophershipOnly || !def.name.startsWith('otelcol_')) return `gophership/${pkg}`;
  return `${CORE_TYPES.has(`${kind}/${type}`) ? COLLECTOR : CONTRIB}/${pkg}`;
}

function addDef(out: Map<string, InstrumentInfo>, def: MetricDef, naming: MetricNaming, meter: string): void {
  for (const noun of def.perSignal ? SIGNALS.map((sig) => ITEM_NOUN[sig]) : [undefined]) {
    const served = metricName(def, naming, noun);
    if (out.has(served)) continue;
    out.set(served, { instrument: noun === undefined ? def.name : `${def.name}_${noun}`, type: def.type, unit: def.unit, meter });
  }
}

/** Every metric the service's components and helpers register, by the name it is served under. */
export function instrumentCatalog(config: ValidatedConfig, naming: MetricNaming): Map<string, InstrumentInfo> {
  const out = new Map<string, InstrumentInfo>();
  for (const [defs, pkg] of HELPER_METERS) for (const def of Object.values(defs)) addDef(out, def, naming, meterFor(def, pkg));
  for (const kind of ['receivers', 'processors', 'exporters', 'connectors', 'extensions'] as const) {
    for (const c of config[kind].values()) {
      const f = c.factory;
      for (const def of f.metrics) addDef(out, def, naming, componentMeter(def, f.kind, f.type, f.gophershipOnly === true));
    }
  }
  return out;
}

/** A label added to every series of a family: its name, and `name="value"` as written. */
type ExtraLabel = readonly [name: string, formatted: string];

/**
 * One entry of service.telemetry.metrics.views, as the OpenTelemetry SDK applies it: the instruments its selector
 * picks (every given criterion must hold) become its stream instead of their default one.
 */
export interface ViewSpec {
  /** `selector.instrument_name`: the metadata's name (per signal: `otelcol_receiver_accepted_spans`), `*` and `?` allowed. */
  readonly instrumentName?: RegExp;
  /** `selector.unit`, exactly. */
  readonly unit?: string;
  /** `selector.meter_name`, exactly: the scope name `without_scope_info: false` shows. */
  readonly meterName?: string;
  /** `stream.aggregation`: which one (`default` when none is given). */
  readonly aggregation: Aggregation;
  /** Where the view is in service.telemetry.metrics.views, for the messages about it. */
  readonly index: number;
  /** `stream.name`: the new instrument name, served with the reader's suffixes as any name. */
  readonly name?: string;
  /** `stream.description`: the new HELP text. */
  readonly description?: string;
  /** `stream.attribute_keys`: the labels kept; series that differ only in the others are added up. */
  readonly keepKey?: (key: string) => boolean;
}

export interface ExpositionOptions {
  /** `otel_scope_name`, `otel_scope_schema_url` and `otel_scope_version` on every series (`without_scope_info: false`). */
  readonly scopeLabels: boolean;
  /** Resource attributes on every series, as label name and value (`with_resource_constant_labels`). */
  readonly constantLabels: ReadonlyArray<readonly [string, string]>;
  readonly views: readonly ViewSpec[];
}

export type Aggregation = 'default' | 'drop' | 'sum' | 'last_value' | 'explicit_bucket_histogram';

/**
 * What a view's aggregation makes of an instrument of this type, as the OpenTelemetry SDK pairs them: `same` as
 * registered (a sum of a counter, a histogram's new buckets set at registration), `sum` a histogram's sum of
 * observations as a counter, `none` not served (dropped, or a pairing the SDK refuses: last_value of a counter
 * or histogram). GopherShip's gauges stand for the collector's gauges and up-down counters alike, so a sum or
 * last value of one serves it as it is.
 */
function aggregate(agg: Aggregation, type: MetricDef['type']): 'same' | 'sum' | 'none' {
  if (agg === 'drop') return 'none';
  if (agg === 'last_value') return type === 'gauge' ? 'same' : 'none';
  if (agg === 'sum' && type === 'histogram') return 'sum';
  return 'same';
}

/** What one family is served as: a stream per view that picks it (none: dropped), or itself. */
interface StreamPlan {
  readonly name: string;
  readonly help?: string;
  readonly keepKey?: (key: string) => boolean;
  /** A histogram served as the counter of its observations' sum (aggregation: sum). */
  readonly asSum?: boolean;
  /** The labels added to each series, in the order they are written. */
  readonly extraLabels: readonly ExtraLabel[];
}

/** `*` (any run of characters) and `?` (one) in an OpenTelemetry config pattern, as a whole-string match. */
export function wildcard(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/**
 * The keys an `{included, excluded}` pair keeps, as the collector's (otelconf): an excluded key never, and
 * with `included` empty every other key; patterns take `*` and `?`.
 */
export function includeExclude(lists: { included: readonly string[]; excluded: readonly string[] }): (key: string) => boolean {
  const inc = lists.included.map(wildcard);
  const exc = lists.excluded.map(wildcard);
  return (key) => !exc.some((r) => r.test(key)) && (inc.length === 0 || inc.some((r) => r.test(key)));
}

type Family = MetricObjectWithValues<MetricValue<string> & { metricName?: string }>;

/** Families the reader leaves as they are: the resource's own info metric. */
const UNTOUCHED = new Set(['target_info']);
/** Labels that are part of a sample's shape, not attributes: a view's attribute_keys never removes them. */
const STRUCTURAL = new Set(['le', 'quantile']);

const PROM_TYPES: Readonly<Record<string, MetricDef['type']>> = { counter: 'counter', histogram: 'histogram' };

function viewPicks(v: ViewSpec, info: InstrumentInfo): boolean {
  return (
    (v.instrumentName === undefined || v.instrumentName.test(info.instrument)) &&
    (v.unit === undefined || v.unit === info.unit) &&
    (v.meterName === undefined || v.meterName === info.meter)
  );
}

/**
 * The series with only the labels `keepKey` keeps (and `le`), those left alike added up: a sum's and a
 * histogram's buckets add, a gauge the workers combine by `max` keeps the largest (as the primary's sum).
 */
function collapse(f: Family, keepKey: (key: string) => boolean): Family['values'] {
  const byKey = new Map<string, Family['values'][number]>();
  const max = f.aggregator === 'max';
  for (const v of f.values) {
    const labels: Record<string, string | number> = {};
    for (const [k, val] of Object.entries(v.labels)) if (val !== undefined && (STRUCTURAL.has(k) || keepKey(k))) labels[k] = val;
    const key = `${v.metricName ?? ''}\0${JSON.stringify(labels)}`;
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, { ...v, labels });
    else seen.value = max ? Math.max(seen.value, v.value) : seen.value + v.value;
  }
  return [...byKey.values()];
}

const escapeText = (t: string): string => t.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (t: string): string => escapeText(t).replace(/"/g, '\\"');

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v < 0 ? '-Inf' : '+Inf';
  return String(v);
}

export class Exposition {
  private readonly plans = new Map<string, readonly StreamPlan[]>();

  constructor(
    private readonly options: ExpositionOptions,
    private readonly catalog: ReadonlyMap<string, InstrumentInfo>,
    private readonly naming: MetricNaming,
  ) {}

  /** The reader serves the registry as prom-client writes it: no option asks for a change. */
  get passthrough(): boolean {
    return !this.options.scopeLabels && this.options.constantLabels.length === 0 && this.options.views.length === 0;
  }

  /** The registry's text as this reader serves it. */
  async render(registry: Registry): Promise<string> {
    if (this.passthrough) return registry.metrics();
    const families = (await registry.getMetricsAsJSON()) as Family[];
    const blocks: string[] = [];
    // A view's new name may be one another family is served under: the first to take a name keeps it.
    const written = new Set<string>();
    for (const f of families) {
      if (UNTOUCHED.has(f.name)) {
        written.add(f.name);
        blocks.push(this.write(f, f.name, f.help, f.values, []));
        continue;
      }
      for (const s of this.planFor(f)) {
        if (written.has(s.name)) continue;
        written.add(s.name);
        const source = s.asSum ? histogramSums(f) : f;
        blocks.push(this.write(source, s.name, s.help ?? f.help, s.keepKey ? collapse(source, s.keepKey) : source.values, s.extraLabels));
      }
    }
    return blocks.length === 0 ? '' : blocks.join('\n') + '\n';
  }

  /** Decided once per family name: its streams, named and labelled. */
  private planFor(f: Family): readonly StreamPlan[] {
    let plan = this.plans.get(f.name);
    if (plan) return plan;
    const info = this.catalog.get(f.name) ?? { instrument: f.name, type: PROM_TYPES[f.type] ?? 'gauge', unit: '', meter: SERVICE_METER };
    const extraLabels = this.extraLabels(info.meter);
    const picked = this.options.views.filter((v) => viewPicks(v, info));
    const streams: StreamPlan[] = [];
    for (const v of picked) {
      const how = aggregate(v.aggregation, info.type);
      if (how === 'none') continue;
      const type = how === 'sum' ? 'counter' : info.type;
      // A histogram summed is a counter: named as one (`_total` and the unit word when the reader adds them).
      const name = v.name === undefined && how === 'same' ? f.name : servedMetricName(v.name ?? info.instrument, type, info.unit, this.naming);
      streams.push({ name, help: v.description, keepKey: v.keepKey, asSum: how === 'sum', extraLabels });
    }
    plan = picked.length === 0 ? [{ name: f.name, extraLabels }] : streams;
    this.plans.set(f.name, plan);
    return plan;
  }

  private extraLabels(meter: string): ExtraLabel[] {
    const labels: ExtraLabel[] = [];
    if (this.options.scopeLabels)
      labels.push(
        ['otel_scope_name', `otel_scope_name="${escapeLabel(meter)}"`],
        ['otel_scope_schema_url', 'otel_scope_schema_url=""'],
        ['otel_scope_version', 'otel_scope_version=""'],
      );
    for (const [name, value] of this.options.constantLabels) labels.push([name, `${name}="${escapeLabel(value)}"`]);
    return labels;
  }

  /** What the views do that the collector's SDK refuses (last_value of a counter or histogram), to log at start. */
  refusedPairings(): string[] {
    const out: string[] = [];
    for (const v of this.options.views)
      for (const info of this.catalog.values())
        if (v.aggregation === 'last_value' && info.type !== 'gauge' && viewPicks(v, info))
          out.push(
            `service.telemetry.metrics.views.${v.index}: last_value does not apply to ${info.instrument} (a ${info.type}): it is not served, as the collector's SDK refuses the pairing`,
          );
    return out;
  }

  /**
   * One family in the text format, with `extra` after each series' own labels and before `le`; a series that
   * has a label of that name already keeps its own (a Prometheus series cannot carry a name twice).
   */
  private write(f: Family, name: string, help: string, values: Family['values'], extra: readonly ExtraLabel[]): string {
    const lines = [`# HELP ${name} ${escapeText(help)}`, `# TYPE ${name} ${f.type}`];
    for (const v of values) {
      const parts: string[] = [];
      let le: string | undefined;
      for (const [k, val] of Object.entries(v.labels)) {
        if (val === undefined) continue;
        if (k === 'le') le = `le="${escapeLabel(String(val))}"`;
        else parts.push(`${k}="${escapeLabel(String(val))}"`);
      }
      for (const [name, formatted] of extra) if (v.labels[name] === undefined) parts.push(formatted);
      if (le !== undefined) parts.push(le);
      // A histogram's samples are named `<family>_bucket`, `_sum`, `_count`: a renamed family renames them.
      const sample = v.metricName === undefined ? name : name + v.metricName.slice(f.name.length);
      lines.push(`${sample}${parts.length > 0 ? `{${parts.join(',')}}` : ''} ${formatValue(v.value)}`);
    }
    return lines.join('\n');
  }
}

/** A histogram family as the counter of its observations' sum: its `_sum` samples, one per series. */
function histogramSums(f: Family): Family {
  const sumName = `${f.name}_sum`;
  const values = f.values.filter((v) => v.metricName === sumName).map((v) => ({ labels: v.labels, value: v.value }));
  // prom-client's MetricType is a type-only enum: its 'counter' value, spelled out.
  return { ...f, type: 'counter' as unknown as Family['type'], values };
}

/**
 * The bucket boundaries views give histograms (`aggregation.explicit_bucket_histogram`), by served name: the
 * histogram is created with them (sharedHistogram), since buckets cannot be changed once counted. The first
 * view that picks a histogram with boundaries sets them.
 */
export function histogramBoundaries(config: ValidatedConfig, naming: MetricNaming): Map<string, readonly number[]> {
  const out = new Map<string, readonly number[]>();
  const views = config.service.telemetry.metrics.views.filter((v) => v.stream.aggregation?.explicit_bucket_histogram);
  if (views.length === 0) return out;
  const specs = views.map((v, i) => [viewSpecOf(v, i), v.stream.aggregation!.explicit_bucket_histogram!.boundaries] as const);
  for (const [served, info] of instrumentCatalog(config, naming)) {
    if (info.type !== 'histogram') continue;
    const hit = specs.find(([spec]) => viewPicks(spec, info));
    if (hit) out.set(served, hit[1]);
  }
  return out;
}

type ViewConfig = ValidatedConfig['service']['telemetry']['metrics']['views'][number];

function viewSpecOf({ selector: sel, stream }: ViewConfig, index: number): ViewSpec {
  const agg = stream.aggregation;
  const aggregation = (['drop', 'sum', 'last_value', 'explicit_bucket_histogram'] as const).find((k) => agg?.[k] !== undefined) ?? 'default';
  return {
    index,
    aggregation,
    instrumentName: sel.instrument_name === '' ? undefined : wildcard(sel.instrument_name),
    unit: sel.unit === '' ? undefined : sel.unit,
    meterName: sel.meter_name === '' ? undefined : sel.meter_name,
    name: stream.name === '' ? undefined : stream.name,
    description: stream.description === '' ? undefined : stream.description,
    keepKey: stream.attribute_keys ? includeExclude(stream.attribute_keys) : undefined,
  };
}

/** The exposition the config's Prometheus reader asks for (none configured: the collector's default reader's). */
export function expositionOf(config: ValidatedConfig, naming: MetricNaming): Exposition {
  const telemetry = config.service.telemetry;
  const prom = prometheusReader(telemetry.metrics);
  // The collector's default reader (no `readers`) takes every resource attribute; an explicit one those its key lists.
  const lists = prom ? prom.with_resource_constant_labels : { included: [], excluded: [] };
  const keep = lists ? includeExclude(lists) : () => false;
  const byName = new Map<string, string[]>();
  for (const [key, value] of Object.entries(telemetry.resource).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (value === undefined || value === null || !keep(key)) continue;
    const name = promLabelName(key);
    byName.set(name, [...(byName.get(name) ?? []), value]);
  }
  // Keys that sanitize to one name share the label, their values joined by `;` (the exporter's rule).
  const constantLabels = [...byName].map(([name, values]) => [name, values.join(';')] as const);
  const views = telemetry.metrics.views.map((v, i) => viewSpecOf(v, i));
  return new Exposition({ scopeLabels: prom !== undefined && !prom.without_scope_info, constantLabels, views }, instrumentCatalog(config, naming), naming);
}
