// Stand-alone micro-benchmarks run as a child process; their markdown output goes into the run's section
// of RESULTS.md as it is. kind 'external': run once, after the throughput rounds, not in the main table.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BENCH_DIR } from '../lib/procs.mjs';

function runScript(script, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(BENCH_DIR, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`bench/${script} exited ${code}: ${err.slice(-500)}`))));
  });
}

/**
 * A scenario that runs bench/<script> once and includes its markdown as printed; `extract(output)` may
 * pull numbers out of it for the run's summary (and trim the line that carried them).
 */
function external({ name, title, path, script, args, extract = (out) => ({ markdown: out }) }) {
  return {
    name,
    kind: 'external',
    title,
    path,
    async run() {
      const t0 = performance.now();
      const out = await runScript(script, args);
      return { ...extract(out), elapsedSec: (performance.now() - t0) / 1000 };
    },
  };
}

/** bench/processors.mjs: wire path vs decode + re-encode, single core. */
export const processorsMicro = (seconds = 2) =>
  external({
    name: 'processors-wire',
    title: 'Processors, single core: wire path vs decode + re-encode (bench/processors.mjs)',
    path: 'in-process, no network',
    script: 'processors.mjs',
    args: [String(seconds)],
  });

/** bench/wal-append.mjs: WAL append (fsync interval) vs a plain durable write loop. */
export const walAppend = (mib = 256) =>
  external({
    name: 'wal-append',
    title: 'WAL append vs plain write + fdatasync (bench/wal-append.mjs)',
    path: 'in-process, temp dir',
    script: 'wal-append.mjs',
    args: [String(mib)],
  });

/** bench/disk-ceiling.mjs: the disk's sustained durable write rate, which the Red zone cannot pass. */
export const diskCeiling = (gib = 3) =>
  external({
    name: 'disk-ceiling',
    title:
      'Disk ceiling: sequential 434 KB writes + fdatasync per MiB, one file, with O_DIRECT (writes and fdatasyncs in turn, and the next writes beside the fdatasync as the WAL does) and through the page cache (direct_io: false) (bench/disk-ceiling.mjs)',
    path: 'in-process, temp dir',
    script: 'disk-ceiling.mjs',
    args: [String(gib)],
    extract: (out) => ({
      markdown: out.replace(/\n?DISK_CEILING_MBPS=.*\n?/, '\n'),
      bytesPerSec: Number(/DISK_CEILING_MBPS=([\d.]+)/.exec(out)?.[1]) * 1e6,
    }),
  });

/** bench/red-floor.mjs: the WAL and a bare group commit under Red's closed loop, with no HTTP and no gateway. */
export const redFloor = (seconds = 6) =>
  external({
    name: 'red-floor',
    title: "Red's durability with no gateway: 8 closed-loop appenders of the 434 KB request, bare group commit vs the WAL (bench/red-floor.mjs)",
    path: 'in-process, temp dir',
    script: 'red-floor.mjs',
    args: [String(seconds)],
    extract: (out) => ({
      markdown: out.replace(/\n?RED_FLOOR_RECORDS_PER_SEC=.*\n?/, '\n'),
      recordsPerSec: Number(/RED_FLOOR_RECORDS_PER_SEC=(\d+)/.exec(out)?.[1]),
    }),
  });
