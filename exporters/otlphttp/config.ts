import { s, type ConfigOf } from '../../src/core/schema.js';
import { exporterHelperShape } from '../../src/exporterhelper/index.js';
import { authSchema } from '../../src/core/auth.js';
import { tlsClientSchema } from '../../src/confighelper/tls-config.js';

const url = /^https?:\/\/[^\s/]+/;
const urlHint = 'an http:// or https:// URL';

export const otlphttpExporterConfig = s.refine(
  s.object({
    endpoint: s.string(url, urlHint).default('').describe('Base URL; /v1/logs, /v1/traces, /v1/metrics are appended per signal'),
    logs_endpoint: s.string(url, urlHint).default('').describe('Full URL for logs (overrides endpoint)'),
    traces_endpoint: s.string(url, urlHint).default('').describe('Full URL for traces (overrides endpoint)'),
    metrics_endpoint: s.string(url, urlHint).default('').describe('Full URL for metrics (overrides endpoint)'),
    encoding: s.enum('proto', 'json').default('proto').describe('Body encoding: protobuf (bytes forwarded unchanged) or OTLP/JSON'),
    compression: s
      .enum('gzip', 'zstd', 'snappy', 'deflate', 'zlib', 'none')
      .default('gzip')
      .describe("Content-Encoding of request bodies (snappy: the block format, as today's collector sends it)"),
    compression_params: s.object({
      level: s.int(1, 22).default(1).describe('Compression level: gzip/zlib 1-9 (1 costs a fraction of the CPU of 6 for a slightly larger body), zstd 1-22'),
    }),
    read_buffer_size: s.int(0).default(0).describe("Accepted for the collector's configs; Node sizes socket buffers itself, so it has no effect"),
    write_buffer_size: s.int(0).default(0).describe("Accepted for the collector's configs; Node sizes socket buffers itself, so it has no effect"),
    profiles_endpoint: s.notYet('the URL for profiles (GopherShip has no profiles signal)'),
    proxy_url: s.notYet('sends requests through an HTTP proxy', ''),
    cookies: s.notYet('keeps cookies the server sets and sends them back', { enabled: false }),
    force_attempt_http2: s.notYet("speaks HTTP/2 to the server (GopherShip's client speaks HTTP/1.1 with keep-alive)", false),
    middlewares: s.notYet('runs middleware extensions around each request'),
    headers: s.map(s.string().opaque()).default({}).describe('Headers sent with every request (e.g. authorization); values are masked in print-config'),
    auth: authSchema,
    timeout: s.duration().default(5000).describe('Deadline of one attempt, connect to last response byte (each retry gets its own)'),
    max_idle_conns: s.int(1).default(32).describe('Connections kept per host (keep-alive pool size)'),
    // confighttp's other connection-pool and HTTP/2 keys: max_idle_conns sizes the pool here.
    max_idle_conns_per_host: s.notYet('caps the idle connections kept per host; max_idle_conns sizes the pool here'),
    max_conns_per_host: s.notYet('caps all connections to a host, in use or idle', 0),
    keepalive: s.notYet('the newer form of disable_keep_alives, idle_conn_timeout and the idle pool sizes; max_idle_conns sizes the pool here', {
      enabled: true,
    }),
    idle_conn_timeout: s.notYet('closes a kept connection once it has been idle this long'),
    disable_keep_alives: s.notYet('opens a new connection for every request', false),
    http2_read_idle_timeout: s.notYet("pings an HTTP/2 connection idle this long; GopherShip's client speaks HTTP/1.1", 0, '0s'),
    http2_ping_timeout: s.notYet('closes an HTTP/2 connection whose ping is not answered within this', 0, '0s'),
    tls: tlsClientSchema().describe(
      "TLS for https:// URLs (the collector's configtls client settings, the same keys as the otlp exporter); an http:// URL is plaintext.",
    ),
    ...exporterHelperShape(),
  }),
  (v, path, issues) => {
    if (!v.endpoint && !(v.logs_endpoint && v.traces_endpoint && v.metrics_endpoint)) {
      // Only an error if some signal would have no URL; the per-signal keys may stand alone.
      if (!v.logs_endpoint && !v.traces_endpoint && !v.metrics_endpoint) {
        issues.push({ path: [...path, 'endpoint'], message: 'is required (or set logs_endpoint / traces_endpoint / metrics_endpoint)' });
      }
    }
  },
);

export type OtlphttpExporterConfig = ConfigOf<typeof otlphttpExporterConfig>;
