import type { ProcessorFactory } from '../../src/core/component.js';
import { SIGNALS } from '../../src/core/signal.js';
import { resourceDetectionProcessorConfig, type ResourceDetectionProcessorConfig } from './config.js';
import { ResourceDetectionProcessor } from './resourcedetection-processor.js';

export const resourceDetectionProcessorFactory: ProcessorFactory<ResourceDetectionProcessorConfig> = {
  kind: 'processor',
  type: 'resourcedetection',
  // contrib's current name for it (the older one stays accepted there too)
  aliases: ['resource_detection'],
  description: 'Adds host and environment attributes (env, system detectors) to every resource',
  signals: SIGNALS,
  // Enrichment: under pressure the data may go on without it.
  skippableUnderPressure: true,
  config: resourceDetectionProcessorConfig,
  create: (settings, config, signal, next) => new ResourceDetectionProcessor(settings, config, signal, next),
};
