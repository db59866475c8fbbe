import type { ProcessorFactory } from '../../src/core/component.js';
import { SIGNALS } from '../../src/core/signal.js';
import { AttributesProcessor } from './attributes-processor.js';
import { checkMatchForSignal } from './match.js';
import { attributesProcessorConfig, type AttributesProcessorConfig } from './config.js';

export const attributesProcessorFactory: ProcessorFactory<AttributesProcessorConfig> = {
  kind: 'processor',
  type: 'attributes',
  description: 'Inserts, updates, deletes, hashes, extracts and converts attributes of log records, spans and data points (wire-level edit)',
  signals: SIGNALS,
  // Enrichment: under pressure the data may leave unenriched rather than late.
  skippableUnderPressure: true,
  config: attributesProcessorConfig,
  checkPipeline: (config, { signal }) =>
    (config.include && checkMatchForSignal(config.include, signal, 'include')) || (config.exclude && checkMatchForSignal(config.exclude, signal, 'exclude')) || undefined,
  create: (settings, config, signal, next) => new AttributesProcessor(settings, config, signal, next),
};
