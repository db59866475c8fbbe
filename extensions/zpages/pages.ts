/**
 * The zpages' HTML, one function a page, from what the host describes (Host.describe). Plain tables
 * without scripts or outside resources: the pages are read in a browser during an incident, often through
 * a port-forward, and must show what runs even when nothing else does.
 */
import type { ServiceDescription } from '../../src/core/component.js';

export const PAGES = ['servicez', 'pipelinez', 'extensionz', 'featurez', 'tracez'] as const;

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  const nav = PAGES.map((p) => `<a href="/debug/${p}">${p}</a>`).join(' · ');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3em .6em;text-align:left;vertical-align:top}</style>
</head><body><p>${nav}</p><h1>${escape(title)}</h1>${body}</body></html>\n`;
}

function table(head: readonly string[], rows: readonly (readonly string[])[], none: string): string {
  if (rows.length === 0) return `<p>${escape(none)}</p>`;
  const th = head.map((h) => `<th>${escape(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table><tr>${th}</tr>\n${trs}</table>`;
}

export interface BuildInfo {
  name: string;
  version: string;
}

export function servicez(d: ServiceDescription, build: BuildInfo, now: number): string {
  const rows = [
    ['Command', build.name],
    ['Version', build.version],
    ['Runtime', `Node.js ${process.version} (${process.platform}/${process.arch}), V8 ${process.versions.v8}`],
    ['Process', String(process.pid)],
    ['Start time', new Date(d.startedAt).toISOString()],
    ['Uptime', `${((now - d.startedAt) / 1000).toFixed(0)} s`],
    ['Health', d.health],
  ];
  return page('Service', table(['Field', 'Value'], rows, ''));
}

export function pipelinez(d: ServiceDescription): string {
  const rows = d.pipelines.map((p) => [p.id, p.receivers.join(', '), p.processors.join(', ') || '-', p.exporters.join(', ')]);
  return page('Pipelines', table(['Pipeline', 'Receivers', 'Processors', 'Exporters'], rows, 'No pipelines.'));
}

export function extensionz(d: ServiceDescription): string {
  return page(
    'Extensions',
    table(
      ['Extension'],
      d.extensions.map((e) => [e]),
      'No extensions.',
    ),
  );
}

export function featurez(): string {
  return page('Feature gates', table(['ID', 'Enabled', 'Stage', 'Description'], [], 'GopherShip has no feature gates: every behaviour is set in the config.'));
}

export function tracez(): string {
  return page(
    'Traces',
    '<p>GopherShip records no spans of its own yet (<code>service.telemetry.traces</code> is not supported yet), so there are no latency buckets to show. Its self-metrics and live status page are at <code>service.telemetry.metrics</code>.</p>',
  );
}

/** Go's expvar in the collector (memstats, cmdline); Node's equivalents here, as JSON. */
export function expvarz(): string {
  return `${JSON.stringify(
    {
      cmdline: process.argv,
      memory: process.memoryUsage(),
      resourceUsage: process.resourceUsage(),
      uptimeSeconds: process.uptime(),
      versions: process.versions,
    },
    null,
    2,
  )}\n`;
}
