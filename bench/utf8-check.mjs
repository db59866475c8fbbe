// The cost of the receiver's UTF-8 check of string fields (issue 17 item 4), side by side with the same
// validation without it, on the same requests, one thread. Two request shapes: ASCII text (most
// telemetry) and text with a non-ASCII character in every record body and one attribute. Either way the
// check is one native buffer.isUtf8 per request over a masked copy (src/pdata/validate.ts, MASK).
// Run: npx tsc -p . && node bench/utf8-check.mjs [seconds-per-case=2]
// Requests: bench/lib/log-requests.mjs (1000 log records of ~548 bytes, 4 resources x 250), as bench/processors.mjs.
import os from 'node:os';
import { isUtf8 } from 'node:buffer';
import { validateRequest } from '../dist/src/pdata/validate.js';
import { makeRequest } from './lib/log-requests.mjs';

const SECONDS = Number(process.argv[2] ?? 2);
/**
 * Records per second of this thread's CPU time (the per-core rate, which other load on the machine does
 * not dilute), over SECONDS/3.
 */
function measureOnce(fn, reqs) {
  let records = 0;
  let i = 0;
  const c0 = process.cpuUsage();
  const end = performance.now() + (SECONDS * 1000) / 3;
  while (performance.now() < end) {
    for (let k = 0; k < 20; k++) records += fn(reqs[i++ % reqs.length]);
  }
  const c = process.cpuUsage(c0);
  return records / ((c.user + c.system) / 1e6);
}

/** Without and with the check, alternating three times (so drift hits both), best of each. */
function compare(reqs) {
  const off = (b) => validateRequest('logs', b, { utf8: false });
  const on = (b) => validateRequest('logs', b);
  for (let i = 0; i < 200; i++) {
    off(reqs[i % reqs.length]);
    on(reqs[i % reqs.length]);
  }
  let bestOff = 0;
  let bestOn = 0;
  for (let round = 0; round < 3; round++) {
    bestOff = Math.max(bestOff, measureOnce(off, reqs));
    bestOn = Math.max(bestOn, measureOnce(on, reqs));
  }
  return [bestOff, bestOn];
}

const shapes = [
  ['ASCII text', Array.from({ length: 8 }, (_, i) => makeRequest(i))],
  ['a non-ASCII character in every body and e-mail', Array.from({ length: 8 }, (_, i) => makeRequest(i, { accent: 'é' }))],
];
const rows = [];
for (const [shape, reqs] of shapes) {
  const bytes = reqs[0].length;
  const [off, on] = compare(reqs);
  rows.push([shape, bytes, off, on]);
}
// Native isUtf8 over whole buffers, for scale: how fast the native check is when called once.
const big = Buffer.from('x'.repeat(550 * 1000));
let t0 = performance.now();
let n = 0;
while (performance.now() - t0 < 500) {
  isUtf8(big);
  n++;
}
const nativeMBs = (n * big.length) / ((performance.now() - t0) / 1000) / 1e6;

console.log(`Command: \`node bench/utf8-check.mjs ${SECONDS}\`  `);
console.log(`Machine: ${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores, Node ${process.version}\n`);
console.log(
  '| requests | bytes per request | validateRequest without the UTF-8 check (records/s of CPU time) | with it (records/s of CPU time) | cost per record (CPU) | with / without |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const [shape, bytes, off, on] of rows) {
  const ns = (1e9 / on - 1e9 / off).toFixed(0);
  console.log(
    `| ${shape} | ${bytes} | ${Math.round(off).toLocaleString('en-US')} | ${Math.round(on).toLocaleString('en-US')} | ${ns} ns | ${(on / off).toFixed(2)} |`,
  );
}
console.log(`\nNative buffer.isUtf8 over one 550 KB ASCII buffer: ${Math.round(nativeMBs).toLocaleString('en-US')} MB/s.`);
