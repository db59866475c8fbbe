import type { ExporterFactory } from '../../src/core/component.js';
import { debugExporterConfig, type DebugExporterConfig } from './config.js';
import { DebugExporter } from './debug-exporter.js';
import { metadata } from './metadata.js';

export const debugExporterFactory: ExporterFactory<DebugExporterConfig> = {
  kind: 'exporter',
  ...metadata,
  config: debugExporterConfig,
  create: (settings, config) => new DebugExporter(settings, config),
};
