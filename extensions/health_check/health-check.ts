/**
 * Answers 200 while the gateway serves and 503 while it starts or drains, so a load balancer or
 * Kubernetes probe takes it out of rotation before shutdown stops the receivers.
 */
import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CreateSettings, Extension } from '../../src/core/component.js';
import { listen, parseEndpoint } from '../../src/core/net.js';
import type { HealthCheckConfig } from './config.js';
import { createEndpointServer, type EndpointServer } from '../../src/confighelper/http-server.js';

export class HealthCheckExtension implements Extension {
  private listener: EndpointServer | undefined;
  private readonly startedAt = new Date();

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: HealthCheckConfig,
  ) {}

  get port(): number | undefined {
    return (this.listener?.server.address() as AddressInfo | null)?.port;
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
    const endpoint = await createEndpointServer(this.config.tls, `extensions.${this.settings.id.id}.tls`, handler, this.settings.logger);
    this.listener = endpoint;
    await listen(endpoint.server, host, port, label);
  }

  async shutdown(): Promise<void> {
    await this.listener?.close();
  }
}
