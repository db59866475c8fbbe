/**
 * The cores `service.workers: auto` and `worker_threads: auto` count: the CPU quota of the process's cgroup
 * caps the affinity (a Kubernetes pod's CPU limit; Node 20's os.availableParallelism ignores it). The
 * cgroup files are laid out in a temp directory as /proc and /sys show them in a container or on a host.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveWorkerCount } from '../service/workers/count.js';
import { cgroupCpuLimit, usableCores } from './cores.js';

let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gs-cores-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fake filesystem root holding `files` (path -> content). */
async function fsWith(files: Record<string, string>): Promise<string> {
  const dir = join(root, String(n++));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

describe('the CPU quota of the cgroup', () => {
  it.each([
    ['a cgroup v2 container limited to 2 CPUs', { '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '200000 100000\n' }, 2],
    ['a cgroup v2 container without a limit', { '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000\n' }, undefined],
    ['1.5 CPUs: one whole CPU', { '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '150000 100000\n' }, 1],
    ['half a CPU: still one', { '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '50000 100000\n' }, 1],
    [
      "a v2 path the container's mount does not show (its own cgroup is the mount)",
      { '/proc/self/cgroup': '0::/kubepods.slice/pod-1/cri-abc\n', '/sys/fs/cgroup/cpu.max': '400000 100000\n' },
      4,
    ],
    [
      'a v2 host service (the path under the mount)',
      {
        '/proc/self/cgroup': '0::/system.slice/gophership.service\n',
        '/sys/fs/cgroup/cpu.max': 'max 100000\n',
        '/sys/fs/cgroup/system.slice/gophership.service/cpu.max': '300000 100000\n',
      },
      3,
    ],
    [
      'a cgroup v1 container (docker --cpus=3)',
      {
        '/proc/self/cgroup': '5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n',
        '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '300000\n',
        '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
      },
      3,
    ],
    [
      'cgroup v1 without a quota',
      { '/proc/self/cgroup': '1:cpu:/\n', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' },
      undefined,
    ],
    ['no cgroup files (not Linux)', {}, undefined],
  ] as const)('%s', async (_name, files, cpus) => {
    expect(cgroupCpuLimit(await fsWith(files))).toBe(cpus);
  });
});

describe('service.workers', () => {
  it('auto: the affinity capped by the quota', async () => {
    const one = await fsWith({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '100000 100000\n' });
    expect(resolveWorkerCount('auto', one)).toBe(1);
    const many = await fsWith({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '100000000 100000\n' });
    expect(resolveWorkerCount('auto', many)).toBe(availableParallelism());
    expect(usableCores(many)).toBe(availableParallelism());
  });

  it('a number: that many, whatever the quota', async () => {
    const one = await fsWith({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '100000 100000\n' });
    expect(resolveWorkerCount('3', one)).toBe(3);
  });

  it("this machine's own cgroup files read without an error", () => {
    expect(usableCores()).toBeGreaterThanOrEqual(1);
    expect(usableCores()).toBeLessThanOrEqual(availableParallelism());
  });
});
