import type { ReceiverFactory } from '../../src/core/component.js';
import { metadata } from './metadata.js';
import { natsReceiverConfig, type NatsReceiverConfig } from './config.js';
import { NatsReceiver } from './nats-receiver.js';

export const natsReceiverFactory: ReceiverFactory<NatsReceiverConfig> = {
  kind: 'receiver',
  ...metadata,
  config: natsReceiverConfig,
  create: (settings, config, next) => new NatsReceiver(settings, config, next),
};
