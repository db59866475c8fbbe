import type { ExtensionFactory } from '../../src/core/component.js';
import { headersSetterConfig, type HeadersSetterConfig } from './config.js';
import { HeadersSetterExtension } from './headers-setter.js';

export const headersSetterExtensionFactory: ExtensionFactory<HeadersSetterConfig> = {
  kind: 'extension',
  type: 'headers_setter',
  description: 'Sets headers on exports from fixed values or from the incoming request\'s metadata (e.g. a tenant header).',
  config: headersSetterConfig,
  create: (_settings, config) => new HeadersSetterExtension(config),
};
