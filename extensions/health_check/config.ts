import { s, type ConfigOf } from '../../src/core/schema.js';

export const healthCheckConfig = s.object({
  endpoint: s.string().default('localhost:13133').describe('host:port the health endpoint listens on.'),
  path: s.string(/^\//, 'a path starting with /').default('/').describe('HTTP path of the health endpoint.'),
});

export type HealthCheckConfig = ConfigOf<typeof healthCheckConfig>;
