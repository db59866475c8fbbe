import type { ExporterFactory } from '../../src/core/component.js';
import { SIGNALS } from '../../src/core/signal.js';
import { natsExporterConfig, type NatsExporterConfig } from './config.js';
import { NatsExporter } from './nats-exporter.js';

export const natsExporterFactory: ExporterFactory<NatsExporterConfig> = {
  kind: 'exporter',
  type: 'nats',
  description: 'Publishes OTLP requests (protobuf) to NATS JetStream subjects, acknowledged once JetStream stored them',
  signals: SIGNALS,
  config: natsExporterConfig,
  create: (settings, config) => new NatsExporter(settings, config),
};
