// The Red zone's floor without a gateway: the same bytes, the same concurrency, the same durability.
// Run: npx tsc -p . && node bench/red-floor.mjs [seconds=6] [connections=8]
//
// The light bench's Red row is closed-loop: 8 connections, each with one 434 KB request (1000 records) in
// flight, each answered only once its bytes are fdatasynced (group commit: at most one fdatasync per
// 10 ms window, or sooner once 1 MiB was written since the last one; an idle log syncs at once). So Red's
// rate is 8 requests per acknowledgement latency, and that latency is set by the write + fdatasync
// pattern as much as by the gateway. This measures that pattern with no HTTP and no gateway, in-process,
// `connections` appenders each appending the request's bytes and appending again once it resolved:
//  - `group commit, no WAL`: the least that keeps the promise (bench/lib/group-commit.mjs): queued bytes
//    copied into a page-aligned buffer, written with O_DIRECT, fdatasynced under the same rule (no framing,
//    no CRC, no segments);
//  - `WAL (Red's settings)`: src/wal's WriteAheadLog as the somatic processor opens it in the bench (direct
//    I/O, fsync interval 10 ms, after 1 MiB), the request appended as the receiver's 64 KiB pieces.
// Each row prints MB/s, records/s (1000 per request), the acknowledgement latency p50/p99, fdatasyncs per
// second and the process CPU seconds per million records. The WAL row's records/s is what Red over HTTP
// could reach at best on this disk with this client pattern.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { WriteAheadLog } from '../dist/src/wal/index.js';
import { STAGING_BYTES, alignedBuffer, probeDirectIo } from '../dist/src/wal/direct.js';
import { GroupCommitFile } from './lib/group-commit.mjs';

const SECONDS = Number(process.argv[2] ?? 6);
const CONNECTIONS = Number(process.argv[3] ?? 8);
const REQUEST = 433_982; // the light bench's request (bench/scenarios/light.mjs)
const RECORDS = 1000;
const WINDOW_MS = 10;
const SYNC_AFTER = 1024 * 1024;
const PIECE = 64 * 1024;

const body = Buffer.alloc(REQUEST, 0x5a);
const pieces = [];
for (let off = 0; off < REQUEST; off += PIECE) pieces.push(body.subarray(off, Math.min(REQUEST, off + PIECE)));

/** `connections` closed-loop appenders for SECONDS; returns the row's figures. */
async function closedLoop(append, syncs) {
  const lat = [];
  let requests = 0;
  const end = performance.now() + SECONDS * 1000;
  const c0 = process.cpuUsage();
  const s0 = syncs();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await append();
        lat.push(performance.now() - t);
        requests++;
      }
    }),
  );
  const sec = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  return {
    bytesPerSec: (requests * REQUEST) / sec,
    recordsPerSec: (requests * RECORDS) / sec,
    p50: q(0.5),
    p99: q(0.99),
    syncsPerSec: (syncs() - s0) / sec,
    cpuPerM: (c.user + c.system) / 1e6 / ((requests * RECORDS) / 1e6),
  };
}

const dir = await mkdtemp(join(os.tmpdir(), 'gophership-red-floor-'));
const rows = [];
try {
  if (await probeDirectIo(dir, alignedBuffer(STAGING_BYTES))) {
    const g = await GroupCommitFile.open(join(dir, 'plain'), { windowMs: WINDOW_MS, syncAfterBytes: SYNC_AFTER });
    try {
      rows.push([
        'group commit, no WAL (bench/lib/group-commit.mjs)',
        await closedLoop(
          () => g.append(pieces),
          () => g.syncs,
        ),
      ]);
    } finally {
      await g.close();
    }
    await rm(join(dir, 'plain'), { force: true });
  } else rows.push(['group commit, no WAL', undefined]);

  const wal = await WriteAheadLog.open({
    dir: join(dir, 'wal'),
    maxSizeBytes: 64 * 2 ** 30,
    fsync: 'interval',
    fsyncIntervalMs: WINDOW_MS,
    fsyncAfterBytes: SYNC_AFTER,
    directIo: true,
  });
  try {
    rows.push([
      "WAL (Red's settings: direct I/O, fsync interval 10 ms, after 1 MiB)",
      await closedLoop(
        () => wal.append(pieces, 1),
        () => wal.syncCount,
      ),
    ]);
  } finally {
    await wal.close();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

console.log(`Command: \`node bench/red-floor.mjs ${SECONDS} ${CONNECTIONS}\` (files in ${os.tmpdir()})\n`);
console.log(`${CONNECTIONS} closed-loop appenders of one ${REQUEST.toLocaleString('en-US')}-byte request (${RECORDS} records), ${SECONDS} s each, no HTTP.\n`);
console.log('| writer | MB/s | records/s | ack latency p50 / p99 ms | fdatasyncs/s | process CPU s / M records |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const [name, r] of rows) {
  if (!r) console.log(`| ${name} | n/a (O_DIRECT refused here) | | | | |`);
  else
    console.log(
      `| ${name} | ${(r.bytesPerSec / 1e6).toFixed(0)} | ${Math.round(r.recordsPerSec).toLocaleString('en-US')} | ${r.p50.toFixed(2)} / ${r.p99.toFixed(2)} | ${r.syncsPerSec.toFixed(0)} | ${r.cpuPerM.toFixed(3)} |`,
    );
}
const walRow = rows.at(-1)[1];
console.log(`\nRED_FLOOR_RECORDS_PER_SEC=${Math.round(walRow.recordsPerSec)}`);
