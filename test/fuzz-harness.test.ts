/**
 * The fuzz harness's own promises: a case that never answers is reported as a hang with the seed and
 * path that replay it; a case that blocks the event loop (which stops every timer, fast-check's and the
 * test runner's) is named by the watchdog thread, which ends the process; and the printed path replays
 * exactly that case. The blocking run is a child process on the built dist/ (npm test builds first).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runFuzz, type FuzzTarget } from '../src/tools/fuzz/index.js';
import { runnableDeadline } from '../src/tools/fuzz/deadline.js';

const RUN_JS = pathToFileURL(join(import.meta.dirname, '..', 'dist', 'src', 'tools', 'fuzz', 'run.js')).href;

/** A target over the integers 0..999 that misbehaves on one of them. */
function target(bad: (n: number) => void | Promise<void>): FuzzTarget<number> & { seen: number[] } {
  const seen: number[] = [];
  return {
    name: 'harness-probe',
    seen,
    arbitrary: fc.integer({ min: 0, max: 999 }),
    accepted: () => seen.length,
    check: (n) => {
      seen.push(n);
      return bad(n);
    },
  };
}

describe('fuzz harness', () => {
  it('reports a case that never answers as a hang, with the seed and path that replay it', async () => {
    const never = target((n) => (n % 7 === 3 ? new Promise<void>(() => {}) : undefined));
    const r = await runFuzz(never, { runs: 500, seed: 42, caseTimeoutMs: 200 });
    expect(r.failureKind).toBe('hang');
    expect(r.failure).toMatch(/got no answer within 200 ms/);
    const path = /path: "(\d+)"/.exec(r.failure!)?.[1];
    expect(path).toBeDefined();
    // The path replays the case that hung, first.
    const replay = target(() => undefined);
    await runFuzz(replay, { runs: 1, seed: 42, path });
    expect(replay.seen[0]! % 7).toBe(3);
  });

  it('a case deadline does not count time the process was starved (late ticks), only time it could run', async () => {
    const started = performance.now();
    const expiredAt = new Promise<number>((resolve) => runnableDeadline(300, () => resolve(performance.now() - started)));
    // One second without the event loop (what a niced process on a busy machine lives through) counts as
    // one late tick, at most 200 ms: the deadline still has time left afterwards.
    const end = Date.now() + 1000;
    while (Date.now() < end);
    const after = await expiredAt;
    expect(after).toBeGreaterThan(1000 + 90);
  });

  it('names a case that blocks the event loop and ends the process; the path it prints replays that case', () => {
    const script = `
      import { runFuzz } from ${JSON.stringify(RUN_JS)};
      import fc from 'fast-check';
      let first;
      await runFuzz({
        name: 'blocking-probe',
        arbitrary: fc.integer({ min: 0, max: 999 }),
        accepted: () => 0,
        check: (n) => { if (n % 11 === 5) { const end = Date.now() + 30000; while (Date.now() < end); } },
      }, { runs: 1000, seed: 7, blockedLoopMs: 500 });
      console.log('the run returned');
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 25_000,
      cwd: join(import.meta.dirname, '..'),
    });
    expect(child.signal, child.stderr).toBe('SIGKILL');
    expect(child.stdout).not.toContain('the run returned');
    expect(child.stderr).toMatch(/fuzz blocking-probe: case \d+ .* of seed 7 .* a synchronous hang/);
    const path = /FUZZ_PATH=(\d+)/.exec(child.stderr)?.[1];
    expect(path).toBeDefined();
    const replay = target(() => undefined);
    return runFuzz(replay, { runs: 1, seed: 7, path }).then(() => expect(replay.seen[0]! % 11).toBe(5));
  }, 30_000);
});
