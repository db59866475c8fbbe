// What the orchestrator measures from outside the processes: /proc (RSS, peak RSS, CPU time), the
// gateway's Prometheus /metrics, and the machine itself.
import { readFileSync } from 'node:fs';
import os from 'node:os';

const CLK_TCK = 100; // USER_HZ on Linux; /proc/<pid>/stat times are in these ticks

/** {rss, hwm} in bytes from /proc/<pid>/status (VmRSS now, VmHWM = peak since start). */
export function memOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm'))?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

/** CPU seconds (user + system) the process has used so far, from /proc/<pid>/stat. */
export function cpuOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime (fields 14, 15)
  } catch {
    return NaN;
  }
}

/** Minor page faults the process has taken so far (/proc/<pid>/stat field 10): memory it got from the kernel anew. */
export function minorFaultsOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[7]);
  } catch {
    return NaN;
  }
}

/**
 * Samples processes' CPU and RSS every intervalMs; stop() returns per-process CPU seconds used over the
 * window, mean cores used, peak VmRSS seen and the kernel's VmHWM.
 */
export function watchProcs(procs, intervalMs = 250) {
  const t0 = performance.now();
  const state = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, { pid, cpu0: cpuOf(pid), peakRss: 0 }]));
  const tick = () => {
    for (const st of Object.values(state)) {
      const { rss } = memOf(st.pid);
      if (rss > st.peakRss) st.peakRss = rss;
    }
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      tick();
      const secs = (performance.now() - t0) / 1000;
      const out = {};
      for (const [k, st] of Object.entries(state)) {
        const cpu = cpuOf(st.pid) - st.cpu0;
        out[k] = { cpuSec: cpu, cores: cpu / secs, peakRss: st.peakRss, hwm: memOf(st.pid).hwm };
      }
      return out;
    },
  };
}

/**
 * Parses Prometheus text into a Map: metric name -> value summed over all its label sets (totals), and
 * also the exact `name{labels}` as written by prom-client -> value (for one series, e.g. a quantile).
 */
export function parseProm(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/);
    if (!m) continue;
    const v = Number(m[3]);
    if (!Number.isFinite(v)) continue;
    out.set(m[1], (out.get(m[1]) ?? 0) + v);
    if (m[2]) out.set(m[1] + m[2], v);
  }
  return out;
}

export async function scrape(url, timeoutMs = 2000) {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return parseProm(await res.text());
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    ramGiB: os.totalmem() / 2 ** 30,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

export function loadavg() {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');
}

/**
 * CPU seconds the machine's processes have used (every core; /proc/stat user+nice+system+steal). Interrupt
 * and softirq time (e.g. loopback TCP delivery, when the kernel accounts it apart from the task) is left
 * out, so that "this less our processes" is other processes' work.
 */
export function machineBusySeconds() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , , , steal] = f;
    return (user + nice + system + (steal ?? 0)) / CLK_TCK;
  } catch {
    return NaN;
  }
}
