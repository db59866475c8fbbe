import type { ProcessorFactory } from '../../src/core/component.js';
import { SIGNALS } from '../../src/core/signal.js';
import { BatchProcessor } from './batch-processor.js';
import { batchProcessorConfig, type BatchProcessorConfig } from './config.js';

export const batchProcessorFactory: ProcessorFactory<BatchProcessorConfig> = {
  kind: 'processor',
  type: 'batch',
  description: 'Joins requests into batches by size or timeout (byte concatenation, no decode)',
  signals: SIGNALS,
  // Batching is not optional processing: skipping it would change request sizes and rates downstream.
  skippableUnderPressure: false,
  config: batchProcessorConfig,
  create: (settings, config, signal, next) => new BatchProcessor(settings, config, signal, next),
};
