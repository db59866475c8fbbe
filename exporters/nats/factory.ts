import type { ExporterFactory } from '../../src/core/component.js';
import { metadata } from './metadata.js';
import { natsExporterConfig, type NatsExporterConfig } from './config.js';
import { NatsExporter } from './nats-exporter.js';

export const natsExporterFactory: ExporterFactory<NatsExporterConfig> = {
  kind: 'exporter',
  ...metadata,
  config: natsExporterConfig,
  create: (settings, config) => new NatsExporter(settings, config),
};
