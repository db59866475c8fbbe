import { s, type ConfigOf } from '../../src/core/schema.js';
import { checkNatsCredentials, natsConnectionShape } from '../../src/nats/connection.js';

const keys = s.object({
  ...natsConnectionShape(),
  stream: s
    .string(/^[A-Za-z0-9_-]+$/, 'a stream name: letters, digits, - and _')
    .default('OTLP')
    .describe("JetStream stream to consume (the nats exporter's stream.name)"),
  durable: s
    .string(/^[A-Za-z0-9_-]+$/, 'a consumer name: letters, digits, - and _')
    .default('gophership')
    .describe('Durable pull consumer; gateways that name the same one share its messages (each message goes to one of them)'),
  filter_subject: s.string().default('').describe('Only messages on this subject (wildcards allowed); empty = every subject of the stream'),
  max_in_flight: s
    .int(1, 10_000)
    .default(16)
    .describe(
      'Messages handed to the pipeline at once (no more are pulled from JetStream than there are free slots); a message is acknowledged only after the pipeline accepted it',
    ),
  ack_wait: s.duration().default(30_000).describe('JetStream redelivers a message not acknowledged within this time (created consumer only)'),
  nak_delay: s
    .duration()
    .default(1000)
    .describe('Redelivery delay after a retryable refusal that named no delay (somatic pressure slows consumption instead of dropping)'),
});

export const natsReceiverConfig = s.refine(keys, checkNatsCredentials);

export type NatsReceiverConfig = ConfigOf<typeof natsReceiverConfig>;
