import type { ProcessorFactory } from '../../src/core/component.js';
import { resourceProcessorConfig, type ResourceProcessorConfig } from './config.js';
import { ResourceProcessor } from './resource-processor.js';
import { metadata } from './metadata.js';

export const resourceProcessorFactory: ProcessorFactory<ResourceProcessorConfig> = {
  kind: 'processor',
  ...metadata,
  config: resourceProcessorConfig,
  create: (settings, config, signal, next) => new ResourceProcessor(settings, config, signal, next),
};
