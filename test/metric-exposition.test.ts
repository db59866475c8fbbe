/**
 * What a Prometheus reader's options change in the served /metrics, as the collector's (the OpenTelemetry Go
 * SDK's Prometheus exporter): `without_scope_info: false` adds the instrumentation scope as labels on every
 * series, `with_resource_constant_labels` the resource's attributes (every one under the default reader). A real gateway, scraped over HTTP; the status page, which reads the registry, is unaffected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Service } from '../src/service/service.js';
import type { StatusSnapshot } from '../src/telemetry/status/index.js';
import { makeLogsRequest } from './helpers/otlp-test-servers.js';
import { receiverAddress, startGateway, startRefused } from './helpers/gateway.js';
import { gatewayYaml } from './helpers/configs.js';
import { until } from './helpers/until.js';

let gw: Service | undefined;
afterEach(async () => {
  await gw?.shutdown(2000);
  gw = undefined;
});

/** One pull reader with a Prometheus exporter on a free port, plus `options`; `metrics` adds keys beside `readers`. */
const telemetry = (options: Record<string, unknown> = {}, metrics: Record<string, unknown> = {}, more: Record<string, unknown> = {}) => ({
  telemetry: { metrics: { readers: [{ pull: { exporter: { prometheus: { host: '127.0.0.1', port: 0, ...options } } } }], ...metrics }, ...more },
});

/** A logs pipeline through batch into debug, with `service` merged into the service section. */
async function start(service: Record<string, unknown>): Promise<Service> {
  return startGateway(
    gatewayYaml({
      processors: { batch: { timeout: '10ms' } },
      exporters: { debug: null },
      pipelines: { logs: { processors: ['batch'], exporters: ['debug'] } },
      service,
    }),
  );
}

async function sendLogs(service: Service, n: number): Promise<void> {
  const res = await fetch(`http://${receiverAddress(service, 'otlp', 'http')}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: makeLogsRequest(1, n),
  });
  expect(res.status).toBe(200);
}

const scrape = async (service: Service): Promise<string> => (await fetch(`http://${service.metricsAddress}/metrics`)).text();

/** The label sets of every sample of `name` (exactly that name), each as a map. */
function seriesOf(text: string, name: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{(.*)\\})? \\S+$`, 'gm'))) {
    const labels: Record<string, string> = {};
    for (const l of (m[1] ?? '').matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push(labels);
  }
  return out;
}

/** The status page's figures once it has counted `n` accepted log records. */
async function statusAfter(service: Service, n: number): Promise<StatusSnapshot> {
  let snap: StatusSnapshot | undefined;
  await until(async () => {
    snap = (await (await fetch(`http://${service.metricsAddress}/status.json`)).json()) as StatusSnapshot;
    return snap.totals.accepted === n && snap.exporters[0]?.sent === n;
  });
  return snap!;
}

describe('without_scope_info', () => {
  it('false puts the emitting package as otel_scope_name on every series, with empty otel_scope_version and otel_scope_schema_url, as the collector does', async () => {
    gw = await start(telemetry({ without_scope_info: false }, {}, { resource: { 'deployment.environment': 'test' } }));
    await sendLogs(gw, 3);
    await statusAfter(gw, 3);
    const text = await scrape(gw);
    const scope = (name: string) => seriesOf(text, name).map((l) => [l.otel_scope_name, l.otel_scope_version, l.otel_scope_schema_url]);
    expect(seriesOf(text, 'otelcol_receiver_accepted_log_records')).toEqual([
      {
        receiver: 'otlp',
        transport: 'http',
        otel_scope_name: 'go.opentelemetry.io/collector/receiver/receiverhelper',
        otel_scope_schema_url: '',
        otel_scope_version: '',
      },
    ]);
    expect(scope('otelcol_exporter_sent_log_records')).toEqual([['go.opentelemetry.io/collector/exporter/exporterhelper', '', '']]);
    expect(scope('otelcol_processor_incoming_items')).toEqual([['go.opentelemetry.io/collector/processor/processorhelper', '', '']]);
    expect(scope('otelcol_process_uptime')).toEqual([['go.opentelemetry.io/collector/service', '', '']]);
    // A component's own metrics carry its package; a histogram's every sample has them, `le` stays last.
    const batchScope = 'go.opentelemetry.io/collector/processor/batchprocessor';
    expect(new Set(scope('otelcol_processor_batch_batch_send_size_bucket').map((s) => s[0]))).toEqual(new Set([batchScope]));
    expect(text).toMatch(
      new RegExp(`^otelcol_processor_batch_batch_send_size_bucket\\{[^}]*otel_scope_name="${batchScope.replace(/\./g, '\\.')}"[^}]*,le="\\+Inf"\\} 1$`, 'm'),
    );
    // Every sample but the resource's target_info carries the scope.
    const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(samples.filter((l) => !l.includes('otel_scope_name=')).map((l) => l.split('{')[0])).toEqual(['target_info']);
    // The status page reads the registry, not the served text: its figures are unchanged.
    const snap = await statusAfter(gw, 3);
    expect(snap.receivers).toEqual([expect.objectContaining({ id: 'otlp', transport: 'http', accepted: 3 })]);
  });

  it('true, and the default under a reader and with no reader, as the current collector: no scope labels', async () => {
    gw = await start(telemetry({ without_scope_info: true }));
    await sendLogs(gw, 1);
    await statusAfter(gw, 1);
    expect(await scrape(gw)).not.toContain('otel_scope_');
    await gw.shutdown(2000);
    gw = await start(telemetry());
    expect(await scrape(gw)).not.toContain('otel_scope_');
    await gw.shutdown(2000);
    gw = await start({ telemetry: { metrics: { address: '127.0.0.1:0' } } });
    expect(await scrape(gw)).not.toContain('otel_scope_');
  });

  it('refuses a value that is not a bool, naming the key path', async () => {
    const msg = await startRefused(
      gatewayYaml({ exporters: { debug: null }, pipelines: { logs: { exporters: ['debug'] } }, service: telemetry({ without_scope_info: 'no' }) }),
    );
    expect(msg).toContain('service.telemetry.metrics.readers.0.pull.exporter.prometheus.without_scope_info: expected true or false');
  });
});

