import type { ConnectorFactory } from '../../src/core/component.js';
import { forwardConnectorConfig, type ForwardConnectorConfig } from './config.js';
import { ForwardConnector } from './forward-connector.js';
import { metadata } from './metadata.js';

export const forwardConnectorFactory: ConnectorFactory<ForwardConnectorConfig> = {
  kind: 'connector',
  ...metadata,
  config: forwardConnectorConfig,
  supports: (from, to) => from === to,
  create: (_settings, _config, _place, next) => new ForwardConnector(next),
};
