#!/usr/bin/env node
// Where a Red write's time goes between the JavaScript and the kernel: for each build, one paced-ab round of
// zone-red and forwarder-durable (closed loop) with bench/lib/red-trace.mjs loaded (RED_TRACE_RAW=1: each
// write's CLOCK_MONOTONIC times as JavaScript saw them), and `perf record -k mono` of the same process for 3 s
// (the pwrite64/fdatasync syscalls of every thread, and the main thread's epoll_pwait). Each JavaScript
// write is matched with the one pwrite64 that ran between its submission and its completion, which splits it:
//   copy + submit      the staging copy and the call, on the main thread
//   submit -> kernel   until a thread-pool thread enters pwrite64 (its wake-up)
//   kernel             pwrite64 itself
//   kernel -> JS       until the write loop sees the completion: waits for the event loop when it is busy
// and says whether the event loop was inside epoll_pwait (waiting) or running callbacks when pwrite64 returned.
//   node bench/red-hops.mjs [--seconds 6] [--rows zone-red,forwarder-durable] DIR [DIR ...]
// Needs perf(1) with syscall tracepoints (root, or perf_event_paranoid <= 1). A diagnostic, not a verdict:
// the trace adds a little work per request, and perf a little per traced syscall.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { seconds: { type: 'string', default: '6' }, rows: { type: 'string', default: 'zone-red,forwarder-durable' } },
});
if (positionals.length === 0) {
  process.stderr.write('usage: node bench/red-hops.mjs [--seconds 6] [--rows zone-red,forwarder-durable] DIR [DIR ...]\n');
  process.exit(2);
}
const BENCH = fileURLToPath(new URL('.', import.meta.url));
const TRACE = join(BENCH, 'lib', 'red-trace.mjs');
const EVENTS = [
  'syscalls:sys_enter_pwrite64',
  'syscalls:sys_exit_pwrite64',
  'syscalls:sys_enter_fdatasync',
  'syscalls:sys_exit_fdatasync',
  'syscalls:sys_enter_epoll_pwait',
  'syscalls:sys_exit_epoll_pwait',
].join(',');
try {
  execFileSync('perf', ['record', '-q', '-e', 'syscalls:sys_enter_fdatasync', '-o', '/dev/null', '--', 'true'], { stdio: 'ignore' });
} catch {
  process.stderr.write('red-hops: perf record with syscall tracepoints does not work here (install perf; run as root or lower kernel.perf_event_paranoid)\n');
  process.exit(2);
}

const cmdline = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
};
const ppid = (pid) => {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  } catch {
    return -1;
  }
};