describe('with_resource_constant_labels', () => {
  const resource = { 'service.name': 'edge-gw', 'service.instance.id': 'i-1', 'deployment.environment': 'prod', receiver: 'clash' };

  it('adds the included resource attributes, names made Prometheus-safe, to every series but target_info', async () => {
    gw = await start(telemetry({ with_resource_constant_labels: { included: ['service.*'], excluded: [] } }, {}, { resource }));
    await sendLogs(gw, 2);
    await statusAfter(gw, 2);
    const text = await scrape(gw);
    expect(seriesOf(text, 'otelcol_receiver_accepted_log_records')).toEqual([
      { receiver: 'otlp', transport: 'http', service_name: 'edge-gw', service_instance_id: 'i-1' },
    ]);
    expect(seriesOf(text, 'otelcol_process_uptime')).toEqual([{ service_name: 'edge-gw', service_instance_id: 'i-1' }]);
    const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(samples.filter((l) => !l.includes('service_instance_id="i-1"')).map((l) => l.split('{')[0])).toEqual([]);
    // target_info keeps the resource as it was: every attribute, nothing added twice.
    expect(seriesOf(text, 'target_info')).toEqual([{ service_name: 'edge-gw', service_instance_id: 'i-1', deployment_environment: 'prod', receiver: 'clash' }]);
    expect(text.match(/deployment_environment=/g)).toHaveLength(1);
  });

  it('with an empty included list adds every attribute but the excluded; a series keeps its own label of the same name', async () => {
    gw = await start(telemetry({ with_resource_constant_labels: { excluded: ['service.instance.id'] } }, {}, { resource }));
    await sendLogs(gw, 1);
    await statusAfter(gw, 1);
    const text = await scrape(gw);
    expect(seriesOf(text, 'otelcol_receiver_accepted_log_records')).toEqual([
      { receiver: 'otlp', transport: 'http', deployment_environment: 'prod', service_name: 'edge-gw' },
    ]);
    expect(seriesOf(text, 'otelcol_process_uptime')).toEqual([{ deployment_environment: 'prod', receiver: 'clash', service_name: 'edge-gw' }]);
  });

  it('is none under an explicit reader that does not set it, and every attribute under the default reader, as the collector', async () => {
    gw = await start(telemetry({}, {}, { resource }));
    expect(seriesOf(await scrape(gw), 'otelcol_process_uptime')).toEqual([{}]);
    await gw.shutdown(2000);
    gw = await start({ telemetry: { metrics: { address: '127.0.0.1:0' }, resource } });
    expect(seriesOf(await scrape(gw), 'otelcol_process_uptime')).toEqual([
      { deployment_environment: 'prod', receiver: 'clash', service_instance_id: 'i-1', service_name: 'edge-gw' },
    ]);
  });

  it('refuses a key both included and excluded, naming the key path', async () => {
    const msg = await startRefused(
      gatewayYaml({
        exporters: { debug: null },
        pipelines: { logs: { exporters: ['debug'] } },
        service: telemetry({ with_resource_constant_labels: { included: ['service.name'], excluded: ['service.name'] } }),
      }),
    );
    expect(msg).toContain(
      'service.telemetry.metrics.readers.0.pull.exporter.prometheus.with_resource_constant_labels.excluded: "service.name" is also in included',
    );
  });
});
