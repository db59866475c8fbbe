import type { ProcessorFactory } from '../../src/core/component.js';
import { probabilisticSamplerConfig, type ProbabilisticSamplerConfig } from './config.js';
import { ProbabilisticSamplerProcessor } from './probabilistic-sampler-processor.js';

export const probabilisticSamplerProcessorFactory: ProcessorFactory<ProbabilisticSamplerConfig> = {
  kind: 'processor',
  type: 'probabilistic_sampler',
  description: 'Keeps a percentage of spans or log records by a consistent decision on the trace ID (or a log attribute), as the collector decides',
  signals: ['traces', 'logs'],
  // Skipping a sampler under pressure would send more data downstream, exactly when there is least room.
  skippableUnderPressure: false,
  config: probabilisticSamplerConfig,
  checkPipeline: (_config, place) => (place.signal === 'metrics' ? 'probabilistic_sampler samples traces and logs, not metrics: remove it from this metrics pipeline' : undefined),
  create: (settings, config, signal, next) => new ProbabilisticSamplerProcessor(settings, config, signal, next),
};
