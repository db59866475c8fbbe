import type { ProcessorFactory } from '../../src/core/component.js';
import { SIGNALS } from '../../src/core/signal.js';
import { filterProcessorConfig, type FilterProcessorConfig } from './config.js';
import { FilterProcessor } from './filter-processor.js';

export const filterProcessorFactory: ProcessorFactory<FilterProcessorConfig> = {
  kind: 'processor',
  type: 'filter',
  description: 'Drops log records, spans or metrics matching include/exclude rules (the collector\'s legacy strict/regexp form)',
  signals: SIGNALS,
  // Skipping a filter under pressure would let data through that the operator chose to keep out.
  skippableUnderPressure: false,
  config: filterProcessorConfig,
  create: (settings, config, signal, next) => new FilterProcessor(settings, config, signal, next),
};
