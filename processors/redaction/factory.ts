import type { ProcessorFactory } from '../../src/core/component.js';
import { SIGNALS } from '../../src/core/signal.js';
import { redactionProcessorConfig, type RedactionProcessorConfig } from './config.js';
import { RedactionProcessor } from './redaction-processor.js';

export const redactionProcessorFactory: ProcessorFactory<RedactionProcessorConfig> = {
  kind: 'processor',
  type: 'redaction',
  description: 'Removes attributes not on an allow list and masks sensitive values (the collector\'s redaction processor)',
  signals: SIGNALS,
  // Skipping redaction under pressure would leak what it exists to keep out.
  skippableUnderPressure: false,
  config: redactionProcessorConfig,
  create: (settings, config, signal, next) => new RedactionProcessor(settings, config, signal, next),
};
