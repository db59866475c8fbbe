import type { ProcessorFactory } from '../../src/core/component.js';
import { tailSamplingConfig, type TailSamplingConfig } from './config.js';
import { metadata } from './metadata.js';
import { TailSamplingProcessor } from './tail-sampling-processor.js';

export const tailSamplingProcessorFactory: ProcessorFactory<TailSamplingConfig> = {
  kind: 'processor',
  ...metadata,
  config: tailSamplingConfig,
  checkPipeline: (_config, place) => {
    if (place.signal !== 'traces') return `tail_sampling samples whole traces, not ${place.signal}: list it in a traces pipeline only`;
    // Connections are handed to worker processes in turn and workers share nothing, so the spans of one
    // trace would be decided in pieces by several workers, each holding part of the trace.
    if (place.workers !== '1')
      return `tail_sampling needs every span of a trace in one process, but service.workers is ${place.workers}: set service.workers: 1 on this gateway and scale out with more gateways behind a loadbalancing exporter (routing_key: traceID)`;
    return undefined;
  },
  create: (settings, config, _signal, next) => new TailSamplingProcessor(settings, config, next),
};
