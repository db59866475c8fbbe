/**
 * An OTLP/gRPC client: the settings of the otlp exporter (endpoint, tls, headers, compression, timeout,
 * keepalive, windows, message size) and one-attempt Export calls on Node's HTTP/2 client
 * (client-transport.ts), so the request bytes a pipeline holds are the bytes on the wire. Shared by the
 * otlp exporter and the loadbalancing exporter's per-backend senders.
 */
import { ENDPOINT_RE } from '../core/net.js';
import { CodedError, PermanentError, RetryableError } from '../core/errors.js';
import { notSupportedYetMessage, s, type ConfigIssue, type ConfigOf, type Schema } from '../core/schema.js';
import type { Payload } from '../pdata/payload.js';
import { GRPC_METHOD, type Signal } from '../core/signal.js';
import { decodeExportResponsePartial, decodeStatus } from '../pdata/codec.js';
import type { Logger } from '../telemetry/logger.js';
import { tlsClientSchema } from '../confighelper/tls-config.js';
import { authSchema, clientAuthenticatorOf, credentialValues, withoutCredentials, type ClientAuthenticator } from '../core/auth.js';
import type { Host } from '../core/component.js';
import { loadClientTls, type ClientTlsOptions } from '../confighelper/tls.js';
import { GrpcStatus, grpcStatusName, isRetryableGrpc } from './status.js';
import { GrpcTransport, type CallResult } from './client-transport.js';
import { codecLevel, compressionLevelProblem, prepareCompression } from '../compression/index.js';

/**
 * The host:port to dial: an http(s):// scheme stripped as the collector does (https:// asks for TLS), a
 * gRPC `dns:///` target taken as its name (GopherShip resolves it when it connects), and a host without
 * a port given 443, as grpc-go's DNS resolver does.
 */
export function parseGrpcEndpoint(endpoint: string): { target: string; forceTls: boolean } {
  let target = endpoint;
  let forceTls = false;
  if (target.startsWith('https://')) [target, forceTls] = [target.slice(8).replace(/\/+$/, ''), true];
  else if (target.startsWith('http://')) target = target.slice(7).replace(/\/+$/, '');
  else if (target.startsWith('dns:///')) target = target.slice(7);
  if (/^[^:\s[\]/]+$/.test(target) || /^\[[0-9A-Fa-f:.]+\]$/.test(target)) target += ':443';
  return { target, forceTls };
}

