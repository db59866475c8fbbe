/**
 * OTLP/gRPC exporter: one grpc-js channel per exporter ID, unary Export calls with identity serializers
 * so the request bytes a pipeline holds are the bytes on the wire (no decode, no re-encode).
 */
import * as grpc from '@grpc/grpc-js';
import type { CreateSettings, Exporter, Host } from '../../src/core/component.js';
import { PermanentError, RetryableError } from '../../src/core/errors.js';
import type { Payload } from '../../src/core/payload.js';
import { ExporterHelper, readOptionalFile } from '../../src/exporterhelper/index.js';
import { GRPC_METHOD, type Signal } from '../../src/core/signal.js';
import { decodeExportResponsePartial, decodeStatus } from '../../src/otlp/codec.js';
import { GrpcStatus, grpcStatusName, isRetryableGrpc } from '../../src/otlp/grpc-status.js';
import type { Logger } from '../../src/telemetry/logger.js';
import type { OtlpExporterConfig } from './config.js';

const serialize = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const deserialize = (b: Buffer): Buffer => b;

/** Strips an http(s):// scheme as the collector does; https:// asks for TLS. */
export function parseGrpcEndpoint(endpoint: string): { target: string; forceTls: boolean } {
  if (endpoint.startsWith('https://')) return { target: endpoint.slice(8).replace(/\/+$/, ''), forceTls: true };
  if (endpoint.startsWith('http://')) return { target: endpoint.slice(7).replace(/\/+$/, ''), forceTls: false };
  return { target: endpoint, forceTls: false };
}

/** Maps a failed call to the gateway's error types, reading RetryInfo from grpc-status-details-bin. */
export function mapGrpcError(err: grpc.ServiceError | Error, target: string, signal: Signal): RetryableError | PermanentError {
  const code = (err as grpc.ServiceError).code;
  const message = (err as grpc.ServiceError).details || err.message;
  let retryAfterMs: number | undefined;
  const meta = (err as grpc.ServiceError).metadata;
  const bin = meta?.get('grpc-status-details-bin')[0];
  if (bin instanceof Buffer && bin.length > 0) {
    try {
      retryAfterMs = decodeStatus('proto', bin)?.retryDelayMs;
    } catch {
      // A malformed details trailer must not hide the status itself.
    }
  }
  const codeName = typeof code === 'number' ? grpcStatusName(code) : 'UNKNOWN';
  const text = `OTLP/gRPC export of ${signal} to ${target} failed: ${codeName}: ${message}`;
  // A failure without a status code never reached a server verdict: worth another try.
  if (typeof code !== 'number') return new RetryableError(text, { cause: err });
  // RESOURCE_EXHAUSTED is throttling only when the server says when to come back (OTLP spec).
  if (isRetryableGrpc(code, retryAfterMs !== undefined)) {
    return new RetryableError(text, { retryAfterMs, throttled: code === GrpcStatus.RESOURCE_EXHAUSTED, cause: err });
  }
  return new PermanentError(text, { cause: err });
}

export class OtlpGrpcExporter implements Exporter {
  private client: grpc.Client | undefined;
  private readonly metadata = new grpc.Metadata();
  private readonly target: string;
  private readonly forceTls: boolean;
  private readonly logger: Logger;
  private readonly helper: ExporterHelper;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: OtlpExporterConfig,
  ) {
    ({ target: this.target, forceTls: this.forceTls } = parseGrpcEndpoint(config.endpoint));
    for (const [k, v] of Object.entries(config.headers)) {
      const key = k.toLowerCase();
      try {
        // Binary metadata (-bin keys) is given base64-encoded in config.
        this.metadata.set(key, key.endsWith('-bin') ? Buffer.from(v, 'base64') : v);
      } catch (err) {
        throw new Error(`exporter ${settings.id.id}: headers.${k}: ${(err as Error).message}`);
      }
    }
    this.logger = settings.logger;
    this.helper = new ExporterHelper(settings, config, (p, s) => this.send(p, s));
  }

  async start(_host?: Host): Promise<void> {
    const c = this.config;
    let creds: grpc.ChannelCredentials;
    if (c.tls.insecure && !this.forceTls) {
      creds = grpc.credentials.createInsecure();
    } else {
      const [ca, cert, key] = await Promise.all([readOptionalFile(c.tls.ca_file, 'tls.ca_file'), readOptionalFile(c.tls.cert_file, 'tls.cert_file'), readOptionalFile(c.tls.key_file, 'tls.key_file')]);
      if ((cert === undefined) !== (key === undefined)) throw new Error(`exporter ${this.settings.id.id}: tls.cert_file and tls.key_file must be set together`);
      creds = grpc.credentials.createSsl(ca ?? null, key ?? null, cert ?? null);
    }
    const options: grpc.ChannelOptions = {
      // grpc-js defaults to HTTP/2's 64 KiB windows, which caps a single connection at a few hundred MB/s.
      'grpc-node.flow_control_window': c.flow_control_window,
      'grpc.max_send_message_length': c.max_message_size,
      'grpc.max_receive_message_length': c.max_message_size,
      'grpc.keepalive_time_ms': c.keepalive.time,
      'grpc.keepalive_timeout_ms': c.keepalive.timeout,
      'grpc.primary_user_agent': 'gophership',
    };
    if (c.compression === 'gzip') options['grpc.default_compression_algorithm'] = 2; // gzip
    if (c.tls.server_name_override) options['grpc.ssl_target_name_override'] = c.tls.server_name_override;
    this.client = new grpc.Client(this.target, creds, options);
    await this.helper.start();
  }

  /** Sends one request; no metrics, so a queue/retry layer can call it per attempt. */
  send(payload: Payload, signal: Signal = payload.signal): Promise<void> {
    const client = this.client;
    if (!client) return Promise.reject(new RetryableError(`exporter ${this.settings.id.id} is not started`));
    return new Promise<void>((resolve, reject) => {
      client.makeUnaryRequest<Uint8Array, Buffer>(
        GRPC_METHOD[signal],
        serialize,
        deserialize,
        payload.bytes,
        this.metadata.clone(),
        { deadline: Date.now() + this.config.timeout },
        (err, response) => {
          if (err) {
            reject(mapGrpcError(err, this.target, signal));
            return;
          }
          if (response && response.length > 0) this.checkPartial(signal, response);
          resolve();
        },
      );
    });
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

  async shutdown(): Promise<void> {
    // The queue drains (memory) or stops and keeps its data (wal) while the channel is still open.
    await this.helper.shutdown();
    this.client?.close();
    this.client = undefined;
  }
}


