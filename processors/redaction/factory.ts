import type { ProcessorFactory } from '../../src/core/component.js';
import { redactionProcessorConfig, type RedactionProcessorConfig } from './config.js';
import { RedactionProcessor } from './redaction-processor.js';
import { metadata } from './metadata.js';

export const redactionProcessorFactory: ProcessorFactory<RedactionProcessorConfig> = {
  kind: 'processor',
  ...metadata,
  config: redactionProcessorConfig,
  create: (settings, config, signal, next) => new RedactionProcessor(settings, config, signal, next),
};
