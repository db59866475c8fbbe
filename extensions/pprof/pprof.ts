/**
 * The collector's pprof extension for a Node process: Go's net/http/pprof paths on `endpoint`, answered
 * with V8's profiles taken through the process's own inspector (profiler.ts). On a shared network a
 * profile costs CPU and memory, so one runs at a time, its length is bounded, and it stops when its
 * client goes away or the gateway shuts down.
 */
import { writeFile } from 'node:fs/promises';
import type { RequestListener, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CreateSettings, Extension } from '../../src/core/component.js';
import { CodedError, messageOf } from '../../src/core/errors.js';
import { listen, parseEndpoint } from '../../src/core/net.js';
import { createEndpointServer, type EndpointServer } from '../../src/confighelper/http-server.js';
import type { PprofConfig } from './config.js';
import { RunProfile, takeProfile, type ProfileKind } from './profiler.js';

const PREFIX = '/debug/pprof/';
/** Go's default and a bound: a profile longer than 5 minutes is more load than a diagnosis needs. */
export const DEFAULT_SECONDS = 30;
export const MAX_SECONDS = 300;

interface ServedProfile {
  kind: ProfileKind;
  /** What the profile is called in answers: `a CPU profile is being taken`. */
  label: string;
  /** The file name's extension, the one Chrome DevTools and speedscope recognize. */
  suffix: string;
  /** A line of the index. */
  what: string;
}

/** The paths served under /debug/pprof/, in the index's order. */
const SERVED: Readonly<Record<string, ServedProfile>> = {
  profile: {
    kind: 'cpu',
    label: 'CPU',
    suffix: 'cpuprofile',
    what: 'CPU profile of the JavaScript thread over seconds (V8 .cpuprofile: Chrome DevTools Performance panel, speedscope)',
  },
  heap: {
    kind: 'heap',
    label: 'heap',
    suffix: 'heapprofile',
    what: 'sampled allocations made over seconds and still live at its end (V8 .heapprofile: DevTools Memory panel, speedscope); gc=1 collects garbage first',
  },
  allocs: {
    kind: 'allocs',
    label: 'allocations',
    suffix: 'heapprofile',
    what: 'every sampled allocation made over seconds, collected since or not (V8 .heapprofile)',
  },
};

/** Go's profiles a Node process has no counterpart for, and why. */
const GO_ONLY: Readonly<Record<string, string>> = {
  goroutine: 'Node has no goroutines',
  threadcreate: 'Node has no Go runtime threads',
  block: 'Node has no blocking profile (block_profile_fraction has no effect here)',
  mutex: 'Node has no mutex-contention profile (mutex_profile_fraction has no effect here)',
  trace: "Go's execution tracer has no counterpart here",
  symbol: 'the profiles carry their function names, so there is nothing to look up',
  cmdline: 'the command line is not served (it may carry credentials given with --set)',
};

const AVAILABLE = `This endpoint serves ${Object.keys(SERVED)
  .map((p) => PREFIX + p)
  .join(', ')} in V8's formats (not Go's pprof protobuf); ${PREFIX} lists them.`;

/** `seconds` as a number, or the sentence of a 400 answer. */
function parseSeconds(text: string | null): number | string {
  if (text === null || text === '') return DEFAULT_SECONDS;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (n >= 1 && n <= MAX_SECONDS) return n;
  return `seconds must be a whole number from 1 to ${MAX_SECONDS}; got "${text}"\n`;
}

/** 20261207T140501Z: a timestamp that fits a file name. */
function fileTimestamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

function answer(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', ...headers }).end(text);
}

