import type { ExporterFactory } from '../../src/core/component.js';
import { SIGNALS } from '../../src/core/signal.js';
import { fileExporterConfig, type FileExporterConfig } from './config.js';
import { FileExporter } from './file-exporter.js';

export const fileExporterFactory: ExporterFactory<FileExporterConfig> = {
  kind: 'exporter',
  type: 'file',
  description: 'Appends requests to a file as OTLP/JSON lines or length-prefixed protobuf, with size rotation',
  signals: SIGNALS,
  config: fileExporterConfig,
  create: (settings, config) => new FileExporter(settings, config),
};
