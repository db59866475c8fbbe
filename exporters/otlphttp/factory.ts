import type { ExporterFactory } from '../../src/core/component.js';
import { otlphttpExporterConfig, type OtlphttpExporterConfig } from './config.js';
import { OtlpHttpExporter } from './otlphttp-exporter.js';
import { metadata } from './metadata.js';

export const otlphttpExporterFactory: ExporterFactory<OtlphttpExporterConfig> = {
  kind: 'exporter',
  ...metadata,
  config: otlphttpExporterConfig,
  // Checked at validation: a pipeline whose signal has no URL would have every request acknowledged and
  // then dropped by the exporter.
  checkPipeline: (config, { signal }) =>
    config.endpoint || config[`${signal}_endpoint`] ? undefined : `no URL for ${signal}: set endpoint or ${signal}_endpoint`,
  create: (settings, config) => new OtlpHttpExporter(settings, config),
};
