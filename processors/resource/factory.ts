import type { ProcessorFactory } from '../../src/core/component.js';
import { SIGNALS } from '../../src/core/signal.js';
import { resourceProcessorConfig, type ResourceProcessorConfig } from './config.js';
import { ResourceProcessor } from './resource-processor.js';

export const resourceProcessorFactory: ProcessorFactory<ResourceProcessorConfig> = {
  kind: 'processor',
  type: 'resource',
  description: 'Inserts, updates, deletes, hashes, extracts and converts resource attributes (rewrites only the Resource bytes)',
  signals: SIGNALS,
  // Enrichment: under pressure the data may leave unenriched rather than late.
  skippableUnderPressure: true,
  config: resourceProcessorConfig,
  create: (settings, config, signal, next) => new ResourceProcessor(settings, config, signal, next),
};
