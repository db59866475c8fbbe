import { endpointSchema } from '../../src/core/net.js';
import { s, type ConfigOf } from '../../src/core/schema.js';

export const zpagesConfig = s.object({
  endpoint: endpointSchema(
    'localhost:55679',
    'host:port the pages listen on: localhost:<port> for this machine only (the default), :<port> for every interface.',
  ),
  expvar: s
    .object({
      enabled: s.bool().default(false).describe("Serve /debug/expvarz: the process's runtime figures as JSON (Go's expvar in the collector; Node's here)."),
    })
    .describe('The expvar page.'),
});

export type ZpagesConfig = ConfigOf<typeof zpagesConfig>;
