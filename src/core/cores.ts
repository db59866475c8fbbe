/**
 * The cores this process may use: the smaller of its CPU affinity (os.availableParallelism) and its
 * cgroup's CPU quota (a container's or a Kubernetes pod's CPU limit). Node 20's libuv reads only the
 * affinity, so on a 64-core node a pod limited to 2 CPUs would see 64.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/** `fsRoot` prefixes the /proc and /sys paths (tests give a directory laid out like them). */
export function usableCores(fsRoot = '/'): number {
  return Math.max(1, Math.min(availableParallelism(), cgroupCpuLimit(fsRoot) ?? Infinity));
}

/**
 * The whole CPUs the CPU quota of this process's cgroup allows (quota / period, rounded down, at least 1),
 * or undefined without a quota. cgroup v2: `cpu.max` ("max 100000" or "200000 100000"); v1: the cpu
 * controller's `cpu.cfs_quota_us` (-1 for none) and `cpu.cfs_period_us`. Inside a container the process's
 * cgroup path may not exist under the mount (the mount is the container's own cgroup): the mount's root
 * is read then.
 */
export function cgroupCpuLimit(fsRoot = '/'): number | undefined {
  const read = (path: string): string | undefined => {
    try {
      return readFileSync(join(fsRoot, path), 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const cgroups = read('/proc/self/cgroup');
  if (cgroups === undefined) return undefined;
  const cpus = (quota: number, period: number): number | undefined =>
    Number.isFinite(quota) && quota > 0 && Number.isFinite(period) && period > 0 ? Math.max(1, Math.floor(quota / period)) : undefined;
  for (const line of cgroups.split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (path === undefined) continue;
    if (controllers === '') {
      for (const dir of [join('/sys/fs/cgroup', path), '/sys/fs/cgroup']) {
        const max = read(join(dir, 'cpu.max'));
        if (max === undefined) continue;
        const [quota, period] = max.split(/\s+/);
        return quota === 'max' ? undefined : cpus(Number(quota), Number(period));
      }
    } else if (controllers!.split(',').includes('cpu')) {
      for (const mount of [`/sys/fs/cgroup/${controllers}`, '/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
        for (const dir of [join(mount, path), mount]) {
          const quota = read(join(dir, 'cpu.cfs_quota_us'));
          if (quota === undefined) continue;
          return cpus(Number(quota), Number(read(join(dir, 'cpu.cfs_period_us'))));
        }
      }
    }
  }
  return undefined;
}
