/**
 * The self-metrics' names follow the reader serving them, as a collector's: a `pull.exporter.prometheus`
 * reader in service.telemetry.metrics.readers with `without_type_suffix: false` and `without_units: false`
 * (the defaults of collectors v0.120 until PR #15027) serves counters with `_total` and a unit's word
 * (otelcol_process_uptime_seconds_total), so the kube-prometheus and collector-mixin alerts written against
 * such a collector read GopherShip unchanged; with neither set, as in the current collector, or with no
 * reader (`address`), the names are bare. The status page reads its figures under whichever names are served.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../src/service/service.js';
import type { StatusSnapshot } from '../src/telemetry/status/index.js';
import { makeTracesRequest } from './helpers/otlp-test-servers.js';
import { receiverAddress, startGateway } from './helpers/gateway.js';
import { gatewayYaml } from './helpers/configs.js';
import { scrapeHistogram, scrapeMetric } from './helpers/gateway-child.js';
import { until } from './helpers/until.js';

let gw: Service | undefined;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-metric-names-'));
});
afterEach(async () => {
  await gw?.shutdown(2000);
  gw = undefined;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The collector Helm chart's form: one pull reader with a Prometheus exporter, plus `options`. */
const reader = (options: Record<string, unknown> = {}) => ({
  telemetry: { metrics: { readers: [{ pull: { exporter: { prometheus: { host: '127.0.0.1', port: 0, ...options } } } }] } },
});

/** somatic (for its sensor gauge, unit 1) and tail_sampling (histograms in s and ms) in a traces pipeline. */
async function start(service: Record<string, unknown>, wal: string): Promise<Service> {
  return startGateway(
    gatewayYaml({
      processors: {
        somatic: { memory_limit_mib: 2048, wal: { directory: join(dir, wal) } },
        tail_sampling: { decision_wait: '100ms', policies: [{ name: 'all', type: 'always_sample' }] },
      },
      exporters: { debug: null },
      pipelines: { traces: { processors: ['somatic', 'tail_sampling'], exporters: ['debug'] } },
      service,
    }),
  );
}