export class PprofExtension implements Extension {
  private listener: EndpointServer | undefined;
  /** The profile being taken for a request, if any: one at a time. */
  private running: { label: string; endsAt: number; done: Promise<void> } | undefined;
  /** Aborted at shutdown: a profile in progress stops and is discarded. */
  private readonly stopping = new AbortController();
  private wholeRun: RunProfile | undefined;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: PprofConfig,
  ) {}

  get port(): number | undefined {
    return (this.listener?.server.address() as AddressInfo | null)?.port;
  }

  async start(): Promise<void> {
    const label = `extensions.${this.settings.id.id}`;
    this.warnGoOnlyKeys(label);
    const { host, port } = parseEndpoint(this.config.endpoint, `${label}.endpoint`);
    const handler: RequestListener = (req, res) => this.handle(req.url ?? '/', res, req.socket.remoteAddress);
    // No TLS: the collector's pprof server takes an address only (confignet), so it does here.
    this.listener = await createEndpointServer(undefined, `${label}.endpoint`, handler, this.settings.logger);
    await listen(this.listener.server, host, port, `${label}.endpoint`);
    const file = this.config.save_to_file;
    if (file !== '') {
      // Created now, as the collector creates it at start: a path that cannot be written fails the start, not the shutdown.
      const run = new RunProfile();
      try {
        await writeFile(file, '');
        await run.start();
      } catch (err) {
        await this.listener.close();
        throw new CodedError('GS_COMPONENT_START_FAILED', `${label}.save_to_file: cannot profile into "${file}": ${messageOf(err)}`);
      }
      this.wholeRun = run;
    }
  }

  async shutdown(): Promise<void> {
    this.stopping.abort();
    // The profile in progress answers its client (503) before the connections close.
    await this.running?.done;
    await this.listener?.close();
    const run = this.wholeRun;
    this.wholeRun = undefined;
    if (run) {
      const file = this.config.save_to_file;
      await writeFile(file, JSON.stringify(await run.stop()));
      this.settings.logger.info('wrote the CPU profile of the whole run (V8 .cpuprofile)', { file });
    }
  }

  /** Go's runtime knobs: accepted, as a config written for the collector carries them, and said to do nothing here. */
  private warnGoOnlyKeys(label: string): void {
    const knobs = { block_profile_fraction: 'blocking', mutex_profile_fraction: 'mutex-contention' } as const;
    for (const [key, what] of Object.entries(knobs)) {
      const value = this.config[key as keyof typeof knobs];
      if (value > 0) this.settings.logger.warn(`${label}.${key}: Node has no ${what} profile; the setting has no effect`, { value });
    }
  }

  private handle(rawUrl: string, res: ServerResponse, client: string | undefined): void {
    // A request target URL cannot parse (`//[`) would throw out of the handler and end the process.
    const url = URL.canParse(rawUrl, 'http://pprof') ? new URL(rawUrl, 'http://pprof') : undefined;
    if (url === undefined) {
      answer(res, 400, `${JSON.stringify(rawUrl)} is not a URL path. ${AVAILABLE}\n`);
      return;
    }
    const path = url.pathname;
    if (path === PREFIX || path === PREFIX.slice(0, -1)) {
      this.index(res);
      return;
    }
    const name = path.startsWith(PREFIX) ? path.slice(PREFIX.length) : '';
    const served = Object.hasOwn(SERVED, name) ? SERVED[name] : undefined;
    if (served === undefined) {
      const why = Object.hasOwn(GO_ONLY, name) ? GO_ONLY[name] : undefined;
      answer(res, 404, `${path}: ${why !== undefined ? `not available: ${why}` : 'not found'}. ${AVAILABLE}\n`);
      return;
    }
    const seconds = parseSeconds(url.searchParams.get('seconds'));
    if (typeof seconds === 'string') {
      answer(res, 400, seconds);
      return;
    }
    if (this.stopping.signal.aborted) {
      answer(res, 503, 'the gateway is shutting down; no profile is taken\n');
      return;
    }
    const running = this.running;
    if (running !== undefined) {
      const left = Math.max(1, Math.ceil((running.endsAt - Date.now()) / 1000));
      answer(res, 409, `a ${running.label} profile is being taken (about ${left} s left); one profile at a time: retry after it ends\n`, {
        'retry-after': String(left),
      });
      return;
    }
    const gc = Number(url.searchParams.get('gc')) > 0;
    const slot = { label: served.label, endsAt: Date.now() + seconds * 1000, done: Promise.resolve() };
    this.running = slot;
    slot.done = this.serve(res, name, served, seconds, gc, client).finally(() => {
      this.running = undefined;
    });
  }

  private async serve(res: ServerResponse, name: string, served: ServedProfile, seconds: number, gc: boolean, client: string | undefined): Promise<void> {
    const gone = new AbortController();
    // 'close' before the answer: the client went away, so the profiler stops now instead of at the end.
    res.once('close', () => gone.abort());
    const startedAt = new Date();
    try {
      const profile = await takeProfile(served.kind, seconds * 1000, AbortSignal.any([gone.signal, this.stopping.signal]), gc);
      if (profile === undefined) {
        if (!gone.signal.aborted) answer(res, 503, 'the gateway is shutting down; the profile was stopped and discarded\n');
        return;
      }
      const body = JSON.stringify(profile);
      const filename = `gophership-${process.pid}-${name}-${fileTimestamp(startedAt)}.${served.suffix}`;
      res
        .writeHead(200, {
          'content-type': 'application/json',
          'content-disposition': `attachment; filename="${filename}"`,
          'x-content-type-options': 'nosniff',
        })
        .end(body);
      this.settings.logger.info('served a profile', { profile: name, seconds, client, bytes: body.length });
    } catch (err) {
      this.settings.logger.warn('could not take a profile', { profile: name, error: messageOf(err) });
      if (!res.headersSent && !gone.signal.aborted) answer(res, 500, `could not take the ${name} profile: ${messageOf(err)}\n`);
    }
  }

  private index(res: ServerResponse): void {
    const running = this.running ? `<p>A ${this.running.label} profile is being taken now; one runs at a time.</p>` : '';
    const rows = Object.entries(SERVED)
      .map(([p, s]) => `<li><a href="${PREFIX}${p}">${p}</a>: ${s.what}</li>`)
      .join('\n');
    const html = `<!doctype html>
<html><head><title>${PREFIX}</title></head><body>
<h1>${PREFIX}</h1>
<p>Profiles of this GopherShip gateway's Node process, in V8's formats (JSON), not Go's pprof protobuf:
open them in Chrome DevTools or speedscope, not <code>go tool pprof</code>.
Each is taken over <code>seconds</code> (default ${DEFAULT_SECONDS}, from 1 to ${MAX_SECONDS}), one at a time.</p>
${running}<ul>
${rows}
</ul>
<p>Not available here (Go runtime profiles): ${Object.keys(GO_ONLY).join(', ')}.</p>
</body></html>
`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'x-content-type-options': 'nosniff' }).end(html);
  }
}
