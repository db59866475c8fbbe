/** Serves the status page (/status) and its data (/status.json) from a StatusSampler. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TelemetryServer } from '../server.js';
import { statusPageHtml } from './page.js';
import type { StatusSampler } from './sampler.js';

export function statusJsonHandler(sampler: StatusSampler) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    // ?since=<unix ms> returns only newer timeline points, so a polling page fetches a few hundred bytes.
    const since = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('since') ?? 0);
    const body = JSON.stringify(sampler.snapshot(Number.isFinite(since) ? since : 0));
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(body);
  };
}

export function statusPageHandler(sensorName: string) {
  const page = Buffer.from(statusPageHtml(sensorName), 'utf8');
  return (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // Everything is inline; nothing may load from elsewhere.
      'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
      'content-length': String(page.length),
    });
    res.end(page);
  };
}

/** Adds /status and /status.json beside /metrics. */
export function registerStatusRoutes(server: TelemetryServer, sampler: StatusSampler): void {
  server.route('/status', statusPageHandler(sampler.sensorName));
  server.route('/status.json', statusJsonHandler(sampler));
}
