import type { ProcessorFactory } from '../../src/core/component.js';
import { tailSamplingConfig, type TailSamplingConfig } from './config.js';
import { metadata } from './metadata.js';
import { TailSamplingProcessor } from './tail-sampling-processor.js';

export const tailSamplingProcessorFactory: ProcessorFactory<TailSamplingConfig> = {
  kind: 'processor',
  ...metadata,
  config: tailSamplingConfig,
  checkPipeline: (_config, place) =>
    place.signal === 'traces' ? undefined : `tail_sampling samples whole traces, not ${place.signal}: list it in a traces pipeline only`,
  create: (settings, config, _signal, next) => new TailSamplingProcessor(settings, config, next),
};
