import { s, type ConfigOf } from '../../src/core/schema.js';
import { exporterHelperShape } from '../../src/exporterhelper/index.js';
import { authSchema } from '../../src/core/auth.js';
import { tlsClientSchema } from '../../src/confighelper/tls-config.js';
import { codecLevel, compressionLevelProblem } from '../../src/compression/index.js';

const url = /^https?:\/\/[^\s/]+/;
const urlHint = 'an http:// or https:// URL';

const otlphttpShape = s.object({
  endpoint: s.string(url, urlHint).default('').describe('Base URL; /v1/logs, /v1/traces, /v1/metrics are appended per signal'),
  logs_endpoint: s.string(url, urlHint).default('').describe('Full URL for logs (overrides endpoint)'),
  traces_endpoint: s.string(url, urlHint).default('').describe('Full URL for traces (overrides endpoint)'),
  metrics_endpoint: s.string(url, urlHint).default('').describe('Full URL for metrics (overrides endpoint)'),
  encoding: s.enum('proto', 'json').default('proto').describe('Body encoding: protobuf (bytes forwarded unchanged) or OTLP/JSON'),
  compression: s
    .enum('gzip', 'zstd', 'snappy', 'deflate', 'zlib', 'none')
    .alias('', 'none')
    .notYetValue('lz4', 'LZ4 request bodies')
    .notYetValue('x-snappy-framed', "framed snappy request bodies; snappy sends the block format today's collectors read")
    .default('gzip')
    .describe('Content-Encoding of request bodies (snappy: the block format, as today\'s collector sends it); "" is none, as in the collector'),
  compression_params: s.object({
    level: s
      .int()
      .default(1)
      .describe(
        "Compression level: gzip/zlib -1 or 1-9 (1 costs a fraction of the CPU of 6 for a slightly larger body), zstd 1-22 (others are taken as the nearest); 0: the codec's default (gzip 6), as the collector reads it",
      ),
  }),
  read_buffer_size: s.int(0).default(0).describe("Accepted for the collector's configs; Node sizes socket buffers itself, so it has no effect"),
  write_buffer_size: s
    .int(0)
    .default(512 * 1024)
    .describe("Accepted for the collector's configs (default 512 KiB as its otlphttp exporter's); Node sizes socket buffers itself, so it has no effect"),
  profiles_endpoint: s.notYet('the URL for profiles (GopherShip has no profiles signal)'),
  proxy_url: s.notYet('sends requests through an HTTP proxy', ''),
  cookies: s.notYet('keeps cookies the server sets and sends them back', { enabled: false }),
  // true is confighttp's default (configs that spell the defaults carry it): it only lets Go's client try
  // HTTP/2, and OTLP/HTTP servers answer HTTP/1.1 alike, so both values are accepted.
  force_attempt_http2: s.notYet("speaks HTTP/2 to the server (GopherShip's client speaks HTTP/1.1 with keep-alive)", false, true),
  middlewares: s.notYet('runs middleware extensions around each request'),
  headers: s
    .headerMap(s.string().opaque())
    .default({})
    .describe('Headers sent with every request (e.g. authorization), as a map or a list of name/value pairs; values are masked in print-config'),
  auth: authSchema,
  timeout: s
    .duration()
    .default(30_000)
    .describe("Deadline of one attempt, connect to last response byte (each retry gets its own); the collector's otlphttp default, 30s"),
  max_idle_conns: s.int(1).default(32).describe('Connections kept per host (keep-alive pool size)'),
  max_idle_conns_per_host: s
    .int(0)
    .default(0)
    .describe("Idle connections kept open for the next requests (0: max_idle_conns); one exporter talks to one host, so it bounds the pool's idle part"),
  max_conns_per_host: s.notYet('caps all connections to a host, in use or idle', 0),
  idle_conn_timeout: s.duration().default(90_000).describe('Close a kept connection once it has been idle this long (0: keep it until the server closes it)'),
  disable_keep_alives: s.bool().default(false).describe('Open a new connection for every request (Connection: close)'),
  keepalive: s
    .object({
      enabled: s.bool().default(true).describe('false: open a new connection for every request (as disable_keep_alives: true)'),
      idle_conn_timeout: s.duration().describe('Set, it takes the place of idle_conn_timeout'),
      max_idle_conns: s.int(1).describe('Set, it takes the place of max_idle_conns'),
      max_idle_conns_per_host: s.int(0).describe('Set, it takes the place of max_idle_conns_per_host'),
    })
    .describe("Connection reuse (the collector's newer confighttp keepalive section; its keys take the place of the top-level ones)"),
  http2_read_idle_timeout: s.notYet("pings an HTTP/2 connection idle this long; GopherShip's client speaks HTTP/1.1", 0, '0s'),
  http2_ping_timeout: s.notYet('closes an HTTP/2 connection whose ping is not answered within this', 0, '0s'),
  tls: tlsClientSchema().describe(
    "TLS for https:// URLs (the collector's configtls client settings, the same keys as the otlp exporter); an http:// URL is plaintext.",
  ),
  ...exporterHelperShape(),
});

/** The level as the codec takes it (0: its default), so the exporter hands it on as it is. */
const withCodecLevel = s.transform(otlphttpShape, (v) => ({ ...v, compression_params: { level: codecLevel(v.compression, v.compression_params.level) } }));

export const otlphttpExporterConfig = s.refine(withCodecLevel, (v, path, issues) => {
  const levelProblem = compressionLevelProblem(v.compression, v.compression_params.level);
  if (levelProblem) issues.push({ path: [...path, 'compression_params', 'level'], message: levelProblem });
  if (!v.endpoint && !(v.logs_endpoint && v.traces_endpoint && v.metrics_endpoint)) {
    // Only an error if some signal would have no URL; the per-signal keys may stand alone.
    if (!v.logs_endpoint && !v.traces_endpoint && !v.metrics_endpoint) {
      issues.push({ path: [...path, 'endpoint'], message: 'is required (or set logs_endpoint / traces_endpoint / metrics_endpoint)' });
    }
  }
});

export type OtlphttpExporterConfig = ConfigOf<typeof otlphttpExporterConfig>;
