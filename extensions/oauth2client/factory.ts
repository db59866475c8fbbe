import type { ExtensionFactory } from '../../src/core/component.js';
import { oauth2ClientConfig, type OAuth2ClientConfig } from './config.js';
import { OAuth2ClientExtension } from './oauth2client.js';
import { metadata } from './metadata.js';

export const oauth2ClientExtensionFactory: ExtensionFactory<OAuth2ClientConfig> = {
  kind: 'extension',
  ...metadata,
  config: oauth2ClientConfig,
  create: (settings, config) => new OAuth2ClientExtension(settings, config),
};
