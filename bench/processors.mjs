// Wire-level processors against the decode -> edit -> re-encode path on the same requests.
// Run: npx tsc -p . && node bench/processors.mjs [seconds-per-case=3]
// Requests: 1000 log records of ~548 bytes each (4 resources x 250), distinct values per record.
// Pipeline under test (issue 6): resourcedetection (system: host.name, os.type, host.arch, host.id) ->
// resource upsert (cloud and deployment attributes) -> attributes insert + hash (SHA-256 of user.email);
// also each stage alone; and the receiver's per-request check (framing scan vs full validation vs decode).
// Single thread, so records/s is per core.
import os from 'node:os';
import { Payload } from '../dist/src/pdata/payload.js';
import { parseComponentId } from '../dist/src/core/component.js';
import { Telemetry } from '../dist/src/telemetry/telemetry.js';
import { silentLogger } from '../dist/src/telemetry/logger.js';
import { QueueFillRegistry } from '../dist/src/exporterhelper/fill.js';
import { PressureSlot } from '../dist/src/somatic/slot.js';
import { decodeRequest, encodeRequest } from '../dist/src/pdata/codec.js';
import { validateRequest } from '../dist/src/pdata/validate.js';
import { countItems } from '../dist/src/pdata/wire.js';
import { applyActionsToMessages, compileActions } from '../dist/src/processorhelper/attr-actions.js';
import { resourceProcessorFactory } from '../dist/processors/resource/factory.js';
import { attributesProcessorFactory } from '../dist/processors/attributes/factory.js';
import { resourceDetectionProcessorFactory } from '../dist/processors/resourcedetection/factory.js';
import { governHeapGrowth } from '../dist/src/core/heap-growth.js';
import v8 from 'node:v8';
import { RECORDS, RESOURCES, makeRequest } from './lib/log-requests.mjs';
import { ExportLogsServiceRequestSchema } from '../dist/proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';
import { transformProcessorFactory } from '../dist/processors/transform/factory.js';
import { filterProcessorFactory } from '../dist/processors/filter/factory.js';
import { routingConnectorFactory } from '../dist/connectors/routing/factory.js';
import { forwardConnectorFactory } from '../dist/connectors/forward/factory.js';
import { compileConditions } from '../dist/src/ottl/config.js';
import { filterItems } from '../dist/src/ottl/run.js';

const SECONDS = Number(process.argv[2] ?? 3);

const RESOURCE_ACTIONS = [
  ['deployment.environment', 'production'],
  ['cloud.provider', 'gcp'],
  ['cloud.region', 'europe-west1'],
].map(([key, value]) => ({ key, value, action: 'upsert' }));
const DETECTION = { detectors: ['system'] };
const ATTR_ACTIONS = [
  { key: 'env', value: 'production', action: 'insert' },
  { key: 'user.email', action: 'hash' },
];

// The old-generation headroom a running gateway gives V8 (src/core/heap-growth.ts, started by the
// Service): each edited request is a new buffer, and without it V8 runs full GCs the gateway does not.
const releaseHeapGrowth = governHeapGrowth({}, () => v8.getHeapStatistics().heap_size_limit);
const telemetry = new Telemetry();
const queueFills = new QueueFillRegistry();
const pressure = new PressureSlot(telemetry, queueFills.fullest);
const settings = (id) => ({ id: parseComponentId(id), kind: 'processor', logger: silentLogger, telemetry, pressure, queueFills });
const parse = (factory, raw) => {
  const issues = [];
  const cfg = factory.config.parse(raw, [], issues);
  if (issues.length) throw new Error(JSON.stringify(issues));
  return cfg;
};

const reqs = Array.from({ length: 8 }, (_, i) => makeRequest(i));

/**
 * Runs fn(request) over the pool for SECONDS. Returns records per second of this thread's CPU time (the
 * per-core rate, which a busy or oversubscribed machine does not dilute) and per wall-clock second.
 */
async function measure(fn) {
  for (let i = 0; i < 20; i++) await fn(reqs[i % reqs.length]); // warm-up
  let n = 0;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const end = t0 + BigInt(Math.round(SECONDS * 1e9));
  let now = t0;
  while (now < end) {
    for (let k = 0; k < 8; k++) await fn(reqs[n++ % reqs.length]);
    now = process.hrtime.bigint();
  }
  const c = process.cpuUsage(c0);
  const records = n * RECORDS;
  return { perCpu: records / ((c.user + c.system) / 1e6), perWall: records / (Number(now - t0) / 1e9) };
}

