import type { ExtensionFactory } from '../../src/core/component.js';
import { BearerTokenAuthExtension } from './bearertokenauth.js';
import { bearerTokenAuthConfig, type BearerTokenAuthConfig } from './config.js';
import { metadata } from './metadata.js';

export const bearerTokenAuthExtensionFactory: ExtensionFactory<BearerTokenAuthConfig> = {
  kind: 'extension',
  ...metadata,
  config: bearerTokenAuthConfig,
  create: (settings, config) => new BearerTokenAuthExtension(settings, config),
};
