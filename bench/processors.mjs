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
  const sink = { consume: (p) => { last = p; return Promise.resolve(); } };
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
telemetry.close?.();
releaseHeapGrowth();

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`Command: \`node bench/processors.mjs ${SECONDS}\` (after \`npx tsc -p .\`)`);
console.log(`Machine: ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`);
console.log(`Requests: ${RECORDS} log records (${RESOURCES} resources), ${reqs[0].length.toLocaleString('en-US')} bytes each (~${Math.round(reqs[0].length / RECORDS)} bytes per record incl. framing); single thread (per core)\n`);
console.log('Rates are records per second of the thread\'s CPU time (records/s per core); the last column is per wall-clock second, which other load on the machine lowers.\n');
console.log('| pipeline | wire path records/s per core | decode+re-encode records/s per core | speed-up | wall-clock records/s (wire / decode) |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(r);
console.log('\nReceiver checks on the same requests (single thread):\n');
console.log('| check | records/s per core | us per record |');
console.log('| --- | ---: | ---: |');
for (const r of checks) console.log(r);
