import type { ExtensionFactory } from '../../src/core/component.js';
import { pprofConfig, type PprofConfig } from './config.js';
import { metadata } from './metadata.js';
import { PprofExtension } from './pprof.js';

export const pprofExtensionFactory: ExtensionFactory<PprofConfig> = {
  kind: 'extension',
  ...metadata,
  config: pprofConfig,
  create: (settings, config) => new PprofExtension(settings, config),
};
