/**
 * The status page's data: the sampler over a real prom-client registry (collector and somatic metric
 * names registered as the components do), its ring buffer, and the /status and /status.json routes of a
 * running gateway.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Gauge, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestFromJson } from '../../pdata/codec.js';
import type { Service } from '../../service/service.js';
import { receiverAddress, startGateway } from '../../../test/helpers/gateway.js';
import { gatewayYaml, SELF_METRICS } from '../../../test/helpers/configs.js';
import { StatusSampler, type StatusSnapshot, type StatusSource } from './index.js';

function source(): StatusSource & { registry: Registry } {
  return { registry: new Registry(), health: 'serving' };
}

const pipelines = [{ id: 'logs', signal: 'logs' as const, receivers: ['otlp'], processors: ['batch'], exporters: ['otlp/backend'] }];

describe('StatusSampler', () => {
  it('reports no zone, no debt and no queue when those metrics are absent, and rates from the collector counters', async () => {
    const src = source();
    const accepted = new Counter({
      name: 'otelcol_receiver_accepted_log_records',
      help: 'h',
      labelNames: ['receiver', 'transport'],
      registers: [src.registry],
    });
    const sent = new Counter({ name: 'otelcol_exporter_sent_log_records', help: 'h', labelNames: ['exporter'], registers: [src.registry] });
    const sampler = new StatusSampler({ telemetry: src, pipelines, version: 't' });
    await sampler.sample();
    accepted.inc({ receiver: 'otlp', transport: 'grpc' }, 500);
    sent.inc({ exporter: 'otlp/backend' }, 400);
    await new Promise((r) => setTimeout(r, 100));
    await sampler.sample();
    const snap = sampler.snapshot();
    expect(snap.zone).toMatchObject({ level: null, name: null, source: 'none' });
    expect(snap.debt).toBeNull();
    expect(snap.sensors).toEqual([]);
    expect(snap.totals.accepted).toBe(500);
    // 500 records over ~0.1 s: a rate in the thousands, not the raw total.
    expect(snap.rates.accepted).toBeGreaterThan(1000);
    expect(snap.pipelines[0]!.inRate).toBe(snap.rates.accepted);
    expect(snap.pipelines[0]!.outRate).toBe(snap.rates.sent);
    expect(snap.exporters).toEqual([expect.objectContaining({ id: 'otlp/backend', sent: 400, queue: null })]);
    expect(snap.receivers).toEqual([expect.objectContaining({ id: 'otlp', transport: 'grpc', accepted: 500 })]);
    expect(snap.history).toHaveLength(2);
    expect(snap.history[0]!.accepted).toBe(0); // the first sample has no interval to divide by
    expect(snap.history[1]).toMatchObject({ zone: null, debt: null, queueFill: null, walFill: null });
  });

  it('shows the somatic zone, the sensors behind it, debt, and queue and WAL fill when they are registered', async () => {
    const src = source();
    const registers = [src.registry];
    const zone = new Gauge({ name: 'gophership_somatic_zone', help: 'zone', registers });
    const sensor = new Gauge({ name: 'gophership_somatic_sensor', help: 'sensor', labelNames: ['sensor'], registers });
    const debt = new Gauge({ name: 'gophership_somatic_debt_bytes', help: 'debt', labelNames: ['pipeline'], registers });
    new Gauge({ name: 'gophership_somatic_debt_records', help: 'debt', labelNames: ['pipeline'], registers }).set({ pipeline: 'logs' }, 12);
    new Counter({ name: 'gophership_somatic_transitions', help: 't', labelNames: ['sensor', 'from', 'to'], registers }).inc(
      { sensor: 'rss', from: 'green', to: 'red' },
      3,
    );
    const qs = new Gauge({ name: 'otelcol_exporter_queue_size', help: 'q', labelNames: ['exporter'], registers });
    new Gauge({ name: 'otelcol_exporter_queue_capacity', help: 'q', labelNames: ['exporter'], registers }).set({ exporter: 'otlp/backend' }, 1000);
    zone.set(2);
    sensor.set({ sensor: 'rss' }, 0.93);
    sensor.set({ sensor: 'wal' }, 0.25);
    debt.set({ pipeline: 'logs' }, 4096);
    qs.set({ exporter: 'otlp/backend' }, 750);

    const sampler = new StatusSampler({ telemetry: src, pipelines });
    await sampler.sample();
    const snap = sampler.snapshot();
    expect(snap.zone).toMatchObject({ level: 2, name: 'red', source: 'somatic', transitions: 3 });
    // The sensor readings come first, then the other somatic gauges; counters are not sensors.
    expect(snap.sensors.slice(0, 2).map((r) => [r.labels.sensor, r.value])).toEqual([
      ['rss', 0.93],
      ['wal', 0.25],
    ]);
    expect(snap.sensors.some((r) => r.name === 'gophership_somatic_transitions')).toBe(false);
    expect(snap.debt).toEqual({ value: 4096, unit: 'bytes' });
    expect(snap.exporters[0]!.queue).toEqual({ size: 750, capacity: 1000, fill: 0.75 });
    expect(snap.storage.walFill).toBe(0.25);
    expect(snap.history.at(-1)).toMatchObject({ zone: 2, debt: 4096, queueFill: 0.75, walFill: 0.25 });

    zone.set(0);
    await sampler.sample();
    expect(sampler.snapshot().zone.name).toBe('green');
  });

  it('keeps only the last historySize samples, in order, and filters by time', async () => {
    const sampler = new StatusSampler({ telemetry: source(), pipelines: [], historySize: 4 });
    for (let i = 0; i < 7; i++) {
      await sampler.sample();
      await new Promise((r) => setTimeout(r, 3));
    }
    const h = sampler.history();
    expect(h).toHaveLength(4);
    for (let i = 1; i < h.length; i++) expect(h[i]!.t).toBeGreaterThan(h[i - 1]!.t);
    expect(sampler.history(h[1]!.t).map((p) => p.t)).toEqual([h[2]!.t, h[3]!.t]);
  });

  it('samples on its timer once started and stops on stop()', async () => {
    const sampler = new StatusSampler({ telemetry: source(), pipelines: [], intervalMs: 20 });
    sampler.start();
    await new Promise((r) => setTimeout(r, 130));
    await sampler.stop();
    const n = sampler.history().length;
    expect(n).toBeGreaterThanOrEqual(4);
    expect(sampler.running).toBe(false);
    await new Promise((r) => setTimeout(r, 60));
    expect(sampler.history()).toHaveLength(n);
  });
});

describe('status routes on a running gateway', () => {
  let gw: Service;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gs-status-'));
    gw = await startGateway(
      gatewayYaml({
        processors: { batch: { timeout: '10ms' } },
        exporters: { file: { path: join(dir, 'out.jsonl') } },
        pipelines: { logs: { processors: ['batch'], exporters: ['file'] } },
        service: SELF_METRICS,
      }),
    );
  });
  afterAll(async () => {
    await gw.shutdown(2000);
    await rm(dir, { recursive: true, force: true });
  });

  it('serves a self-contained HTML page at /status', async () => {
    const res = await fetch(`http://${gw.metricsAddress}/status`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain('<title>GopherShip status</title>');
    expect(html).toContain("fetch('status.json?since='");
    // No CDN, no external script, style or font.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('serves the same data as JSON at /status.json, with rates while records flow', async () => {
    const url = `http://${receiverAddress(gw, 'otlp', 'http')}/v1/logs`;
    const body = requestFromJson(
      'logs',
      JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: Array.from({ length: 50 }, (_, i) => ({ body: { stringValue: `r${i}` } })) }] }] }),
    );
    const deadline = Date.now() + 8000;
    let snap: StatusSnapshot | undefined;
    // Post every 100 ms until a sample (1 s period) has seen records arrive.
    while (Date.now() < deadline) {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
      expect(r.status).toBe(200);
      snap = (await (await fetch(`http://${gw.metricsAddress}/status.json`)).json()) as StatusSnapshot;
      if (snap.rates.accepted > 0 && snap.rates.sent > 0) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(snap!.rates.accepted).toBeGreaterThan(0);
    expect(snap!.health).toBe('serving');
    expect(snap!.zone.source).toBe('none');
    expect(snap!.pipelines.map((p) => [p.id, p.receivers, p.processors, p.exporters])).toEqual([['logs', ['otlp'], ['batch'], ['file']]]);
    expect(snap!.pipelines[0]!.processorRates[0]!.id).toBe('batch');
    expect(snap!.exporters.map((e) => e.id)).toEqual(['file']);
    expect(snap!.history.length).toBeGreaterThanOrEqual(2);
    expect(snap!.process.rssBytes).toBeGreaterThan(0);
    const last = snap!.history.at(-1)!.t;
    const newer = (await (await fetch(`http://${gw.metricsAddress}/status.json?since=${last}`)).json()) as StatusSnapshot;
    expect(newer.history.every((p) => p.t > last)).toBe(true);
  });
});
