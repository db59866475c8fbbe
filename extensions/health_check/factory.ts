import type { ExtensionFactory } from '../../src/core/component.js';
import { healthCheckConfig, type HealthCheckConfig } from './config.js';
import { HealthCheckExtension } from './health-check.js';

export const healthCheckExtensionFactory: ExtensionFactory<HealthCheckConfig> = {
  kind: 'extension',
  type: 'health_check',
  description: 'HTTP health endpoint: 200 while serving, 503 while starting or draining.',
  config: healthCheckConfig,
  create: (settings, config) => new HealthCheckExtension(settings, config),
};
