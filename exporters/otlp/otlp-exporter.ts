/**
 * OTLP/gRPC exporter: unary Export calls on Node's HTTP/2 client (grpc-transport.ts), so the request
 * bytes a pipeline holds are the bytes on the wire (no decode, no re-encode, no framing copy).
 */
import type { CreateSettings, Exporter, Host } from '../../src/core/component.js';
import { PermanentError, RetryableError } from '../../src/core/errors.js';
import type { Payload } from '../../src/pdata/payload.js';
import { ExporterHelper } from '../../src/exporterhelper/index.js';
import { loadClientTls, type ClientTlsOptions } from '../../src/confighelper/tls.js';
import { GRPC_METHOD, type Signal } from '../../src/core/signal.js';
import { decodeExportResponsePartial, decodeStatus } from '../../src/pdata/codec.js';
import { GrpcStatus, grpcStatusName, isRetryableGrpc } from '../../src/grpc/status.js';
import type { Logger } from '../../src/telemetry/logger.js';
import { parseGrpcEndpoint, type OtlpExporterConfig } from './config.js';
import { GrpcTransport, type CallResult } from './grpc-transport.js';
import { clientAuthenticatorOf, type ClientAuthenticator } from '../../src/core/auth.js';
import { prepareCompression } from '../../src/compression/index.js';


/** Maps a failed call to the gateway's error types, reading RetryInfo from grpc-status-details-bin. */
export function errorOfCall(result: CallResult, target: string, signal: Signal): RetryableError | PermanentError {
  let retryAfterMs: number | undefined;
  if (result.details && result.details.length > 0) {
    try {
      retryAfterMs = decodeStatus('proto', result.details)?.retryDelayMs;
    } catch {
      // A malformed details trailer must not hide the status itself.
    }
  }
  const text = `OTLP/gRPC export of ${signal} to ${target} failed: ${grpcStatusName(result.code)}: ${result.message}`;
  // RESOURCE_EXHAUSTED is throttling only when the server says when to come back (OTLP spec).
  if (isRetryableGrpc(result.code, retryAfterMs !== undefined)) {
    return new RetryableError(text, { retryAfterMs, throttled: result.code === GrpcStatus.RESOURCE_EXHAUSTED });
  }
  return new PermanentError(text);
}

export class OtlpGrpcExporter implements Exporter {
  private transport: GrpcTransport | undefined;
  private readonly metadata: Record<string, string | Buffer> = {};
  private readonly target: string;
  private readonly forceTls: boolean;
  private readonly logger: Logger;
  private readonly helper: ExporterHelper;
  /** The client authenticator `auth` names (bearertokenauth, basicauth, headers_setter), found at start. */
  private authenticator: ClientAuthenticator | undefined;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: OtlpExporterConfig,
  ) {
    ({ target: this.target, forceTls: this.forceTls } = parseGrpcEndpoint(config.endpoint));
    for (const [k, v] of Object.entries(config.headers)) {
      const key = k.toLowerCase();
      if (!/^[0-9a-z_.-]+$/.test(key) || key.startsWith('grpc-')) {
        throw new Error(`exporter ${settings.id.id}: headers.${k}: not a valid gRPC metadata key (lower-case letters, digits, _ . -; not grpc-*)`);
      }
      // Binary metadata (-bin keys) is given base64-encoded in config.
      this.metadata[key] = key.endsWith('-bin') ? Buffer.from(v, 'base64') : v;
    }
    this.logger = settings.logger;
    this.helper = new ExporterHelper(settings, config, (p, s) => this.send(p, s), { timeoutMs: config.timeout });
  }

  async start(host?: Host): Promise<void> {
    const c = this.config;
    this.authenticator = clientAuthenticatorOf(host, c.auth, `exporters::${this.settings.id.id}`);
    const secure = !c.tls.insecure || this.forceTls;
    let tls: ClientTlsOptions | undefined;
    if (secure) tls = await loadClientTls(c.tls, `exporters::${this.settings.id.id}: tls`);
    await prepareCompression(c.compression);
    this.transport = new GrpcTransport({
      authority: `${secure ? 'https' : 'http'}://${this.target}`,
      tls,
      metadata: this.metadata,
      compression: c.compression,
      compressionLevel: c.compression_params.level || undefined,
      // HTTP/2's default 64 KiB windows cap a single connection at a few hundred MB/s.
      windowBytes: c.flow_control_window,
      maxMessageBytes: c.max_message_size,
      keepaliveMs: c.keepalive.time,
      keepaliveTimeoutMs: c.keepalive.timeout,
    });
    await this.helper.start();
  }

  /** Sends one request; no metrics, so a queue/retry layer can call it per attempt. */
  async send(payload: Payload, signal: Signal = payload.signal): Promise<void> {
    const transport = this.transport;
    if (!transport) throw new RetryableError(`exporter ${this.settings.id.id} is not started`);
    let metadata: Record<string, string> | undefined;
    if (this.authenticator) {
      metadata = transport.configuredMetadata();
      this.authenticator.applyHeaders(metadata, payload.meta);
    }
    const result = await transport.call(GRPC_METHOD[signal], payload.chunks(), this.config.timeout, metadata);
    if (result.code !== GrpcStatus.OK) throw errorOfCall(result, this.target, signal);
    if (result.responseError !== undefined) {
      // Accepted (status OK): not retried, but a partial_success in it would go unseen, so say so.
      this.logger.warn('could not read the Export response; a partial success in it is not reported', { signal, error: result.responseError, endpoint: this.target });
    }
    if (result.response && result.response.length > 0) this.checkPartial(signal, result.response);
  }

  /** Queue, retries and metrics: the shared exporterhelper around send(). */
  consume(payload: Payload): Promise<void> {
    return this.helper.consume(payload);
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

  async shutdown(deadlineAt?: number): Promise<void> {
    // The queue drains (memory) or stops and keeps its data (wal) while the channel is still open.
    await this.helper.shutdown(deadlineAt);
    this.transport?.close();
    this.transport = undefined;
  }
}