/** One paced-ab round of `dir` with the trace; perf records each traced process once it is warm. */
async function traceBuild(dir, out) {
  const ab = spawn(
    process.execPath,
    [
      join(BENCH, 'paced-ab.mjs'),
      '--rows',
      values.rows,
      '--closed',
      '8',
      '--warmup',
      '1',
      '--seconds',
      values.seconds,
      '--rounds',
      '1',
      `${dir}::--import=${TRACE}`,
    ],
    { env: { ...process.env, RED_TRACE_RAW: '1', RED_TRACE_DIR: out }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  ab.stderr.on('data', (d) => (log += d));
  const seen = new Set();
  const perfs = [];
  const timer = setInterval(async () => {
    for (const name of await readdir('/proc').catch(() => [])) {
      const pid = Number(name);
      if (!pid || seen.has(pid) || ppid(pid) !== ab.pid || !cmdline(pid).includes('red-trace.mjs')) continue;
      seen.add(pid);
      perfs.push(
        new Promise((done) => {
          setTimeout(() => {
            const p = spawn('perf', ['record', '-q', '-k', 'mono', '-e', EVENTS, '-p', String(pid), '-o', join(out, `perf-${pid}.data`), '--', 'sleep', '3'], {
              stdio: 'ignore',
            });
            p.on('exit', done);
          }, 2500);
        }),
      );
    }
  }, 200);
  await new Promise((done) => ab.on('exit', done));
  clearInterval(timer);
  await Promise.all(perfs);
  return log;
}

const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
};
const fmt = (xs) => (xs.length ? `${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2)} (${q(xs, 0.5).toFixed(2)})` : 'n/a');

/** The split of one process's writes (see the header). */
async function analyse(out, pid) {
  const trace = JSON.parse(await readFile(join(out, `trace-${pid}.json`), 'utf8'));
  const text = execFileSync('perf', ['script', '-i', join(out, `perf-${pid}.data`), '-F', 'tid,time,event,trace'], {
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'ignore'],
  }).toString();
  const pw = [];
  const syncs = [];
  const epoll = []; // [t, entering?] of the main thread
  const open = new Map();
  let lo = Infinity;
  let hi = -Infinity;
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+([\d.]+):\s+(\S+):/.exec(line);
    if (!m) continue;
    const tid = Number(m[1]);
    const t = Number(m[2]) * 1e9;
    lo = Math.min(lo, t);
    hi = Math.max(hi, t);
    const ev = m[3];
    if (ev === 'syscalls:sys_enter_pwrite64' || ev === 'syscalls:sys_enter_fdatasync') open.set(`${tid}${ev.slice(-5)}`, t);
    else if (ev === 'syscalls:sys_exit_pwrite64' || ev === 'syscalls:sys_exit_fdatasync') {
      const t0 = open.get(`${tid}${ev.slice(-5)}`);
      if (t0 === undefined) continue;
      (ev.endsWith('pwrite64') ? pw : syncs).push([t0, t]);
    } else if (tid === pid && ev === 'syscalls:sys_enter_epoll_pwait') epoll.push([t, true]);
    else if (tid === pid && ev === 'syscalls:sys_exit_epoll_pwait') epoll.push([t, false]);
  }
  const r = { copy: [], wake: [], kernel: [], seen: [], seenIdle: [], seenBusy: [], turns: [], sync: syncs.map(([a, b]) => (b - a) / 1e6) };
  for (let i = 1; i < epoll.length; i++) if (epoll[i][1] && !epoll[i - 1][1]) r.turns.push((epoll[i][0] - epoll[i - 1][0]) / 1e6);
  const ws = (trace.rawWrites ?? []).filter((w) => w.hSub >= lo && w.h1 <= hi);
  let j = 0;
  for (const w of ws) {
    const mine = pw.filter(([a, b]) => a >= w.hSub - 50e3 && b <= w.h1);
    if (mine.length !== 1) continue;
    const [a, b] = mine[0];
    r.copy.push((w.hSub - w.h0) / 1e6);
    r.wake.push((a - w.hSub) / 1e6);
    r.kernel.push((b - a) / 1e6);
    const seen = (w.h1 - b) / 1e6;
    r.seen.push(seen);
    while (j + 1 < epoll.length && epoll[j + 1][0] <= b) j++;
    if (epoll[j]?.[0] <= b) (epoll[j][1] ? r.seenIdle : r.seenBusy).push(seen);
  }
  const kind = trace.process.includes('forwarder') ? 'forwarder-durable' : 'zone-red';
  return { kind, r, writes: trace.writes, matched: r.copy.length };
}

const rows = [
  ['writes matched with a pwrite64', (a) => String(a.matched)],
  ['requests per write (mean)', (a) => String(a.writes.records?.mean ?? 'n/a')],
  ['copy + submit, main thread', (a) => fmt(a.r.copy)],
  ['submit -> pwrite64 entered', (a) => fmt(a.r.wake)],
  ['pwrite64 in the kernel', (a) => fmt(a.r.kernel)],
  ['pwrite64 returned -> JS saw it', (a) => fmt(a.r.seen)],
  ['  when the event loop was waiting', (a) => `${fmt(a.r.seenIdle)} x${a.r.seenIdle.length}`],
  ['  when the event loop was busy', (a) => `${fmt(a.r.seenBusy)} x${a.r.seenBusy.length}`],
  ['event loop turns (epoll_pwait out -> in)', (a) => fmt(a.r.turns)],
  ['fdatasync in the kernel', (a) => fmt(a.r.sync)],
];
const cols = [];
const logs = [];
const load = [
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' / '),
];
for (const dir of positionals) {
  const out = await mkdtemp(join(os.tmpdir(), 'red-hops-'));
  try {
    logs.push(...(await traceBuild(resolve(dir), out)).split('\n').filter((l) => l.includes('records/s')));
    for (const f of (await readdir(out)).filter((f) => f.startsWith('perf-'))) {
      const pid = Number(/perf-(\d+)/.exec(f)[1]);
      const a = await analyse(out, pid);
      cols.push({ label: `${a.kind}, ${resolve(dir)}`, a });
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
load.push(
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' / '),
);
const lines = [
  `Command: \`node bench/red-hops.mjs ${process.argv.slice(2).join(' ')}\` (load average ${load.join(' -> ')})`,
  '',
  'ms per write, mean (p50); a 3 s window of each process:',
  '',
  `| step | ${cols.map((c) => c.label).join(' | ')} |`,
  `| --- | ${cols.map(() => '---:').join(' | ')} |`,
  ...rows.map(([name, f]) => `| ${name} | ${cols.map((c) => f(c.a)).join(' | ')} |`),
  '',
  ...logs.map((l) => `    ${l.trim()}`),
];
process.stdout.write(lines.join('\n') + '\n');
