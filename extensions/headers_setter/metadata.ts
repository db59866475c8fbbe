/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';

export const metadata = {
  type: 'headers_setter',
  description: "Sets headers on exports from fixed values or from the incoming request's metadata (e.g. a tenant header).",
  stability: 'beta',
  // Refusals are counted by the receiver that asked (gophership_receiver_unauthenticated_requests).
  metrics: [],
  tests: { config: () => ({ headers: [{ key: 'x-tenant', value: 'lifecycle', action: 'upsert' }] }) },
} as const satisfies ComponentMetadata;
