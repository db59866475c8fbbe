// Wire-level processors against the decode -> edit -> re-encode path on the same requests.
// Run: npx tsc -p . && node bench/processors.mjs [seconds-per-case=3]
// Requests: 1000 log records of ~548 bytes each (4 resources x 250), distinct values per record.
// Pipeline under test: resource upsert of resourcedetection-like host attributes, then attributes
// insert + hash (SHA-256 of user.email). Single thread, so records/s is per core.
import os from 'node:os';
import { create, toBinary } from '@bufbuild/protobuf';
import { Payload } from '../dist/src/core/payload.js';
import { parseComponentId } from '../dist/src/core/component.js';
import { Telemetry } from '../dist/src/telemetry/telemetry.js';
import { silentLogger } from '../dist/src/telemetry/logger.js';
import { decodeRequest, encodeRequest } from '../dist/src/otlp/codec.js';
import { applyActionsToMessages, compileActions } from '../dist/src/otlp/attr-actions.js';
import { resourceProcessorFactory } from '../dist/processors/resource/factory.js';
import { attributesProcessorFactory } from '../dist/processors/attributes/factory.js';
import { ExportLogsServiceRequestSchema } from '../dist/proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';

const SECONDS = Number(process.argv[2] ?? 3);
const RECORDS = 1000;
const RESOURCES = 4;

const str = (value) => ({ value: { case: 'stringValue', value } });
const int = (value) => ({ value: { case: 'intValue', value: BigInt(value) } });
const kv = (key, value) => ({ key, value });

function makeRequest(seed) {
  const per = RECORDS / RESOURCES;
  const resourceLogs = [];
  let n = 0;
  for (let r = 0; r < RESOURCES; r++) {
    const logRecords = [];
    for (let i = 0; i < per; i++, n++) {
      const id = `${seed}-${n}`;
      logRecords.push({
        timeUnixNano: 1_700_000_000_000_000_000n + BigInt(n),
        observedTimeUnixNano: 1_700_000_000_000_500_000n + BigInt(n),
        severityNumber: 9,
        severityText: 'INFO',
        body: str(`GET /api/v1/orders/${id} completed in 23ms for tenant acme-corp; cache=miss upstream=orders-db-7 bytes=18234 user-agent="Mozilla/5.0 (X11; Linux x86_64)" ref=${id.padEnd(31, 'x')} trace_sampled=true`),
        attributes: [
          kv('http.method', str('GET')),
          kv('http.route', str('/api/v1/orders/{id}')),
          kv('http.status_code', int(200)),
          kv('user.email', str(`user${n}.${seed}@example.com`)),
          kv('net.peer.ip', str(`10.0.${n % 256}.${(n * 7) % 256}`)),
          kv('thread.id', int(n % 64)),
          kv('session.id', str(`sess-${id}-abcdefghijklmnopqrstuvwxyz012345`)),
          kv('code.function', str('OrdersController.get')),
        ],
        traceId: Uint8Array.from({ length: 16 }, (_, k) => (n * 31 + k) & 255),
        spanId: Uint8Array.from({ length: 8 }, (_, k) => (n * 17 + k) & 255),
        flags: 1,
      });
    }
    resourceLogs.push({
      resource: { attributes: [kv('service.name', str(`orders-${r}`)), kv('service.version', str('1.4.2')), kv('deployment.environment', str('prod'))] },
      scopeLogs: [{ scope: { name: 'orders-logger', version: '2.1.0' }, logRecords }],
    });
  }
  return toBinary(ExportLogsServiceRequestSchema, create(ExportLogsServiceRequestSchema, { resourceLogs }));
}

const RESOURCE_ACTIONS = [
  ['host.name', 'gateway-eu-1.internal'],
  ['host.id', '4f1c7a7e5a2b4b9e8c0d3f2a1b6c9d8e'],
  ['host.arch', 'amd64'],
  ['os.type', 'linux'],
  ['os.description', 'Debian GNU/Linux 12 (bookworm) 6.1.0-18-cloud-amd64'],
  ['cloud.provider', 'gcp'],
  ['cloud.region', 'europe-west1'],
].map(([key, value]) => ({ key, value, action: 'upsert' }));
const ATTR_ACTIONS = [
  { key: 'env', value: 'production', action: 'insert' },
  { key: 'user.email', action: 'hash' },
];

const telemetry = new Telemetry();
const settings = (id) => ({ id: parseComponentId(id), kind: 'processor', logger: silentLogger, telemetry });
const parse = (factory, raw) => {
  const issues = [];
  const cfg = factory.config.parse(raw, [], issues);
  if (issues.length) throw new Error(JSON.stringify(issues));
  return cfg;
};

const reqs = Array.from({ length: 8 }, (_, i) => makeRequest(i));

/** Runs fn(request) over the pool for SECONDS; returns records/s. */
async function measure(fn) {
  for (let i = 0; i < 20; i++) await fn(reqs[i % reqs.length]); // warm-up
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(SECONDS * 1e9));
  let now = t0;
  while (now < end) {
    for (let k = 0; k < 8; k++) await fn(reqs[n++ % reqs.length]);
    now = process.hrtime.bigint();
  }
  return (n * RECORDS) / (Number(now - t0) / 1e9);
}

function wirePipeline(resourceRaw, attrsRaw) {
  let last;
  const sink = { consume: (p) => { last = p; return Promise.resolve(); } };
  const attrs = attrsRaw ? attributesProcessorFactory.create(settings('attributes'), parse(attributesProcessorFactory, attrsRaw), 'logs', sink) : sink;
  const head = resourceRaw ? resourceProcessorFactory.create(settings('resource'), parse(resourceProcessorFactory, resourceRaw), 'logs', attrs) : attrs;
  return async (bytes) => {
    await head.consume(new Payload('logs', bytes));
    return last.bytes;
  };
}

function decodePipeline(resourceRaw, attrsRaw) {
  const issues = [];
  const ra = resourceRaw ? compileActions(resourceRaw.attributes, [], issues) : [];
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
  ['resource upsert (7 host attrs) + attributes insert + hash', { attributes: RESOURCE_ACTIONS }, { actions: ATTR_ACTIONS }],
  ['resource upsert only', { attributes: RESOURCE_ACTIONS }, undefined],
  ['attributes insert + hash only', undefined, { actions: ATTR_ACTIONS }],
  ['attributes update of an absent key (nothing changes)', undefined, { actions: [{ key: 'absent', value: 1, action: 'update' }] }],
];

// Both paths must produce the same request before their speed means anything.
{
  const [, r, a] = cases[0];
  const w = decodeRequest('logs', await wirePipeline(r, a)(reqs[0]));
  const d = decodeRequest('logs', await decodePipeline(r, a)(reqs[0]));
  const { equals } = await import('@bufbuild/protobuf');
  if (!equals(ExportLogsServiceRequestSchema, w, d)) throw new Error('wire and decode paths disagree');
}


const w = wirePipeline(cases[0][1], cases[0][2]);
console.log('wire case0', Math.round(await measure(w)));
