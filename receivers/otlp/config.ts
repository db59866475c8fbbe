/**
 * Config of the `otlp` receiver, with the collector's keys. A protocol is enabled by the presence of its
 * key under `protocols` (an empty `grpc:` counts and takes the defaults), as in the collector.
 */
import { authSchema, httpServerAuthSchema } from '../../src/core/auth.js';
import { endpointSchema } from '../../src/core/net.js';
import { Schema, s, type ConfigIssue, type ConfigOf, type SchemaDoc } from '../../src/core/schema.js';
import { codingOf, type Coding } from '../../src/compression/index.js';
import { grpcServerShape } from '../../src/confighelper/grpc-server.js';
import { httpServerShape } from '../../src/confighelper/http-server.js';

const includeMetadataSchema = s
  .bool()
  .default(false)
  .describe(
    "Keep the request's headers with its data (as metadata.<header>) for processors (attributes from_context) and exporters (headers_setter from_context). The credential header is never kept.",
  );

/** Server keys both protocols take from the collector's confignet/confighttp/configgrpc. */
const commonServerKeys = {
  transport: s.notYet('listens on a unix socket or only on IPv4 or IPv6 (tcp4, tcp6, unix)', 'tcp'),
  read_buffer_size: s.int(0).default(0).describe("Accepted for the collector's configs; Node sizes socket buffers itself, so it has no effect."),
  write_buffer_size: s.int(0).default(0).describe("Accepted for the collector's configs; Node sizes socket buffers itself, so it has no effect."),
  middlewares: s.notYet('runs middleware extensions around each request'),
};

/** The collector's otlp receiver sets 512 KiB for gRPC reads (no effect here either). */
const grpcReadBufferSize = s
  .int(0)
  .default(512 * 1024)
  .describe("Accepted for the collector's configs (default 512 KiB as its otlp receiver's); Node sizes socket buffers itself, so it has no effect.");

/**
 * A protocol served on a unix socket (`transport: unix`, which answers not supported yet) has the socket's path
 * as its endpoint: the transport's answer says what is missing, so the path is not refused again as a host:port.
 */
class SocketAwareProtocol<T> extends Schema<T> {
  constructor(private readonly inner: Schema<T>) {
    super();
  }
  override parse(value: unknown, path: string[], issues: ConfigIssue[]): T {
    const raw = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    if (raw && typeof raw.transport === 'string' && raw.transport.startsWith('unix') && 'endpoint' in raw) {
      const { endpoint: _socketPath, ...rest } = raw;
      return this.inner.parse(rest, path, issues);
    }
    return this.inner.parse(value, path, issues);
  }
  protected check(): T {
    throw new Error('unreachable: parse is overridden');
  }
  override mask(value: unknown): unknown {
    return this.inner.mask(value);
  }
  doc(): SchemaDoc {
    return this.inner.doc();
  }
}

const grpcSchema = s.object({
  endpoint: endpointSchema('localhost:4317', 'Address the gRPC server listens on.'),
  max_recv_msg_size_mib: s
    .int(0, 2047)
    .default(4)
    .describe('Largest request message accepted, in MiB, after decompression (0 means the default, 4). Larger ones get RESOURCE_EXHAUSTED.'),
  max_concurrent_streams: s.int(0).default(0).describe('Concurrent requests per client connection (0 = no limit).'),
  dialer: s
    .object({ timeout: s.duration().default(0).describe("Accepted for the collector's configs (confignet); a server dials nothing, so it has no effect.") })
    .describe("confignet's dialer settings: accepted for the collector's configs, no effect on a server."),
  ...commonServerKeys,
  read_buffer_size: grpcReadBufferSize,
  // TLS, keepalive and the limits on abusive clients: the shared gRPC server keys.
  ...grpcServerShape(),
  auth: authSchema,
  include_metadata: includeMetadataSchema,
});

