import type { ExtensionFactory } from '../../src/core/component.js';
import { zpagesConfig, type ZpagesConfig } from './config.js';
import { ZpagesExtension } from './zpages.js';
import { metadata } from './metadata.js';

export const zpagesExtensionFactory: ExtensionFactory<ZpagesConfig> = {
  kind: 'extension',
  ...metadata,
  config: zpagesConfig,
  create: (settings, config) => new ZpagesExtension(settings, config),
};
