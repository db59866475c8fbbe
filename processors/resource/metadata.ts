/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';
import { SIGNALS } from '../../src/core/signal.js';
import { PROCESSOR_METRICS } from '../../src/telemetry/metrics.js';

export const metadata = {
  type: 'resource',
  description: 'Inserts, updates, deletes, hashes, extracts and converts resource attributes (rewrites only the Resource bytes)',
  stability: 'beta',
  signals: SIGNALS,
  // Enrichment: under pressure the data may leave unenriched rather than late.
  skippableUnderPressure: true,
  metrics: Object.values(PROCESSOR_METRICS),
  tests: { config: () => ({ attributes: [{ key: 'lifecycle', value: 'test', action: 'upsert' }] }) },
} as const satisfies ComponentMetadata & { signals: unknown; skippableUnderPressure: boolean };
