/**
 * tail_sampling in a real gateway (OTLP/HTTP receiver, somatic processor, otlphttp exporter) with a real
 * HTTP sink: traces sampled whole after decision_wait, the others never leave, held bytes are in the
 * service's memory ledger, and spans acknowledged from the somatic WAL in Red go through tail sampling
 * when the debt is replayed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service/service.js';
import { GREEN, RED } from '../../src/somatic/zone.js';
import { receiverAddress, startGateway } from '../../test/helpers/gateway.js';
import { gatewayYaml } from '../../test/helpers/configs.js';
import { startHttpServer, type TestHttpServer } from '../../test/helpers/otlp-test-servers.js';
import { readSpans, spansRequest, traceId, traceKeyHex, type SpanSpec } from '../../test/helpers/trace-builder.js';
import type { TailSamplingProcessor } from './tail-sampling-processor.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** The policy most tests run: keep the traces with an ERROR span. */
const ERRORS_POLICY = { decision_wait: '1500ms', policies: [{ name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } }] };

/** The zone is pinned (Green, or Red): a loaded test machine's event-loop delay would otherwise turn it Yellow at times, and then tail_sampling decides early (tested in tail-sampling.test.ts). */
async function gateway(opts: { red?: boolean; tailSampling?: Record<string, unknown> } = {}): Promise<{ svc: Service; sink: TestHttpServer; http: string }> {
  const sink = await startHttpServer();
  const dir = await mkdtemp(join(tmpdir(), 'gs-tail-'));
  const svc = await startGateway(
    gatewayYaml({
      processors: {
        somatic: { memory_limit_mib: 1024, force_zone: opts.red ? 'red' : 'green', wal: { directory: join(dir, 'wal') } },
        tail_sampling: opts.tailSampling ?? ERRORS_POLICY,
      },
      exporters: { otlphttp: { endpoint: sink.url, compression: 'none' } },
      pipelines: { traces: { processors: ['somatic', 'tail_sampling'], exporters: ['otlphttp'] } },
    }),
  );
  cleanups.push(async () => {
    await svc.shutdown(5000);
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { svc, sink, http: receiverAddress(svc, 'otlp', 'http') };
}

async function post(http: string, spans: SpanSpec[]): Promise<number> {
  const res = await fetch(`http://${http}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: Buffer.from(spansRequest(spans, { 'service.name': 'shop' })),
  });
  await res.arrayBuffer();
  return res.status;
}

const key = (n: number) => traceKeyHex(traceId(n));
const received = (sink: TestHttpServer) => sink.requests.map((r) => readSpans(r.body));

describe('tail_sampling in a gateway', () => {
  it('sends error traces whole after decision_wait, never the others, holding their bytes in the ledger meanwhile', async () => {
    const { svc, sink, http } = await gateway();
    const proc = svc.component<TailSamplingProcessor>('processor', 'tail_sampling@traces')!;
    const ledger = svc.pressure.runtime!.gate;
    const t0 = Date.now();
    expect(
      await post(http, [
        { trace: 1, name: 'checkout' },
        { trace: 2, name: 'browse' },
      ]),
    ).toBe(200);
    expect(
      await post(http, [
        { trace: 1, name: 'charge', status: 2 },
        { trace: 2, name: 'render' },
        { trace: 1, name: 'email' },
      ]),
    ).toBe(200);
    // Acknowledged and held: nothing has left yet; the ledger counts what is held.
    expect(sink.requests).toHaveLength(0);
    expect(proc.tracesHeld).toBe(2);
    expect(ledger.held).toBeGreaterThanOrEqual(proc.bytesHeld);
    expect(proc.bytesHeld).toBeGreaterThan(0);
    await until('the error trace', () => sink.requests.length > 0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1490);
    await sleep(400);
    const got = received(sink);
    expect(got).toHaveLength(1);
    expect(got[0]!.map((s) => s.name).sort()).toEqual(['charge', 'checkout', 'email']);
    expect(got[0]!.every((s) => s.trace === key(1) && s.resource['service.name'] === 'shop')).toBe(true);
    expect(proc.tracesHeld).toBe(0);
    await until('the ledger to be released', () => proc.bytesHeld === 0);
    // A late span of the sampled trace goes straight on; one of the dropped trace does not.
    expect(
      await post(http, [
        { trace: 1, name: 'late' },
        { trace: 2, name: 'late-dropped', status: 2 },
      ]),
    ).toBe(200);
    await until('the late span', () => sink.requests.length === 2);
    expect(received(sink)[1]!.map((s) => s.name)).toEqual(['late']);
  });

  it('spans acknowledged from the somatic WAL in Red are tail-sampled when the debt is replayed', async () => {
    const { svc, sink, http } = await gateway({ red: true });
    const runtime = svc.pressure.runtime!;
    expect(runtime.zone).toBe(RED);
    expect(
      await post(http, [
        { trace: 7, name: 'a', status: 2 },
        { trace: 8, name: 'b' },
      ]),
    ).toBe(200);
    expect(
      await post(http, [
        { trace: 7, name: 'c' },
        { trace: 8, name: 'd' },
      ]),
    ).toBe(200);
    const proc = svc.component<TailSamplingProcessor>('processor', 'tail_sampling@traces')!;
    expect(proc.tracesHeld).toBe(0);
    runtime.zone = GREEN;
    await until('the replayed error trace', () => sink.requests.length > 0);
    await sleep(500);
    const spans = received(sink).flat();
    expect(spans.map((s) => s.name).sort()).toEqual(['a', 'c']);
    expect(spans.every((s) => s.trace === key(7))).toBe(true);
  });

  it('decides a trace decision_wait_after_root_received after its root span, sampling by trace_flags and not', async () => {
    const { svc, sink, http } = await gateway({
      tailSampling: {
        decision_wait: '30s',
        decision_wait_after_root_received: '300ms',
        policies: [
          { name: 'head-sampled', type: 'trace_flags' },
          {
            name: 'not-probes',
            type: 'drop',
            drop: {
              drop_sub_policy: [
                {
                  name: 'not-shop',
                  type: 'not',
                  not: { not_sub_policy: { name: 'shop', type: 'string_attribute', string_attribute: { key: 'service.name', values: ['shop'] } } },
                },
              ],
            },
          },
        ],
      },
    });
    const proc = svc.component<TailSamplingProcessor>('processor', 'tail_sampling@traces')!;
    // Trace 1: children first (held), then the root, head-sampled; trace 2: not head-sampled; trace 3 never gets its root.
    const t0 = Date.now();
    expect(
      await post(http, [
        { trace: 1, name: 'child', parent: 11 },
        { trace: 2, name: 'child', parent: 21 },
        { trace: 3, name: 'child', parent: 31, flags: 1 },
      ]),
    ).toBe(200);
    expect(
      await post(http, [
        { trace: 1, name: 'root', flags: 1 },
        { trace: 2, name: 'root', flags: 0 },
      ]),
    ).toBe(200);
    await until('the head-sampled trace', () => sink.requests.length > 0);
    // Well before decision_wait (30 s): 300 ms after the root.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await until('trace 2 to be decided', () => proc.tracesHeld === 1);
    const got = received(sink).flat();
    expect(got.map((s) => s.name).sort()).toEqual(['child', 'root']);
    expect(got.every((s) => s.trace === key(1))).toBe(true);
  });

  it("loads the collector README's example policies unchanged (100_000, a one-sided numeric range, OTTL with error_mode ignore) and drops by its drop policy whatever always_sample says", async () => {
    const sink = await startHttpServer();
    // The processors section as the collector's README writes it (flow style, underscores, no max_value).
    const yaml = `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
exporters:
  otlphttp:
    endpoint: ${sink.url}
    compression: none
processors:
  tail_sampling:
    decision_wait: 10s
    num_traces: 100
    expected_new_traces_per_sec: 10
    decision_cache:
      sampled_cache_size: 100_000
      non_sampled_cache_size: 100_000
    policies:
      [
          { name: test-policy-1, type: always_sample },
          { name: test-policy-2, type: latency, latency: {threshold_ms: 5000, upper_threshold_ms: 10000} },
          { name: test-policy-3, type: numeric_attribute, numeric_attribute: {key: key1, min_value: 50, max_value: 100} },
          { name: test-policy-4, type: probabilistic, probabilistic: {sampling_percentage: 10} },
          { name: test-policy-5, type: status_code, status_code: {status_codes: [ERROR, UNSET]} },
          { name: test-policy-7, type: string_attribute, string_attribute: {key: key2, values: [value1, val*], enabled_regex_matching: true, cache_max_size: 10} },
          { name: test-policy-8, type: rate_limiting, rate_limiting: {spans_per_second: 35} },
          { name: test-policy-9, type: bytes_limiting, bytes_limiting: {bytes_per_second: 1024000, burst_capacity: 2048000} },
          { name: test-policy-10, type: span_count, span_count: {min_spans: 2, max_spans: 20} },
          { name: test-policy-11, type: trace_state, trace_state: { key: key3, values: [value1, value2] } },
          { name: test-policy-12, type: boolean_attribute, boolean_attribute: {key: key4, value: true} },
          { name: test-policy-13, type: ottl_condition, ottl_condition: { error_mode: ignore, span: ["attributes[\\"test_attr_key_1\\"] == \\"test_attr_val_1\\""], spanevent: ["name != \\"test_span_event_name\\""] } },
          { name: and-policy-1, type: and, and: { and_sub_policy: [
              { name: test-and-policy-1, type: numeric_attribute, numeric_attribute: { key: key1, min_value: 50, max_value: 100 } },
              { name: test-and-policy-2, type: string_attribute, string_attribute: { key: key2, values: [ value1, value2 ] } } ] } },
          { name: drop-policy-1, type: drop, drop: { drop_sub_policy: [
              { name: test-drop-policy-1, type: string_attribute, string_attribute: {key: url.path, values: [\\/health, \\/metrics], enabled_regex_matching: true} } ] } },
          { name: composite-policy-1, type: composite, composite: {
              max_total_spans_per_second: 1000,
              policy_order: [test-composite-policy-1, test-composite-policy-2, test-composite-policy-3],
              composite_sub_policy: [
                { name: test-composite-policy-1, type: numeric_attribute, numeric_attribute: {key: key1, min_value: 50} },
                { name: test-composite-policy-2, type: string_attribute, string_attribute: {key: key2, values: [value1, value2]} },
                { name: test-composite-policy-3, type: always_sample } ],
              rate_allocation: [ { policy: test-composite-policy-1, percent: 50 }, { policy: test-composite-policy-2, percent: 25 } ] } },
      ]
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [tail_sampling]
      exporters: [otlphttp]
`;
    const svc = await startGateway(yaml);
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await svc.shutdown(5000);
      await sink.close();
    });
    const http = receiverAddress(svc, 'otlp', 'http');
    expect(
      await post(http, [
        { trace: 1, name: 'probe', attrs: { 'url.path': '/health' } },
        { trace: 2, name: 'checkout', attrs: { key1: 60 } },
        { trace: 3, name: 'scrape', attrs: { 'url.path': '/metrics/x' } },
        { trace: 4, name: 'browse' },
      ]),
    ).toBe(200);
    // decision_wait is 10s: a shutdown decides what is held now, with the same policies.
    expect(sink.requests).toHaveLength(0);
    stopped = true;
    await svc.shutdown(5000);
    const names = received(sink)
      .flat()
      .map((s) => s.name)
      .sort();
    expect(names).toEqual(['browse', 'checkout']);
  });
});
