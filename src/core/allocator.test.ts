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
