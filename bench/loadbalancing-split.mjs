// Benchmark: the loadbalancing exporter's wire split alone (no network), CPU microseconds per request,
// median of 6 alternating rounds in one process. Rows: traceID on 1000 spans (10 spans of a trace
// adjacent, or 100 traces interleaved), and for metrics of 100 sums x 10 points: routing_key metric and
// streamID. With --baseline DIR (a build with dist/, e.g. /work/main), the traceID rows run that build's
// splitter too, alternating with this one (A/B in the same process).
//   node bench/loadbalancing-split.mjs [--baseline DIR]
// Needs `npm run build` (dist/).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { metricsRequest, tracesRequest } from './lib/lb-requests.mjs';
import { HashRing } from '../dist/exporters/loadbalancing/ring.js';
import { Routers } from '../dist/exporters/loadbalancing/routers.js';
import * as ours from '../dist/exporters/loadbalancing/split.js';

const at = process.argv.indexOf('--baseline');
const baselineRoot = at >= 0 ? process.argv[at + 1] : undefined;
const baseline = baselineRoot ? await import(pathToFileURL(resolve(baselineRoot, 'dist/exporters/loadbalancing/split.js')).href) : undefined;

const ring = new HashRing(['a:4317', 'b:4317', 'c:4317']);
// The exporter's traceID router reads the trace ID in place; this one is the same for both builds.
const byTrace = { resource: () => -1, leaf: (buf, s) => ring.backendFor(buf, s + 2, s + 18) };
const routers = new Routers();
routers.ring = ring;

/** Median CPU microseconds per split of `reqs` (cycled) for each variant, over 6 alternating rounds. */
function measure(variants, reqs) {
  const times = variants.map(() => []);
  for (let round = 0; round < 6; round++)
    variants.forEach(([, make, router], v) => {
      const splitter = make();
      for (let i = 0; i < 300; i++) splitter.split(reqs[i % reqs.length], 3, router);
      const n = 2000;
      const t0 = process.cpuUsage();
      for (let i = 0; i < n; i++) splitter.split(reqs[i % reqs.length], 3, router);
      const c = process.cpuUsage(t0);
      times[v].push((c.user + c.system) / n);
    });
  return variants.map(([name], v) => [name, [...times[v]].sort((a, b) => a - b)[3]]);
}

const rows = [];
for (const interleave of [false, true]) {
  const reqs = Array.from({ length: 8 }, (_, i) => tracesRequest(i, 1000, interleave));
  const label = interleave ? 'traceID, 100 traces interleaved' : 'traceID, 10 spans a trace adjacent';
  const variants = [[`${label}, this build`, () => new ours.WireSplitter(), byTrace]];
  if (baseline) variants.push([`${label}, baseline`, () => new baseline.WireSplitter(), byTrace]);
  rows.push(...measure(variants, reqs).map(([n, us]) => [n, us, 1000]));
}
const mreqs = Array.from({ length: 8 }, (_, i) => metricsRequest(i));
rows.push(
  ...measure(
    [
      ['metrics, routing_key metric', () => new ours.WireSplitter(), routers.metric()],
      ['metrics, routing_key streamID', () => new ours.WireSplitter(false, true), routers.streamId()],
    ],
    mreqs,
  ).map(([n, us]) => [n, us, 1000]),
);
console.log(
  `Command: \`node bench/loadbalancing-split.mjs ${process.argv.slice(2).join(' ')}\` — split alone into 3 backends, CPU, median of 6 alternating rounds\n`,
);
console.log('| split | CPU us per request | ns per item (span or point) |');
console.log('| --- | ---: | ---: |');
for (const [name, us, items] of rows) console.log(`| ${name} | ${us.toFixed(1)} | ${((us * 1000) / items).toFixed(0)} |`);
