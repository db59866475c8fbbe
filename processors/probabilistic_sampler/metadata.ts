/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata, MetricDef } from '../../src/core/metadata.js';
import { PROCESSOR_METRICS } from '../../src/telemetry/metrics.js';

/** The metrics of this processor alone (the collector's names). */
export const METRICS = {
  tracesSampled: {
    name: 'otelcol_processor_probabilistic_sampler_count_traces_sampled',
    level: 'basic',
    type: 'counter',
    unit: '{spans}',
    description: 'Count of spans that were sampled or not, by the source of their randomness (policy)',
    labels: ['policy', 'sampled'],
  },
  logsSampled: {
    name: 'otelcol_processor_probabilistic_sampler_count_logs_sampled',
    level: 'basic',
    type: 'counter',
    unit: '{records}',
    description: 'Count of log records that were sampled or not, by the source of their randomness (policy)',
    labels: ['policy', 'sampled'],
  },
} as const satisfies Record<string, MetricDef>;

export const metadata = {
  type: 'probabilistic_sampler',
  description: 'Keeps a percentage of spans or log records by a consistent decision on the trace ID (or a log attribute), as the collector decides',
  stability: 'alpha',
  signals: ['traces', 'logs'],
  // Skipping a sampler under pressure would send more data downstream, exactly when there is least room.
  skippableUnderPressure: false,
  metrics: [...Object.values(PROCESSOR_METRICS), ...Object.values(METRICS)],
  tests: { config: () => ({ sampling_percentage: 50 }) },
} as const satisfies ComponentMetadata & { signals: unknown; skippableUnderPressure: boolean };
