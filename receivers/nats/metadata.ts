/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';
import { SIGNALS } from '../../src/core/signal.js';
import { RECEIVER_METRICS } from '../../src/telemetry/metrics.js';

export const metadata = {
  type: 'nats',
  description: 'Consumes OTLP requests from a NATS JetStream durable pull consumer; acknowledges each once the pipeline accepted it',
  stability: 'alpha',
  // GopherShip's own: no collector config names it.
  gophershipOnly: true,
  signals: SIGNALS,
  metrics: Object.values(RECEIVER_METRICS),
  tests: { requires: ['nats-jetstream'], config: ({ natsUrl }) => ({ servers: [natsUrl], stream: 'OTLP' }) },
} as const satisfies ComponentMetadata & { signals: unknown };
