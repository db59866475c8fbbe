/**
 * The status page in a real browser: Debian's headless Chromium driven by playwright-core (no browser
 * download). A gateway runs with load from the load generator; the page must load, show the current
 * zone (or the "no zones" state when no somatic processor is configured), show accepted-record rates
 * that change while the load runs, and log no console errors. A screenshot is saved under os.tmpdir()
 * (and to docs/status-page.png when UPDATE_SCREENSHOT=1).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../src/components.js';
import type { Service } from '../src/service/service.js';
import { runLoadgen, type LoadgenResult } from '../src/tools/loadgen/index.js';
import { receiverAddress, startGateway } from './helpers/gateway.js';
import { systemProgram } from './helpers/system-package.js';
import { gatewayYaml, SELF_METRICS } from './helpers/configs.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = systemProgram(CHROMIUM, 'chromium', 'the status-page browser test');

/** The page's document as the checks below read it: the tests are compiled without the DOM's types. */
interface PageElement {
  getAttribute(name: string): string | null;
  textContent: string | null;
  width: number;
  height: number;
}
type PageGlobals = { document: { getElementById(id: string): PageElement | null } };

// Loaded by name at run time; PLAYWRIGHT_CORE may point at a copy outside the repo while developing.
type Pw = typeof import('playwright-core');
async function loadPlaywright(): Promise<Pw> {
  return (await import(process.env.PLAYWRIGHT_CORE ?? 'playwright-core')) as Pw;
}

/** The gateway config: with the somatic processor first when this build registers it. */
function gatewayConfig(dir: string): string {
  const somatic = createRegistry().find('processor', 'somatic') !== undefined;
  return gatewayYaml({
    extensions: { health_check: { endpoint: '127.0.0.1:0' } },
    processors: { batch: { timeout: '20ms' }, ...(somatic ? { somatic: { memory_limit_mib: 2048, wal: { directory: join(dir, 'somatic') } } } : {}) },
    exporters: { file: { path: join(dir, 'out.pb'), format: 'proto' } },
    pipelines: { logs: { processors: [...(somatic ? ['somatic'] : []), 'batch'], exporters: ['file'] } },
    service: SELF_METRICS,
  });
}

describe.skipIf(!hasChromium)('status page in headless Chromium', () => {
  let dir: string;
  let gw: Service;
  let pw: Pw;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gs-status-page-'));
    gw = await startGateway(gatewayConfig(dir));
    pw = await loadPlaywright();
  });
  afterAll(async () => {
    await gw?.shutdown(5000);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loads, shows the zone and live rates under load, with no console errors', async () => {
    const profile = await mkdtemp(join(tmpdir(), 'gs-chromium-'));
    const context = await pw.chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1400, height: 1000 },
    });
    const problems: string[] = [];
    let load: Promise<LoadgenResult> | undefined;
    try {
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));

      const response = await page.goto(`http://${gw.metricsAddress}/status`);
      expect(response?.status()).toBe(200);
      expect(await page.title()).toBe('GopherShip status');

      // The zone card settles on a zone (somatic configured) or on "none" (no somatic processor).
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.getElementById('zone')?.getAttribute('data-zone') !== '', undefined, {
        timeout: 5000,
      });
      const zone = await page.getAttribute('#zone', 'data-zone');
      const hasSomatic = createRegistry().find('processor', 'somatic') !== undefined;
      if (hasSomatic) expect(['green', 'yellow', 'red']).toContain(zone);
      else expect(zone).toBe('none');
      expect((await page.textContent('#zone-name'))?.trim().length).toBeGreaterThan(0);
      expect(await page.textContent('#health')).toBe('serving');

      load = runLoadgen({ endpoint: `http://${receiverAddress(gw, 'otlp', 'http')}`, rate: 20_000, durationMs: 7000, workers: 4, batch: 500 });

      // While the load runs the accepted rate is non-zero and the running total keeps moving.
      await page.waitForFunction(
        () => /[1-9]/.test((globalThis as unknown as PageGlobals).document.getElementById('r-accepted')?.textContent ?? ''),
        undefined,
        {
          timeout: 6000,
        },
      );
      const total1 = await page.textContent('#t-accepted');
      const updated1 = await page.textContent('#updated');
      await page.waitForTimeout(2200);
      const total2 = await page.textContent('#t-accepted');
      const updated2 = await page.textContent('#updated');
      expect(total2).not.toBe(total1);
      expect(updated2).not.toBe(updated1);
      expect(await page.textContent('#r-accepted')).toMatch(/[1-9].*\/s$/);
      expect(await page.textContent('#r-sent')).toMatch(/[1-9].*\/s$/);
      // The tables name the pipeline and its exporter with live rates.
      expect(await page.textContent('#pipelines')).toContain('logs');
      expect(await page.textContent('#exporters')).toContain('file');
      // The timeline has points from the page's polling, drawn on a canvas of real size.
      const canvas = await page.evaluate(() => {
        const c = (globalThis as unknown as PageGlobals).document.getElementById('c-rates')!;
        return { w: c.width, h: c.height };
      });
      expect(canvas.w).toBeGreaterThan(200);
      expect(canvas.h).toBeGreaterThan(100);

      const shot = join(tmpdir(), 'gophership-status-page.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect((await stat(shot)).size).toBeGreaterThan(20_000);
      if (process.env.UPDATE_SCREENSHOT === '1') await page.screenshot({ path: join(import.meta.dirname, '..', 'docs', 'status-page.png'), fullPage: true });

      const result = await load;
      load = undefined;
      expect(result.acked).toBeGreaterThan(0);
      expect(result.failed).toBe(0);
      expect(problems).toEqual([]);
    } finally {
      // Close the browser while the gateway still serves, so the page's polling ends without errors.
      await context.close();
      await load;
      await rm(profile, { recursive: true, force: true });
    }
  }, 30_000);
});
