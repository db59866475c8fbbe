import { endpointSchema } from '../../src/core/net.js';
import { notYetKeys, s, type ConfigOf } from '../../src/core/schema.js';
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
  // The rest of the collector's confighttp server keys, which its health_check takes as well.
  ...notYetKeys({
    cors: 'answers cross-origin requests from browsers',
    auth: 'asks an authenticator extension about each request',
    include_metadata: "keeps the request's headers as client metadata",
    response_headers: 'adds headers to every answer',
    max_request_body_size: 'bounds the request bodies it reads',
    compression_algorithms: 'chooses the request Content-Encodings it accepts',
    read_timeout: 'bounds the time to read a whole request',
    read_header_timeout: "bounds the time to read a request's headers",
    write_timeout: 'bounds the time to write an answer',
    idle_timeout: 'closes a keep-alive connection idle this long',
  }),
  keepalive: s.notYet('turns HTTP keep-alive off or bounds its idle time', { enabled: true }),
  keep_alives_enabled: s.notYet('turns HTTP keep-alive off', true),
  tls: s
    .presence(tlsServerSchema())
    .describe("Serve the health endpoint over HTTPS only (the collector's configtls server settings, as on the otlp receiver); absent: plaintext."),
});

export type HealthCheckConfig = ConfigOf<typeof healthCheckConfig>;
