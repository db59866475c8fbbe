/**
 * Answers 200 while the gateway serves and 503 while it starts or drains, so a load balancer or
 * Kubernetes probe takes it out of rotation before shutdown stops the receivers.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { CreateSettings, Extension } from '../../src/core/component.js';
import { listen, parseEndpoint } from '../../src/core/net.js';
import type { HealthCheckConfig } from './config.js';
import { watchHandshakes } from '../../src/confighelper/http-server.js';
import { ServerTlsReloader, loadServerTls } from '../../src/confighelper/tls.js';

export class HealthCheckExtension implements Extension {
  private server: Server | undefined;
  private reloader: ServerTlsReloader | undefined;
  private readonly startedAt = new Date();

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: HealthCheckConfig,
  ) {}

  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async start(): Promise<void> {
    const label = `extensions.${this.settings.id.id}.endpoint`;
    const { host, port } = parseEndpoint(this.config.endpoint, label);
    const telemetry = this.settings.telemetry;
    const handler: RequestListener = (req, res) => {
      if ((req.url ?? '/').split('?')[0] !== this.config.path) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; health is at ${this.config.path}\n`);
        return;
      }
      const serving = telemetry.health === 'serving';
      const body = {
        status: serving ? 'Server available' : telemetry.health === 'starting' ? 'Server starting' : 'Server not available',
        upSince: this.startedAt.toISOString(),
        uptime: `${((Date.now() - this.startedAt.getTime()) / 1000).toFixed(3)}s`,
      };
      // response_body replaces the JSON status with the configured text, as the collector's does.
      const fixed = this.config.response_body;
      if (fixed) res.writeHead(serving ? 200 : 503, { 'content-type': 'text/plain', connection: 'close' }).end(serving ? fixed.healthy : fixed.unhealthy);
      else res.writeHead(serving ? 200 : 503, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify(body));
    };
    const tlsCfg = this.config.tls;
    if (tlsCfg) {
      const keyPath = `extensions.${this.settings.id.id}.tls`;
      const tlsOptions = await loadServerTls(tlsCfg, keyPath);
      const server = createHttpsServer(tlsOptions, handler);
      watchHandshakes(server, this.settings.logger);
      this.reloader = new ServerTlsReloader(tlsCfg, keyPath, () => [server], this.settings.logger, tlsOptions);
      this.reloader.start();
      this.server = server;
    } else {
      this.server = createServer(handler);
    }
    await listen(this.server, host, port, label);
  }

  async shutdown(): Promise<void> {
    this.reloader?.stop();
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