/** The host of an authority (`host`, `host:port`, `[v6]` or `[v6]:port`), brackets removed. */
function hostOf(authority: string): string {
  const host = ENDPOINT_RE.exec(authority)?.[1] ?? authority;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The endpoint key of a gRPC client: host:port, checked at validation. */
export function grpcEndpointSchema(): Schema<string> {
  return s.refine(
    s
      .string()
      .mustBeSet()
      .describe(
        'host:port of the OTLP/gRPC server (an http:// or https:// prefix is stripped, https:// forcing TLS; dns:///host:port is host:port; without a port, 443)',
      ),
    // Checked here: an empty or malformed endpoint (an unset env variable, say) would otherwise start, then
    // fail every export as retryable until the data is dropped.
    (v, path, issues) => {
      if (v.trim().startsWith('unix:')) {
        issues.push({ path, message: notSupportedYetMessage('connects to a unix socket; give the host:port of the server') });
        return;
      }
      const m = ENDPOINT_RE.exec(parseGrpcEndpoint(v.trim()).target);
      if (!m || m[1] === '' || Number(m[2]) > 65535 || Number(m[2]) === 0) {
        issues.push({ path, message: `"${v}" is not the host:port of a gRPC server (e.g. collector:4317, or https://collector:4317 for TLS)` });
      }
    },
  );
}

/** The client keys (everything of the otlp exporter but `endpoint` and the exporterhelper's). */
export function otlpGrpcClientShape() {
  return {
    tls: tlsClientSchema().describe(
      "TLS to the server (the collector's configtls client settings); TLS is on unless insecure: true without ca_file / ca_pem (an https:// endpoint forces it).",
    ),
    headers: s
      .headerMap(s.string().opaque())
      .default({})
      .describe('Metadata sent with every request (e.g. authorization), as a map or a list of name/value pairs; values are masked in print-config'),
    auth: authSchema,
    compression: s
      .enum('gzip', 'zstd', 'snappy', 'none')
      .alias('', 'none')
      .default('gzip')
      .describe('Message compression (the collector\'s gRPC client has gzip, zstd and snappy); "" is none, as in the collector'),
    compression_params: s.object({
      level: s
        .int()
        .default(0)
        .describe("Compression level: gzip -1 or 1-9, zstd 1-22 (others are taken as the nearest); 0: the codec's default, as in the collector"),
    }),
    balancer_name: s
      .enum('round_robin', 'pick_first')
      .alias('', 'pick_first')
      .default('pick_first')
      .describe(
        "Accepted for the collector's configs (whose otlp exporter leaves it empty: grpc-go's pick_first); GopherShip keeps one HTTP/2 connection to the endpoint's first resolved address (as pick_first), so round_robin over several addresses behaves like pick_first",
      ),
    read_buffer_size: s.int(0).default(0).describe("Accepted for the collector's configs; Node sizes socket buffers itself, so it has no effect"),
    write_buffer_size: s
      .int(0)
      .default(512 * 1024)
      .describe("Accepted for the collector's configs (default 512 KiB as its otlp exporter's); Node sizes socket buffers itself, so it has no effect"),
    wait_for_ready: s.notYet('waits for the connection to be ready instead of failing calls while it is down', false),
    authority: s
      .string()
      .default('')
      .describe(
        "The :authority header of every call instead of the endpoint (e.g. for a proxy routing by host); over TLS without server_name_override it is also the name checked in the server's certificate, as grpc-go's WithAuthority",
      ),
    middlewares: s.notYet('runs middleware extensions around each call'),
    timeout: s.duration().default(5000).describe('Deadline of one Export call (each retry gets its own)'),
    keepalive: s.object({
      time: s
        .duration()
        .default(300_000)
        .describe("Ping the server after this long without activity (>= 5m stays within grpc-go servers' default ping policy)"),
      timeout: s.duration().default(20_000).describe('Close the connection when a ping is not answered within this'),
      permit_without_stream: s
        .bool()
        .default(false)
        .describe(
          'Ping also while no call is open; false pings only while calls are in flight, as grpc-go (its servers send GOAWAY too_many_pings to a client pinging a connection without calls more often than every 2h)',
        ),
    }),
    flow_control_window: s
      .int(65_535)
      .default(16 * 1024 * 1024)
      .describe('HTTP/2 flow-control window in bytes (stream and connection)'),
    max_message_size: s
      .int(1024)
      .default(64 * 1024 * 1024)
      .describe('Largest request and response message in bytes'),
  };
}

/** Cross-key checks of the client keys (for the config that spreads otlpGrpcClientShape): the level fits the compression. */
export function checkGrpcClient(
  v: { compression: OtlpGrpcClientConfig['compression']; compression_params: { level: number } },
  path: string[],
  issues: ConfigIssue[],
): void {
  const problem = compressionLevelProblem(v.compression, v.compression_params.level);
  if (problem) issues.push({ path: [...path, 'compression_params', 'level'], message: problem });
}

const _clientSample = s.object(otlpGrpcClientShape());
export type OtlpGrpcClientConfig = ConfigOf<typeof _clientSample>;

/** Maps a failed call to the gateway's error types, reading RetryInfo from grpc-status-details-bin. */
export function errorOfCall(result: CallResult, target: string, signal: Signal, sent: Readonly<Record<string, unknown>> = {}): RetryableError | PermanentError {
  let retryAfterMs: number | undefined;
  if (result.details && result.details.length > 0) {
    try {
      retryAfterMs = decodeStatus('proto', result.details)?.retryDelayMs;
    } catch {
      // A malformed details trailer must not hide the status itself.
    }
  }
  // A server may echo the credential it refused (the collector's bearertokenauth does): keep it out of clients' replies and logs.
  const message = withoutCredentials(result.message, credentialValues(sent));
  const text = `OTLP/gRPC export of ${signal} to ${target} failed: ${grpcStatusName(result.code)}: ${message}`;
  // RESOURCE_EXHAUSTED is throttling only when the server says when to come back (OTLP spec).
  if (isRetryableGrpc(result.code, retryAfterMs !== undefined)) {
    return new RetryableError(text, { retryAfterMs, throttled: result.code === GrpcStatus.RESOURCE_EXHAUSTED, code: 'GS_EXPORTER_SEND_FAILED' });
  }
  return new PermanentError(text, { code: 'GS_EXPORTER_REJECTED' });
}

/** One OTLP/gRPC downstream: start() opens nothing yet (connections are lazy), send() is one attempt. */
export class OtlpGrpcClient {
  private transport: GrpcTransport | undefined;
  private readonly metadata: Record<string, string | Buffer> = {};
  readonly target: string;
  private readonly forceTls: boolean;

  /**
   * `owner` names the component in errors (its componentLabel, e.g. `exporter otlp/2`); `configPath` is
   * where these settings are within the component's config ('' at its top, `protocol.otlp` in the
   * loadbalancing exporter), for errors about them.
   */
  constructor(
    private readonly owner: string,
    private readonly configPath: string,
    endpoint: string,
    private readonly config: OtlpGrpcClientConfig,
    private readonly logger: Logger,
  ) {
    ({ target: this.target, forceTls: this.forceTls } = parseGrpcEndpoint(endpoint));
    for (const [k, v] of Object.entries(config.headers)) {
      const key = k.toLowerCase();
      if (!/^[0-9a-z_.-]+$/.test(key) || key.startsWith('grpc-')) {
        throw new CodedError('GS_CONFIG_INVALID', `${owner}: headers.${k}: not a valid gRPC metadata key (lower-case letters, digits, _ . -; not grpc-*)`);
      }
      // Binary metadata (-bin keys) is given base64-encoded in config.
      this.metadata[key] = key.endsWith('-bin') ? Buffer.from(v, 'base64') : v;
    }
  }

  /** The client authenticator `auth` names (bearertokenauth, basicauth, headers_setter), found at start. */
  private authenticator: ClientAuthenticator | undefined;

  async start(host?: Host): Promise<void> {
    const c = this.config;
    this.authenticator = clientAuthenticatorOf(host, c.auth, this.configPath);
    // As configtls: insecure is plaintext only without a CA; with ca_file / ca_pem the collector still uses TLS.
    const secure = !c.tls.insecure || this.forceTls || c.tls.ca_file !== '' || c.tls.ca_pem !== '';
    if (!secure && this.authenticator?.sendsSecret)
      this.logger.warn(
        `${this.configPath === '' ? '' : `${this.configPath}.`}auth: extension "${c.auth!.authenticator}" sends a token or password, in clear text over this plaintext connection (tls.insecure: true); the collector refuses to send it without TLS. Use TLS, or accept that anyone on the path can read it`,
        { endpoint: this.target },
      );
    let tls: ClientTlsOptions | undefined;
    // grpc-go checks the server's certificate against the authority when it is set (and no server name is).
    const tlsCfg = c.authority && !c.tls.server_name_override ? { ...c.tls, server_name_override: hostOf(c.authority) } : c.tls;
    if (secure) tls = await loadClientTls(tlsCfg, this.configPath === '' ? 'tls' : `${this.configPath}.tls`);
    await prepareCompression(c.compression);
    this.transport = new GrpcTransport({
      authority: `${secure ? 'https' : 'http'}://${this.target}`,
      ...(c.authority ? { authorityHeader: c.authority } : {}),
      tls,
      metadata: this.metadata,
      compression: c.compression,
      compressionLevel: codecLevel(c.compression, c.compression_params.level),
      // HTTP/2's default 64 KiB windows cap a single connection at a few hundred MB/s.
      windowBytes: c.flow_control_window,
      maxMessageBytes: c.max_message_size,
      keepaliveMs: c.keepalive.time,
      keepaliveTimeoutMs: c.keepalive.timeout,
      keepalivePermitWithoutStream: c.keepalive.permit_without_stream,
    });
  }

  /** Sends one request; no metrics, so a queue/retry layer can call it per attempt. */
  async send(payload: Payload, signal: Signal = payload.signal): Promise<void> {
    const transport = this.transport;
    if (!transport) throw new RetryableError(`${this.owner} is not started`, { code: 'GS_COMPONENT_STOPPED' });
    let metadata: Record<string, string> | undefined;
    if (this.authenticator) {
      metadata = transport.configuredMetadata();
      this.authenticator.applyHeaders(metadata, payload.meta);
    }
    const result = await transport.call(GRPC_METHOD[signal], payload.chunks(), this.config.timeout, metadata);
    if (result.code !== GrpcStatus.OK) throw errorOfCall(result, this.target, signal, metadata ?? this.metadata);
    if (result.responseError !== undefined) {
      // Accepted (status OK): not retried, but a partial_success in it would go unseen, so say so.
      this.logger.warn('could not read the Export response; a partial success in it is not reported', {
        signal,
        error: result.responseError,
        endpoint: this.target,
      });
    }
    if (result.response && result.response.length > 0) this.checkPartial(signal, result.response);
  }

  private checkPartial(signal: Signal, response: Buffer): void {
    let partial: { rejected: number; errorMessage: string } | undefined;
    try {
      partial = decodeExportResponsePartial(signal, 'proto', response);
    } catch (err) {
      this.logger.debug('could not read the Export response', { signal, error: err });
      return;
    }
    if (partial && (partial.rejected > 0 || partial.errorMessage)) {
      // Partial success must not be retried (OTLP spec); it is the server's verdict on the data.
      this.logger.warn('Partial success response', { signal, rejected: partial.rejected, message: partial.errorMessage, endpoint: this.target });
    }
  }

  close(): void {
    this.transport?.close();
    this.transport = undefined;
  }
}