async function wirePipeline(detectionRaw, resourceRaw, attrsRaw) {
  let last;
  const sink = {
    consume: (p) => {
      last = p;
      return Promise.resolve();
    },
  };
  const attrs = attrsRaw ? attributesProcessorFactory.create(settings('attributes'), parse(attributesProcessorFactory, attrsRaw), 'logs', sink) : sink;
  const res = resourceRaw ? resourceProcessorFactory.create(settings('resource'), parse(resourceProcessorFactory, resourceRaw), 'logs', attrs) : attrs;
  let head = res;
  if (detectionRaw) {
    const det = resourceDetectionProcessorFactory.create(settings('resourcedetection'), parse(resourceDetectionProcessorFactory, detectionRaw), 'logs', res);
    await det.start();
    detected = det.detected;
    head = det;
  }
  return async (bytes) => {
    await head.consume(new Payload('logs', bytes));
    return last.bytes;
  };
}

/** What the resourcedetection processor detected at start: the decode path upserts the same. */
let detected = new Map();

function decodePipeline(detectionRaw, resourceRaw, attrsRaw) {
  const issues = [];
  const detectedActions = detectionRaw ? [...detected].map(([key, value]) => ({ key, value, action: 'upsert' })) : [];
  const ra = compileActions([...detectedActions, ...(resourceRaw?.attributes ?? [])], [], issues);
  const aa = attrsRaw ? compileActions(attrsRaw.actions, [], issues) : [];
  if (issues.length) throw new Error(JSON.stringify(issues));
  return async (bytes) => {
    const req = decodeRequest('logs', bytes);
    for (const rl of req.resourceLogs) {
      if (ra.length) {
        rl.resource ??= { $typeName: 'opentelemetry.proto.resource.v1.Resource', attributes: [], droppedAttributesCount: 0, entityRefs: [] };
        applyActionsToMessages(ra, rl.resource.attributes);
      }
      if (aa.length) for (const sl of rl.scopeLogs) for (const lr of sl.logRecords) applyActionsToMessages(aa, lr.attributes);
    }
    return encodeRequest('logs', req);
  };
}

const cases = [
  ['resourcedetection (system) + resource upsert (3 attrs) + attributes insert + hash', DETECTION, { attributes: RESOURCE_ACTIONS }, { actions: ATTR_ACTIONS }],
  ['resourcedetection (system) only', DETECTION, undefined, undefined],
  ['resource upsert (3 attrs) only', undefined, { attributes: RESOURCE_ACTIONS }, undefined],
  ['attributes insert + hash only', undefined, undefined, { actions: ATTR_ACTIONS }],
  ['attributes update of an absent key (nothing changes)', undefined, undefined, { actions: [{ key: 'absent', value: 1, action: 'update' }] }],
];

// Both paths must produce the same request before their speed means anything.
{
  const [, det, r, a] = cases[0];
  const w = decodeRequest('logs', await (await wirePipeline(det, r, a))(reqs[0]));
  const d = decodeRequest('logs', await decodePipeline(det, r, a)(reqs[0]));
  const { equals } = await import('@bufbuild/protobuf');
  if (!equals(ExportLogsServiceRequestSchema, w, d)) throw new Error('wire and decode paths disagree');
}

const rows = [];
for (const [name, det, r, a] of cases) {
  const wire = await measure(await wirePipeline(det, r, a));
  const dec = await measure(decodePipeline(det, r, a));
  const int = (x) => Math.round(x).toLocaleString('en-US');
  rows.push(`| ${name} | ${int(wire.perCpu)} | ${int(dec.perCpu)} | ${(wire.perCpu / dec.perCpu).toFixed(1)}x | ${int(wire.perWall)} / ${int(dec.perWall)} |`);
}
// What the receiver does to every request before it is acknowledged, against the framing scan it replaced
// and a full decode, on the same requests.
const checks = [];
for (const [name, fn] of [
  ['framing scan only (countItems: request, resource, scope, record levels)', (b) => countItems('logs', b)],
  ['full validation (validateRequest: every field, ids, nesting, UTF-8 of strings) + item count', (b) => validateRequest('logs', b)],
  ['protobuf decode (fromBinary)', (b) => decodeRequest('logs', b)],
]) {
  const m = await measure(fn);
  checks.push(`| ${name} | ${Math.round(m.perCpu).toLocaleString('en-US')} | ${(1e6 / m.perCpu).toFixed(3)} |`);
}
// OTTL (issue 21): the transform and filter processors and the routing connector on the same requests.
/** A processor (or connector) ending in a sink that takes the bytes, as an exporter would. */
function ending(make) {
  let last;
  const sink = {
    consume: (p) => {
      last = p;
      return Promise.resolve();
    },
  };
  const head = make(sink);
  return async (bytes) => {
    await head.consume(new Payload('logs', bytes));
    return last?.bytes;
  };
}
const transform = (statements) =>
  ending((next) => transformProcessorFactory.create(settings('transform'), parse(transformProcessorFactory, { log_statements: statements }), 'logs', next));
