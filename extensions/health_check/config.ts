import { endpointSchema } from '../../src/core/net.js';
import { s, type ConfigOf } from '../../src/core/schema.js';
import { tlsServerSchema } from '../../src/confighelper/tls-config.js';

export const healthCheckConfig = s.object({
  endpoint: endpointSchema('localhost:13133', 'host:port the health endpoint listens on.'),
  path: s.string(/^\//, 'a path starting with /').default('/').describe('HTTP path of the health endpoint.'),
  response_body: s
    .presence(
      s.object({
        healthy: s.string().default('').describe('Body of the 200 answer while the gateway serves'),
        unhealthy: s.string().default('').describe('Body of the 503 answer while it starts or drains'),
      }),
    )
    .describe('Fixed bodies instead of the default JSON status'),
  check_collector_pipeline: s.notYet('turns the health answer unhealthy after too many exporter failures in an interval (deprecated in the collector)', {
    enabled: false,
  }),
  http: s.notYet('healthcheckv2 settings (an HTTP server with per-component status)'),
  grpc: s.notYet('healthcheckv2 settings (the gRPC health service)'),
  tls: s
    .presence(tlsServerSchema())
    .describe("Serve the health endpoint over HTTPS only (the collector's configtls server settings, as on the otlp receiver); absent: plaintext."),
});

export type HealthCheckConfig = ConfigOf<typeof healthCheckConfig>;
