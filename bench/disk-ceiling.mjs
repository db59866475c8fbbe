// The disk's sustained durable write rate, the ceiling of the somatic Red zone: every Red request is
// written to the WAL and fdatasynced before it is acknowledged, so Red can never outrun this.
// Run: node bench/disk-ceiling.mjs [GiB=3]
// Writes GiB of 434 KB requests (the bench's request size) to one file in the OS temp dir (the
// directory the gateway scenarios' WALs live in), with an fdatasync once 1 MiB was written (the WAL's
// interval trigger), single writer, then deletes it. Enough data to get past what the page cache absorbs.
//
// Two ways, each with the process CPU it took per GB written (the kernel's copying counts, on the thread
// pool's threads):
//  - through the page cache, as the WAL writes with direct_io: false: the kernel copies each write into it;
//  - O_DIRECT, as the WAL writes by default (direct_io; src/wal/direct.ts): each request is first copied
//    into the WAL's page-aligned staging buffer and padded to 4096 bytes, then the device reads it from
//    there. n/a where the file system refuses it (the probe the WAL runs at open);
//  - O_DIRECT with the next writes beside the fdatasync under way (at most one at a time), as the WAL's
//    write loop runs since the twelfth session: what the device does with a write and a flush together.
import { constants } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIRECT_ALIGN, alignedBuffer, probeDirectIo } from '../dist/src/wal/direct.js';

const GIB = Number(process.argv[2] ?? 3);
const REQUEST = 434_000;
const RECORD = 434;
const SYNC_AFTER = 1024 * 1024;

const dir = await mkdtemp(join(tmpdir(), 'gophership-disk-'));
const buf = Buffer.alloc(REQUEST, 0x5a);
const total = GIB * 2 ** 30;

/**
 * Writes `total` bytes with write(offset) and an fdatasync per MiB; returns bytes/s, syncs, seconds and CPU s/GB.
 * `beside`: an fdatasync is not waited for; the next writes go on while it runs (a due one waits for it).
 */
async function run(fh, write, step, beside = false) {
  let written = 0;
  let unsynced = 0;
  let syncs = 0;
  let syncing = Promise.resolve();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (written < total) {
    await write(written);
    written += step;
    unsynced += step;
    if (unsynced >= SYNC_AFTER) {
      await syncing;
      syncing = fh.datasync();
      if (!beside) await syncing;
      syncs++;
      unsynced = 0;
    }
  }
  await syncing;
  await fh.datasync();
  const sec = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { written, syncs, sec, bytesPerSec: written / sec, cpuPerGb: (c.user + c.system) / 1e6 / (written / 1e9) };
}

const rows = [];
try {
  const fh = await open(join(dir, 'ceiling'), 'w');
  try {
    rows.push(['page cache (the WAL with direct_io: false)', await run(fh, (pos) => fh.write(buf, 0, REQUEST, pos), REQUEST)]);
  } finally {
    await fh.close();
  }
  await rm(join(dir, 'ceiling'), { force: true });

  const padded = Math.ceil(REQUEST / DIRECT_ALIGN) * DIRECT_ALIGN;
  const staging = alignedBuffer(padded);
  if (await probeDirectIo(dir, staging)) {
    for (const [name, beside] of [
      ['O_DIRECT from an aligned copy, write and fdatasync in turn (the WAL before this session)', false],
      ['O_DIRECT from an aligned copy, the next writes beside the fdatasync (what the WAL does, direct_io)', true],
    ]) {
      const dfh = await open(join(dir, 'direct'), constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_DIRECT);
      try {
        rows.push([
          name,
          await run(
            dfh,
            (pos) => {
              buf.copy(staging, 0);
              return dfh.write(staging, 0, padded, pos);
            },
            padded,
            beside,
          ),
        ]);
      } finally {
        await dfh.close();
      }
      await rm(join(dir, 'direct'), { force: true });
    }
  } else rows.push(['O_DIRECT from an aligned copy (what the WAL does, direct_io)', undefined]);
} finally {
  await rm(dir, { recursive: true, force: true });
}

console.log(`Command: \`node bench/disk-ceiling.mjs ${GIB}\` (file in ${tmpdir()})\n`);
console.log('| writes | written | fdatasyncs | seconds | MB/s | = records/s of 434 B | process CPU s per GB |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [name, r] of rows) {
  if (!r) console.log(`| ${name} | n/a (this file system refuses O_DIRECT) | | | | | |`);
  else
    console.log(
      `| ${name} | ${(r.written / 2 ** 30).toFixed(2)} GiB | ${r.syncs} | ${r.sec.toFixed(1)} | ${(r.bytesPerSec / 1e6).toFixed(0)} | ${Math.round(r.bytesPerSec / RECORD).toLocaleString('en-US')} | ${r.cpuPerGb.toFixed(2)} |`,
    );
}
// The ceiling of the WAL as it writes by default: O_DIRECT, or the page cache where that is refused.
const ceiling = rows.at(-1)[1] ?? rows[0][1];
console.log(`\nDISK_CEILING_MBPS=${(ceiling.bytesPerSec / 1e6).toFixed(1)}`);
