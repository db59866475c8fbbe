/**
 * Issue 17 item 3: the gateway's resident memory stays under `memory_limit_mib`, with 3 % to spare, in
 * every sample while 32 connections flood it with 1 MiB requests (one pre-encoded request posted over and over, resent
 * after a refusal's Retry-After or RetryInfo, at most 250 ms: a pushy client). A real gateway child at
 * memory_limit_mib 256, its VmRSS read from /proc/<pid>/status every 100 ms for the whole run (flood and
 * drain) by a sampler process of its own (so the flood's client cannot thin the samples out); every
 * refusal was retryable (429/503 with Retry-After, gRPC UNAVAILABLE/RESOURCE_EXHAUSTED with RetryInfo,
 * nothing else), and every acknowledged record reached the sink (count checks: the sink has the
 * records acknowledged, and more only by what the exporter resent; see expectNothingLost). Three floods:
 *  - OTLP/HTTP: somatic -> otlphttp (memory queue) into a sink that answers at once;
 *  - OTLP/HTTP: somatic -> resourcedetection -> resource -> attributes -> batch -> otlphttp (memory queue,
 *    compression none) into a sink that answers each request after 200 ms (a slow downstream);
 *  - OTLP/gRPC, 32 connections: somatic -> otlphttp into a sink that answers at once.
 * Before the bounds of issue 17 the second pipeline reached 291 MiB here (82 samples over the limit); then,
 * until the wire-edit workers handed their request copies back and the gate's re-reads collected dead
 * Buffers (src/processorhelper/offload-worker.ts, src/somatic/runtime.ts), 256.1-257.0 MiB in clean-clone
 * CI runs; until the gate kept lone requests out while the queues hold the room, 251-256 MiB. The bound must not depend on timing: a loaded machine makes the gateway slower, not larger.
 * The gateway child starts with the allocator setting `npm start` gives it (src/core/allocator.ts): without it, 4
 * of 42 runs of the processors flood on a loaded machine went to 259-353 MiB, glibc keeping freed bodies resident.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { floodBody, runFlood } from '../src/tools/loadgen/index.js';
import { startSink, type Sink } from '../src/tools/sink/index.js';
import { killGatewayChild, rssOf, sampleRss, scrapeMetric, startGatewayChild, type GatewayChild, type RssSnapshot } from './helpers/gateway-child.js';
import { OTLP_GRPC_AND_HTTP_RECEIVER } from './helpers/configs.js';

const LIMIT_MIB = 256;
const CONNECTIONS = 32;
/** Records per request: with the load generator's records (~434 bytes), ~1 MiB. */
const RECORDS_PER_REQUEST = 2400;
const FLOOD_MS = 8000;
const SAMPLE_MS = 100;
/** Share of the limit every sample keeps to spare, and the bar it leaves. */
const MARGIN = 0.03;
const BAR_MIB = LIMIT_MIB * (1 - MARGIN);
/** Samples over this also snapshot where the memory was (status breakdown, gate and heap gauges), to explain a peak. */
const SNAPSHOT_ABOVE_MIB = BAR_MIB * 0.95;

