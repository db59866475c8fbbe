/**
 * service.telemetry.metrics.level decides, at start, which self-metrics /metrics serves, as the collector's
 * levels do: basic the essentials (receivers, exporters, processors' item counts, otelcol_process_*), normal
 * adds the batch processor's metrics and GopherShip's own operator metrics, detailed adds the batch
 * processor's send_size_bytes. Below its level a metric is not created at all (the component observes a
 * no-op), and the gateway still batches, delivers and serves its status page.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../src/service/service.js';
import type { StatusSnapshot } from '../src/telemetry/status/index.js';
import { makeLogsRequest, makeTracesRequest } from './helpers/otlp-test-servers.js';
import { receiverAddress, startGateway } from './helpers/gateway.js';
import { gatewayYaml } from './helpers/configs.js';
import { scrapeMetric, startGatewayChild } from './helpers/gateway-child.js';
import { until } from './helpers/until.js';

let gw: Service | undefined;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-metric-levels-'));
});
afterEach(async () => {
  await gw?.shutdown(2000);
  gw = undefined;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** somatic then batch in a traces pipeline into debug, self-metrics at `level` (absent: the default). */
async function start(level: string | undefined, wal: string): Promise<Service> {
  return startGateway(
    gatewayYaml({
      processors: {
        somatic: { memory_limit_mib: 2048, wal: { directory: join(dir, wal) } },
        batch: { send_batch_size: 2, timeout: '50ms' },
      },
      exporters: { debug: null },
      pipelines: { traces: { processors: ['somatic', 'batch'], exporters: ['debug'] } },
      service: { telemetry: { metrics: { address: '127.0.0.1:0', ...(level ? { level } : {}) } } },
    }),
  );
}

