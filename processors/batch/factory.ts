import type { ProcessorFactory } from '../../src/core/component.js';
import { BatchProcessor } from './batch-processor.js';
import { batchProcessorConfig, type BatchProcessorConfig } from './config.js';
import { metadata } from './metadata.js';

export const batchProcessorFactory: ProcessorFactory<BatchProcessorConfig> = {
  kind: 'processor',
  ...metadata,
  config: batchProcessorConfig,
  create: (settings, config, signal, next) => new BatchProcessor(settings, config, signal, next),
};
