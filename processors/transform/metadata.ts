/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';
import { SIGNALS } from '../../src/core/signal.js';
import { PROCESSOR_METRICS } from '../../src/telemetry/metrics.js';

export const metadata = {
  type: 'transform',
  description: "Edits spans, metrics and logs with OTTL statements (the collector's transform processor)",
  stability: 'alpha',
  signals: SIGNALS,
  // Edits and enrichment: under pressure the data may leave untransformed rather than late (override with
  // somatic.optional_processors when a transform removes what must not leave).
  skippableUnderPressure: true,
  metrics: Object.values(PROCESSOR_METRICS),
  tests: { config: () => ({ log_statements: ['set(attributes["lifecycle"], "test")'] }) },
} as const satisfies ComponentMetadata & { signals: unknown; skippableUnderPressure: boolean };
