import type { ExporterFactory } from '../../src/core/component.js';
import { loadBalancingConfig, type LoadBalancingConfig } from './config.js';
import { LoadBalancingExporter } from './loadbalancing-exporter.js';
import { metadata } from './metadata.js';

export const loadBalancingExporterFactory: ExporterFactory<LoadBalancingConfig> = {
  kind: 'exporter',
  ...metadata,
  config: loadBalancingConfig,
  // Metrics have no trace ID: with traceID they are routed by service (README).
  checkPipeline: (config, place) =>
    place.signal !== 'metrics' && (config.routing_key === 'metric' || config.routing_key === 'streamID')
      ? `routing_key ${config.routing_key} applies to metrics pipelines only; use traceID, service or attributes for ${place.signal}`
      : undefined,
  create: (settings, config) => new LoadBalancingExporter(settings, config),
};
