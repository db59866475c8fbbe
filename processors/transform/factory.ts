import type { ProcessorFactory } from '../../src/core/component.js';
import { SIGNALS } from '../../src/core/signal.js';
import { transformProcessorConfig, type TransformProcessorConfig } from './config.js';
import { TransformProcessor } from './transform-processor.js';

export const transformProcessorFactory: ProcessorFactory<TransformProcessorConfig> = {
  kind: 'processor',
  type: 'transform',
  description: 'Edits spans, metrics and logs with OTTL statements (the collector\'s transform processor)',
  signals: SIGNALS,
  // Edits and enrichment: under pressure the data may leave untransformed rather than late (override with
  // somatic.optional_processors when a transform removes what must not leave).
  skippableUnderPressure: true,
  config: transformProcessorConfig,
  create: (settings, config, signal, next) => new TransformProcessor(settings, config, signal, next),
};
