import type { ExtensionFactory } from '../../src/core/component.js';
import { createBasicAuth } from './basicauth.js';
import { basicAuthConfig, type BasicAuthConfig } from './config.js';

export const basicAuthExtensionFactory: ExtensionFactory<BasicAuthConfig> = {
  kind: 'extension',
  type: 'basicauth',
  description: 'HTTP Basic authentication: checks incoming requests against htpasswd entries, or sends client_auth credentials on exports.',
  config: basicAuthConfig,
  create: (settings, config) => createBasicAuth(settings, config),
};
