/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';
import { SIGNALS } from '../../src/core/signal.js';
import { EXPORTER_METRICS } from '../../src/telemetry/metrics.js';

export const metadata = {
  type: 'otlp',
  aliases: ['otlp_grpc'],
  description: 'Sends OTLP over gRPC, forwarding the request bytes unchanged',
  stability: 'beta',
  signals: SIGNALS,
  metrics: Object.values(EXPORTER_METRICS),
  tests: { config: () => ({ endpoint: '127.0.0.1:1', tls: { insecure: true } }) },
} as const satisfies ComponentMetadata & { signals: unknown };
