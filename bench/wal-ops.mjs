// Where the WAL's time goes under Red's closed loop, and an in-process A/B of WAL builds.
// Run: npx tsc -p . && node bench/wal-ops.mjs [--seconds 3] [--rounds 4] [DIR ...]
//
// 8 appenders each append the light bench's 433,982-byte request (as the receiver's 64 KiB pieces) and
// append again once it resolved, into a WAL opened as the somatic processor opens it in the bench (direct
// I/O, fsync interval 10 ms, after 1 MiB, 64 MiB segments). Every file operation goes through a timing
// wrapper of the WAL's file-system seam, so the table shows how much of the wall time each kind of call
// was under way (segment writes, fdatasyncs, and a roll's truncate, open, directory fsync and close), with
// records/s, the acknowledgement latency, fdatasyncs per second and the process CPU per million records.
// DIR: builds (bin/ + dist/) to compare, alternated within each round (default: this checkout). No HTTP:
// what the WAL itself costs, beside the gateway's receive path.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { seconds: { type: 'string', default: '3' }, rounds: { type: 'string', default: '4' } },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const roots = positionals.length ? positionals.map((d) => resolve(d)) : [resolve(fileURLToPath(new URL('..', import.meta.url)))];
const REQUEST = 433_982;
const PIECE = 64 * 1024;
const CONNECTIONS = 8;

const body = Buffer.alloc(REQUEST, 0x5a);
const pieces = [];
for (let off = 0; off < REQUEST; off += PIECE) pieces.push(body.subarray(off, Math.min(REQUEST, off + PIECE)));

const builds = await Promise.all(
  roots.map(async (root) => ({
    root,
    wal: await import(join(root, 'dist/src/wal/index.js')),
    fs: await import(join(root, 'dist/src/wal/file-system.js')),
  })),
);

/** The WAL's file-system seam with every call on an open file timed, by kind. */
function timedFileSystem(base, ops) {
  const timed = (key, p) => {
    const t = performance.now();
    return p.finally(() => {
      const o = ops.get(key) ?? { n: 0, ms: 0 };
      o.n++;
      o.ms += performance.now() - t;
      ops.set(key, o);
    });
  };
  return {
    ...base,
    open: async (path, flags) => {
      const what = path.endsWith('.wal') ? 'segment' : path.endsWith('.json') || path.endsWith('.tmp') ? 'ledger' : 'directory';
      const fh = await timed(`open ${what}`, base.open(path, flags));
      return Object.assign(Object.create(fh), {
        write: (...a) => timed(`write ${what}`, fh.write(...a)),
        writev: (...a) => timed(`writev ${what}`, fh.writev(...a)),
        datasync: () => timed(`fdatasync ${what}`, fh.datasync()),
        sync: () => timed(`fsync ${what}`, fh.sync()),
        truncate: (...a) => timed(`truncate ${what}`, fh.truncate(...a)),
        close: () => timed(`close ${what}`, fh.close()),
      });
    },
  };
}

async function run(build) {
  const dir = await mkdtemp(join(os.tmpdir(), 'gs-wal-ops-'));
  const ops = new Map();
  const wal = await build.wal.WriteAheadLog.open({
    dir: join(dir, 'wal'),
    maxSizeBytes: 65536 * 2 ** 20,
    fsync: 'interval',
    fsyncIntervalMs: 10,
    fsyncAfterBytes: 2 ** 20,
    fileSystem: timedFileSystem(build.fs.nodeFileSystem, ops),
  });
  ops.clear();
  const lat = [];
  let requests = 0;
  const syncs0 = wal.syncCount;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await wal.append(pieces);
        lat.push(performance.now() - t);
        requests++;
      }
    }),
  );
  const sec = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const syncs = wal.syncCount - syncs0;
  await wal.close();
  await rm(dir, { recursive: true, force: true });
  lat.sort((a, b) => a - b);
  return {
    recordsPerSec: (requests * 1000) / sec,
    p50: lat[lat.length >> 1],
    cpuPerM: (cpu.user + cpu.system) / 1e6 / (requests / 1000),
    syncsPerSec: syncs / sec,
    sec,
    ops,
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const results = builds.map(() => []);
const load = [
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / '),
];
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 ? [...builds.keys()].reverse() : [...builds.keys()];
  for (const i of order) {
    const r = await run(builds[i]);
    results[i].push(r);
    process.stderr.write(
      `[wal-ops] round ${round + 1} ${builds[i].root}: ${Math.round(r.recordsPerSec)} records/s, p50 ${r.p50.toFixed(2)} ms, ${r.syncsPerSec.toFixed(0)} fdatasyncs/s\n`,
    );
  }
}
load.push(
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / '),
);

const lines = [
  `Command: \`node bench/wal-ops.mjs ${process.argv.slice(2).join(' ')}\``,
  '',
  `${CONNECTIONS} closed-loop appenders of one ${REQUEST.toLocaleString('en-US')}-byte request (1000 records) in 64 KiB pieces, WAL as in Red (direct I/O, fsync 10 ms / 1 MiB, 64 MiB segments), ${SECONDS} s x ${ROUNDS} round(s) per build, builds alternated; load average ${load.join(' -> ')}.`,
  '',
  '| build | records/s (median) | per round | ack p50 ms | fdatasyncs/s | process CPU s / M records |',
  '| --- | ---: | --- | ---: | ---: | ---: |',
];
builds.forEach((b, i) => {
  const rs = results[i];
  lines.push(
    `| ${b.root} | ${Math.round(median(rs.map((r) => r.recordsPerSec))).toLocaleString('en-US')} | ${rs.map((r) => Math.round(r.recordsPerSec / 1000) + 'k').join(', ')} | ` +
      `${median(rs.map((r) => r.p50)).toFixed(2)} | ${median(rs.map((r) => r.syncsPerSec)).toFixed(0)} | ${median(rs.map((r) => r.cpuPerM)).toFixed(3)} |`,
  );
});
builds.forEach((b, i) => {
  const rs = results[i];
  const wall = rs.reduce((a, r) => a + r.sec, 0);
  const keys = [...new Set(rs.flatMap((r) => [...r.ops.keys()]))].sort();
  lines.push('', `File operations of ${b.root} (all rounds): share of the wall time each kind was under way`, '');
  lines.push('| call | per second | average ms | share of wall time |', '| --- | ---: | ---: | ---: |');
  for (const k of keys) {
    const n = rs.reduce((a, r) => a + (r.ops.get(k)?.n ?? 0), 0);
    const ms = rs.reduce((a, r) => a + (r.ops.get(k)?.ms ?? 0), 0);
    lines.push(`| ${k} | ${(n / wall).toFixed(1)} | ${(ms / n).toFixed(2)} | ${((ms / 1000 / wall) * 100).toFixed(1)} % |`);
  }
});
process.stdout.write(lines.join('\n') + '\n');
