/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';
import { SIGNALS } from '../../src/core/signal.js';
import { RECEIVER_METRICS } from '../../src/telemetry/metrics.js';

export const metadata = {
  type: 'otlp',
  description: 'Receives OTLP logs, traces and metrics over gRPC and HTTP (protobuf and JSON)',
  stability: 'beta',
  signals: SIGNALS,
  metrics: Object.values(RECEIVER_METRICS),
  tests: { config: () => ({ protocols: { grpc: { endpoint: '127.0.0.1:0' }, http: { endpoint: '127.0.0.1:0' } } }) },
} as const satisfies ComponentMetadata & { signals: unknown };
