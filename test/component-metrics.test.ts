/**
 * The collector's own metrics of the components GopherShip implements, on a real gateway's /metrics after
 * real OTLP/HTTP traffic: the batch processor's send-size histograms and trigger counters, the filter
 * processor's `filtered` counters, tail_sampling's histograms and counters. Names, labels, buckets and
 * values as the collector's metadata.yaml defines them, so its dashboards and README queries read them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Service } from '../src/service/service.js';
import { makeLogsRequest, makeMetricsRequest, makeTracesRequest } from './helpers/otlp-test-servers.js';
import { receiverAddress, startGateway } from './helpers/gateway.js';
import { gatewayYaml, SELF_METRICS } from './helpers/configs.js';
import { scrapeHistogram, scrapeMetric } from './helpers/gateway-child.js';
import { until } from './helpers/until.js';

let gw: Service | undefined;
afterEach(async () => {
  await gw?.shutdown(2000);
  gw = undefined;
});

async function post(service: Service, signal: 'logs' | 'traces' | 'metrics', body: Uint8Array): Promise<void> {
  const res = await fetch(`http://${receiverAddress(service, 'otlp', 'http')}/v1/${signal}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body,
  });
  expect(res.status).toBe(200);
}

describe('batch processor metrics', () => {
  it('observes each batch sent once: its items and bytes in the collector buckets, and what triggered it', async () => {
    gw = await startGateway(
      gatewayYaml({
        processors: {
          // Fills at 10 items; never times out within the test.
          'batch/size': { send_batch_size: 10, timeout: '30s', flush_when_idle: false },
          // Never fills: each batch goes at its timeout.
          'batch/timeout': { send_batch_size: 1000, timeout: '50ms', flush_when_idle: false },
        },
        exporters: { debug: null },
        pipelines: {
          logs: { processors: ['batch/size'], exporters: ['debug'] },
          traces: { processors: ['batch/timeout'], exporters: ['debug'] },
        },
        // detailed: send_size_bytes is served at that level only, as in the collector.
        service: { telemetry: { metrics: { ...SELF_METRICS.telemetry.metrics, level: 'detailed' } } },
      }),
    );
    const g = gw;
    const metrics = g.metricsAddress!;
    // Two requests of 6 and 4 log records: one batch of 10, sent because it filled.
    const a = makeLogsRequest(2, 3, 'a');
    const b = makeLogsRequest(1, 4, 'b');
    await Promise.all([post(g, 'logs', a), post(g, 'logs', b)]);
    // 25 spans in one request: one batch, sent at the timeout (the answer waits for it).
    const spans = makeTracesRequest(25);
    await post(g, 'traces', spans);

    const size = await scrapeHistogram(metrics, 'otelcol_processor_batch_batch_send_size', { processor: 'batch/size' });
    expect(size.count).toBe(1);
    expect(size.sum).toBe(10);
    // Cumulative: the batch of 10 is in every bucket from le="10" up.
    expect(size.buckets['10']).toBe(1);
    expect(size.buckets['+Inf']).toBe(1);
    const bytes = await scrapeHistogram(metrics, 'otelcol_processor_batch_batch_send_size_bytes', { processor: 'batch/size' });
    expect(bytes.count).toBe(1);
    expect(bytes.sum).toBe(a.length + b.length);
    expect(await scrapeMetric(metrics, 'otelcol_processor_batch_batch_size_trigger_send', { processor: 'batch/size' })).toBe(1);
    expect(await scrapeMetric(metrics, 'otelcol_processor_batch_timeout_trigger_send', { processor: 'batch/size' })).toBe(0);

    const timed = await scrapeHistogram(metrics, 'otelcol_processor_batch_batch_send_size', { processor: 'batch/timeout' });
    expect(timed).toMatchObject({ count: 1, sum: 25 });
    expect(timed.buckets['10']).toBe(0);
    expect(timed.buckets['25']).toBe(1);
    expect((await scrapeHistogram(metrics, 'otelcol_processor_batch_batch_send_size_bytes', { processor: 'batch/timeout' })).sum).toBe(spans.length);
    expect(await scrapeMetric(metrics, 'otelcol_processor_batch_timeout_trigger_send', { processor: 'batch/timeout' })).toBe(1);
    expect(await scrapeMetric(metrics, 'otelcol_processor_batch_batch_size_trigger_send', { processor: 'batch/timeout' })).toBe(0);
    // One combination each without metadata_keys, as the collector reports.
    expect(await scrapeMetric(metrics, 'otelcol_processor_batch_metadata_cardinality', { processor: 'batch/size' })).toBe(1);
  });

  it('with flush_when_idle (the default) a batch that stopped growing counts as sent before it filled; metadata_keys count open combinations', async () => {
    gw = await startGateway(
      gatewayYaml({
        receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0', include_metadata: true } } } },
        processors: {
          batch: { send_batch_size: 1000, timeout: '30s' },
          'batch/tenants': { send_batch_size: 1000, timeout: '30s', flush_when_idle: false, metadata_keys: ['x-tenant'] },
        },
        exporters: { debug: null },
        pipelines: {
          logs: { processors: ['batch'], exporters: ['debug'] },
          traces: { processors: ['batch/tenants'], exporters: ['debug'] },
        },
        service: SELF_METRICS,
      }),
    );
    const g = gw;
    const metrics = g.metricsAddress!;
    await post(g, 'logs', makeLogsRequest(1, 5));
    expect(await scrapeMetric(metrics, 'otelcol_processor_batch_timeout_trigger_send', { processor: 'batch' })).toBe(1);
    expect(await scrapeMetric(metrics, 'otelcol_processor_batch_batch_size_trigger_send', { processor: 'batch' })).toBe(0);
    expect(await scrapeHistogram(metrics, 'otelcol_processor_batch_batch_send_size', { processor: 'batch' })).toMatchObject({ count: 1, sum: 5 });

    // Two tenants' batches open (answered only when sent): two combinations; none once shutdown sent them.
    const url = `http://${receiverAddress(g, 'otlp', 'http')}/v1/traces`;
    const sent = ['acme', 'globex'].map((tenant) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'x-tenant': tenant }, body: makeTracesRequest(3) }),
    );
    await until(async () => (await scrapeMetric(metrics, 'otelcol_processor_batch_metadata_cardinality', { processor: 'batch/tenants' })) === 2);
    await g.shutdown(5000);
    gw = undefined;
    for (const res of await Promise.all(sent)) expect(res.status).toBe(200);
    const reg = g.telemetry.registry;
    const cardinality = await reg.getSingleMetric('otelcol_processor_batch_metadata_cardinality')!.get();
    expect(cardinality.values.find((v) => v.labels.processor === 'batch/tenants')?.value).toBe(0);
    // Sent at shutdown, before they filled: timeout sends, as the collector counts them.
    const timeouts = await reg.getSingleMetric('otelcol_processor_batch_timeout_trigger_send')!.get();
    expect(timeouts.values.find((v) => v.labels.processor === 'batch/tenants')?.value).toBe(2);
  });
});

describe('filter processor metrics', () => {
  it("counts what it drops in the collector's per-signal filtered counters, labelled with the filter's ID", async () => {
    gw = await startGateway(
      gatewayYaml({
        processors: {
          'filter/drop': {
            // OTTL for logs, the legacy match properties for spans and metrics: both paths count.
            logs: { log_record: ['attributes["i"] == 1'] },
            spans: { exclude: { match_type: 'strict', span_names: ['s-span-0', 's-span-2'] } },
            metrics: { exclude: { match_type: 'strict', metric_names: ['m.gauge'] } },
          },
        },
        exporters: { debug: null },
        pipelines: {
          logs: { processors: ['filter/drop'], exporters: ['debug'] },
          traces: { processors: ['filter/drop'], exporters: ['debug'] },
          metrics: { processors: ['filter/drop'], exporters: ['debug'] },
        },
        service: SELF_METRICS,
      }),
    );
    const g = gw;
    await post(g, 'logs', makeLogsRequest(2, 3)); // record i=1 of each resource: 2
    await post(g, 'traces', makeTracesRequest(4)); // 2 of 4 spans
    await post(g, 'metrics', makeMetricsRequest(5)); // the one metric, 5 data points
    await post(g, 'logs', makeLogsRequest(1, 1)); // i=0 only: nothing dropped
    const metrics = g.metricsAddress!;
    const label = { filter: 'filter/drop' };
    expect(await scrapeMetric(metrics, 'otelcol_processor_filter_logs_filtered', label)).toBe(2);
    expect(await scrapeMetric(metrics, 'otelcol_processor_filter_spans_filtered', label)).toBe(2);
    expect(await scrapeMetric(metrics, 'otelcol_processor_filter_datapoints_filtered', label)).toBe(5);
  });
});

describe('tail_sampling metrics', () => {
  it('serves its histograms on /metrics: one removal age per trace, one latency per policy evaluation, one per timer run', async () => {
    gw = await startGateway(
      gatewayYaml({
        processors: { tail_sampling: { decision_wait: '100ms', policies: [{ name: 'all', type: 'always_sample' }] } },
        exporters: { debug: null },
        pipelines: { traces: { processors: ['tail_sampling'], exporters: ['debug'] } },
        service: SELF_METRICS,
      }),
    );
    const g = gw;
    const metrics = g.metricsAddress!;
    const own = { processor: 'tail_sampling' };
    await post(g, 'traces', makeTracesRequest(3)); // three spans of three traces
    await until(async () => (await scrapeMetric(metrics, 'otelcol_processor_tail_sampling_global_count_traces_sampled', own)) === 3);
    // Decided about 100 ms after they arrived: under a second, so 0 whole seconds, as the collector records.
    const removal = await scrapeHistogram(metrics, 'otelcol_processor_tail_sampling_sampling_trace_removal_age', own);
    expect(removal).toMatchObject({ count: 3, sum: 0 });
    expect(removal.buckets['0']).toBe(3);
    expect((await scrapeHistogram(metrics, 'otelcol_processor_tail_sampling_sampling_decision_latency', { ...own, policy: 'all' })).count).toBe(3);
    expect(await scrapeMetric(metrics, 'otelcol_processor_tail_sampling_sampling_policy_execution_count', { ...own, policy: 'all' })).toBe(3);
    expect(await scrapeMetric(metrics, 'otelcol_processor_tail_sampling_count_spans_sampled', { ...own, policy: 'all', decision: 'sampled' })).toBe(3);
    expect((await scrapeHistogram(metrics, 'otelcol_processor_tail_sampling_sampling_decision_timer_latency', own)).count).toBeGreaterThan(0);
  });
});
