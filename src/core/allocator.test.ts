import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { allocatorEnv, mmapThresholdFixed, MMAP_THRESHOLD_TUNABLE, onGlibc } from './allocator.js';

describe('allocator setting (glibc mmap threshold)', () => {
  it('is fixed by GLIBC_TUNABLES naming the threshold, or by MALLOC_MMAP_THRESHOLD_', () => {
    expect(mmapThresholdFixed({})).toBe(false);
    expect(mmapThresholdFixed({ GLIBC_TUNABLES: '' })).toBe(false);
    expect(mmapThresholdFixed({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })).toBe(false);
    expect(mmapThresholdFixed({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=65536' })).toBe(true);
    expect(mmapThresholdFixed({ MALLOC_MMAP_THRESHOLD_: '131072' })).toBe(true);
  });

  it("adds the threshold to a child's GLIBC_TUNABLES, keeping the user's other tunables and any threshold they chose", () => {
    expect(allocatorEnv({})).toEqual({ GLIBC_TUNABLES: MMAP_THRESHOLD_TUNABLE });
    expect(allocatorEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })).toEqual({ GLIBC_TUNABLES: `glibc.malloc.arena_max=2:${MMAP_THRESHOLD_TUNABLE}` });
    expect(allocatorEnv({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536' })).toEqual({});
    expect(allocatorEnv({ MALLOC_MMAP_THRESHOLD_: '65536' })).toEqual({});
  });

  it('knows glibc from the process report (Linux only)', () => {
    const header = process.report.getReport() as { header: { glibcVersionRuntime?: string } };
    expect(onGlibc()).toBe(process.platform === 'linux' && typeof header.header.glibcVersionRuntime === 'string');
  });
});

/**
 * A child that frees 7 of every 8 of 96 MiB of 1 MiB Buffers after a larger one was freed (which is what
 * raises glibc's threshold), and reports how much of its RSS is still taken after a full GC.
 */
const FRAGMENT = `
const rss = () => process.memoryUsage.rss();
{ let b = Buffer.allocUnsafe(8 << 20); b.fill(1); b = null; gc(); }
const base = rss();
let bufs = [];
for (let i = 0; i < 96; i++) { const b = Buffer.allocUnsafe(1 << 20); b.fill(i); bufs.push(b); }
bufs = bufs.filter((_, i) => i % 8 === 7);
// Collected from later turns of the event loop: V8 frees ArrayBuffer memory after the collection that finds it dead.
setTimeout(() => {
  gc();
  setTimeout(() => {
    gc();
    process.stdout.write(JSON.stringify({ liveMiB: bufs.length, takenMiB: (rss() - base) / 2 ** 20 }));
  }, 50);
}, 0);
`;

function fragment(tunables: string): { liveMiB: number; takenMiB: number } {
  const out = execFileSync(process.execPath, ['--expose-gc', '-e', FRAGMENT], { env: { ...process.env, GLIBC_TUNABLES: tunables }, encoding: 'utf8' });
  return JSON.parse(out) as { liveMiB: number; takenMiB: number };
}

describe.runIf(onGlibc())('what the setting changes (glibc)', () => {
  it('freed 1 MiB Buffers leave RSS with it, and stay resident without it', () => {
    const tuned = fragment(MMAP_THRESHOLD_TUNABLE);
    const untuned = fragment('');
    console.log(
      `allocator: 12 MiB live of 96 MiB allocated; RSS taken ${tuned.takenMiB.toFixed(1)} MiB with ${MMAP_THRESHOLD_TUNABLE}, ${untuned.takenMiB.toFixed(1)} MiB without`,
    );
    expect(tuned.liveMiB).toBe(12);
    // What is live, and a few MiB of the V8 heap's own churn (5.9-14 MiB taken in runs so far).
    expect(tuned.takenMiB).toBeLessThan(tuned.liveMiB + 24);
    // The premise of the setting: without it the 84 MiB freed stay resident (if glibc stops doing this, the setting is moot).
    expect(untuned.takenMiB).toBeGreaterThan(untuned.liveMiB + 48);
  });
});
