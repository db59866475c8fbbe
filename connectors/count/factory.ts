import type { ConnectorFactory } from '../../src/core/component.js';
import { countConnectorConfig, type CountConnectorConfig } from './config.js';
import { CountConnector } from './count-connector.js';

export const countConnectorFactory: ConnectorFactory<CountConnectorConfig> = {
  kind: 'connector',
  type: 'count',
  description: 'Counts spans, span events, metrics, data points or log records into metrics (per resource)',
  config: countConnectorConfig,
  supports: (_from, to) => to === 'metrics',
  create: (_settings, config, place, next) => new CountConnector(config, place, next),
};