const filter = (conditions) =>
  ending((next) => filterProcessorFactory.create(settings('filter'), parse(filterProcessorFactory, { logs: { log_record: conditions } }), 'logs', next));
function connector(factory, raw) {
  const sinks = new Map([
    ['logs/a', { consume: (p) => (p.bytes, Promise.resolve()) }],
    ['logs/b', { consume: (p) => (p.bytes, Promise.resolve()) }],
  ]);
  const conn = factory.create(settings('connector'), parse(factory, raw), { from: 'logs', to: 'logs', pipelines: [...sinks.keys()] }, sinks);
  return (bytes) => conn.consume(new Payload('logs', bytes));
}
const FILTER_CONDITIONS = ['attributes["thread.id"] == 63', 'IsMatch(attributes["http.route"], "^/health")'];
const filterDecoded = () => {
  const conds = compileConditions(FILTER_CONDITIONS, 'log', 'logs');
  return async (bytes) => {
    const req = decodeRequest('logs', bytes);
    filterItems('logs', req, { log: conds }, { errorMode: 'propagate' });
    return encodeRequest('logs', req);
  };
};
const ottlCases = [
  [
    'transform `set(attributes["env"], "prod")`',
    300_000,
    'wire path',
    transform(['set(attributes["env"], "prod")']),
    'decoded path (same statement + `where true`)',
    transform(['set(attributes["env"], "prod") where true']),
  ],
  [
    'transform `replace_pattern(body, "tenant acme-corp", "tenant ***")`',
    undefined,
    'decoded path',
    transform(['replace_pattern(body, "tenant acme-corp", "tenant ***")']),
    'decode + re-encode, no statement',
    async (b) => encodeRequest('logs', decodeRequest('logs', b)),
  ],
  ['filter, two OTTL conditions on record attributes (1/64 dropped)', 400_000, 'wire path', filter(FILTER_CONDITIONS), 'decoded path', filterDecoded()],
  [
    'routing on `resource.attributes["service.name"]` (splits each request 1:3)',
    1_000_000,
    'routing connector',
    connector(routingConnectorFactory, {
      default_pipelines: ['logs/b'],
      table: [{ condition: 'resource.attributes["service.name"] == "orders-0"', pipelines: ['logs/a'] }],
    }),
    'forward connector to two pipelines',
    connector(forwardConnectorFactory, {}),
  ],
];
const ottlRows = [];
for (const [name, target, subject, fn, baseName, base] of ottlCases) {
  const m = await measure(fn);
  const b = await measure(base);
  const int = (x) => Math.round(x).toLocaleString('en-US');
  const verdict = target === undefined ? '' : m.perCpu >= target ? `>= ${int(target)}: met` : `>= ${int(target)}: NOT met`;
  ottlRows.push(`| ${name} | ${subject} | ${int(m.perCpu)} | ${baseName} | ${int(b.perCpu)} | ${verdict} |`);
}

telemetry.close?.();
releaseHeapGrowth();

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`Command: \`node bench/processors.mjs ${SECONDS}\` (after \`npx tsc -p .\`)`);
console.log(
  `Machine: ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`,
);
console.log(
  `Requests: ${RECORDS} log records (${RESOURCES} resources), ${reqs[0].length.toLocaleString('en-US')} bytes each (~${Math.round(reqs[0].length / RECORDS)} bytes per record incl. framing); single thread (per core)\n`,
);
console.log(
  "Rates are records per second of the thread's CPU time (records/s per core); the last column is per wall-clock second, which other load on the machine lowers.\n",
);
console.log('| pipeline | wire path records/s per core | decode+re-encode records/s per core | speed-up | wall-clock records/s (wire / decode) |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(r);
console.log('\nReceiver checks on the same requests (single thread):\n');
console.log('| check | records/s per core | us per record |');
console.log('| --- | ---: | ---: |');
for (const r of checks) console.log(r);
console.log('\nOTTL (issue 21), single thread, same requests:\n');
console.log('| case | subject | records/s per core | baseline | baseline records/s per core | target |');
console.log('| --- | --- | ---: | --- | ---: | --- |');
for (const r of ottlRows) console.log(r);
