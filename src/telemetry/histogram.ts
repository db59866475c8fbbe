/**
 * A histogram for metrics observed on the data path (a batch sent, a sampling decision, an export attempt).
 * prom-client's Histogram checks and hashes the labels on every observe; here a series is resolved once
 * (`labels()`, kept by its user) and an observation is a bucket search and three additions. It registers in
 * the service's prom-client registry and answers `get()` in prom-client's histogram shape, so /metrics, the
 * primary's sum over worker processes (AggregatorRegistry, summed bucket by bucket) and the status page read
 * it as any other instrument.
 */
import type { Metric, Registry } from 'prom-client';

/** One sample of prom-client's histogram shape: a `_bucket` (with `le`), `_sum` or `_count` line. */
interface HistogramSample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/** One labelled series: its non-cumulative bucket counts (the last one past every bound), sum and count. */
export class HistogramSeries {
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    private readonly bounds: readonly number[],
    readonly labels: Readonly<Record<string, string>>,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  /** Cumulative count of observations at or below each bound. */
  cumulative(): number[] {
    const out: number[] = [];
    let acc = 0;
    for (let i = 0; i < this.bounds.length; i++) out.push((acc += this.counts[i]!));
    return out;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

export interface SeriesHistogramOptions {
  name: string;
  help: string;
  labelNames: string[];
  buckets: number[];
}

export class SeriesHistogram {
  readonly type = 'histogram' as const;
  /** Worker processes' values add up (service.workers): a histogram's buckets, sum and count all sum. */
  readonly aggregator = 'sum' as const;
  readonly name: string;
  readonly help: string;
  private readonly labelNames: readonly string[];
  private readonly bounds: readonly number[];
  private readonly series = new Map<string, HistogramSeries>();

  /** Registered in `registry`; without one (a level that does not serve it), in none. */
  constructor(opts: SeriesHistogramOptions, registry: Registry | undefined) {
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = opts.labelNames;
    this.bounds = [...opts.buckets].sort((a, b) => a - b);
    registry?.registerMetric(this as unknown as Metric);
  }

  /** The series of these label values (every label name given), created at zero on first use; keep it. */
  labels(labels: Record<string, string>): HistogramSeries {
    const key = this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      for (const n of Object.keys(labels))
        if (!this.labelNames.includes(n)) throw new Error(`${this.name}: label ${n} is not one of ${this.labelNames.join(', ')}`);
      s = new HistogramSeries(this.bounds, { ...labels });
      this.series.set(key, s);
    }
    return s;
  }

  async get(): Promise<{ name: string; help: string; type: 'histogram'; values: HistogramSample[]; aggregator: 'sum' }> {
    const values: HistogramSample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      const cumulative = s.cumulative();
      // `le` first, as prom-client's own histograms write it.
      for (let i = 0; i < this.bounds.length; i++) values.push({ metricName: bucket, labels: { le: this.bounds[i]!, ...s.labels }, value: cumulative[i]! });
      values.push({ metricName: bucket, labels: { le: '+Inf', ...s.labels }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: { ...s.labels }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...s.labels }, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    for (const s of this.series.values()) s.reset();
  }
}
