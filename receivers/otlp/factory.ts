/**
 * The `otlp` receiver: OTLP over gRPC (port 4317) and HTTP (port 4318, protobuf and JSON), as the
 * collector's otlpreceiver. Each request goes to its signal's consumer as received (protobuf bytes; JSON
 * converted once), and the client is answered when the pipeline accepted or refused it.
 */
import type { Consumer } from '../../src/core/consumer.js';
import type { CreateSettings, Host, Receiver, ReceiverFactory } from '../../src/core/component.js';
import { CodedError, codeOf, componentLabel, messageOf } from '../../src/core/errors.js';
import type { Signal } from '../../src/core/signal.js';
import { otlpReceiverConfig, type OtlpReceiverConfig } from './config.js';
import { OtlpGrpcServer } from './grpc.js';
import { OtlpHttpServer } from './http.js';
import { Ingest, type Transport } from './ingest.js';
import { RequestAccess } from './access.js';
import { serverAuthenticatorOf, type AuthConfig } from '../../src/core/auth.js';
import { metadata } from './metadata.js';

export class OtlpReceiver implements Receiver {
  private grpc: OtlpGrpcServer | undefined;
  private http: OtlpHttpServer | undefined;
  private readonly ingest: Ingest;
  private started = false;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: OtlpReceiverConfig,
    next: Partial<Record<Signal, Consumer>>,
  ) {
    this.ingest = new Ingest(settings.id.id, settings.telemetry, next, settings.logger, settings.pressure);
    this.ingest.validation = { utf8: config.check_utf8 };
  }

  /** The protocol servers, each with the authenticator its `auth` names (extensions started before us). */
  private createServers(host: Host): void {
    const { grpc, http } = this.config.protocols;
    const access = (transport: Transport, cfg: { auth: AuthConfig; include_metadata: boolean }) =>
      new RequestAccess(
        serverAuthenticatorOf(host, cfg.auth, `protocols.${transport}`),
        cfg.include_metadata,
        (reason) => this.ingest.unauthenticated(transport, reason),
        this.settings.logger,
      );
    if (grpc) this.grpc = new OtlpGrpcServer(grpc, this.ingest, this.settings.logger, access('grpc', grpc));
    if (http) this.http = new OtlpHttpServer(http, this.ingest, this.settings.logger, access('http', http));
  }

  /** The address the gRPC server is bound to (after start), e.g. the port chosen for `:0`. */
  get grpcAddress(): { host: string; port: number } | undefined {
    return this.grpc?.address;
  }

  /** The address the HTTP server is bound to (after start). */
  get httpAddress(): { host: string; port: number } | undefined {
    return this.http?.address;
  }

  async start(host: Host): Promise<void> {
    if (this.started) throw new Error(`${componentLabel(this.settings)}: already started`);
    this.started = true;
    this.createServers(host);
    const onFatal = (err: Error): void =>
      host.reportFatalError(new CodedError('GS_COMPONENT_FAILED', `${componentLabel(this.settings)}: server failed: ${err.message}`, { cause: err }));
    const { grpc, http } = this.config.protocols;
    if (this.grpc) await this.listen(() => this.grpc!.start(onFatal), 'grpc', grpc!.endpoint);
    if (this.http) {
      try {
        await this.listen(() => this.http!.start(onFatal), 'http', http!.endpoint);
      } catch (err) {
        await this.grpc?.shutdown();
        throw err;
      }
    }
    this.settings.logger.info('OTLP receiver listening', {
      ...(this.grpc ? { grpc: formatAddress(this.grpc.address) } : {}),
      ...(this.http ? { http: formatAddress(this.http.address) } : {}),
    });
  }

  private async listen(start: () => Promise<void>, protocol: string, endpoint: string): Promise<void> {
    try {
      await start();
    } catch (err) {
      // A TLS file or key that cannot be used fails the start too, but it is no listen failure: keep its code and
      // its words (they name the key), not the advice about a port in use.
      const code = codeOf(err);
      if (code !== undefined && code !== 'GS_LISTEN_FAILED') throw new CodedError(code, `${componentLabel(this.settings)}: ${messageOf(err)}`, { cause: err });
      throw new CodedError(
        'GS_LISTEN_FAILED',
        `${componentLabel(this.settings)}: cannot listen on ${endpoint}: ${messageOf(err)} ` +
          `(is another process using it? choose a free address in protocols.${protocol}.endpoint)`,
        { cause: err },
      );
    }
  }

  /** Stops accepting on both servers, answers what is in flight, and resolves once both are closed. */
  async shutdown(): Promise<void> {
    await Promise.all([this.grpc?.shutdown(), this.http?.shutdown()]);
  }
}

function formatAddress(a: { host: string; port: number } | undefined): string | undefined {
  if (!a) return undefined;
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export const otlpReceiverFactory: ReceiverFactory<OtlpReceiverConfig> = {
  kind: 'receiver',
  ...metadata,
  config: otlpReceiverConfig,
  create(settings, config, next) {
    return new OtlpReceiver(settings, config, next);
  },
};
