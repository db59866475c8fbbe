// The disk's sustained durable write rate, the ceiling of the somatic Red zone: every Red request is
// written to the WAL and fdatasynced before it is acknowledged, so Red can never outrun this.
// Run: node bench/disk-ceiling.mjs [GiB=3]
// Writes GiB of 434 KB requests (the bench's request size) to one file in the OS temp dir (the
// directory the gateway scenarios' WALs live in), with an fdatasync once 1 MiB was written (the WAL's
// interval trigger), single writer, then deletes it. Enough data to get past what the page cache absorbs.
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GIB = Number(process.argv[2] ?? 3);
const REQUEST = 434_000;
const RECORD = 434;
const SYNC_AFTER = 1024 * 1024;

const dir = await mkdtemp(join(tmpdir(), 'gophership-disk-'));
const fh = await open(join(dir, 'ceiling'), 'w');
const buf = Buffer.alloc(REQUEST, 0x5a);
const total = GIB * 2 ** 30;
let written = 0;
let unsynced = 0;
let syncs = 0;
const t0 = performance.now();
try {
  while (written < total) {
    await fh.write(buf, 0, REQUEST, written);
    written += REQUEST;
    unsynced += REQUEST;
    if (unsynced >= SYNC_AFTER) {
      await fh.datasync();
      syncs++;
      unsynced = 0;
    }
  }
  await fh.datasync();
} finally {
  await fh.close();
  await rm(dir, { recursive: true, force: true });
}
const sec = (performance.now() - t0) / 1000;
const mbps = written / sec / 1e6;
console.log(`Command: \`node bench/disk-ceiling.mjs ${GIB}\` (file in ${tmpdir()})\n`);
console.log('| written | fdatasyncs | seconds | MB/s | = records/s of 434 B |');
console.log('| ---: | ---: | ---: | ---: | ---: |');
console.log(`| ${(written / 2 ** 30).toFixed(2)} GiB | ${syncs} | ${sec.toFixed(1)} | ${mbps.toFixed(0)} | ${Math.round(written / RECORD / sec).toLocaleString('en-US')} |`);
console.log(`\nDISK_CEILING_MBPS=${mbps.toFixed(1)}`);
