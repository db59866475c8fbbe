import type { ConnectorFactory } from '../../src/core/component.js';
import { countConnectorConfig, type CountConnectorConfig } from './config.js';
import { CountConnector } from './count-connector.js';
import { metadata } from './metadata.js';

export const countConnectorFactory: ConnectorFactory<CountConnectorConfig> = {
  kind: 'connector',
  ...metadata,
  config: countConnectorConfig,
  supports: (_from, to) => to === 'metrics',
  create: (_settings, config, place, next) => new CountConnector(config, place, next),
};
