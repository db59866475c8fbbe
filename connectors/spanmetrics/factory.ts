import type { ConnectorFactory } from '../../src/core/component.js';
import { COLLECTOR_INSTANCE_DIMENSION, spanMetricsConfig, type SpanMetricsConfig } from './config.js';
import { metadata } from './metadata.js';
import { SpanMetricsConnector } from './spanmetrics-connector.js';

export const spanMetricsConnectorFactory: ConnectorFactory<SpanMetricsConfig> = {
  kind: 'connector',
  ...metadata,
  config: spanMetricsConfig,
  supports: (from, to) => from === 'traces' && to === 'metrics',
  checkPipeline: (config, place) => {
    // Worker processes share nothing: each counts the spans of the connections it was handed. Each worker's
    // connector has its own collector.instance.id, so its cumulative series are its own (as each replica's
    // of a collector tier are) and the backend sums them. Without that dimension every worker would report
    // the same series, and cumulative totals from several writers overwrite each other; deltas still add up.
    if (
      place.workers !== '1' &&
      config.aggregation_temporality === 'AGGREGATION_TEMPORALITY_CUMULATIVE' &&
      config.exclude_dimensions.includes(COLLECTOR_INSTANCE_DIMENSION)
    )
      return `with service.workers ${place.workers} and ${COLLECTOR_INSTANCE_DIMENSION} excluded, every worker process reports the same cumulative series, each with only its own spans counted: keep ${COLLECTOR_INSTANCE_DIMENSION} (each worker's series are then its own), set aggregation_temporality: AGGREGATION_TEMPORALITY_DELTA (the backend adds the workers' increments) or service.workers: 1`;
    return undefined;
  },
  create: (settings, config, place, next) => new SpanMetricsConnector(config, place, next, settings.logger, settings),
};
