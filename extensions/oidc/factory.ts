import type { ExtensionFactory } from '../../src/core/component.js';
import { oidcConfig, type OidcConfig } from './config.js';
import { OidcExtension } from './oidc.js';
import { metadata } from './metadata.js';

export const oidcExtensionFactory: ExtensionFactory<OidcConfig> = {
  kind: 'extension',
  ...metadata,
  config: oidcConfig,
  create: (settings, config) => new OidcExtension(settings, config),
};
