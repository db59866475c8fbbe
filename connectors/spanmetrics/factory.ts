import type { ConnectorFactory } from '../../src/core/component.js';
import { spanMetricsConfig, type SpanMetricsConfig } from './config.js';
import { metadata } from './metadata.js';
import { SpanMetricsConnector } from './spanmetrics-connector.js';

export const spanMetricsConnectorFactory: ConnectorFactory<SpanMetricsConfig> = {
  kind: 'connector',
  ...metadata,
  config: spanMetricsConfig,
  supports: (from, to) => from === 'traces' && to === 'metrics',
  create: (settings, config, place, next) => new SpanMetricsConnector(config, place, next, settings.logger, settings),
};
