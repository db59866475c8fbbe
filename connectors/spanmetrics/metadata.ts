/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';

export const metadata = {
  type: 'spanmetrics',
  aliases: ['span_metrics'],
  description:
    'Aggregates spans into request, error and duration (RED) metrics: calls and a duration histogram per service, span name, kind, status and dimensions',
  stability: 'alpha',
  // It emits no metrics of its own: what passes through is counted by the pipelines on either side.
  metrics: [],
  tests: { config: () => ({ metrics_flush_interval: '1s', exemplars: { enabled: true } }) },
} as const satisfies ComponentMetadata;
