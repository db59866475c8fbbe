import type { ExporterFactory } from '../../src/core/component.js';
import { fileExporterConfig, type FileExporterConfig } from './config.js';
import { FileExporter } from './file-exporter.js';
import { metadata } from './metadata.js';

export const fileExporterFactory: ExporterFactory<FileExporterConfig> = {
  kind: 'exporter',
  ...metadata,
  config: fileExporterConfig,
  create: (settings, config) => new FileExporter(settings, config),
};
