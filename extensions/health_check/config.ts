import { endpointSchema } from '../../src/core/net.js';
import { s, type ConfigOf } from '../../src/core/schema.js';
import { tlsServerSchema } from '../../src/confighelper/tls-config.js';

export const healthCheckConfig = s.object({
  endpoint: endpointSchema('localhost:13133', 'host:port the health endpoint listens on.'),
  path: s.string(/^\//, 'a path starting with /').default('/').describe('HTTP path of the health endpoint.'),
  tls: s.presence(tlsServerSchema()).describe('Serve the health endpoint over HTTPS only (the collector\'s configtls server settings, as on the otlp receiver); absent: plaintext.'),
});

export type HealthCheckConfig = ConfigOf<typeof healthCheckConfig>;
