import { s, type ConfigOf } from '../../src/core/schema.js';
import { exporterHelperShape } from '../../src/exporterhelper/index.js';
import { checkNatsCredentials, natsConnectionShape } from '../../src/nats/connection.js';

const keys = s.object({
  ...natsConnectionShape(),
  subject_prefix: s
    .string(/^[^\s*>]+$/, 'a subject prefix without spaces or wildcards')
    .default('otlp')
    .describe('Requests are published on <subject_prefix>.logs, .traces and .metrics'),
  stream: s.object({
    name: s
      .string(/^[A-Za-z0-9_-]+$/, 'a stream name: letters, digits, - and _')
      .default('OTLP')
      .describe('JetStream stream that stores the subjects; with create, made (or updated) at start over <subject_prefix>.>'),
    create: s
      .bool()
      .default(false)
      .describe(
        'Create the stream at start, or update it where its subjects, replicas, max_age or duplicate_window differ (else it must exist: JetStream must acknowledge every publish)',
      ),
    replicas: s.int(1, 5).default(1).describe('Stream replicas when created (3 for a cluster that survives the loss of a server)'),
    max_age: s.duration().default(0).describe('Oldest message the created stream keeps (0 = no limit)'),
    duplicate_window: s.duration().default(120_000).describe('How long the created stream remembers message ids to drop duplicates of a resent request'),
  }),
  timeout: s
    .duration()
    .default(5000)
    .describe(
      "Wait for JetStream's acknowledgement of one publish (and its answer when creating the stream); past it the attempt fails retryably. A publish while disconnected fails at once",
    ),
  ...exporterHelperShape(),
});

export const natsExporterConfig = s.refine(keys, checkNatsCredentials);

export type NatsExporterConfig = ConfigOf<typeof natsExporterConfig>;
