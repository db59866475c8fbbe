/**
 * What a Prometheus reader's options change in the served /metrics, as the collector's (the OpenTelemetry Go
 * SDK's Prometheus exporter): `without_scope_info: false` adds the instrumentation scope as labels on every
 * series, `with_resource_constant_labels` the resource's attributes (every one under the default reader), and
 * `service.telemetry.metrics.views` drop, rename, describe or re-key metrics. A real gateway, scraped over HTTP; the status page, which reads the registry, is unaffected.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Service } from '../src/service/service.js';
import type { StatusSnapshot } from '../src/telemetry/status/index.js';
import { makeLogsRequest } from './helpers/otlp-test-servers.js';
import { receiverAddress, startGateway, startRefused } from './helpers/gateway.js';
import { gatewayYaml } from './helpers/configs.js';
import { until } from './helpers/until.js';
import { Logger } from '../src/telemetry/logger.js';
import { killGatewayChild, startGatewayChild, type GatewayChild } from './helpers/gateway-child.js';

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
const yamlOf = (service: Record<string, unknown>): string =>
  gatewayYaml({
    processors: { batch: { timeout: '10ms' }, 'batch/2': { timeout: '10ms' } },
    exporters: { debug: null },
    pipelines: { logs: { processors: ['batch', 'batch/2'], exporters: ['debug'] } },
    service,
  });

async function start(service: Record<string, unknown>): Promise<Service> {
  return startGateway(yamlOf(service));
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
    // One series per processor (batch, batch/2), both the helper's.
    expect(scope('otelcol_processor_incoming_items')).toEqual([
      ['go.opentelemetry.io/collector/processor/processorhelper', '', ''],
      ['go.opentelemetry.io/collector/processor/processorhelper', '', ''],
    ]);
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

  it("a contrib component's collector metrics carry its contrib package, GopherShip's own metrics of it gophership/...", async () => {
    gw = await startGateway(
      gatewayYaml({
        processors: { filter: { logs: { log_record: ['attributes["drop"] == true'] } } },
        exporters: { debug: null },
        pipelines: { logs: { processors: ['filter'], exporters: ['debug'] } },
        service: telemetry({ without_scope_info: false }),
      }),
    );
    // One record the filter drops: its counters get a series.
    const body = {
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'x' }, attributes: [{ key: 'drop', value: { boolValue: true } }] }] }] }],
    };
    const res = await fetch(`http://${receiverAddress(gw, 'otlp', 'http')}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    let text = '';
    await until(async () => {
      text = await scrape(gw!);
      return seriesOf(text, 'otelcol_processor_filter_logs_filtered').length > 0 && seriesOf(text, 'gophership_processor_filtered_items').length > 0;
    });
    const scopes = (name: string) => new Set(seriesOf(text, name).map((l) => l.otel_scope_name));
    expect(scopes('otelcol_processor_filter_logs_filtered')).toEqual(
      new Set(['github.com/open-telemetry/opentelemetry-collector-contrib/processor/filterprocessor']),
    );
    expect(scopes('gophership_processor_filtered_items')).toEqual(new Set(['gophership/processor/filterprocessor']));
    expect(scopes('otelcol_receiver_accepted_log_records')).toEqual(new Set(['go.opentelemetry.io/collector/receiver/receiverhelper']));
    expect(scopes('gophership_event_loop_delay_seconds')).toEqual(new Set(['gophership/service']));
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

describe('views', () => {
  /** A reader on a free port at level detailed (views need it, as in the collector) with these views. */
  const withViews = (views: unknown[], options: Record<string, unknown> = {}) => telemetry(options, { level: 'detailed', views });

  it('drop: {} stops serving the instruments a name (with wildcards) or a meter picks; the status page still counts them', async () => {
    gw = await start(
      withViews([
        { selector: { instrument_name: 'otelcol_receiver_accepted_*' }, stream: { aggregation: { drop: {} } } },
        { selector: { meter_name: 'go.opentelemetry.io/collector/processor/batchprocessor' }, stream: { aggregation: { drop: null } } },
        { selector: { instrument_name: 'otelcol_exporter_sent_log_records' }, stream: { aggregation: { drop: {} } } },
      ]),
    );
    await sendLogs(gw, 4);
    const snap = await statusAfter(gw, 4);
    expect(snap.receivers).toEqual([expect.objectContaining({ id: 'otlp', accepted: 4 })]);
    const text = await scrape(gw);
    expect(text).not.toMatch(/^otelcol_receiver_accepted_/m);
    expect(text).not.toMatch(/^otelcol_processor_batch_/m);
    expect(text).not.toMatch(/^otelcol_exporter_sent_log_records/m);
    // What no view picks is served as before: the other signals' counters, the processor helper's, the exporter's spans.
    expect(seriesOf(text, 'otelcol_receiver_refused_log_records')).toEqual([]);
    expect(text).toMatch(/^# TYPE otelcol_receiver_refused_log_records counter$/m);
    expect(text).toMatch(/^# TYPE otelcol_exporter_sent_spans counter$/m);
    expect(seriesOf(text, 'otelcol_processor_incoming_items')).toHaveLength(2);
  });

  it('renames and describes an instrument (the reader adds its suffixes to the new name) and keeps only the attribute_keys, adding up the rest', async () => {
    gw = await start(
      withViews(
        [
          { selector: { instrument_name: 'otelcol_process_uptime' }, stream: { name: 'gateway_uptime', description: 'Seconds since start' } },
          {
            selector: { instrument_name: 'otelcol_processor_incoming_items', meter_name: 'go.opentelemetry.io/collector/processor/processorhelper' },
            stream: { attribute_keys: { included: ['otel_signal'] } },
          },
          { selector: { unit: '{unit}' }, stream: { attribute_keys: { excluded: ['processor'] } } },
        ],
        { without_type_suffix: false, without_units: false },
      ),
    );
    await sendLogs(gw, 3);
    await statusAfter(gw, 3);
    const text = await scrape(gw);
    expect(text).toMatch(/^# HELP gateway_uptime_seconds_total Seconds since start$/m);
    expect(text).toMatch(/^# TYPE gateway_uptime_seconds_total counter$/m);
    expect(text).not.toMatch(/^otelcol_process_uptime/m);
    // batch and batch/2 each saw 3 records: one series without the processor label, 6.
    expect(text).toMatch(/^otelcol_processor_incoming_items_total\{otel_signal="logs"\} 6$/m);
    // A histogram keeps `le` and adds up bucket by bucket: 2 batches of 3 records.
    const send = seriesOf(text, 'otelcol_processor_batch_batch_send_size_count');
    expect(send).toEqual([{}]);
    expect(text).toMatch(/^otelcol_processor_batch_batch_send_size_count 2$/m);
    expect(text).toMatch(/^otelcol_processor_batch_batch_send_size_bucket\{le="10"\} 2$/m);
    expect(text).toMatch(/^otelcol_processor_batch_batch_send_size_sum 6$/m);
    // The status page reads the instruments as registered, under their own names.
    const snap = await statusAfter(gw, 3);
    expect(snap.pipelines[0]!.processorRates.map((p) => p.id)).toEqual(['batch', 'batch/2']);
  });

  it('explicit_bucket_histogram gives the histograms it picks its boundaries; other instruments it picks keep theirs', async () => {
    gw = await start(
      withViews([
        {
          selector: { instrument_name: 'otelcol_processor_batch_*' },
          stream: { aggregation: { explicit_bucket_histogram: { boundaries: [2, 5], record_min_max: false } } },
        },
      ]),
    );
    await sendLogs(gw, 3);
    await statusAfter(gw, 3);
    const text = await scrape(gw);
    const les = (name: string) =>
      seriesOf(text, `${name}_bucket`)
        .filter((l) => l.processor === 'batch')
        .map((l) => l.le);
    expect(les('otelcol_processor_batch_batch_send_size')).toEqual(['2', '5', '+Inf']);
    expect(les('otelcol_processor_batch_batch_send_size_bytes')).toEqual(['2', '5', '+Inf']);
    expect(text).toMatch(/^otelcol_processor_batch_batch_send_size_bucket\{processor="batch",le="2"\} 0$/m);
    expect(text).toMatch(/^otelcol_processor_batch_batch_send_size_bucket\{processor="batch",le="5"\} 1$/m);
    // A counter the pattern also picks is still a counter.
    expect(text).toMatch(/^# TYPE otelcol_processor_batch_timeout_trigger_send counter$/m);
    expect(text).toMatch(/^otelcol_processor_batch_timeout_trigger_send\{processor="batch"\} 1$/m);
  });

  it('sum serves a histogram as the counter of its sum, last_value leaves a gauge as it is and serves no counter, with a warning naming the view', async () => {
    const lines: string[] = [];
    const logger = new Logger('warn', {}, { write: (line: string) => void lines.push(line) });
    gw = await startGateway(
      yamlOf(
        withViews(
          [
            { selector: { instrument_name: 'otelcol_processor_batch_batch_send_size' }, stream: { aggregation: { sum: {} } } },
            { selector: { instrument_name: 'otelcol_exporter_queue_capacity' }, stream: { aggregation: { last_value: {} } } },
            { selector: { instrument_name: 'otelcol_process_uptime' }, stream: { aggregation: { last_value: {} } } },
            { selector: { instrument_name: 'otelcol_receiver_accepted_log_records' }, stream: { aggregation: { sum: {} } } },
          ],
          { without_type_suffix: false },
        ),
      ),
      process.env,
      logger,
    );
    await sendLogs(gw, 3);
    await statusAfter(gw, 3);
    const text = await scrape(gw);
    expect(text).toMatch(/^# TYPE otelcol_processor_batch_batch_send_size_total counter$/m);
    expect(text).toMatch(/^otelcol_processor_batch_batch_send_size_total\{processor="batch"\} 3$/m);
    expect(text).not.toMatch(/^otelcol_processor_batch_batch_send_size_bucket/m);
    expect(text).toMatch(/^# TYPE otelcol_exporter_queue_capacity gauge$/m);
    expect(text).toMatch(/^otelcol_receiver_accepted_log_records_total\{receiver="otlp",transport="http"\} 3$/m);
    expect(text).not.toMatch(/^otelcol_process_uptime/m);
    expect(lines.join('')).toContain(
      "service.telemetry.metrics.views.2: last_value does not apply to otelcol_process_uptime (a counter): it is not served, as the collector's SDK refuses the pairing",
    );
  });

  it('answers the parts not built yet with "not supported yet" at their key path, and refuses a view the collector would', async () => {
    const refused = async (views: unknown[], level = 'detailed') =>
      startRefused(yamlOf({ telemetry: { metrics: { level, views, readers: [{ pull: { exporter: { prometheus: { host: '127.0.0.1', port: 0 } } } }] } } }));
    const at = 'service.telemetry.metrics.views.0';
    const drop = { aggregation: { drop: {} } };
    expect(await refused([{ selector: { instrument_name: 'x' }, stream: drop }], 'normal')).toContain(
      'service.telemetry.metrics.views: can only be set with level: detailed, as in the collector (level is normal)',
    );
    expect(await refused([{ selector: { instrument_name: 'x' }, stream: { aggregation: { sum: {}, last_value: {} } } }])).toContain(
      `${at}.stream.aggregation: give exactly one aggregation (default, drop, sum, last_value or explicit_bucket_histogram); got 2`,
    );
    expect(await refused([{ selector: { instrument_name: 'x' }, stream: { aggregation: { explicit_bucket_histogram: { boundaries: [5, 2] } } } }])).toContain(
      `${at}.stream.aggregation.explicit_bucket_histogram.boundaries: must increase: [5,2]`,
    );
    expect(await refused([{ selector: { instrument_name: 'x' }, stream: { aggregation: { base2_exponential_bucket_histogram: {} } } }])).toContain(
      `${at}.stream.aggregation.base2_exponential_bucket_histogram: not supported yet by GopherShip`,
    );
    expect(await refused([{ selector: { instrument_type: 'counter' }, stream: drop }])).toContain(
      `${at}.selector.instrument_type: not supported yet by GopherShip`,
    );
    expect(await refused([{ selector: { instrument_name: 'x', meter_version: '1.0' }, stream: drop }])).toContain(
      `${at}.selector.meter_version: not supported yet by GopherShip`,
    );
    expect(await refused([{ selector: {}, stream: drop }])).toContain(`${at}.selector: a view needs instrument_name, unit or meter_name`);
    expect(await refused([{ selector: { instrument_name: 'otelcol_*' }, stream: { name: 'one' } }])).toContain(
      `${at}.stream.name: a name needs a selector that picks one instrument`,
    );
    expect(await refused([{ selector: { instrument_name: 'x' }, stream: { aggregation: { drop: {}, default: {} } } }])).toContain(
      `${at}.stream.aggregation: give exactly one aggregation`,
    );
    expect(await refused([{ selector: { instrument_name: 'x' }, stream: { attribute_keys: { included: ['a'], excluded: ['a'] } } }])).toContain(
      `${at}.stream.attribute_keys.excluded: "a" is also in included`,
    );
  });
});

describe('with service.workers, the primary serves the sum as the reader asks', () => {
  let child: GatewayChild | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await killGatewayChild(child);
    child = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('scope and resource labels and views apply to the summed series', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gs-exposition-'));
    const yaml = yamlOf({
      workers: 2,
      telemetry: {
        resource: { 'service.name': 'edge-gw' },
        metrics: {
          level: 'detailed',
          readers: [{ pull: { exporter: { prometheus: { host: '127.0.0.1', port: 0, without_scope_info: false, with_resource_constant_labels: {} } } } }],
          views: [
            { selector: { instrument_name: 'otelcol_processor_outgoing_items' }, stream: { aggregation: { drop: {} } } },
            { selector: { instrument_name: 'otelcol_processor_incoming_items' }, stream: { attribute_keys: { excluded: ['processor'] } } },
          ],
        },
      },
    });
    child = await startGatewayChild(yaml, join(dir, 'gateway.yaml'));
    const g = child;
    // Separate connections, so both workers may take some.
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`http://${g.http}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', connection: 'close' },
        body: makeLogsRequest(1, 5),
      });
      expect(res.status).toBe(200);
    }
    const helper = 'go.opentelemetry.io/collector/processor/processorhelper';
    let text = '';
    await until(async () => {
      text = await (await fetch(`http://${g.metrics}/metrics`)).text();
      return text.includes(
        `otelcol_processor_incoming_items{otel_signal="logs",otel_scope_name="${helper}",otel_scope_schema_url="",otel_scope_version="",service_name="edge-gw"} 40`,
      );
    });
    expect(text).not.toMatch(/^otelcol_processor_outgoing_items/m);
    expect(seriesOf(text, 'otelcol_receiver_accepted_log_records')).toEqual([
      expect.objectContaining({ receiver: 'otlp', otel_scope_name: 'go.opentelemetry.io/collector/receiver/receiverhelper', service_name: 'edge-gw' }),
    ]);
    expect(seriesOf(text, 'gophership_workers')).toEqual([expect.objectContaining({ otel_scope_name: 'gophership/service', service_name: 'edge-gw' })]);
  }, 40_000);
});
