// WAL append throughput (fsync 'interval') against a plain durable write loop on the same disk.
// Run: npx tsc -p . && node bench/wal-append.mjs [totalMiB=512]
// The plain loop writes the same records in 1 MiB groups (one writev per group, no copy) and fdatasyncs
// after each group: the sequential durable-write ceiling a WAL can hope to approach.
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { WriteAheadLog } from '../dist/src/wal/index.js';

const totalBytes = Number(process.argv[2] ?? 512) * 1024 * 1024;
const MiB = 1024 * 1024;
const REPS = 3;
// Appends waiting at once, as many concurrent requests would keep (the group-commit window fills from them).
const INFLIGHT = 32 * MiB;

function makeRecords(size) {
  // A pool of distinct buffers reused round-robin (the WAL does not copy them, and neither does the loop).
  return Array.from({ length: 64 }, (_, i) => Buffer.alloc(size, i + 1));
}

async function plainLoop(dir, size) {
  const recs = makeRecords(size);
  const fh = await open(join(dir, 'plain.bin'), 'w');
  const n = Math.floor(totalBytes / size);
  const t0 = process.hrtime.bigint();
  let group = [];
  let groupBytes = 0;
  let pos = 0;
  for (let i = 0; i < n; i++) {
    group.push(recs[i % recs.length]);
    groupBytes += size;
    if (groupBytes >= MiB || i === n - 1) {
      await fh.writev(group, pos);
      await fh.datasync();
      pos += groupBytes;
      group = [];
      groupBytes = 0;
    }
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await fh.close();
  return { secs, bytes: n * size, records: n };
}

async function walRun(dir, size, inflightBytes) {
  const recs = makeRecords(size);
  const wal = await WriteAheadLog.open({ dir: join(dir, 'wal'), fsync: 'interval', fsyncIntervalMs: 10, maxSizeBytes: 4 * totalBytes });
  const n = Math.floor(totalBytes / size);
  const window = Math.max(1, Math.floor(inflightBytes / size));
  const t0 = process.hrtime.bigint();
  let inflight = 0;
  let next = 0;
  let done = 0;
  await new Promise((resolve, reject) => {
    const pump = () => {
      while (inflight < window && next < n) {
        inflight++;
        wal.append(recs[next++ % recs.length]).then(() => {
          inflight--;
          if (++done === n) resolve();
          else pump();
        }, reject);
      }
    };
    pump();
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await wal.close();
  return { secs, bytes: n * size, records: n };
}

const cpu = os.cpus()[0]?.model ?? 'unknown';
const rows = [];
for (const size of [4 * 1024, 64 * 1024, 512 * 1024]) {
  const dir = await mkdtemp(join(os.tmpdir(), 'gs-wal-bench-'));
  try {
    // Interleaved, best of REPS each: this VM's disk varies run to run.
    let plain;
    let wal;
    for (let rep = 0; rep < REPS; rep++) {
      const p = await plainLoop(dir, size);
      await rm(join(dir, 'plain.bin'));
      const w = await walRun(dir, size, INFLIGHT);
      await rm(join(dir, 'wal'), { recursive: true });
      if (!plain || p.secs < plain.secs) plain = p;
      if (!wal || w.secs < wal.secs) wal = w;
    }
    const mbs = (r) => r.bytes / MiB / r.secs;
    rows.push(
      `| ${size / 1024} KiB | ${(totalBytes / MiB).toFixed(0)} MiB | ${mbs(plain).toFixed(0)} MB/s | ${mbs(wal).toFixed(0)} MB/s (${Math.round(wal.records / wal.secs)} rec/s) | ${(mbs(wal) / mbs(plain)).toFixed(2)} |`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(`Command: \`${['node', 'bench/wal-append.mjs', ...process.argv.slice(2)].join(' ')}\`  `);
console.log(`Machine: ${cpu}, ${os.cpus().length} cores, Node ${process.version}, ${os.platform()} ${os.release()}, temp dir ${os.tmpdir()}\n`);
console.log(
  '| record size | data per run | plain write + fdatasync per 1 MiB (best of 3) | WAL append, fsync interval 10 ms, 32 MiB in flight (best of 3) | WAL / plain |',
);
console.log('| --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
