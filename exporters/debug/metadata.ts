/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';
import { SIGNALS } from '../../src/core/signal.js';
import { EXPORTER_METRICS } from '../../src/telemetry/metrics.js';

export const metadata = {
  type: 'debug',
  description: 'Prints request summaries (or items, or whole requests) for debugging',
  stability: 'development',
  signals: SIGNALS,
  metrics: Object.values(EXPORTER_METRICS),
  tests: { config: () => ({}) },
} as const satisfies ComponentMetadata & { signals: unknown };
