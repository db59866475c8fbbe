import { ENDPOINT_RE } from '../../src/core/net.js';
import { s, type ConfigOf } from '../../src/core/schema.js';
import { exporterHelperShape } from '../../src/exporterhelper/index.js';
import { authSchema } from '../../src/core/auth.js';
import { tlsClientSchema } from '../../src/confighelper/tls-config.js';

/** Strips an http(s):// scheme as the collector does; https:// asks for TLS. */
export function parseGrpcEndpoint(endpoint: string): { target: string; forceTls: boolean } {
  if (endpoint.startsWith('https://')) return { target: endpoint.slice(8).replace(/\/+$/, ''), forceTls: true };
  if (endpoint.startsWith('http://')) return { target: endpoint.slice(7).replace(/\/+$/, ''), forceTls: false };
  return { target: endpoint, forceTls: false };
}

export const otlpExporterConfig = s.object({
  endpoint: s.refine(
    s
      .string()
      .mustBeSet()
      .describe('host:port of the OTLP/gRPC server (an http:// or https:// prefix is stripped; https:// forces TLS)'),
    // Checked here: an empty or malformed endpoint (an unset env variable, say) would otherwise start, then
    // fail every export as retryable until the data is dropped.
    (v, path, issues) => {
      const m = ENDPOINT_RE.exec(parseGrpcEndpoint(v.trim()).target);
      if (!m || m[1] === '' || Number(m[2]) > 65535 || Number(m[2]) === 0) {
        issues.push({ path, message: `"${v}" is not the host:port of a gRPC server (e.g. collector:4317, or https://collector:4317 for TLS)` });
      }
    },
  ),
  tls: tlsClientSchema().describe('TLS to the server (the collector\'s configtls client settings); TLS is on unless insecure: true (an https:// endpoint forces it).'),
  headers: s.map(s.string().opaque()).default({}).describe('Metadata sent with every request (e.g. authorization); values are masked in print-config'),
  auth: authSchema,
  compression: s.enum('gzip', 'zstd', 'snappy', 'none').default('gzip').describe('Message compression (the collector\'s gRPC client has gzip, zstd and snappy)'),
  compression_params: s.object({
    level: s.int(0, 22).default(0).describe('Compression level: gzip 1-9, zstd 1-22 (0: the codec\'s default)'),
  }),
  balancer_name: s
    .enum('round_robin', 'pick_first')
    .default('round_robin')
    .describe('Accepted for the collector\'s configs; GopherShip keeps one HTTP/2 connection to the endpoint\'s first resolved address (as pick_first), so round_robin over several addresses behaves like pick_first'),
  read_buffer_size: s.int(0).default(0).describe('Accepted for the collector\'s configs; Node sizes socket buffers itself, so it has no effect'),
  write_buffer_size: s.int(0).default(0).describe('Accepted for the collector\'s configs; Node sizes socket buffers itself, so it has no effect'),
  wait_for_ready: s.notYet('waits for the connection to be ready instead of failing calls while it is down', false),
  authority: s.notYet('overrides the :authority header of every call'),
  middlewares: s.notYet('runs middleware extensions around each call'),
  timeout: s.duration().default(5000).describe('Deadline of one Export call (each retry gets its own)'),
  keepalive: s.object({
    time: s.duration().default(300_000).describe('Ping the server after this long without activity (>= 5m stays within grpc-go servers\' default ping policy)'),
    timeout: s.duration().default(20_000).describe('Close the connection when a ping is not answered within this'),
  }),
  flow_control_window: s.int(65_535).default(16 * 1024 * 1024).describe('HTTP/2 flow-control window in bytes (stream and connection)'),
  max_message_size: s.int(1024).default(64 * 1024 * 1024).describe('Largest request and response message in bytes'),
  ...exporterHelperShape(),
});

export type OtlpExporterConfig = ConfigOf<typeof otlpExporterConfig>;
