import type { ReceiverFactory } from '../../src/core/component.js';
import { SIGNALS } from '../../src/core/signal.js';
import { natsReceiverConfig, type NatsReceiverConfig } from './config.js';
import { NatsReceiver } from './nats-receiver.js';

export const natsReceiverFactory: ReceiverFactory<NatsReceiverConfig> = {
  kind: 'receiver',
  type: 'nats',
  description: 'Consumes OTLP requests from a NATS JetStream durable pull consumer; acknowledges each once the pipeline accepted it',
  signals: SIGNALS,
  config: natsReceiverConfig,
  create: (settings, config, next) => new NatsReceiver(settings, config, next),
};
