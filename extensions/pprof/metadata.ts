/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';

export const metadata = {
  type: 'pprof',
  description: "Profiles the gateway's Node process on request (CPU, sampled heap and allocations) in V8's formats, at the collector's pprof paths.",
  stability: 'beta',
  metrics: [],
  tests: { config: () => ({ endpoint: '127.0.0.1:0' }) },
} as const satisfies ComponentMetadata;
