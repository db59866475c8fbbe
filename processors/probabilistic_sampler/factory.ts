import type { ProcessorFactory } from '../../src/core/component.js';
import { probabilisticSamplerConfig, type ProbabilisticSamplerConfig } from './config.js';
import { ProbabilisticSamplerProcessor } from './probabilistic-sampler-processor.js';
import { metadata } from './metadata.js';

export const probabilisticSamplerProcessorFactory: ProcessorFactory<ProbabilisticSamplerConfig> = {
  kind: 'processor',
  ...metadata,
  config: probabilisticSamplerConfig,
  checkPipeline: (_config, place) =>
    place.signal === 'metrics' ? 'probabilistic_sampler samples traces and logs, not metrics: remove it from this metrics pipeline' : undefined,
  create: (settings, config, signal, next) => new ProbabilisticSamplerProcessor(settings, config, signal, next),
};
