/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata, MetricDef } from '../../src/core/metadata.js';
import { SIGNALS } from '../../src/core/signal.js';
import { PROCESSOR_METRICS } from '../../src/telemetry/metrics.js';

/** The metrics of this processor alone. */
export const METRICS = {
  filteredItems: {
    name: 'gophership_processor_filtered_items',
    // normal: what the filter dropped, by signal, for an operator; one series per processor and signal.
    level: 'normal',
    type: 'counter',
    unit: '{items}',
    description: 'Items (log records, spans, metric data points) the filter processor dropped',
    labels: ['processor', 'otel_signal'],
  },
  // The collector's own: one counter per signal (its names hold a dot, `logs.filtered`, which Prometheus
  // writes as `_`), labelled `filter` with the component ID.
  logsFiltered: {
    name: 'otelcol_processor_filter_logs_filtered',
    level: 'basic',
    type: 'counter',
    unit: '1',
    description: 'Log records dropped by the filter processor',
    labels: ['filter'],
  },
  spansFiltered: {
    name: 'otelcol_processor_filter_spans_filtered',
    level: 'basic',
    type: 'counter',
    unit: '1',
    description: 'Spans dropped by the filter processor',
    labels: ['filter'],
  },
  datapointsFiltered: {
    name: 'otelcol_processor_filter_datapoints_filtered',
    level: 'basic',
    type: 'counter',
    unit: '1',
    description: 'Metric data points dropped by the filter processor',
    labels: ['filter'],
  },
} as const satisfies Record<string, MetricDef>;

/** The collector's `filtered` counter of each signal. */
export const FILTERED_BY_SIGNAL = { logs: METRICS.logsFiltered, traces: METRICS.spansFiltered, metrics: METRICS.datapointsFiltered } as const;

export const metadata = {
  type: 'filter',
  description: "Drops log records, spans or metrics matching include/exclude rules (the collector's legacy strict/regexp form)",
  stability: 'alpha',
  signals: SIGNALS,
  // Skipping a filter under pressure would let data through that the operator chose to keep out.
  skippableUnderPressure: false,
  metrics: [...Object.values(PROCESSOR_METRICS), ...Object.values(METRICS)],
  tests: { config: () => ({ logs: { exclude: { match_type: 'strict', bodies: ['lifecycle'] } } }) },
} as const satisfies ComponentMetadata & { signals: unknown; skippableUnderPressure: boolean };
