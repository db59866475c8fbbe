#!/usr/bin/env node
// RequestWalker (src/processorhelper/request-walker.ts) A/B against another build, in one process: the
// baseline's walker and this tree's walk the same requests in alternated slices of 200 walks; the figure is
// the median CPU time (process.cpuUsage) per record. For a change to the walker's loops, which run per
// resource, scope and record on every wire-path processor. Needs dist/ here and in DIR (npx tsc -p .).
//   node bench/request-walker-ab.mjs --baseline DIR [--rounds 30] [--many]
// --many: one resource (and scope) per record, 1000 a request, where the resource and scope walks dominate;
// default: the shared bench requests (bench/lib/log-requests.mjs, 4 resources x 250 records).
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ExportLogsServiceRequestSchema } from '../dist/proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';
import { DROP, KEEP } from '../dist/src/processorhelper/record-views.js';
import { RequestWalker } from '../dist/src/processorhelper/request-walker.js';
import { makeRequest } from './lib/log-requests.mjs';
import { commandLine, table } from './lib/report.mjs';

const { values } = parseArgs({
  options: { baseline: { type: 'string' }, rounds: { type: 'string', default: '30' }, many: { type: 'boolean', default: false } },
});
if (!values.baseline) throw new Error('--baseline DIR: a build to compare with (a checkout with dist/)');
const Baseline = (await import(resolve(values.baseline, 'dist/src/processorhelper/request-walker.js'))).RequestWalker;
const rounds = Number(values.rounds);

/** One resource and scope per record. */
function oneRecordPerResource(bytes) {
  const req = fromBinary(ExportLogsServiceRequestSchema, bytes);
  const resourceLogs = [];
  for (const rl of req.resourceLogs)
    for (const sl of rl.scopeLogs)
      for (const lr of sl.logRecords) resourceLogs.push({ resource: rl.resource, scopeLogs: [{ scope: sl.scope, logRecords: [lr] }] });
  return toBinary(ExportLogsServiceRequestSchema, create(ExportLogsServiceRequestSchema, { resourceLogs }));
}
const reqs = Array.from({ length: 8 }, (_, i) => (values.many ? oneRecordPerResource(makeRequest(i)) : makeRequest(i)));
const records = 1000;

const replacement = new Uint8Array([10, 4, 10, 2, 104, 105]); // a Resource with one attribute key "hi"
const visitors = {
  'every record kept (walk to records)': [{ record: () => KEEP }],
  'every Resource replaced': [{ resource: () => replacement }],
  'scopes kept, records counted (pruneEmpty)': [{ scope: () => KEEP }, { pruneEmpty: true }],
  'every 2nd record dropped': [{ record: (r) => (r.index & 1 ? DROP : KEEP) }],
};

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const rows = [];
for (const [name, [visitor, opts]] of Object.entries(visitors)) {
  const walkers = { baseline: new Baseline(visitor, opts), current: new RequestWalker(visitor, opts) };
  const slice = (w) => {
    const c0 = process.cpuUsage();
    for (let i = 0; i < 200; i++) w.walk('logs', reqs[i & 7]);
    const c = process.cpuUsage(c0);
    return c.user + c.system;
  };
  for (let i = 0; i < 5; i++) for (const w of Object.values(walkers)) slice(w); // warm-up (JIT)
  const us = { baseline: [], current: [] };
  for (let r = 0; r < rounds; r++) for (const k of r & 1 ? ['current', 'baseline'] : ['baseline', 'current']) us[k].push(slice(walkers[k]));
  const ns = (k) => (median(us[k]) * 1000) / (200 * records);
  rows.push([name, ns('baseline').toFixed(1), ns('current').toFixed(1), (ns('current') / ns('baseline')).toFixed(3)]);
}
console.log(`\`${commandLine()}\` (${values.many ? 'one resource per record' : '4 resources x 250 records'}, 1000 records a request)\n`);
console.log(
  table(
    [
      ['visitor', 0, 'l'],
      ['baseline CPU ns / record', 1],
      ['this tree CPU ns / record', 2],
      ['this tree / baseline', 3],
    ],
    rows,
  ),
);
