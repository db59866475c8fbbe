import type { ExtensionFactory } from '../../src/core/component.js';
import { oidcConfig, type OidcConfig } from './config.js';
import { OidcExtension } from './oidc.js';

export const oidcExtensionFactory: ExtensionFactory<OidcConfig> = {
  kind: 'extension',
  type: 'oidc',
  description: 'Verifies incoming requests\' Bearer JWTs against an OIDC issuer\'s keys (issuer, audience, expiry, signature).',
  config: oidcConfig,
  create: (settings, config) => new OidcExtension(settings, config),
};
