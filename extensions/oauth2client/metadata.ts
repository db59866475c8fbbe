/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata } from '../../src/core/metadata.js';

export const metadata = {
  type: 'oauth2client',
  description:
    'OAuth2 client credentials for exporters: fetches a token from the authorization server, renews it before it expires, and sends it as `Authorization: Bearer`.',
  stability: 'beta',
  metrics: [],
  tests: { config: () => ({ client_id: 'id', client_secret: 'secret', token_url: 'http://127.0.0.1:9/token' }) },
} as const satisfies ComponentMetadata;
