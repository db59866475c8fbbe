/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import { join } from 'node:path';
import type { ComponentMetadata } from '../../src/core/metadata.js';
import { SIGNALS } from '../../src/core/signal.js';
import { EXPORTER_METRICS } from '../../src/telemetry/metrics.js';

export const metadata = {
  type: 'file',
  description: 'Appends requests to a file as OTLP/JSON lines or length-prefixed protobuf, with size rotation',
  stability: 'alpha',
  signals: SIGNALS,
  metrics: Object.values(EXPORTER_METRICS),
  tests: { config: ({ dir }) => ({ path: join(dir, 'out.jsonl') }) },
} as const satisfies ComponentMetadata & { signals: unknown };
