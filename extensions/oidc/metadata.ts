/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';

export const metadata = {
  type: 'oidc',
  description: "Verifies incoming requests' Bearer JWTs against an OIDC issuer's keys (issuer, audience, expiry, signature).",
  stability: 'beta',
  // Refusals are counted by the receiver that asked (gophership_receiver_unauthenticated_requests).
  metrics: [],
  tests: { config: () => ({ issuer_url: 'http://127.0.0.1:9/', audience: 'lifecycle' }) },
} as const satisfies ComponentMetadata;
