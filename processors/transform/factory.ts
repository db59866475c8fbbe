import type { ProcessorFactory } from '../../src/core/component.js';
import { transformProcessorConfig, type TransformProcessorConfig } from './config.js';
import { TransformProcessor } from './transform-processor.js';
import { metadata } from './metadata.js';

export const transformProcessorFactory: ProcessorFactory<TransformProcessorConfig> = {
  kind: 'processor',
  ...metadata,
  config: transformProcessorConfig,
  create: (settings, config, signal, next) => new TransformProcessor(settings, config, signal, next),
};
