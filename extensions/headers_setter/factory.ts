import type { ExtensionFactory } from '../../src/core/component.js';
import { headersSetterConfig, type HeadersSetterConfig } from './config.js';
import { HeadersSetterExtension } from './headers-setter.js';
import { metadata } from './metadata.js';

export const headersSetterExtensionFactory: ExtensionFactory<HeadersSetterConfig> = {
  kind: 'extension',
  ...metadata,
  config: headersSetterConfig,
  create: (_settings, config) => new HeadersSetterExtension(config),
};
