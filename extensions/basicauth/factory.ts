import type { ExtensionFactory } from '../../src/core/component.js';
import { createBasicAuth } from './basicauth.js';
import { basicAuthConfig, type BasicAuthConfig } from './config.js';
import { metadata } from './metadata.js';

export const basicAuthExtensionFactory: ExtensionFactory<BasicAuthConfig> = {
  kind: 'extension',
  ...metadata,
  config: basicAuthConfig,
  create: (settings, config) => createBasicAuth(settings, config),
};