let dir: string;
let gateway: GatewayChild | undefined;
const sinks: Sink[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-rss-flood-'));
});
afterAll(async () => {
  await killGatewayChild(gateway);
  for (const s of sinks) await s.close();
  await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function gatewayConfig(name: string, sinkUrl: string, processors: string, names: string, exporter: string): string {
  return `
${OTLP_GRPC_AND_HTTP_RECEIVER}processors:
  somatic:
    memory_limit_mib: ${LIMIT_MIB}
    wal:
      directory: ${join(dir, name, 'somatic')}
${processors}
exporters:
  otlphttp:
    endpoint: ${sinkUrl}
${exporter}
service:
  pipelines:
    logs:
      receivers: [otlp]
      processors: [somatic${names}]
      exporters: [otlphttp]
  telemetry:
    logs:
      level: info
    metrics:
      address: 127.0.0.1:0
`;
}

interface FloodOutcome {
  samples: number[];
  /** Where the memory was at samples over SNAPSHOT_ABOVE_MIB (printed, not asserted). */
  snapshots: RssSnapshot[];
  /** VmHWM at the end: the peak RSS since start, samples or not (reported, not asserted). */
  hwm: number;
  ackedRecords: number;
  refused: number;
  refusedRecords: number;
  refusedWithoutRetryAfter: number;
  failedByStatus: Record<number, number>;
  errors: number;
  /** Records of requests the client got no answer for (it cannot tell whether they were taken). */
  unansweredRecords: number;
  sinkRecords: number;
  /** The gateway's counts once drained (see Counts). */
  counts: Counts;
  pressure: number;
}

/** What the gateway counted, scraped once its queue and debt are drained and the sink has stopped counting. */
interface Counts {
  /** Records (and requests) the exporter sent again after a failed or timed-out attempt. */
  resentRecords: number;
  resentRequests: number;
  exporterSent: number;
  receiverAccepted: number;
  receiverRefused: number;
  spilled: number;
  replayed: number;
}

async function gatewayCounts(metrics: string): Promise<Counts> {
  const m = (name: string) => scrapeMetric(metrics, name);
  return {
    resentRecords: await m('gophership_exporter_resent_log_records'),
    resentRequests: await m('gophership_exporter_resent_requests'),
    exporterSent: await m('otelcol_exporter_sent_log_records'),
    receiverAccepted: await m('otelcol_receiver_accepted_log_records'),
    receiverRefused: await m('otelcol_receiver_refused_log_records'),
    spilled: await m('gophership_somatic_spilled_items'),
    replayed: await m('gophership_somatic_replayed_items'),
  };
}

/**
 * After the sink has the acknowledged count: waits until nothing more can reach it (every record the
 * receiver took sent, the exporter's queue and the somatic debt empty, and the sink's count unchanged for
 * a second), so that a duplicate still on its way is counted before the checks, not after them.
 */
async function drained(metrics: string, sinkRecords: () => number): Promise<void> {
  const m = (name: string) => scrapeMetric(metrics, name);
  let last = -1;
  let stableSince = Date.now();
  for (const end = Date.now() + 30_000; Date.now() < end; await sleep(200)) {
    const n = sinkRecords();
    if (n !== last) {
      last = n;
      stableSince = Date.now();
      continue;
    }
    if (Date.now() - stableSince < 1000) continue;
    const idle =
      (await m('otelcol_exporter_queue_size')) === 0 &&
      (await m('gophership_somatic_debt_records')) === 0 &&
      (await m('otelcol_exporter_sent_log_records')) >= (await m('otelcol_receiver_accepted_log_records'));
    if (idle) return;
  }
}

const BODY = floodBody(RECORDS_PER_REQUEST);

/**
 * Floods a gateway started on `yaml` for FLOOD_MS over OTLP/HTTP or OTLP/gRPC, waits for the sink to count
 * every acknowledged record, stops it.
 */
async function flood(name: string, yaml: string, sink: Sink, protocol: 'http' | 'grpc' = 'http'): Promise<FloodOutcome> {
  gateway = await startGatewayChild(yaml, join(dir, `${name}.yaml`));
  const g = gateway;
  // Sampled by a process of its own, every 100 ms until the drain is over.
  const sampler = sampleRss(g.pid, SAMPLE_MS, { aboveBytes: SNAPSHOT_ABOVE_MIB * 2 ** 20, metrics: g.metrics });
  let sampled: Awaited<ReturnType<typeof sampler.stop>> | undefined;
  try {
    const url = protocol === 'grpc' ? `grpc://${g.grpc}` : `http://${g.http}/v1/logs`;
    const r = await runFlood({ url, body: BODY, records: RECORDS_PER_REQUEST, connections: CONNECTIONS, durationMs: FLOOD_MS });
    const sinkRecords = () => sink.stats().totals.records;
    // Acknowledged data still queued or owed (Red debt) drains into the sink after the flood.
    for (const end = Date.now() + 60_000; sinkRecords() < r.ackedRecords && Date.now() < end;) await sleep(200);
    await drained(g.metrics, sinkRecords);
    const counts = await gatewayCounts(g.metrics);
    // Pressure seen: requests the gate refused, or zone changes (Yellow bypass, Red spill).
    const pressure = (await scrapeMetric(g.metrics, 'gophership_somatic_refused_requests')) + (await scrapeMetric(g.metrics, 'gophership_somatic_transitions'));
    const hwm = await rssOf(g.pid, 'VmHWM');
    sampled = await sampler.stop();
    return { ...sampled, hwm, ...r, sinkRecords: sinkRecords(), counts, pressure };
  } finally {
    if (!sampled) await sampler.stop();
    g.child.kill('SIGTERM');
    await g.exited;
    gateway = undefined;
  }
}

/**
 * Honest refusals only, and the count checks, boundary by boundary, so that a surplus at the sink is
 * explained or fails the test (a bug that duplicates data, or delivers what it refused, cannot hide):
 *  - client -> receiver: the gateway took every acknowledged record, and of the rest at most those whose
 *    answer never reached the client (delivered or not, it cannot tell); a refused request was not taken;
 *  - inside the gateway: the exporter delivered each record it took exactly once (otelcol_exporter_sent
 *    counts a request once, at its successful attempt): nothing lost, nothing doubled (Red debt included);
 *  - exporter -> sink: the sink holds more only by what the exporter sent again after a failed or
 *    timed-out attempt (`gophership_exporter_resent_*`): an attempt whose answer was late or lost may have
 *    been taken, and its resend delivers it again (at-least-once).
 * The surplus seen before the resends were counted (12,000 and 31,200 records in two loaded runs, then
 * allowed up to every refused request's records) is this last case: with the sink's or the gateway's
 * process stopped for 7 s mid-flood (bench/stalled-downstream.mjs), the exporter's 5 s timeout fired on its
 * 10 attempts in flight and the sink counted 24,000 records more than were acknowledged, exactly the
 * 24,000 resent, in every run; refused and unanswered requests added nothing (see the exporterhelper
 * README, Resends). The sink shares this process with the 32-connection client: a loaded machine can
 * stall it.
 */
function expectNothingLost(o: FloodOutcome): void {
  const c = o.counts;
  const surplus = o.sinkRecords - o.ackedRecords;
  const detail =
    `client acked ${o.ackedRecords}, refused ${o.refusedRecords} (${o.refused} requests), unanswered ${o.unansweredRecords}; ` +
    `receiver accepted ${c.receiverAccepted}, refused ${c.receiverRefused}; somatic spilled ${c.spilled}, replayed ${c.replayed}; ` +
    `exporter sent ${c.exporterSent}, resent ${c.resentRecords} (${c.resentRequests} requests); sink ${o.sinkRecords} (surplus ${surplus})`;
  console.log(`rss-flood counts: ${detail}`);
  expect(o.ackedRecords).toBeGreaterThan(0);
  expect(o.failedByStatus).toEqual({});
  expect(o.refusedWithoutRetryAfter).toBe(0);
  expect(o.errors).toBe(0);
  expect(o.sinkRecords, detail).toBeGreaterThanOrEqual(o.ackedRecords);
  expect(c.receiverAccepted, `client -> receiver: ${detail}`).toBeGreaterThanOrEqual(o.ackedRecords);
  expect(c.receiverAccepted, `client -> receiver: ${detail}`).toBeLessThanOrEqual(o.ackedRecords + o.unansweredRecords);
  expect(c.exporterSent, `inside the gateway: ${detail}`).toBe(c.receiverAccepted);
  expect(o.sinkRecords, `exporter -> sink: ${detail}`).toBeGreaterThanOrEqual(c.exporterSent);
  expect(o.sinkRecords - c.exporterSent, `exporter -> sink: ${detail}`).toBeLessThanOrEqual(c.resentRecords);
}

/**
 * No VmRSS sample over the bar: the limit less a margin to spare (3 %, 7.7 MiB of 256), for every flood.
 * The processors + slow-downstream flood was held to 1 % over the limit until the twelfth session: lone
 * requests the gate let into its margin were kept by the exporter's memory queue, one after another,
 * and took RSS from the admission line (90 %) to the limit itself (253-256 MiB on a quiet machine, 254-255
 * under load); since the gate keeps lone requests out while the queues hold the room (src/somatic/gate.ts),
 * the floods peak at 211-239 MiB on a loaded machine (bench/RESULTS.md, 2026-12-07, issue 17 item 3).
 */
function expectUnderLimit(o: FloodOutcome): void {
  const bar = BAR_MIB * 2 ** 20;
  const over = o.samples.filter((r) => r > bar);
  const peakMiB = Math.max(...o.samples) / 2 ** 20;
  const detail =
    `peak ${peakMiB.toFixed(1)} MiB (VmHWM ${(o.hwm / 2 ** 20).toFixed(1)}); ${over.length} of ${o.samples.length} samples over ${BAR_MIB.toFixed(1)} MiB ` +
    `(${LIMIT_MIB} MiB less ${MARGIN * 100} %): ` +
    over.map((r) => (r / 2 ** 20).toFixed(1)).join(', ');
  console.log(`rss-flood: ${detail}`);
  // The highest samples near the bar, with the gateway's account of its memory then: what a failure is explained by.
  for (const snap of [...o.snapshots].sort((a, b) => b.rss - a.rss).slice(0, 3)) {
    console.log(`rss-flood: at ${(snap.rss / 2 ** 20).toFixed(1)} MiB: ${snap.status}\n${snap.metrics}`);
  }
  // Sampling ran through the whole flood (a late timer on a loaded machine only thins it out).
  expect(o.samples.length).toBeGreaterThan(FLOOD_MS / SAMPLE_MS / 2);
  expect(over, detail).toEqual([]);
}

describe(`RSS under a flood of 1 MiB requests from ${CONNECTIONS} connections (memory_limit_mib ${LIMIT_MIB})`, () => {
  it('somatic -> otlphttp: no sample within 3 % of the limit, refusals retryable, every acknowledged record delivered', async () => {
    const sink = await startSink({ grpc: false, track: false });
    sinks.push(sink);
    expect(BODY.length).toBeGreaterThan(0.95 * 2 ** 20);
    const o = await flood('plain', gatewayConfig('plain', sink.httpUrl, '', '', '    compression: none'), sink);
    expectNothingLost(o);
    expectUnderLimit(o);
  }, 120_000);

  it('somatic, resourcedetection, resource, attributes, batch -> otlphttp into a sink answering after 200 ms: no sample within 3 % of the limit, nothing lost', async () => {
    const sink = await startSink({ grpc: false, track: false, replyDelayMs: 200 });
    sinks.push(sink);
    const processors = `  resourcedetection:
    detectors: [env, system]
  resource:
    attributes:
      - { key: deployment.environment, value: flood, action: upsert }
  attributes:
    actions:
      - { key: gophership.flood, value: 'yes', action: insert }
  batch: {}`;
    const o = await flood(
      'processors',
      gatewayConfig('processors', sink.httpUrl, processors, ', resourcedetection, resource, attributes, batch', '    compression: none'),
      sink,
    );
    expectNothingLost(o);
    // A 200 ms downstream cannot keep up with this flood: the gateway was under pressure.
    expect(o.pressure).toBeGreaterThan(0);
    expectUnderLimit(o);
  }, 150_000);

  it('OTLP/gRPC from 32 connections, somatic -> otlphttp: no sample within 3 % of the limit, refusals retryable, every acknowledged record delivered', async () => {
    const sink = await startSink({ grpc: false, track: false });
    sinks.push(sink);
    const o = await flood('grpc', gatewayConfig('grpc', sink.httpUrl, '', '', '    compression: none'), sink, 'grpc');
    expectNothingLost(o);
    expectUnderLimit(o);
  }, 120_000);
});
