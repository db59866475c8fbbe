import { endpointSchema } from '../../src/core/net.js';
import { s, type ConfigOf } from '../../src/core/schema.js';

export const healthCheckConfig = s.object({
  endpoint: endpointSchema('localhost:13133', 'host:port the health endpoint listens on.'),
  path: s.string(/^\//, 'a path starting with /').default('/').describe('HTTP path of the health endpoint.'),
});

export type HealthCheckConfig = ConfigOf<typeof healthCheckConfig>;
