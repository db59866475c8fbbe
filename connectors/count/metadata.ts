/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';

export const metadata = {
  type: 'count',
  description: 'Counts spans, span events, metrics, data points or log records into metrics (per resource)',
  stability: 'alpha',
  // It emits no metrics of its own: what passes through is counted by the pipelines on either side.
  metrics: [],
  tests: { config: () => ({}) },
} as const satisfies ComponentMetadata;
