/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';
import { SIGNALS } from '../../src/core/signal.js';
import { EXPORTER_METRICS } from '../../src/telemetry/metrics.js';

export const metadata = {
  type: 'otlphttp',
  aliases: ['otlp_http'],
  description: 'Sends OTLP over HTTP (protobuf bytes forwarded unchanged, or OTLP/JSON)',
  stability: 'beta',
  signals: SIGNALS,
  metrics: Object.values(EXPORTER_METRICS),
  tests: { config: () => ({ endpoint: 'http://127.0.0.1:1' }) },
} as const satisfies ComponentMetadata & { signals: unknown };
