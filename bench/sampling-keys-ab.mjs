#!/usr/bin/env node
// tail_sampling intake and spanmetrics aggregation A/B against another build, in one process: the baseline's
// processor / aggregator and this tree's take the same requests in alternated rounds; the figure is the median
// CPU time (process.cpuUsage) per million spans. For changes to the per-span paths of the two components
// (issue 22's collector keys: the root-span check, trace flags, tracestate weights, split series tables).
//   npx tsc -p tsconfig.json && node bench/sampling-keys-ab.mjs --baseline DIR [--rounds 9] [--tracestate]
// DIR: a checkout of the other build with dist/ (e.g. `git archive main | tar -x -C DIR`, node_modules
// linked, `npx tsc -p tsconfig.json` there). Requests: 1000 spans, 100 traces of 10 (one root, nine children
// with a parent span ID), service.name on the resource, http.method on each span, trace flags 1.
// tail_sampling: status_code ERROR + probabilistic 10 %, decision_wait 1h, num_traces 5000 (the table fills
// and decides the oldest early, as a gateway at its bound does). spanmetrics: dimensions [http.method].
// --tracestate: every span carries `ot=th:8` (a weight of 2 in spanmetrics).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { commandLine, table } from './lib/report.mjs';

const { values } = parseArgs({
  options: { baseline: { type: 'string' }, rounds: { type: 'string', default: '9' }, tracestate: { type: 'boolean', default: false } },
});
if (!values.baseline) throw new Error('--baseline DIR: a build to compare with (a checkout with dist/)');
const rounds = Number(values.rounds);

async function load(root) {
  const m = (p) => import(resolve(root, 'dist', p));
  return {
    ...(await m('processors/tail_sampling/tail-sampling-processor.js')),
    ...(await m('processors/tail_sampling/factory.js')),
    ...(await m('connectors/spanmetrics/aggregator.js')),
    ...(await m('connectors/spanmetrics/factory.js')),
    ...(await m('src/telemetry/telemetry.js')),
    ...(await m('src/telemetry/logger.js')),
    ...(await m('src/core/component.js')),
    ...(await m('src/exporterhelper/fill.js')),
    ...(await m('src/somatic/slot.js')),
    ...(await m('src/pdata/payload.js')),
  };
}

let spanSerial = 0;
function request(firstTrace) {
  const w = new BinaryWriter();
  const kv = (field, key, value) =>
    w
      .tag(field, WireType.LengthDelimited)
      .fork()
      .tag(1, WireType.LengthDelimited)
      .string(key)
      .tag(2, WireType.LengthDelimited)
      .fork()
      .tag(1, WireType.LengthDelimited)
      .string(value)
      .join()
      .join();
  w.tag(1, WireType.LengthDelimited).fork();
  w.tag(1, WireType.LengthDelimited).fork();
  kv(1, 'service.name', 'shop');
  w.join();
  w.tag(2, WireType.LengthDelimited).fork();
  for (let t = 0; t < 100; t++)
    for (let k = 0; k < 10; k++) {
      const traceId = new Uint8Array(16);
      new DataView(traceId.buffer).setUint32(0, 0xabcdef01);
      new DataView(traceId.buffer).setUint32(12, firstTrace + t);
      const spanId = new Uint8Array(8);
      new DataView(spanId.buffer).setUint32(4, ++spanSerial);
      w.tag(2, WireType.LengthDelimited).fork();
      w.tag(1, WireType.LengthDelimited).bytes(traceId).tag(2, WireType.LengthDelimited).bytes(spanId);
      if (values.tracestate) w.tag(3, WireType.LengthDelimited).string('ot=th:8');
      if (k > 0) w.tag(4, WireType.LengthDelimited).bytes(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1]));
      w.tag(5, WireType.LengthDelimited).string(`op-${k}`).tag(6, WireType.Varint).int32(2);
      w.tag(7, WireType.Bit64)
        .fixed64(1_700_000_000_000_000_000n)
        .tag(8, WireType.Bit64)
        .fixed64(1_700_000_000_000_000_000n + BigInt(k * 1e6));
      kv(9, 'http.method', 'GET');
      w.tag(16, WireType.Bit32).fixed32(1);
      w.join();
    }
  w.join();
  w.join();
  return w.finish();
}
const requests = Array.from({ length: 200 }, (_, i) => request(i * 100));
const spansPerPass = requests.length * 1000;

function settings(L) {
  const telemetry = new L.Telemetry();
  const fills = new L.QueueFillRegistry();
  return {
    id: L.parseComponentId('tail_sampling'),
    kind: 'processor',
    logger: new L.Logger('error'),
    telemetry,
    pressure: new L.PressureSlot(telemetry, fills.fullest),
    queueFills: fills,
  };
}

function parsed(factory, raw) {
  const issues = [];
  const cfg = factory.config.parse(raw, [], issues);
  if (issues.length > 0) throw new Error(JSON.stringify(issues));
  return cfg;
}

/** CPU s per million spans of one tail_sampling instance taking every request twice. */
async function tailRound(L) {
  const cfg = parsed(L.tailSamplingProcessorFactory, {
    decision_wait: '1h',
    num_traces: 5000,
    policies: [
      { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
      { name: 'some', type: 'probabilistic', probabilistic: { sampling_percentage: 10 } },
    ],
  });
  const s = settings(L);
  const proc = new L.TailSamplingProcessor(s, cfg, { consume: () => Promise.resolve() });
  await proc.start();
  const before = process.cpuUsage();
  for (let pass = 0; pass < 2; pass++) for (const bytes of requests) await proc.consume(new L.Payload('traces', bytes));
  const used = process.cpuUsage(before);
  await proc.shutdown();
  s.telemetry.close();
  return (used.user + used.system) / 1e6 / ((2 * spansPerPass) / 1e6);
}

/** CPU s per million spans of one spanmetrics aggregator taking every request three times. */
function spanMetricsRound(L) {
  const agg = new L.SpanMetricsAggregator(parsed(L.spanMetricsConnectorFactory, { dimensions: [{ name: 'http.method' }] }));
  const before = process.cpuUsage();
  for (let pass = 0; pass < 3; pass++) for (const bytes of requests) agg.add(bytes);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6 / ((3 * spansPerPass) / 1e6);
}

const builds = [
  { name: `baseline (${values.baseline})`, L: await load(values.baseline) },
  { name: 'this tree', L: await load(process.cwd()) },
];
const results = builds.map(() => ({ tail: [], spanmetrics: [] }));
for (let r = 0; r < rounds + 1; r++)
  for (const [i, b] of builds.entries()) {
    const tail = await tailRound(b.L);
    const sm = spanMetricsRound(b.L);
    // The first round of each build warms the JIT and is left out.
    if (r > 0) {
      results[i].tail.push(tail);
      results[i].spanmetrics.push(sm);
    }
  }
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`\n${commandLine()}\n`);
const rows = builds.map((b, i) => ({ name: b.name, tail: median(results[i].tail), sm: median(results[i].spanmetrics) }));
console.log(
  table(
    [
      ['build', 'name', 'l'],
      ['tail_sampling CPU s / M spans', (r) => r.tail.toFixed(3)],
      ['vs baseline', (r) => (r.tail / rows[0].tail).toFixed(3)],
      ['spanmetrics CPU s / M spans', (r) => r.sm.toFixed(3)],
      ['vs baseline', (r) => (r.sm / rows[0].sm).toFixed(3)],
    ],
    rows,
  ),
);
console.log(`\nMedian of ${rounds} alternated rounds (after one warm-up round each)${values.tracestate ? '; every span with tracestate ot=th:8' : ''}.`);
