/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';
import { SIGNALS } from '../../src/core/signal.js';
import { PROCESSOR_METRICS } from '../../src/telemetry/metrics.js';

export const metadata = {
  type: 'resourcedetection',
  // contrib's current name for it (the older one stays accepted there too)
  aliases: ['resource_detection'],
  description: 'Adds host and environment attributes (env, system detectors) to every resource',
  stability: 'alpha',
  signals: SIGNALS,
  // Enrichment: under pressure the data may go on without it.
  skippableUnderPressure: true,
  metrics: Object.values(PROCESSOR_METRICS),
  tests: { config: () => ({ detectors: ['env'] }) },
} as const satisfies ComponentMetadata & { signals: unknown; skippableUnderPressure: boolean };
