/**
 * The collector's zpages extension: live debugging pages under /debug/ on their own endpoint (localhost
 * by default). What each page shows comes from the host (Host.describe) when it is asked for, so the pages
 * cost nothing while nobody reads them.
 */
import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CreateSettings, Extension, Host } from '../../src/core/component.js';
import { gatewayVersion } from '../../src/core/build-info.js';
import { listen, parseEndpoint } from '../../src/core/net.js';
import { createEndpointServer, type EndpointServer } from '../../src/confighelper/http-server.js';
import type { ZpagesConfig } from './config.js';
import { PAGES, expvarz, extensionz, featurez, pipelinez, servicez, tracez } from './pages.js';

export class ZpagesExtension implements Extension {
  private listener: EndpointServer | undefined;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: ZpagesConfig,
  ) {}

  get port(): number | undefined {
    return (this.listener?.server.address() as AddressInfo | null)?.port;
  }

  async start(host: Host): Promise<void> {
    const label = `extensions.${this.settings.id.id}.endpoint`;
    const { host: address, port } = parseEndpoint(this.config.endpoint, label);
    const build = { name: 'gophership', version: gatewayVersion() };
    const routes: Record<string, () => string> = {
      '/debug/servicez': () => servicez(host.describe(), build, Date.now()),
      '/debug/pipelinez': () => pipelinez(host.describe()),
      '/debug/extensionz': () => extensionz(host.describe()),
      '/debug/featurez': featurez,
      '/debug/tracez': tracez,
    };
    const available = [...PAGES.map((p) => `/debug/${p}`), ...(this.config.expvar.enabled ? ['/debug/expvarz'] : [])];
    const handler: RequestListener = (req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('the zpages are read with GET\n');
        return;
      }
      if (path === '/debug/expvarz' && this.config.expvar.enabled) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(expvarz());
        return;
      }
      const render = routes[path];
      if (!render) {
        const hint = path === '/debug/expvarz' ? ' (expvarz is off: set expvar.enabled: true)' : '';
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`no zpage at ${path}${hint}; the pages are ${available.join(', ')}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(render());
    };
    const endpoint = await createEndpointServer(undefined, `extensions.${this.settings.id.id}`, handler, this.settings.logger);
    this.listener = endpoint;
    await listen(endpoint.server, address, port, label);
  }

  async shutdown(): Promise<void> {
    await this.listener?.close();
  }
}
