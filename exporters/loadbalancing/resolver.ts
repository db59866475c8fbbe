/**
 * Where the backends come from. `static`: a fixed list. `dns`: a name resolved every `interval` (A and
 * AAAA records, the collector's behaviour); a failed or timed-out resolution keeps the last answer.
 * Each reports a sorted list of `host:port` endpoints, only when it changes.
 */
import dns from 'node:dns';
import type { Logger } from '../../src/telemetry/logger.js';

export type OnChange = (endpoints: string[]) => Promise<void>;
/** Told of every resolution and whether it succeeded (the collector's num_resolutions). */
export type OnResolution = (success: boolean) => void;

export interface Resolver {
  start(onChange: OnChange, onResolution?: OnResolution): Promise<void>;
  shutdown(): Promise<void>;
}

const DEFAULT_PORT = '4317';

/** host, host:port, [v6]:port or a bare v6 address, as `host:port`. */
export function withPort(host: string, port = DEFAULT_PORT): string {
  if (host.startsWith('[')) return host.includes(']:') ? host : `${host}:${port}`;
  if (host.includes(':') && host.indexOf(':') !== host.lastIndexOf(':')) return `[${host}]:${port}`; // bare IPv6
  return host.includes(':') ? host : `${host}:${port}`;
}

export class StaticResolver implements Resolver {
  constructor(private readonly hostnames: readonly string[]) {}
  async start(onChange: OnChange, onResolution: OnResolution = () => {}): Promise<void> {
    onResolution(true);
    await onChange([...new Set(this.hostnames.map((h) => withPort(h)))].sort());
  }
  async shutdown(): Promise<void> {}
}

export type LookupFn = (hostname: string) => Promise<string[]>;

/** The addresses of a name, as the system resolver answers (A and AAAA). */
export const systemLookup: LookupFn = async (hostname) => (await dns.promises.lookup(hostname, { all: true })).map((a) => a.address);

export class DnsResolver implements Resolver {
  private timer: NodeJS.Timeout | undefined;
  private last = '';
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly cfg: { hostname: string; port: string; interval: number; timeout: number },
    private readonly logger: Logger,
    private readonly lookup: LookupFn = systemLookup,
  ) {}

  async start(onChange: OnChange, onResolution: OnResolution = () => {}): Promise<void> {
    const tick = async () => {
      let addresses: string[];
      try {
        addresses = await withTimeout(this.lookup(this.cfg.hostname), this.cfg.timeout);
      } catch (err) {
        onResolution(false);
        this.logger.warn('DNS resolution of the loadbalancing backends failed; keeping the last answer', { hostname: this.cfg.hostname, error: err });
        return;
      }
      onResolution(true);
      const endpoints = [...new Set(addresses.map((a) => withPort(a, this.cfg.port)))].sort();
      const key = endpoints.join(',');
      if (key === this.last || this.stopped) return;
      this.last = key;
      await onChange(endpoints);
    };
    await tick();
    const loop = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.running = tick().finally(loop);
      }, this.cfg.interval);
      this.timer.unref();
    };
    loop();
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