async function sendSpans(service: Service, n: number): Promise<void> {
  const res = await fetch(`http://${receiverAddress(service, 'otlp', 'http')}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: makeTracesRequest(n),
  });
  expect(res.status).toBe(200);
}

const typeOf = (text: string, name: string): string | undefined => new RegExp(`^# TYPE ${name} (\\w+)$`, 'm').exec(text)?.[1];

/** The status page's figures once it has sampled `n` accepted spans. */
async function statusAfter(service: Service, n: number): Promise<StatusSnapshot> {
  let snap: StatusSnapshot | undefined;
  await until(async () => {
    snap = (await (await fetch(`http://${service.metricsAddress}/status.json`)).json()) as StatusSnapshot;
    return snap.totals.accepted === n && snap.exporters[0]?.sent === n && snap.zone.name !== null;
  });
  return snap!;
}

describe('metric names under an explicit prometheus reader', () => {
  it('with without_type_suffix and without_units false, serves counters with _total and unit words, histograms with the unit before _bucket, and the status page still reads them', async () => {
    gw = await start(reader({ without_type_suffix: false, without_units: false }), 'suffixed');
    const g = gw;
    const metrics = g.metricsAddress!;
    await sendSpans(g, 3);
    const own = { processor: 'tail_sampling' };
    await until(async () => (await scrapeMetric(metrics, 'otelcol_processor_tail_sampling_global_count_traces_sampled_total', own)) === 3);

    expect(await scrapeMetric(metrics, 'otelcol_receiver_accepted_spans_total', { receiver: 'otlp', transport: 'http' })).toBe(3);
    expect(await scrapeMetric(metrics, 'otelcol_exporter_sent_spans_total', { exporter: 'debug' })).toBe(3);
    const text = await (await fetch(`http://${metrics}/metrics`)).text();
    expect(typeOf(text, 'otelcol_receiver_accepted_spans_total')).toBe('counter');
    expect(typeOf(text, 'otelcol_process_uptime_seconds_total')).toBe('counter');
    expect(typeOf(text, 'otelcol_process_cpu_seconds_total')).toBe('counter');
    expect(typeOf(text, 'otelcol_process_memory_rss_bytes')).toBe('gauge');
    expect(typeOf(text, 'otelcol_process_runtime_heap_alloc_bytes')).toBe('gauge');
    expect(await scrapeMetric(metrics, 'otelcol_process_uptime_seconds_total')).toBeGreaterThan(0);
    // The bare names are gone, and no suffix is doubled.
    expect(text).not.toMatch(/^otelcol_receiver_accepted_spans[{ ]/m);
    expect(text).not.toMatch(/^otelcol_process_uptime[{ ]/m);
    expect(text).not.toMatch(/_total_total|_seconds_seconds|_bytes_bytes/);
    // Every counter of the gateway's own ends in _total (gophership_processing_worker_edits_total keeps one).
    for (const m of text.matchAll(/^# TYPE ((?:otelcol|gophership)_\w+) counter$/gm)) expect(m[1]).toMatch(/_total$/);

    // Histograms: the unit word before _bucket, _sum and _count; a {annotation} unit adds none.
    const removal = await scrapeHistogram(metrics, 'otelcol_processor_tail_sampling_sampling_trace_removal_age_seconds', own);
    expect(removal).toMatchObject({ count: 3, sum: 0 });
    expect(typeOf(text, 'otelcol_processor_tail_sampling_sampling_trace_removal_age_seconds')).toBe('histogram');
    expect((await scrapeHistogram(metrics, 'otelcol_processor_tail_sampling_sampling_decision_timer_latency_milliseconds', own)).count).toBeGreaterThan(0);
    expect(text).not.toMatch(/^otelcol_processor_tail_sampling_sampling_decision_timer_latency_bucket/m);
    // A unit-1 gauge ends in _ratio.
    expect(await scrapeMetric(metrics, 'gophership_somatic_sensor_ratio', { sensor: 'rss' })).toBeGreaterThan(0);

    // The status page reads the same figures under these names: totals, per exporter, zone and sensors.
    const snap = await statusAfter(g, 3);
    expect(snap.receivers).toEqual([expect.objectContaining({ id: 'otlp', transport: 'http', accepted: 3 })]);
    // The zone the somatic gauge gives under its suffixed name (green on an idle machine; a loaded one may read yellow).
    expect(snap.zone.source).toBe('somatic');
    expect(['green', 'yellow', 'red']).toContain(snap.zone.name);
    expect(snap.sensors.some((r) => r.name === 'gophership_somatic_sensor_ratio' && r.labels.sensor === 'rss')).toBe(true);
    expect(snap.pipelines[0]!.processorRates.map((p) => p.id)).toEqual(['somatic', 'tail_sampling']);
    // The page tells the sensors apart by the name it is served under.
    expect(await (await fetch(`http://${metrics}/status`)).text()).toContain("m.name === 'gophership_somatic_sensor_ratio'");
  });

  it('serves the bare names with neither option set, as the current collector and no reader do', async () => {
    gw = await start(reader(), 'bare');
    const g = gw;
    const metrics = g.metricsAddress!;
    await sendSpans(g, 2);
    const own = { processor: 'tail_sampling' };
    await until(async () => (await scrapeMetric(metrics, 'otelcol_processor_tail_sampling_global_count_traces_sampled', own)) === 2);
    expect(await scrapeMetric(metrics, 'otelcol_receiver_accepted_spans', { receiver: 'otlp' })).toBe(2);
    const text = await (await fetch(`http://${metrics}/metrics`)).text();
    expect(typeOf(text, 'otelcol_process_uptime')).toBe('counter');
    expect(typeOf(text, 'otelcol_process_memory_rss')).toBe('gauge');
    expect((await scrapeHistogram(metrics, 'otelcol_processor_tail_sampling_sampling_decision_timer_latency', own)).count).toBeGreaterThan(0);
    expect(await scrapeMetric(metrics, 'gophership_somatic_sensor', { sensor: 'rss' })).toBeGreaterThan(0);
    expect(text).not.toMatch(/^otelcol_\w+_total[{ ]/m);
    expect(text).not.toMatch(/^otelcol_\w+_(seconds|milliseconds)_bucket/m);
    const snap = await statusAfter(g, 2);
    expect(snap.sensors.some((r) => r.name === 'gophership_somatic_sensor')).toBe(true);
  });

  it('applies each option alone: without_units keeps _total, without_type_suffix keeps the unit word', async () => {
    gw = await start(reader({ without_units: true, without_type_suffix: false }), 'no-units');
    let text = await (await fetch(`http://${gw.metricsAddress}/metrics`)).text();
    expect(typeOf(text, 'otelcol_process_uptime_total')).toBe('counter');
    expect(typeOf(text, 'otelcol_process_memory_rss')).toBe('gauge');
    await gw.shutdown(2000);
    gw = await start(reader({ without_type_suffix: true, without_units: false }), 'no-type');
    text = await (await fetch(`http://${gw.metricsAddress}/metrics`)).text();
    expect(typeOf(text, 'otelcol_process_uptime_seconds')).toBe('counter');
    expect(typeOf(text, 'otelcol_receiver_accepted_spans')).toBe('counter');
    expect(typeOf(text, 'otelcol_process_memory_rss_bytes')).toBe('gauge');
  });
});
