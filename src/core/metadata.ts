/**
 * What a component states about itself, in one place per component (its folder's metadata.ts), as the
 * collector's metadata.yaml: type, stability, signals, whether the Yellow zone may skip it, the metrics it
 * emits, and the minimal config the generic lifecycle test starts it with. The factory carries it, and the
 * registry, `gophership components`, docs/reference.md and the lifecycle test read it from there.
 */
import { servedMetricName, type MetricNaming } from './metric-naming.js';

/** The collector's stability levels. */
export type Stability = 'development' | 'alpha' | 'beta' | 'stable' | 'deprecated';

/**
 * The collector's metric levels (service.telemetry.metrics.level), lowest first: a metric is served when
 * the configured level is at or above its own.
 */
export type MetricLevel = 'basic' | 'normal' | 'detailed';

const LEVEL_RANK: Readonly<Record<MetricLevel, number>> = { basic: 0, normal: 1, detailed: 2 };

/** Whether a service at `configured` serves a metric of level `level`. */
export function levelServes(configured: MetricLevel, level: MetricLevel): boolean {
  return LEVEL_RANK[level] <= LEVEL_RANK[configured];
}

/** One metric a component (or the service) emits: what its prom-client instrument is created from. */
export interface MetricDef {
  /**
   * The metric's name; with `perSignal`, the prefix of one metric per signal, named
   * `<name>_log_records`, `<name>_spans` and `<name>_metric_points` as the collector's.
   */
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  /**
   * The unit, as the collector's metadata writes it: `{items}`, `{requests}`, `By`, `s`, `ms`, `µs`, `1` (a
   * ratio). `name` is the metadata's, as the collector's READMEs query it; the served name adds the unit word
   * and `_total` when the reader asks for them (servedMetricName, src/core/metric-naming.ts; docs/operations.md).
   */
  readonly unit: string;
  /**
   * A histogram's bucket upper bounds, the collector's metadata.yaml `bucket_boundaries`; absent, the
   * OpenTelemetry SDK's default bounds the collector uses then (DEFAULT_HISTOGRAM_BUCKETS). Scraped as
   * `<name>_bucket{le}`, `<name>_sum` and `<name>_count`.
   */
  readonly buckets?: readonly number[];
  /** Also the instrument's help text. */
  readonly description: string;
  readonly labels: readonly string[];
  /**
   * The lowest service.telemetry.metrics.level that serves it. The collector's metrics take the collector's
   * level (basic unless it registers one: the batch processor's are normal, its send_size_bytes detailed);
   * GopherShip's own say why theirs beside it. Below its level the metric is not created (a no-op stands in).
   */
  readonly level: MetricLevel;
  readonly perSignal?: boolean;
  /**
   * How the primary of a gateway with worker processes (service.workers) combines the workers' values
   * into its one /metrics: summed unless said otherwise. A level or a ratio of a per-worker limit (a zone,
   * a sensor reading, a delay) sums to nonsense, so such a gauge takes the workers' worst (`max`).
   */
  readonly acrossWorkers?: 'max';
}

export interface ComponentMetadata {
  readonly type: string;
  /** Other type names accepted in config (e.g. `otlp_grpc` for `otlp`). */
  readonly aliases?: readonly string[];
  readonly description: string;
  readonly stability: Stability;
  /**
   * A component type of GopherShip's own, which no collector config names (somatic, nats): left out of
   * docs/compatibility.md and of the collector corpus's key check (test/compat), its own tests cover its keys.
   */
  readonly gophershipOnly?: boolean;
  /** Every metric it emits, shared ones (otelcol_receiver_*, exporterhelper's) included. */
  readonly metrics: readonly MetricDef[];
  readonly tests: {
    /** What the lifecycle test must provide besides a temp dir (it starts a nats-server for `nats-jetstream`). */
    readonly requires?: readonly LifecycleFixture[];
    /**
     * A minimal real config the generic lifecycle test (test/lifecycle.test.ts) creates, starts and shuts it
     * down with: listeners on port 0 of 127.0.0.1, files and directories under `ctx.dir` (a fresh temp dir).
     */
    config(ctx: LifecycleContext): Record<string, unknown>;
  };
}

/** A real dependency the lifecycle test provides: `nats-jetstream` is a JetStream server whose stream `OTLP` stores `otlp.>`. */
export type LifecycleFixture = 'nats-jetstream';

export interface LifecycleContext {
  /** A fresh temp dir for the instance's files. */
  readonly dir: string;
  /** With `nats-jetstream`: the server's nats:// URL. */
  readonly natsUrl?: string;
}

/**
 * The OpenTelemetry SDK's default explicit bucket bounds, which the collector's histograms take when their
 * metadata gives none (prom-client's own defaults, 0.005 to 10, are another scale).
 */
export const DEFAULT_HISTOGRAM_BUCKETS: readonly number[] = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

/** The name `def` is served under with this naming (per-signal ones take the signal's item noun). */
export function metricName(def: MetricDef, naming: MetricNaming, itemNoun?: string): string {
  return servedMetricName(itemNoun === undefined ? def.name : `${def.name}_${itemNoun}`, def.type, def.unit, naming);
}

/**
 * The options of a prom-client instrument for a metric (name as `naming` serves it, help, labels, a
 * histogram's buckets); per-signal ones take the signal's item noun.
 */
export function instrumentOptions(
  def: MetricDef,
  naming: MetricNaming,
  itemNoun?: string,
): { name: string; help: string; labelNames: string[]; aggregator?: 'max'; buckets?: number[] } {
  return {
    name: metricName(def, naming, itemNoun),
    help: def.description,
    labelNames: [...def.labels],
    ...(def.acrossWorkers ? { aggregator: def.acrossWorkers } : {}),
    ...(def.type === 'histogram' ? { buckets: [...(def.buckets ?? DEFAULT_HISTOGRAM_BUCKETS)] } : {}),
  };
}
