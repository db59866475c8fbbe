import { endpointSchema } from '../../src/core/net.js';
import { s, type ConfigOf } from '../../src/core/schema.js';

/** The keys of the collector's pprofextension config, with its defaults. */
export const pprofConfig = s.object({
  endpoint: endpointSchema(
    'localhost:1777',
    'host:port the profiling endpoint listens on (localhost only by default, as the collector; :1777 for every interface).',
  ),
  dialer: s
    .object({ timeout: s.duration().default(0).describe("Accepted for the collector's configs (confignet); a server dials nothing, so it has no effect.") })
    .describe("confignet's dialer settings: accepted for the collector's configs, no effect on a server."),
  block_profile_fraction: s
    .int()
    .default(0)
    .describe("Go's blocking-event profile rate. Node has no block profile: a value above 0 is accepted with a warning at start and changes nothing."),
  mutex_profile_fraction: s
    .int()
    .default(0)
    .describe("Go's mutex-contention profile rate. Node has no mutex profile: a value above 0 is accepted with a warning at start and changes nothing."),
  save_to_file: s
    .string()
    .default('')
    .describe(
      "A file that receives a CPU profile of the whole run (from the extension's start to the gateway's shutdown), written at shutdown in V8's .cpuprofile JSON, not Go's pprof format. Empty: none.",
    ),
});

export type PprofConfig = ConfigOf<typeof pprofConfig>;
