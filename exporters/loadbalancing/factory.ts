import type { ExporterFactory } from '../../src/core/component.js';
import { loadBalancingConfig, type LoadBalancingConfig } from './config.js';
import { LoadBalancingExporter } from './loadbalancing-exporter.js';
import { metadata } from './metadata.js';

export const loadBalancingExporterFactory: ExporterFactory<LoadBalancingConfig> = {
  kind: 'exporter',
  ...metadata,
  config: loadBalancingConfig,
  checkPipeline: (config, place) =>
    place.signal === 'metrics' && config.routing_key === 'traceID'
      ? undefined // metrics have no trace ID: they are routed by service (README)
      : place.signal !== 'metrics' && config.routing_key === 'metric'
        ? `routing_key metric applies to metrics pipelines only; use traceID or service for ${place.signal}`
        : undefined,
  create: (settings, config) => new LoadBalancingExporter(settings, config),
};
