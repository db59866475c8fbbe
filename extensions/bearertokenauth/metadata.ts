/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';

export const metadata = {
  type: 'bearertokenauth',
  description: "Bearer token authentication: checks incoming requests (receivers' auth) and adds the token to exports (exporters' auth).",
  stability: 'beta',
  // Refusals are counted by the receiver that asked (gophership_receiver_unauthenticated_requests).
  metrics: [],
  tests: { config: () => ({ token: 'lifecycle-token' }) },
} as const satisfies ComponentMetadata;
