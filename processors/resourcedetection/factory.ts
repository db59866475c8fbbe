import type { ProcessorFactory } from '../../src/core/component.js';
import { resourceDetectionProcessorConfig, type ResourceDetectionProcessorConfig } from './config.js';
import { ResourceDetectionProcessor } from './resourcedetection-processor.js';
import { metadata } from './metadata.js';

export const resourceDetectionProcessorFactory: ProcessorFactory<ResourceDetectionProcessorConfig> = {
  kind: 'processor',
  ...metadata,
  config: resourceDetectionProcessorConfig,
  create: (settings, config, signal, next) => new ResourceDetectionProcessor(settings, config, signal, next),
};
