import type { ConnectorFactory } from '../../src/core/component.js';
import { spanMetricsConfig, type SpanMetricsConfig } from './config.js';
import { metadata } from './metadata.js';
import { SpanMetricsConnector } from './spanmetrics-connector.js';

export const spanMetricsConnectorFactory: ConnectorFactory<SpanMetricsConfig> = {
  kind: 'connector',
  ...metadata,
  config: spanMetricsConfig,
  supports: (from, to) => from === 'traces' && to === 'metrics',
  checkPipeline: (config, place) => {
    // Worker processes share nothing: each counts the spans of the connections it was handed, and all of
    // them report the same series. Deltas add up at the backend; cumulative series from several writers
    // overwrite each other (one worker's total, then another's).
    if (place.workers !== '1' && config.aggregation_temporality === 'AGGREGATION_TEMPORALITY_CUMULATIVE')
      return `with service.workers ${place.workers} every worker process reports the same cumulative series, each with only its own spans counted: set aggregation_temporality: AGGREGATION_TEMPORALITY_DELTA (the backend adds the workers' increments) or service.workers: 1`;
    return undefined;
  },
  create: (settings, config, place, next) => new SpanMetricsConnector(config, place, next, settings.logger, settings),
};
