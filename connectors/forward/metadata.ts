/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';

export const metadata = {
  type: 'forward',
  description: 'Passes data from the pipelines that export to it to the pipelines that receive from it (same signal)',
  stability: 'beta',
  // It emits no metrics of its own: what passes through is counted by the pipelines on either side.
  metrics: [],
  tests: { config: () => ({}) },
} as const satisfies ComponentMetadata;
