/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';

export const metadata = {
  type: 'basicauth',
  description: 'HTTP Basic authentication: checks incoming requests against htpasswd entries, or sends client_auth credentials on exports.',
  stability: 'beta',
  // Refusals are counted by the receiver that asked (gophership_receiver_unauthenticated_requests).
  metrics: [],
  tests: { config: () => ({ htpasswd: { inline: 'lifecycle:{SHA}KclkDMBWiDx/y4SArVd0Sf0EZPg=' } }) },
} as const satisfies ComponentMetadata;
