/**
 * The detectors: each returns the attributes it found, in insertion order. They run once, at start.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { Logger } from '../../src/telemetry/logger.js';
import type { ResourceDetectionProcessorConfig } from './config.js';

export type Detected = Map<string, string>;

/**
 * OTEL_RESOURCE_ATTRIBUTES as the SDK spec reads it: `k=v,k2=v2`, keys and values trimmed, values
 * percent-decoded. A malformed value is discarded whole (the spec's rule) and the reason returned.
 */
export function parseResourceAttributes(text: string | undefined): { attrs: Detected; error?: string } {
  const attrs: Detected = new Map();
  if (text === undefined || text.trim() === '') return { attrs };
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0 || part.slice(0, eq).trim() === '') return { attrs: new Map(), error: `"${part.trim()}" is not key=value` };
    const key = part.slice(0, eq).trim();
    let value: string;
    try {
      value = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return { attrs: new Map(), error: `the value of "${key}" has a bad percent-encoding` };
    }
    attrs.set(key, value);
  }
  return { attrs };
}

const OS_TYPE: Record<string, string> = {
  linux: 'linux',
  darwin: 'darwin',
  win32: 'windows',
  freebsd: 'freebsd',
  openbsd: 'openbsd',
  netbsd: 'netbsd',
  sunos: 'solaris',
  aix: 'aix',
};

const HOST_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm32',
  ia32: 'x86',
  ppc: 'ppc32',
  ppc64: 'ppc64',
  s390x: 's390x',
};

/** Node's platform/arch names as the semantic conventions' os.type/host.arch values. */
export function osType(platform: string = process.platform): string {
  return OS_TYPE[platform] ?? platform;
}
export function hostArch(arch: string = process.arch): string {
  return HOST_ARCH[arch] ?? arch;
}

export const MACHINE_ID_PATHS = ['/etc/machine-id', '/var/lib/dbus/machine-id'];

/** The first non-empty machine id among `paths`, or undefined when none is readable. */
export async function readMachineId(paths: readonly string[] = MACHINE_ID_PATHS): Promise<string | undefined> {
  for (const p of paths) {
    try {
      const id = (await readFile(p, 'utf8')).trim();
      if (id !== '') return id;
    } catch {
      // Unreadable or absent: try the next source.
    }
  }
  return undefined;
}

export interface DetectOptions {
  env?: NodeJS.ProcessEnv;
  machineIdPaths?: readonly string[];
  logger?: Logger;
}

/** Runs the configured detectors in order; an earlier detector's key is not replaced by a later one. */
export async function detect(config: ResourceDetectionProcessorConfig, opts: DetectOptions = {}): Promise<Detected> {
  const out: Detected = new Map();
  const put = (k: string, v: string) => {
    if (!out.has(k)) out.set(k, v);
  };
  for (const d of config.detectors) {
    if (d === 'env') {
      const text = (opts.env ?? process.env).OTEL_RESOURCE_ATTRIBUTES;
      const { attrs, error } = parseResourceAttributes(text);
      if (error) opts.logger?.warn('OTEL_RESOURCE_ATTRIBUTES ignored: fix it to k1=v1,k2=v2 with percent-encoded values', { reason: error });
      for (const [k, v] of attrs) put(k, v);
    } else {
      const ra = config.system.resource_attributes;
      if (ra['host.name'].enabled) put('host.name', os.hostname());
      if (ra['os.type'].enabled) put('os.type', osType());
      if (ra['host.arch'].enabled) put('host.arch', hostArch());
      if (ra['host.id'].enabled) {
        const id = await readMachineId(opts.machineIdPaths);
        if (id !== undefined) put('host.id', id);
        else opts.logger?.debug('host.id not detected: no readable machine-id', { paths: opts.machineIdPaths ?? MACHINE_ID_PATHS });
      }
    }
  }
  return out;
}
