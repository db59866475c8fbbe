/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';

export const metadata = {
  type: 'health_check',
  description: 'HTTP health endpoint: 200 while serving, 503 while starting or draining.',
  stability: 'beta',
  metrics: [],
  tests: { config: () => ({ endpoint: '127.0.0.1:0' }) },
} as const satisfies ComponentMetadata;
