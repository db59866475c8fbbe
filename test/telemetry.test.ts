/**
 * Self-telemetry of a running gateway: collector-named Prometheus metrics at the metrics address, and
 * the health_check extension answering 200 while serving and 503 while draining.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../src/service/service.js';
import type { HealthCheckExtension } from '../extensions/health_check/health-check.js';
import { requestFromJson } from '../src/pdata/codec.js';
import { receiverAddress, startGateway } from './helpers/gateway.js';
import { gatewayYaml, LOGS_TO_DEBUG, SELF_METRICS } from './helpers/configs.js';

let gw: Service;
const CONFIG = gatewayYaml({ ...LOGS_TO_DEBUG, extensions: { health_check: { endpoint: '127.0.0.1:0', path: '/health' } }, service: SELF_METRICS });

beforeAll(async () => {
  gw = await startGateway(CONFIG);
});
afterAll(async () => {
  await gw.shutdown(2000);
});

const logs = (n: number) =>
  requestFromJson(
    'logs',
    JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: Array.from({ length: n }, (_, i) => ({ body: { stringValue: `r${i}` } })) }] }] }),
  );

describe('self-telemetry', () => {
  it('counts accepted, refused and failed items under the collector names', async () => {
    const url = `http://${receiverAddress(gw, 'otlp', 'http')}/v1/logs`;
    const ok = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: logs(7) });
    expect(ok.status).toBe(200);
    const bad = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from([0x0a, 0xff]) });
    expect(bad.status).toBe(400);
    const text = await (await fetch(`http://${gw.metricsAddress}/metrics`)).text();
    expect(text).toMatch(/^otelcol_receiver_accepted_log_records\{receiver="otlp",transport="http"\} 7$/m);
    expect(text).toMatch(/^otelcol_exporter_sent_log_records\{exporter="debug"\} 7$/m);
    for (const name of [
      'otelcol_receiver_refused_log_records',
      'otelcol_receiver_failed_log_records',
      'otelcol_exporter_send_failed_log_records',
      'otelcol_process_memory_rss',
      'otelcol_process_cpu_seconds',
      'otelcol_process_uptime',
      'gophership_event_loop_delay_seconds',
    ]) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
    expect(text).not.toMatch(/^otelcol_\w+_total[{ ]/m);
  });

  it("names every metric with one prefix: otelcol_ (the collector's names) or gophership_ (Node's default metrics included)", async () => {
    const text = await (await fetch(`http://${gw.metricsAddress}/metrics`)).text();
    const names = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) {
      expect(name, name).toMatch(/^(?:otelcol|gophership)_[a-z]/);
      expect(name, `${name} repeats a prefix`).not.toMatch(/^(?:otelcol|gophership)_(?:otelcol|gophership)_|(?:^|_)(nodejs|process)_\1_/);
    }
    // prom-client's default metrics, under the gateway's prefix only.
    for (const name of [
      'gophership_process_cpu_seconds_total',
      'gophership_process_resident_memory_bytes',
      'gophership_nodejs_eventloop_lag_seconds',
      'gophership_nodejs_heap_size_used_bytes',
      'gophership_nodejs_gc_duration_seconds',
    ]) {
      expect(names, name).toContain(name);
    }
  });

  it('health_check answers 200 while serving and 503 while draining', async () => {
    const port = gw.component<HealthCheckExtension>('extension', 'health_check')!.port;
    const serving = await fetch(`http://127.0.0.1:${port}/health`);
    expect(serving.status).toBe(200);
    expect(await serving.json()).toMatchObject({ status: 'Server available' });
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    gw.telemetry.health = 'draining';
    const draining = await fetch(`http://127.0.0.1:${port}/health`);
    expect(draining.status).toBe(503);
    gw.telemetry.health = 'serving';
  });
});
