/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata, MetricDef } from '../../src/core/metadata.js';
import { SIGNALS } from '../../src/core/signal.js';
import { PROCESSOR_METRICS } from '../../src/telemetry/metrics.js';

/** The metrics of this processor alone. */
export const METRICS = {
  filteredItems: {
    name: 'gophership_processor_filtered_items',
    type: 'counter',
    unit: '{items}',
    description: 'Items (log records, spans, metric data points) the filter processor dropped',
    labels: ['processor', 'otel_signal'],
  },
} as const satisfies Record<string, MetricDef>;

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
