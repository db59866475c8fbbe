import { readFileSync } from 'node:fs';
import os from 'node:os';
import { s, type ConfigOf } from '../../src/core/schema.js';

export const memoryLimiterProcessorConfig = s.refine(
  s.object({
    check_interval: s.duration().default(0).describe("How often memory is measured (required, as in the collector; 1s is the collector's recommendation)"),
    limit_mib: s.int(0).default(0).describe('Hard limit in MiB of memory in use (V8 heap + Buffers): above it a full collection is forced'),
    spike_limit_mib: s
      .int(0)
      .default(0)
      .describe('Headroom below limit_mib kept for spikes between checks; the soft limit is limit_mib - spike_limit_mib (0: 20 % of limit_mib)'),
    limit_percentage: s
      .int(0, 100)
      .default(0)
      .describe('Hard limit as a share of the memory available (cgroup limit, else total memory); used when limit_mib is 0'),
    spike_limit_percentage: s.int(0, 100).default(0).describe('Spike headroom as a share of the memory available (with limit_percentage)'),
    min_gc_interval_when_soft_limited: s.duration().default(10_000).describe('Least time between collections forced while above the soft limit'),
    min_gc_interval_when_hard_limited: s.duration().default(0).describe('Least time between collections forced while above the hard limit (0: at every check)'),
  }),
  (v, path, issues) => {
    if (v.check_interval <= 0) issues.push({ path: [...path, 'check_interval'], message: 'must be greater than zero (e.g. 1s)' });
    if (v.limit_mib === 0 && v.limit_percentage === 0)
      issues.push({ path: [...path, 'limit_mib'], message: 'set limit_mib or limit_percentage (the hard memory limit)' });
    if (v.limit_mib > 0 && v.spike_limit_mib >= v.limit_mib)
      issues.push({ path: [...path, 'spike_limit_mib'], message: `must be smaller than limit_mib (${v.limit_mib})` });
    if (v.limit_mib === 0 && v.limit_percentage > 0 && v.spike_limit_percentage >= v.limit_percentage) {
      issues.push({ path: [...path, 'spike_limit_percentage'], message: `must be smaller than limit_percentage (${v.limit_percentage})` });
    }
  },
);

export type MemoryLimiterProcessorConfig = ConfigOf<typeof memoryLimiterProcessorConfig>;

/** The memory a percentage applies to: the cgroup's limit when one is set (containers), else total memory. */
export function availableMemoryBytes(): number {
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const n = Number(readFileSync(file, 'utf8').trim());
      // cgroup v1 reports "no limit" as a huge number.
      if (Number.isFinite(n) && n > 0 && n < os.totalmem()) return n;
    } catch {
      // No such cgroup file: try the next, then total memory.
    }
  }
  return os.totalmem();
}

/** The hard and soft limits in bytes, as the collector derives them. */
export function limitsOf(c: MemoryLimiterProcessorConfig, available: number = availableMemoryBytes()): { hard: number; soft: number } {
  if (c.limit_mib > 0) {
    const hard = c.limit_mib * 2 ** 20;
    const spike = c.spike_limit_mib > 0 ? c.spike_limit_mib * 2 ** 20 : hard / 5;
    return { hard, soft: hard - spike };
  }
  const hard = (available * c.limit_percentage) / 100;
  const spike = c.spike_limit_percentage > 0 ? (available * c.spike_limit_percentage) / 100 : hard / 5;
  return { hard, soft: hard - spike };
}