const httpSchema = s.object({
  endpoint: endpointSchema('localhost:4318', 'Address the HTTP server listens on.'),
  max_request_body_size: s
    .int(1)
    .default(20 * 1024 * 1024)
    .describe('Largest request body accepted, in bytes, measured after decompression; larger ones get 413.'),
  logs_url_path: s.urlPath('/v1/logs', 'Path of the logs endpoint (a leading / is added when missing, as the collector does).'),
  traces_url_path: s.urlPath('/v1/traces', 'Path of the traces endpoint (a leading / is added when missing).'),
  metrics_url_path: s.urlPath('/v1/metrics', 'Path of the metrics endpoint (a leading / is added when missing).'),
  compression_algorithms: s
    .array(s.enum('', 'gzip', 'zstd', 'zlib', 'snappy', 'deflate', 'x-snappy-framed'))
    .default(['', 'gzip', 'zstd', 'zlib', 'snappy', 'deflate'])
    .describe('Content-Encodings accepted ("" is uncompressed); others get 415. snappy bodies may be a block (today\'s collectors) or framed (older ones).'),
  response_headers: s
    .headerMap(s.string().opaque())
    .default({})
    .describe('Headers added to every response, as a map or a list of name/value pairs; values are masked in print-config (opaque in the collector).'),
  ...commonServerKeys,
  // TLS, CORS, timeouts and the limits on abusive clients: the shared HTTP server keys.
  ...httpServerShape(),
  auth: httpServerAuthSchema,
  include_metadata: includeMetadataSchema,
});

export const otlpReceiverConfig = s.refine(
  s.object({
    protocols: s
      .object({
        grpc: s
          .presence(new SocketAwareProtocol(grpcSchema))
          .describe('OTLP/gRPC server; enabled when the key is present (an empty `grpc:` takes the defaults).'),
        http: s
          .presence(new SocketAwareProtocol(httpSchema))
          .describe('OTLP/HTTP server (protobuf and JSON); enabled when the key is present (an empty `http:` takes the defaults).'),
      })
      .describe('The protocols to serve; at least one.'),
    check_utf8: s
      .bool()
      .default(true)
      .describe(
        "GopherShip: refuse a request holding a string field that is not valid UTF-8 (400 / INVALID_ARGUMENT naming the field), since a strict downstream would refuse every batch it is joined into; costs ~0.1 us of CPU per 548-byte record (one native isUtf8 per request; bench/utf8-check.mjs). false leaves it to the exporters' narrowing of refused batches",
      ),
  }),
  (cfg, path, issues) => {
    const { grpc, http } = cfg.protocols;
    if (!grpc && !http) {
      issues.push({ path: [...path, 'protocols'], message: 'must enable at least one protocol: add `grpc:` and/or `http:` under protocols' });
      return;
    }
    if (grpc && http && grpc.endpoint === http.endpoint && !grpc.endpoint.endsWith(':0')) {
      issues.push({
        path: [...path, 'protocols', 'http', 'endpoint'],
        message: `"${http.endpoint}" is also the grpc endpoint; give each protocol its own port`,
      });
    }
    if (http) {
      const seen = new Map<string, string>();
      for (const key of ['logs_url_path', 'traces_url_path', 'metrics_url_path'] as const) {
        const other = seen.get(http[key]);
        if (other) issues.push({ path: [...path, 'protocols', 'http', key], message: `"${http[key]}" is also ${other}; each signal needs its own path` });
        seen.set(http[key], key);
      }
    }
  },
);

export type OtlpReceiverConfig = ConfigOf<typeof otlpReceiverConfig>;
export type OtlpGrpcConfig = NonNullable<OtlpReceiverConfig['protocols']['grpc']>;
export type OtlpHttpConfig = NonNullable<OtlpReceiverConfig['protocols']['http']>;

/** Splits a validated endpoint into the host to bind ('' = every interface) and the port. */
export { parseEndpoint } from '../../src/core/net.js';

/** The request size limit of the gRPC server in bytes. */
export function grpcMaxRecvBytes(cfg: OtlpGrpcConfig): number {
  return (cfg.max_recv_msg_size_mib || 4) * 1024 * 1024;
}

/** The coding of a Content-Encoding header, when the receiver's compression_algorithms accepts it. */
export function acceptedCoding(cfg: OtlpHttpConfig, header: string | undefined): Coding | undefined {
  const name = (header ?? '').trim().toLowerCase();
  const coding = codingOf(name);
  if (coding === undefined) return undefined;
  const listed = cfg.compression_algorithms as readonly string[];
  const ok = name === '' || name === 'identity' ? listed.includes('') : listed.includes(name) || (name === 'x-gzip' && listed.includes('gzip'));
  return ok ? coding : undefined;
}
