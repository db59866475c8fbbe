/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';

export const metadata = {
  type: 'zpages',
  description: 'Live debugging pages: the service, its pipelines, extensions and feature gates (and the runtime with expvar).',
  stability: 'beta',
  metrics: [],
  tests: { config: () => ({ endpoint: '127.0.0.1:0' }) },
} as const satisfies ComponentMetadata;
