import type { ExtensionFactory } from '../../src/core/component.js';
import { healthCheckConfig, type HealthCheckConfig } from './config.js';
import { HealthCheckExtension } from './health-check.js';
import { metadata } from './metadata.js';

export const healthCheckExtensionFactory: ExtensionFactory<HealthCheckConfig> = {
  kind: 'extension',
  ...metadata,
  config: healthCheckConfig,
  create: (settings, config) => new HealthCheckExtension(settings, config),
};
