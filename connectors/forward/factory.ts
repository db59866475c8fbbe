import type { ConnectorFactory } from '../../src/core/component.js';
import { forwardConnectorConfig, type ForwardConnectorConfig } from './config.js';
import { ForwardConnector } from './forward-connector.js';

export const forwardConnectorFactory: ConnectorFactory<ForwardConnectorConfig> = {
  kind: 'connector',
  type: 'forward',
  description: 'Passes data from the pipelines that export to it to the pipelines that receive from it (same signal)',
  config: forwardConnectorConfig,
  supports: (from, to) => from === to,
  create: (_settings, _config, _place, next) => new ForwardConnector(next),
};
