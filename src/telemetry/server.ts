/**
 * Serves the self-metrics at /metrics (Prometheus text format), and the pages added beside it, on
 * service.telemetry.metrics' address; over HTTPS only when `tls` is set (the shared server TLS settings).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';
import type { Telemetry } from './telemetry.js';
import { listen, parseEndpoint } from '../core/net.js';
import { createEndpointServer, type EndpointServer } from '../confighelper/http-server.js';
import type { TlsServerConfig } from '../confighelper/tls-config.js';
import type { Exposition } from './exposition.js';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void;

export class TelemetryServer {
  private listener: EndpointServer | undefined;
  private readonly routes = new Map<string, RouteHandler>();

  constructor(
    private readonly telemetry: Telemetry,
    private readonly endpoint: string,
    private readonly logger: Logger,
    private readonly tls?: TlsServerConfig,
    /** What the configured Prometheus reader changes in the served text (scope labels...); absent: nothing. */
    private readonly exposition?: Exposition,
  ) {
    this.routes.set('/metrics', (_req, res) => {
      const registry = this.telemetry.registry;
      (this.exposition ? this.exposition.render(registry) : registry.metrics()).then(
        (text) => {
          res.writeHead(200, { 'content-type': this.telemetry.registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`collecting metrics failed: ${err.message}\n`);
        },
      );
    });
  }

  /** Adds a page beside /metrics (the status page uses this). */
  route(path: string, handler: RouteHandler): void {
    this.routes.set(path, handler);
  }

  get address(): string | undefined {
    const a = this.listener?.server.address() as AddressInfo | null | undefined;
    return a ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : undefined;
  }

  async start(): Promise<void> {
    const { host, port } = parseEndpoint(this.endpoint, 'service.telemetry.metrics.address');
    const endpoint = await createEndpointServer(
      this.tls,
      'service.telemetry.metrics.tls',
      (req, res) => {
        const path = (req.url ?? '/').split('?')[0]!;
        const handler = this.routes.get(path);
        if (!handler) {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end(`not found; try ${[...this.routes.keys()].join(', ')}\n`);
          return;
        }
        handler(req, res);
      },
      this.logger,
    );
    this.listener = endpoint;
    await listen(endpoint.server, host, port, 'service.telemetry.metrics.address');
    this.logger.debug('self-metrics serving', { address: this.address, scheme: this.tls ? 'https' : 'http' });
  }

  async close(): Promise<void> {
    await this.listener?.close();
  }
}
