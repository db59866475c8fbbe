import type { ProcessorFactory } from '../../src/core/component.js';
import { filterProcessorConfig, type FilterProcessorConfig } from './config.js';
import { FilterProcessor } from './filter-processor.js';
import { metadata } from './metadata.js';

export const filterProcessorFactory: ProcessorFactory<FilterProcessorConfig> = {
  kind: 'processor',
  ...metadata,
  config: filterProcessorConfig,
  create: (settings, config, signal, next) => new FilterProcessor(settings, config, signal, next),
};
