/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';
import { SIGNALS } from '../../src/core/signal.js';
import { EXPORTER_METRICS } from '../../src/telemetry/metrics.js';

export const metadata = {
  type: 'nats',
  description: 'Publishes OTLP requests (protobuf) to NATS JetStream subjects, acknowledged once JetStream stored them',
  stability: 'alpha',
  // GopherShip's own: no collector config names it.
  gophershipOnly: true,
  signals: SIGNALS,
  metrics: Object.values(EXPORTER_METRICS),
  tests: { requires: ['nats-jetstream'], config: ({ natsUrl }) => ({ servers: [natsUrl], stream: { name: 'OTLP' } }) },
} as const satisfies ComponentMetadata & { signals: unknown };
