/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata, MetricDef } from '../../src/core/metadata.js';
import { SIGNALS } from '../../src/core/signal.js';
import { PROCESSOR_METRICS } from '../../src/telemetry/metrics.js';

/** The metrics of this processor alone: the collector's names and buckets (its metadata.yaml). */
export const METRICS = {
  sendSize: {
    name: 'otelcol_processor_batch_batch_send_size',
    level: 'normal',
    type: 'histogram',
    unit: '{unit}',
    description: 'Items (log records, spans, metric data points) in each batch sent',
    labels: ['processor'],
    buckets: [10, 25, 50, 75, 100, 250, 500, 750, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 20000, 30000, 50000, 100000],
  },
  sendSizeBytes: {
    name: 'otelcol_processor_batch_batch_send_size_bytes',
    level: 'detailed',
    type: 'histogram',
    unit: 'By',
    description: 'Bytes of each batch sent (the encoded request; served at the detailed level only, as the collector does)',
    labels: ['processor'],
    buckets: [128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4194304, 8388608, 16777216],
  },
  sizeTrigger: {
    name: 'otelcol_processor_batch_batch_size_trigger_send',
    level: 'normal',
    type: 'counter',
    unit: '{time}',
    description: 'Batches sent because they reached send_batch_size (or send_batch_max_size)',
    labels: ['processor'],
  },
  timeoutTrigger: {
    name: 'otelcol_processor_batch_timeout_trigger_send',
    level: 'normal',
    type: 'counter',
    unit: '{time}',
    description: 'Batches sent before they filled: at timeout, at shutdown, or with flush_when_idle once an event-loop turn brought no request',
    labels: ['processor'],
  },
  metadataCardinality: {
    name: 'otelcol_processor_batch_metadata_cardinality',
    level: 'normal',
    type: 'gauge',
    unit: '{combination}',
    description: 'Distinct metadata_keys value combinations with a batch open (1 without metadata_keys)',
    labels: ['processor'],
  },
} as const satisfies Record<string, MetricDef>;

export const metadata = {
  type: 'batch',
  description: 'Joins requests into batches by size or timeout (byte concatenation, no decode)',
  stability: 'beta',
  signals: SIGNALS,
  // Batching is not optional processing: skipping it would change request sizes and rates downstream.
  skippableUnderPressure: false,
  metrics: [...Object.values(PROCESSOR_METRICS), ...Object.values(METRICS)],
  tests: { config: () => ({}) },
} as const satisfies ComponentMetadata & { signals: unknown; skippableUnderPressure: boolean };
