import type { ExtensionFactory } from '../../src/core/component.js';
import { BearerTokenAuthExtension } from './bearertokenauth.js';
import { bearerTokenAuthConfig, type BearerTokenAuthConfig } from './config.js';

export const bearerTokenAuthExtensionFactory: ExtensionFactory<BearerTokenAuthConfig> = {
  kind: 'extension',
  type: 'bearertokenauth',
  description: 'Bearer token authentication: checks incoming requests (receivers\' auth) and adds the token to exports (exporters\' auth).',
  config: bearerTokenAuthConfig,
  create: (settings, config) => new BearerTokenAuthExtension(settings, config),
};
