import { describe, expect, it } from 'vitest';
import { SLACK_BYTES, appliedGrowthPercent, governHeapGrowth, growthPercentFor, refreshHeapGrowth } from './heap-growth.js';

const MiB = 1024 * 1024;

describe('growthPercentFor', () => {
  it('asks for a fixed slack above a small heap', () => {
    // 64 MiB above a 16 MiB heap: the limit at 5x the heap.
    expect(growthPercentFor(16 * MiB, 4096 * MiB)).toBe(400);
    expect(growthPercentFor(32 * MiB, 4096 * MiB)).toBe(200);
  });

  it('never asks for more than 10x, however small the heap', () => {
    expect(growthPercentFor(1 * MiB, 4096 * MiB)).toBe(900);
    expect(growthPercentFor(0, 4096 * MiB)).toBe(900);
  });

  it('hands the limit back to V8 once the heap is larger than the slack', () => {
    expect(growthPercentFor(SLACK_BYTES + MiB, 4096 * MiB)).toBe(0);
    expect(growthPercentFor(512 * MiB, 4096 * MiB)).toBe(0);
  });

  it('keeps the slack within a sixteenth of a small memory budget', () => {
    // A 256 MiB somatic memory limit allows 16 MiB of slack: 100 % above a 16 MiB heap.
    expect(growthPercentFor(16 * MiB, 256 * MiB)).toBe(100);
    // ... and none above a 20 MiB heap (80 % would be below what V8 picks by itself).
    expect(growthPercentFor(20 * MiB, 256 * MiB)).toBe(0);
  });
});

describe('governHeapGrowth', () => {
  it('hands the limit back to V8 while a service is under pressure', () => {
    let pressure = false;
    const release = governHeapGrowth(
      {},
      () => 4096 * MiB,
      () => pressure,
    );
    expect(appliedGrowthPercent()).toBeGreaterThanOrEqual(100);
    pressure = true;
    refreshHeapGrowth();
    expect(appliedGrowthPercent()).toBe(0);
    pressure = false;
    refreshHeapGrowth();
    expect(appliedGrowthPercent()).toBeGreaterThanOrEqual(100);
    release();
    expect(appliedGrowthPercent()).toBe(0);
  });

  it('applies while a service runs and resets when the last one stops', () => {
    const a = governHeapGrowth({}, () => 4096 * MiB);
    const b = governHeapGrowth({}, () => 4096 * MiB);
    // This test process's heap is small next to the 64 MiB slack.
    expect(appliedGrowthPercent()).toBeGreaterThanOrEqual(100);
    a();
    expect(appliedGrowthPercent()).toBeGreaterThanOrEqual(100);
    b();
    expect(appliedGrowthPercent()).toBe(0);
  });

  it('follows the smallest budget of the running services', () => {
    const big = governHeapGrowth({}, () => 4096 * MiB);
    const withBig = appliedGrowthPercent();
    // A 16 MiB budget allows 1 MiB of slack: less than V8 picks by itself, so the flag is cleared.
    const tiny = governHeapGrowth({}, () => 16 * MiB);
    expect(withBig).toBeGreaterThan(0);
    expect(appliedGrowthPercent()).toBe(0);
    tiny();
    // (the heap moved a little meanwhile, so the percent may too)
    expect(Math.abs(appliedGrowthPercent() - withBig)).toBeLessThan(withBig / 5);
    big();
  });
});
