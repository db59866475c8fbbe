#!/usr/bin/env node
// The receivers' snappy and zstd decoders against the libraries they replaced (issue 18: snappyjs's block
// decoder looped on a 7-byte block, fzstd's streaming decoder shifted a client-declared window per block),
// by CPU time per MiB decompressed, on the light bench's request (1000 log records, ~434 KB) and 8 of them
// joined. Each decoder runs in rounds, alternating, all in one process; the median round is printed.
//
//   npx tsc -p . && node bench/decompress-ab.mjs [--rounds 5] [--record]
import { createRequire } from 'node:module';
import { Decompress as FzstdDecompress } from 'fzstd';
import { loadavg } from './lib/measure.mjs';
import { appendResults, commandLine, machineBlock, stamp, table } from './lib/report.mjs';
import { compress } from '../dist/src/compression/index.js';
import { snappyBlockDecompress } from '../dist/src/compression/snappy-block.js';
import { zstdDecompress } from '../dist/src/compression/zstd.js';
import { RequestTemplate, TemplateParts } from '../dist/src/tools/loadgen/templates.js';

const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1]) || 5;
const snappyjs = createRequire(import.meta.url)('snappyjs');
const LIMIT = 64 * 1024 * 1024;

const one = Buffer.from(new RequestTemplate(new TemplateParts({ signal: 'logs', encoding: 'proto', runId: 'ab', bodySize: 246, attributes: 4 }), 0, 1000).buf);
const bodies = { '1 request (1000 records)': one, '8 requests joined': Buffer.concat(Array(8).fill(one)) };

/** fzstd as src/compression used it: the streaming decoder, its output pieces collected. */
function fzstdStream(data) {
  const parts = [];
  const d = new FzstdDecompress((chunk) => parts.push(chunk));
  d.push(data, true);
  return parts.length;
}

const rows = [];
const loadBefore = loadavg();
const started = new Date();
for (const [shape, body] of Object.entries(bodies)) {
  const snappy = await compress('snappy', body, { transport: 'http' });
  const zstd = await compress('zstd', body, { level: 3 });
  const cases = [
    ['snappy block', 'snappyjs 0.7.0 (before)', async () => snappyjs.uncompress(snappy, LIMIT)],
    ['snappy block', 'snappy-block.ts (now)', async () => snappyBlockDecompress(snappy, LIMIT, () => new Error('limit'))],
    ['zstd', 'fzstd 0.1.1 streaming (before)', async () => fzstdStream(zstd)],
    ['zstd', 'libzstd wasm (now)', async () => zstdDecompress(zstd, LIMIT)],
  ];
  const samples = cases.map(() => []);
  for (let r = 0; r <= rounds; r++) {
    for (const [i, [, , run]] of cases.entries()) {
      const c0 = process.cpuUsage();
      const reps = Math.max(5, Math.round(40e6 / body.length));
      for (let k = 0; k < reps; k++) await run();
      const c = process.cpuUsage(c0);
      // Round 0 warms the JIT and the WebAssembly heap.
      if (r > 0) samples[i].push((c.user + c.system) / 1000 / reps / (body.length / 1048576));
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  cases.forEach(([coding, decoder], i) =>
    rows.push({ shape, coding, decoder, bytes: body.length, ms: med(samples[i]), all: samples[i].map((x) => x.toFixed(3)).join(', ') }),
  );
}

const md = [
  `### Receiver decompression: the decoders of issue 18 against the libraries they replaced, ${stamp(started)}`,
  '',
  `Command: \`${commandLine()}\``,
  machineBlock(loadBefore, loadavg()),
  '',
  table(
    [
      ['body', 'shape', 'l'],
      ['bytes', (r) => r.bytes.toLocaleString('en-US')],
      ['coding', 'coding', 'l'],
      ['decoder', 'decoder', 'l'],
      ['CPU ms per MiB decompressed (median)', (r) => r.ms.toFixed(3)],
      ['rounds', 'all', 'l'],
    ],
    rows,
  ),
].join('\n');
console.log(md);
if (args.includes('--record')) await appendResults(md);
