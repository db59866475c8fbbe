/**
 * The zpages extension in a real gateway on 127.0.0.1: a config carrying it as the collector's default
 * configs do (beside health_check) loads and starts, each page shows what the service runs, expvarz
 * answers only when enabled, and what is not a page is refused with the list of pages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service/service.js';
import { startGateway } from '../../test/helpers/gateway.js';
import { gatewayYaml } from '../../test/helpers/configs.js';
import { configProblems } from '../../test/helpers/config-problems.js';
import type { ZpagesExtension } from './zpages.js';

function gatewayWith(zpages: Record<string, unknown>): string {
  return gatewayYaml({
    extensions: { health_check: { endpoint: '127.0.0.1:0' }, zpages: { endpoint: '127.0.0.1:0', ...zpages } },
    processors: { batch: {} },
    exporters: { debug: {}, 'debug/<b>': {} },
    pipelines: { logs: { processors: ['batch'], exporters: ['debug'] }, 'traces/2': { exporters: ['debug', 'debug/<b>'] } },
  });
}

async function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

describe('zpages extension', () => {
  let gw: Service;
  let port: number;
  beforeAll(async () => {
    gw = await startGateway(gatewayWith({}));
    port = gw.component<ZpagesExtension>('extension', 'zpages')!.port!;
  });
  afterAll(() => gw?.shutdown(2000));

  it('servicez shows the build, the runtime, the start time and the health', async () => {
    const page = await get(port, '/debug/servicez');
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
    expect(page.body).toContain('<td>gophership</td>');
    expect(page.body).toContain(`Node.js ${process.version}`);
    expect(page.body).toContain(`<td>${process.pid}</td>`);
    expect(page.body).toContain('<td>serving</td>');
  });

  it('pipelinez lists each pipeline with its components in order, escaped; extensionz the extensions', async () => {
    const pipelines = await get(port, '/debug/pipelinez');
    expect(pipelines.status).toBe(200);
    expect(pipelines.body).toContain('<tr><td>logs</td><td>otlp</td><td>batch</td><td>debug</td></tr>');
    expect(pipelines.body).toContain('<tr><td>traces/2</td><td>otlp</td><td>-</td><td>debug, debug/&#60;b&#62;</td></tr>');
    expect(pipelines.body).not.toContain('debug/<b>');
    const extensions = await get(port, '/debug/extensionz');
    expect(extensions.body).toContain('<tr><td>health_check</td></tr>');
    expect(extensions.body).toContain('<tr><td>zpages</td></tr>');
  });

  it('featurez and tracez say plainly what GopherShip has not', async () => {
    expect((await get(port, '/debug/featurez')).body).toContain('GopherShip has no feature gates');
    expect((await get(port, '/debug/tracez')).body).toContain('records no spans of its own yet');
  });

  it('refuses what is not a page, naming the pages; expvarz is off unless enabled; only GET', async () => {
    const missing = await get(port, '/debug/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toBe('no zpage at /debug/nope; the pages are /debug/servicez, /debug/pipelinez, /debug/extensionz, /debug/featurez, /debug/tracez\n');
    const expvar = await get(port, '/debug/expvarz');
    expect(expvar.status).toBe(404);
    expect(expvar.body).toContain('expvarz is off: set expvar.enabled: true');
    expect((await get(port, '/debug/servicez', 'POST')).status).toBe(405);
  });

  it('expvarz, when enabled, serves the runtime figures as JSON', async () => {
    const other = await startGateway(gatewayWith({ expvar: { enabled: true } }));
    try {
      const page = await get(other.component<ZpagesExtension>('extension', 'zpages')!.port!, '/debug/expvarz');
      expect(page.status).toBe(200);
      const vars = JSON.parse(page.body) as { memory: { rss: number }; versions: { node: string }; cmdline: string[] };
      expect(vars.memory.rss).toBeGreaterThan(0);
      expect(vars.versions.node).toBe(process.versions.node);
      expect(vars.cmdline).toEqual(process.argv);
    } finally {
      await other.shutdown(2000);
    }
  });

  it('an empty endpoint is a config error naming the key', async () => {
    expect((await configProblems(gatewayWith({ endpoint: '' }))).join('\n')).toMatch(/extensions\.zpages\.endpoint: .*host:port/);
  });
});
