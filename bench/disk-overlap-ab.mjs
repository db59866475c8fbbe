// The disk alone with the WAL's two write loops, alternated: O_DIRECT writes of a batch (`requests` x the
// light bench's 433,982-byte request, as the WAL writes a batch under Red's closed loop) each followed by an
// fdatasync, either waited for before the next write (main's WAL before issue 20's branch red2) or running
// beside the next write (at most one at a time; the WAL since). Through the WAL's own DirectAppender.
// Run: npx tsc -p . && node bench/disk-overlap-ab.mjs [requests=3] [seconds=2] [rounds=6]   (files in the temp dir)
import { constants } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectAppender, STAGING_BYTES, alignedBuffer } from '../dist/src/wal/direct.js';

const REQUESTS = Number(process.argv[2] ?? 3);
const SECONDS = Number(process.argv[3] ?? 2);
const ROUNDS = Number(process.argv[4] ?? 6);
const BATCH = REQUESTS * 433_982;
const batch = Buffer.alloc(BATCH, 0x5a);
const dir = await mkdtemp(join(tmpdir(), 'gophership-overlap-'));

async function run(beside) {
  const fh = await open(join(dir, 'f'), constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_DIRECT);
  const appender = new DirectAppender(alignedBuffer(STAGING_BYTES));
  await appender.attach(fh, 0);
  let pos = 0;
  let syncs = 0;
  let syncing = Promise.resolve();
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    await appender.write([batch], BATCH, pos);
    pos += BATCH;
    await syncing;
    syncing = fh.datasync();
    syncs++;
    if (!beside) await syncing;
  }
  await syncing;
  const sec = (performance.now() - t0) / 1000;
  await fh.close();
  return { mbps: pos / sec / 1e6, syncsPerSec: syncs / sec };
}

const res = { inTurn: [], beside: [] };
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const beside of r % 2 ? [true, false] : [false, true]) res[beside ? 'beside' : 'inTurn'].push(await run(beside));
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ratios = res.beside.map((b, i) => b.mbps / res.inTurn[i].mbps);
console.log(`Command: \`node bench/disk-overlap-ab.mjs ${REQUESTS} ${SECONDS} ${ROUNDS}\` (files in ${tmpdir()})\n`);
console.log('| O_DIRECT write + fdatasync per batch | MB/s per round | MB/s (median) | fdatasyncs/s (median) |');
console.log('| --- | --- | ---: | ---: |');
for (const [name, rs] of [
  ['in turn (the WAL before)', res.inTurn],
  ['the next write beside the fdatasync (the WAL now)', res.beside],
]) {
  console.log(
    `| ${name} | ${rs.map((x) => x.mbps.toFixed(0)).join(', ')} | ${median(rs.map((x) => x.mbps)).toFixed(0)} | ${median(rs.map((x) => x.syncsPerSec)).toFixed(0)} |`,
  );
}
console.log(
  `\nbeside / in turn, per round: ${ratios.map((x) => x.toFixed(2)).join(', ')}; median ${median(ratios).toFixed(2)}; faster in ${ratios.filter((x) => x > 1).length} of ${ratios.length}`,
);
