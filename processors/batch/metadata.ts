/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';
import { SIGNALS } from '../../src/core/signal.js';
import { PROCESSOR_METRICS } from '../../src/telemetry/metrics.js';

export const metadata = {
  type: 'batch',
  description: 'Joins requests into batches by size or timeout (byte concatenation, no decode)',
  stability: 'beta',
  signals: SIGNALS,
  // Batching is not optional processing: skipping it would change request sizes and rates downstream.
  skippableUnderPressure: false,
  metrics: Object.values(PROCESSOR_METRICS),
  tests: { config: () => ({}) },
} as const satisfies ComponentMetadata & { signals: unknown; skippableUnderPressure: boolean };
