#!/usr/bin/env node
// Somatic zones benchmark: each zone forced, beside the forwarding floor measured in the same run with
// the same client. Build first (npx tsc -p .). Prints a markdown table and the targets:
// Yellow >= 0.8 and Red >= 0.8 of the forwarder; p99 acknowledgement latency in Yellow <= 15 ms.
// passthrough-<protocol> (batch only, no somatic processor) is shown for the gateway's own floor.
//
//   node bench/somatic-zones.mjs [--duration 10s] [--warmup 2s] [--workers 8] [--batch 1000] [--protocol http]
import { parseArgs } from 'node:util';
import { forwarder } from './scenarios/baselines.mjs';
import { zone } from './scenarios/zones.mjs';
import { passthrough } from './scenarios/passthrough.mjs';
import { fmt, machineBlock, table } from './lib/report.mjs';
import { loadavg } from './lib/measure.mjs';
import { durationFlag } from './lib/flags.mjs';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10s' },
    warmup: { type: 'string', default: '2s' },
    workers: { type: 'string', default: '8' },
    batch: { type: 'string', default: '1000' },
    'body-size': { type: 'string', default: '246' },
    protocol: { type: 'string', default: 'http' },
  },
});
const opts = {
  durationMs: durationFlag('duration', values.duration),
  warmupMs: durationFlag('warmup', values.warmup),
  workers: Number(values.workers),
  batch: Number(values.batch),
  bodySize: Number(values['body-size']),
};
const protocol = values.protocol;

const before = loadavg();
const rows = [];
for (const s of [forwarder(protocol), passthrough(protocol), zone('green', protocol), zone('yellow', protocol), zone('red', protocol)]) {
  process.stderr.write(`[somatic-zones] ${s.name}: ${s.title}\n`);
  rows.push({ s, r: await s.run({ opts, results: new Map() }) });
}
const fwd = rows[0].r.recordsPerSec;
const md = table(
  [
    ['scenario', (x) => `\`${x.s.name}\``, 'l'],
    ['records/s', (x) => fmt.int(x.r.recordsPerSec)],
    ['MB/s', (x) => fmt.mb(x.r.bytesPerSec)],
    ['vs forwarder', (x) => fmt.ratio(x.r.recordsPerSec / fwd)],
    ['p50 ms', (x) => fmt.ms(x.r.p50)],
    ['p99 ms', (x) => fmt.ms(x.r.p99)],
    ['server peak RSS', (x) => fmt.mib(x.r.gatewayHwm ?? x.r.procs?.forwarder?.hwm)],
    ['loss check', (x) => (x.r.loss ? `${x.r.loss.ok ? '0 lost' : `${x.r.loss.lost} LOST`} of ${fmt.int(x.r.loss.acked)}` : 'n/a (in the WAL)')],
    ['failed', (x) => fmt.int(x.r.failed)],
  ],
  rows,
);
const get = (n) => rows.find((x) => x.s.name === n).r;
const verdict = [
  `Yellow / forwarder = ${fmt.ratio(get('zone-yellow').recordsPerSec / fwd)} (target >= 0.8)`,
  `Red / forwarder = ${fmt.ratio(get('zone-red').recordsPerSec / fwd)} (target >= 0.8)`,
  `Yellow p99 = ${fmt.ms(get('zone-yellow').p99)} ms (target <= 15 ms at saturation)`,
];
process.stdout.write(
  `## Somatic zones (${protocol}), ${opts.workers} workers x ${opts.batch} records, ${opts.durationMs / 1000}s measured\n\n${machineBlock(before, loadavg())}\n\n${md}\n\n${verdict.map((v) => `- ${v}`).join('\n')}\n`,
);
