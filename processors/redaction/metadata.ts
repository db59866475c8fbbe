/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata, MetricDef } from '../../src/core/metadata.js';
import { SIGNALS } from '../../src/core/signal.js';
import { PROCESSOR_METRICS } from '../../src/telemetry/metrics.js';

/** The metrics of this processor alone. */
export const METRICS = {
  redactedItems: {
    name: 'gophership_processor_redacted_items',
    // normal: what redaction changed, for an operator; one series per processor, signal and action.
    level: 'normal',
    type: 'counter',
    unit: '{items}',
    description: 'Attribute values (and log bodies) the redaction processor masked (action="masked") or attributes it removed (action="removed")',
    labels: ['processor', 'otel_signal', 'action'],
  },
} as const satisfies Record<string, MetricDef>;

export const metadata = {
  type: 'redaction',
  description: "Removes attributes not on an allow list and masks sensitive values (the collector's redaction processor)",
  stability: 'alpha',
  signals: SIGNALS,
  // Skipping redaction under pressure would leak what it exists to keep out.
  skippableUnderPressure: false,
  metrics: [...Object.values(PROCESSOR_METRICS), ...Object.values(METRICS)],
  tests: { config: () => ({ allow_all_keys: true, blocked_values: ['4[0-9]{12}'] }) },
} as const satisfies ComponentMetadata & { signals: unknown; skippableUnderPressure: boolean };
