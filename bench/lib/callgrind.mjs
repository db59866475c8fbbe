// What the callgrind benches share: a process under valgrind's callgrind with instrumentation off until
// asked, and the self cost by function of its output (for the summaries' shares).
import { execFileSync, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** Self cost by function from callgrind_annotate. */
export function selfCosts(file) {
  const text = execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const rows = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([\d,]+)\s+(?:\([\s\d.]+%\)\s+)?(.*)$/.exec(line);
    if (m && !m[2].startsWith('PROGRAM TOTALS')) rows.push({ ir: Number(m[1].replaceAll(',', '')), fn: m[2] });
  }
  return rows;
}

/**
 * Starts `node ...args` under callgrind (instrumentation off), resolves once `ready` matches its stderr
 * (or stdout). Returns the child, `on()`/`off()` to bracket the measured work, and `totals()` after exit.
 */
export async function underCallgrind(out, nodeArgs, { cwd, ready }) {
  const args = ['--tool=callgrind', '--smc-check=all-non-file', '--instr-atstart=no', `--callgrind-out-file=${out}`, process.execPath, ...nodeArgs];
  const child = spawn('valgrind', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const match = await new Promise((resolve, fail) => {
    const on = (d) => {
      text = (text + d).slice(-20_000);
      const m = ready.exec(text);
      if (m) resolve(m);
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    child.once('exit', (code) => fail(new Error(`${nodeArgs.join(' ')} exited (${code}) before it was ready:\n${text.slice(-2000)}`)));
  });
  const control = (what) => execFileSync('callgrind_control', ['-i', what, String(child.pid)], { stdio: 'ignore' });
  return {
    child,
    match,
    on: () => control('on'),
    off: () => control('off'),
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
      return Number(/^totals:\s*(\d+)/m.exec(await readFile(out, 'utf8'))?.[1]);
    },
  };
}

/** Ir shares of the largest kinds of work, per request. */
export function shares(rows, n) {
  const sum = (re) => rows.filter((r) => re.test(r.fn)).reduce((a, r) => a + r.ir, 0);
  return {
    memcpy: sum(/memcpy|memmove/) / n,
    gc: sum(/Marking|Scaveng|Sweep|Evacuat|MarkCompact|IteratePointers|SizeFromMap|MemoryChunk/) / n,
    jit: rows.filter((r) => r.fn.startsWith('???:0x')).reduce((a, r) => a + r.ir, 0) / n,
  };
}

/** Sends `count` requests with `send()` (resolving true when answered OK) from 8 lanes, one in flight on each; returns how many were OK. */
export async function closedLoop(count, send) {
  let sent = 0;
  let ok = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (sent < count) {
        sent++;
        if (await send()) ok++;
      }
    }),
  );
  return ok;
}
