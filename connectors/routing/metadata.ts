/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';

export const metadata = {
  type: 'routing',
  description: 'Routes resources (or whole requests, by request metadata) to pipelines by OTTL conditions',
  stability: 'alpha',
  // It emits no metrics of its own: what passes through is counted by the pipelines on either side.
  metrics: [],
  tests: { config: () => ({ default_pipelines: ['logs'], table: [{ condition: 'resource.attributes["tenant"] == "acme"', pipelines: ['logs'] }] }) },
} as const satisfies ComponentMetadata;
