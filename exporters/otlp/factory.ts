import type { ExporterFactory } from '../../src/core/component.js';
import { otlpExporterConfig, type OtlpExporterConfig } from './config.js';
import { OtlpGrpcExporter } from './otlp-exporter.js';
import { metadata } from './metadata.js';

export const otlpExporterFactory: ExporterFactory<OtlpExporterConfig> = {
  kind: 'exporter',
  ...metadata,
  config: otlpExporterConfig,
  create: (settings, config) => new OtlpGrpcExporter(settings, config),
};