/** Sends `n` spans and waits until the debug exporter counted them sent (the batch processor passed them on). */
async function sendAndDeliver(service: Service, n: number): Promise<string> {
  const res = await fetch(`http://${receiverAddress(service, 'otlp', 'http')}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: makeTracesRequest(n),
  });
  expect(res.status).toBe(200);
  const metrics = service.metricsAddress!;
  await until(async () => (await scrapeMetric(metrics, 'otelcol_exporter_sent_spans', { exporter: 'debug' })) === n);
  return (await fetch(`http://${metrics}/metrics`)).text();
}

/** Whether /metrics serves the family `name` (its TYPE line: a counter with no series yet has one too). */
const served = (text: string, name: string): boolean => new RegExp(`^# TYPE ${name} `, 'm').test(text);

/** The collector's basic metrics GopherShip serves: what basic keeps. */
const BASIC = [
  'otelcol_receiver_accepted_spans',
  'otelcol_receiver_refused_spans',
  'otelcol_receiver_failed_spans',
  'otelcol_exporter_sent_spans',
  'otelcol_exporter_send_failed_spans',
  'otelcol_exporter_enqueue_failed_spans',
  'otelcol_exporter_queue_size',
  'otelcol_processor_incoming_items',
  'otelcol_processor_outgoing_items',
  'otelcol_process_memory_rss',
  'otelcol_process_runtime_heap_alloc_bytes',
  'otelcol_process_runtime_total_sys_memory_bytes',
  'otelcol_process_cpu_seconds',
  'otelcol_process_uptime',
  // GopherShip's own the status page reads: the somatic zone and sensors.
  'gophership_somatic_zone',
  'gophership_somatic_sensor',
];
/** The batch processor's, which the collector registers at normal. */
const BATCH_NORMAL = [
  'otelcol_processor_batch_batch_send_size',
  'otelcol_processor_batch_batch_size_trigger_send',
  'otelcol_processor_batch_timeout_trigger_send',
  'otelcol_processor_batch_metadata_cardinality',
];
/** GopherShip's own normal-level ones (and prom-client's Node runtime metrics). */
const OWN_NORMAL = [
  'gophership_exporter_sent_bytes',
  'gophership_receiver_received_bytes',
  'gophership_somatic_zone_seconds',
  'gophership_event_loop_delay_seconds',
  'gophership_nodejs_heap_size_used_bytes',
];
const DETAILED = 'otelcol_processor_batch_batch_send_size_bytes';

describe('service.telemetry.metrics.level', () => {
  it('basic serves the collector basic metrics and not the normal ones (the gateway still batches, its status page still reads); normal serves those', async () => {
    gw = await start('basic', 'basic');
    let text = await sendAndDeliver(gw, 4);
    for (const name of BASIC) expect(served(text, name), name).toBe(true);
    for (const name of [...BATCH_NORMAL, ...OWN_NORMAL, DETAILED]) expect(served(text, name), name).toBe(false);
    expect(await scrapeMetric(gw.metricsAddress!, 'otelcol_receiver_accepted_spans', { receiver: 'otlp' })).toBe(4);
    expect(await scrapeMetric(gw.metricsAddress!, 'otelcol_processor_outgoing_items', { processor: 'batch' })).toBe(4);

    // The status page works at basic: totals, per exporter, the somatic zone and its sensors.
    let snap: StatusSnapshot | undefined;
    await until(async () => {
      snap = (await (await fetch(`http://${gw!.metricsAddress}/status.json`)).json()) as StatusSnapshot;
      return snap.totals.accepted === 4 && snap.exporters[0]?.sent === 4 && snap.zone.name !== null;
    });
    // The zone the somatic gauge gives (green on an idle machine; a loaded one may read yellow).
    expect(['green', 'yellow', 'red']).toContain(snap!.zone.name);
    expect(snap!.sensors.some((r) => r.name === 'gophership_somatic_sensor' && r.labels.sensor === 'rss')).toBe(true);
    expect(snap!.pipelines[0]!.processorRates.map((p) => p.id)).toEqual(['somatic', 'batch']);
    await gw.shutdown(2000);

    gw = await start('normal', 'normal');
    text = await sendAndDeliver(gw, 4);
    for (const name of [...BASIC, ...BATCH_NORMAL, ...OWN_NORMAL]) expect(served(text, name), name).toBe(true);
    expect(await scrapeMetric(gw.metricsAddress!, 'otelcol_processor_batch_batch_size_trigger_send', { processor: 'batch' })).toBeGreaterThan(0);
  });

  it("normal, the default, leaves out the batch processor's send_size_bytes; detailed serves it", async () => {
    gw = await start(undefined, 'default');
    let text = await sendAndDeliver(gw, 4);
    expect(served(text, DETAILED)).toBe(false);
    for (const name of [...BASIC, ...BATCH_NORMAL, ...OWN_NORMAL]) expect(served(text, name), name).toBe(true);
    await gw.shutdown(2000);

    gw = await start('detailed', 'detailed');
    text = await sendAndDeliver(gw, 4);
    for (const name of [...BASIC, ...BATCH_NORMAL, ...OWN_NORMAL, DETAILED]) expect(served(text, name), name).toBe(true);
    expect(await scrapeMetric(gw.metricsAddress!, `${DETAILED}_count`, { processor: 'batch' })).toBeGreaterThan(0);
  });

  it("with service.workers at basic, the primary sums the workers' basic metrics only and its status page still shows every worker's zone", async () => {
    const yaml = gatewayYaml({
      processors: { somatic: { memory_limit_mib: 1024, wal: { directory: join(dir, 'workers-wal') } } },
      exporters: { debug: null },
      pipelines: { logs: { processors: ['somatic'], exporters: ['debug'] } },
      service: { telemetry: { metrics: { address: '127.0.0.1:0', level: 'basic' } }, workers: 2 },
    });
    const g = await startGatewayChild(yaml, join(dir, 'workers.yaml'));
    try {
      const res = await fetch(`http://${g.http}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: makeLogsRequest(1, 3),
      });
      expect(res.status).toBe(200);
      await until(async () => (await scrapeMetric(g.metrics, 'otelcol_exporter_sent_log_records', { exporter: 'debug' })) === 3);
      const text = await (await fetch(`http://${g.metrics}/metrics`)).text();
      for (const name of [
        'otelcol_receiver_accepted_log_records',
        'otelcol_process_uptime',
        'gophership_somatic_zone',
        'gophership_worker_zone',
        'gophership_worker_up',
      ])
        expect(served(text, name), name).toBe(true);
      for (const name of [
        'gophership_receiver_received_bytes',
        'gophership_somatic_zone_seconds',
        'gophership_worker_restarts',
        'gophership_nodejs_heap_size_used_bytes',
      ])
        expect(served(text, name), name).toBe(false);
      let status: StatusSnapshot | undefined;
      await until(async () => {
        status = (await (await fetch(`http://${g.metrics}/status.json`)).json()) as StatusSnapshot;
        return status.workers?.each.length === 2 && status.zone.name !== null && status.totals.accepted === 3;
      });
      // Each worker's zone and the gateway's (green on an idle machine; a loaded one may read yellow).
      const zones = ['green', 'yellow', 'red'];
      expect(zones).toContain(status!.zone.name);
      expect(status!.workers!.each.map((w) => w.worker)).toEqual(['0', '1']);
      for (const w of status!.workers!.each) {
        expect(w.up).toBe(true);
        expect(zones).toContain(w.zone);
        expect(w.rssBytes).toBeGreaterThan(0);
      }
    } finally {
      g.child.kill('SIGTERM');
      await g.exited;
    }
  }, 30_000);
});
