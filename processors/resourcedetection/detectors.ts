/**
 * The detectors: each returns the attributes it found, in insertion order. They run once, at start.
 */
import { readFile } from 'node:fs/promises';
import dns from 'node:dns/promises';
import os from 'node:os';
import type { Logger } from '../../src/telemetry/logger.js';
import type { ResourceDetectionProcessorConfig, SystemAttribute } from './config.js';

/** Detected attributes: strings, except the list-valued host.ip/host.mac/host.interface and the cache size. */
export type Detected = Map<string, string | string[] | number>;

/**
 * OTEL_RESOURCE_ATTRIBUTES as the SDK spec reads it: `k=v,k2=v2`, keys and values trimmed, values
 * percent-decoded. A malformed value is discarded whole (the spec's rule) and the reason returned.
 */
export function parseResourceAttributes(text: string | undefined): { attrs: Map<string, string>; error?: string } {
  const attrs = new Map<string, string>();
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
  const put = (k: string, v: string | string[] | number) => {
    if (!out.has(k)) out.set(k, v);
  };
  for (const d of config.detectors) {
    if (d === 'env') {
      const text = (opts.env ?? process.env).OTEL_RESOURCE_ATTRIBUTES;
      const { attrs, error } = parseResourceAttributes(text);
      if (error) opts.logger?.warn('OTEL_RESOURCE_ATTRIBUTES ignored: fix it to k1=v1,k2=v2 with percent-encoded values', { reason: error });
      for (const [k, v] of attrs) put(k, v);
    } else if (d === 'system') {
      for (const [k, v] of await detectSystem(config, opts)) put(k, v);
    }
  }
  // The collector's deprecated allow list: detected attributes not on it are dropped.
  if (config.attributes.length > 0) for (const k of out.keys()) if (!config.attributes.includes(k)) out.delete(k);
  return out;
}

/** Resolves `hostname_sources` in order: the first source that answers names the host. */
export async function detectHostname(sources: readonly string[], logger?: Logger): Promise<string | undefined> {
  const osName = os.hostname();
  for (const source of sources) {
    try {
      if (source === 'os') return osName;
      if (source === 'dns') {
        // The fully qualified name: the canonical name the resolver gives for the OS host name.
        const { address } = await dns.lookup(osName);
        const { hostname } = await dns.lookupService(address, 0);
        if (hostname) return hostname;
      } else if (source === 'cname') {
        const [cname] = await dns.resolveCname(osName);
        if (cname) return cname.replace(/\.$/, '');
      } else if (source === 'lookup') {
        const address = externalAddresses()[0];
        if (address) {
          const [name] = await dns.reverse(address);
          if (name) return name.replace(/\.$/, '');
        }
      }
    } catch (err) {
      logger?.debug('hostname source gave no answer; trying the next', { source, error: (err as Error).message });
    }
  }
  return undefined;
}

function externalInterfaces(): Array<[string, os.NetworkInterfaceInfo]> {
  const out: Array<[string, os.NetworkInterfaceInfo]> = [];
  for (const [name, infos] of Object.entries(os.networkInterfaces())) for (const info of infos ?? []) if (!info.internal) out.push([name, info]);
  return out;
}

function externalAddresses(): string[] {
  return externalInterfaces().map(([, i]) => i.address);
}

/** The fields of the first processor in /proc/cpuinfo (Linux); empty elsewhere. */
async function cpuInfo(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  try {
    const text = await readFile('/proc/cpuinfo', 'utf8');
    for (const line of text.split('\n')) {
      if (line.trim() === '') break;
      const i = line.indexOf(':');
      if (i > 0) out.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
    }
  } catch {
    // Not Linux: the cpu attributes come from os.cpus() or stay absent.
  }
  return out;
}

/** The system detector: each attribute only when enabled under system.resource_attributes. */
async function detectSystem(config: ResourceDetectionProcessorConfig, opts: DetectOptions): Promise<Detected> {
  const on = (k: SystemAttribute) => config.system.resource_attributes[k].enabled;
  const out: Detected = new Map();
  if (on('host.name')) {
    const name = await detectHostname(config.system.hostname_sources, opts.logger);
    if (name !== undefined) out.set('host.name', name);
  }
  if (on('os.type')) out.set('os.type', osType());
  if (on('host.arch')) out.set('host.arch', hostArch());
  if (on('host.id')) {
    const id = await readMachineId(opts.machineIdPaths);
    if (id !== undefined) out.set('host.id', id);
    else opts.logger?.debug('host.id not detected: no readable machine-id', { paths: opts.machineIdPaths ?? MACHINE_ID_PATHS });
  }
  const nics = externalInterfaces();
  if (on('host.ip'))
    out.set(
      'host.ip',
      nics.map(([, i]) => i.address),
    );
  if (on('host.mac')) out.set('host.mac', [...new Set(nics.map(([, i]) => i.mac.toUpperCase().replaceAll(':', '-')))]);
  if (on('host.interface')) out.set('host.interface', [...new Set(nics.map(([n]) => n))]);
  if (on('os.description')) out.set('os.description', `${os.type()} ${os.release()}`);
  if (on('os.version')) out.set('os.version', os.release());
  const cpuKeys: Array<[SystemAttribute, string]> = [
    ['host.cpu.vendor.id', 'vendor_id'],
    ['host.cpu.family', 'cpu family'],
    ['host.cpu.model.id', 'model'],
    ['host.cpu.stepping', 'stepping'],
  ];
  const wantsCpu = cpuKeys.some(([k]) => on(k)) || on('host.cpu.model.name') || on('host.cpu.cache.l2.size');
  if (wantsCpu) {
    const info = await cpuInfo();
    for (const [k, field] of cpuKeys) if (on(k) && info.has(field)) out.set(k, info.get(field)!);
    const model = info.get('model name') ?? os.cpus()[0]?.model;
    if (on('host.cpu.model.name') && model) out.set('host.cpu.model.name', model);
    const cache = /^(\d+)\s*KB$/i.exec(info.get('cache size') ?? '');
    if (on('host.cpu.cache.l2.size') && cache) out.set('host.cpu.cache.l2.size', Number(cache[1]) * 1024);
  }
  return out;
}
