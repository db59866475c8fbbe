/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata, MetricDef } from '../../src/core/metadata.js';
import { SIGNALS } from '../../src/core/signal.js';
import { EXPORTER_METRICS } from '../../src/telemetry/metrics.js';

/** The metrics of this exporter alone (the collector's names); each backend also has the exporter metrics. */
export const METRICS = {
  numBackends: {
    name: 'otelcol_loadbalancer_num_backends',
    level: 'basic',
    type: 'gauge',
    unit: '{backends}',
    description: 'Current number of backends in use',
    labels: ['resolver'],
    // Every worker process resolves the same backends.
    acrossWorkers: 'max',
  },
  numResolutions: {
    name: 'otelcol_loadbalancer_num_resolutions',
    level: 'basic',
    type: 'counter',
    unit: '{resolutions}',
    description: 'Resolutions of the backends by the resolver, by outcome (success true or false)',
    labels: ['resolver', 'success'],
  },
  backendOutcome: {
    name: 'otelcol_loadbalancer_backend_outcome',
    level: 'basic',
    type: 'counter',
    unit: '{outcomes}',
    description: 'Export attempts to each backend, by outcome (success true or false)',
    labels: ['endpoint', 'success'],
  },
  backendLatency: {
    name: 'otelcol_loadbalancer_backend_latency',
    level: 'basic',
    type: 'histogram',
    unit: 'ms',
    description: 'Milliseconds each export attempt to a backend took, answered or failed',
    labels: ['endpoint'],
    buckets: [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
  },
  numBackendUpdates: {
    name: 'otelcol_loadbalancer_num_backend_updates',
    level: 'basic',
    type: 'counter',
    unit: '{updates}',
    description: 'Resolutions that changed the list of backends (each one rebalances the ring)',
    labels: ['resolver'],
  },
} as const satisfies Record<string, MetricDef>;

export const metadata = {
  type: 'loadbalancing',
  aliases: ['load_balancing'],
  description:
    'Routes spans and logs by trace ID (or by service, resource, routing attributes; metrics by metric or data point stream) to backends on a consistent-hashing ring, each over OTLP/gRPC with its own queue',
  stability: 'alpha',
  signals: SIGNALS,
  metrics: [...Object.values(EXPORTER_METRICS), ...Object.values(METRICS)],
  tests: { config: () => ({ protocol: { otlp: { tls: { insecure: true } } }, resolver: { static: { hostnames: ['127.0.0.1:1'] } } }) },
} as const satisfies ComponentMetadata & { signals: unknown };
