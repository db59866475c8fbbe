import type { ExporterFactory } from '../../src/core/component.js';
import { SIGNALS } from '../../src/core/signal.js';
import { debugExporterConfig, type DebugExporterConfig } from './config.js';
import { DebugExporter } from './debug-exporter.js';

export const debugExporterFactory: ExporterFactory<DebugExporterConfig> = {
  kind: 'exporter',
  type: 'debug',
  description: 'Prints request summaries (or items, or whole requests) for debugging',
  signals: SIGNALS,
  config: debugExporterConfig,
  create: (settings, config) => new DebugExporter(settings, config),
};
