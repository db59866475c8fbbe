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

/** bench/processors.mjs: wire path vs decode + re-encode, single core. */
export function processorsMicro(seconds = 2) {
  return {
    name: 'processors-wire',
    kind: 'external',
    title: 'Processors, single core: wire path vs decode + re-encode (bench/processors.mjs)',
    path: 'in-process, no network',
    async run() {
      const t0 = performance.now();
      const markdown = await runScript('processors.mjs', [String(seconds)]);
      return { markdown, elapsedSec: (performance.now() - t0) / 1000 };
    },
  };
}

/** bench/wal-append.mjs: WAL append (fsync interval) vs a plain durable write loop. */
export function walAppend(mib = 256) {
  return {
    name: 'wal-append',
    kind: 'external',
    title: 'WAL append vs plain write + fdatasync (bench/wal-append.mjs)',
    path: 'in-process, temp dir',
    async run() {
      const t0 = performance.now();
      const markdown = await runScript('wal-append.mjs', [String(mib)]);
      return { markdown, elapsedSec: (performance.now() - t0) / 1000 };
    },
  };
}

/** bench/disk-ceiling.mjs: the disk's sustained durable write rate, which the Red zone cannot pass. */
export function diskCeiling(gib = 3) {
  return {
    name: 'disk-ceiling',
    kind: 'external',
    title: 'Disk ceiling: sequential 434 KB writes + fdatasync per MiB, one file (bench/disk-ceiling.mjs)',
    path: 'in-process, temp dir',
    async run() {
      const t0 = performance.now();
      const out = await runScript('disk-ceiling.mjs', [String(gib)]);
      const mbps = Number(/DISK_CEILING_MBPS=([\d.]+)/.exec(out)?.[1]);
      return { markdown: out.replace(/\n?DISK_CEILING_MBPS=.*\n?/, '\n'), elapsedSec: (performance.now() - t0) / 1000, bytesPerSec: mbps * 1e6 };
    },
  };
}
