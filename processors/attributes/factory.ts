import type { ProcessorFactory } from '../../src/core/component.js';
import { AttributesProcessor } from './attributes-processor.js';
import { checkMatchForSignal } from './match.js';
import { attributesProcessorConfig, type AttributesProcessorConfig } from './config.js';
import { metadata } from './metadata.js';

export const attributesProcessorFactory: ProcessorFactory<AttributesProcessorConfig> = {
  kind: 'processor',
  ...metadata,
  config: attributesProcessorConfig,
  checkPipeline: (config, { signal }) =>
    (config.include && checkMatchForSignal(config.include, signal, 'include')) ||
    (config.exclude && checkMatchForSignal(config.exclude, signal, 'exclude')) ||
    undefined,
  create: (settings, config, signal, next) => new AttributesProcessor(settings, config, signal, next),
};
