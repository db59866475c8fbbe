/**
 * The pprof extension in a real gateway started from a collector-style config: real HTTP requests on
 * 127.0.0.1 for V8 CPU and heap profiles, one at a time, bounded, stopped when the client leaves or the
 * gateway shuts down, and the whole-run CPU profile of save_to_file written at shutdown.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service/service.js';
import { Logger, type LogSink } from '../../src/telemetry/logger.js';
import { startGateway, startRefused } from '../../test/helpers/gateway.js';
import { gatewayYaml, LOGS_TO_DEBUG, OTLP_GRPC_AND_HTTP_RECEIVER } from '../../test/helpers/configs.js';
import { configProblems } from '../../test/helpers/config-problems.js';
import { pprofConfig } from './config.js';
import type { PprofExtension } from './pprof.js';

/** The otelcol-contrib default config's shape (health_check, pprof, batch, debug, every signal), on ports of 127.0.0.1. */
const CONTRIB_STYLE = `extensions:
  health_check:
    endpoint: 127.0.0.1:0
  pprof:
    endpoint: 127.0.0.1:0
${OTLP_GRPC_AND_HTTP_RECEIVER}processors:
  batch:
exporters:
  debug:
    verbosity: detailed
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
    metrics:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
    logs:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
  extensions: [health_check, pprof]
`;

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string } }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}
interface HeapNode {
  callFrame: { functionName: string };
  selfSize: number;
  children: HeapNode[];
}
interface HeapProfile {
  head: HeapNode;
  samples: { size: number; nodeId: number }[];
}

function pprofBase(gw: Service, id = 'pprof'): string {
  const port = gw.component<PprofExtension>('extension', id)?.port;
  if (port === undefined) throw new Error(`extension ${id} is not listening`);
  return `http://127.0.0.1:${port}`;
}

/**
 * Keeps the JavaScript thread busy (and allocating) until `pending` settles, in slices so the event loop
 * answers between them: the profile it waits for covers this work however late its profiler started.
 */
async function busyWhile<T>(pending: Promise<T>): Promise<T> {
  let settled = false;
  pending.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled) {
    const slice = Date.now() + 20;
    const garbage: string[] = [];
    while (Date.now() < slice) garbage.push(`${Math.sqrt(Math.random())}`.repeat(8));
    await new Promise((r) => setImmediate(r));
  }
  return pending;
}

describe('pprof extension', () => {
  let gw: Service;
  let base: string;
  beforeAll(async () => {
    gw = await startGateway(CONTRIB_STYLE);
    base = pprofBase(gw);
  });
  afterAll(async () => {
    await gw?.shutdown(5000);
  });

  it("takes the collector's keys and defaults: endpoint localhost:1777, Go's fractions 0, no file", () => {
    expect(pprofConfig.defaults()).toMatchObject({ endpoint: 'localhost:1777', block_profile_fraction: 0, mutex_profile_fraction: 0, save_to_file: '' });
  });

  it('a contrib-style config with pprof validates, starts, and serves the index of what is there', async () => {
    expect(await configProblems(CONTRIB_STYLE)).toEqual([]);
    const res = await fetch(`${base}/debug/pprof/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    for (const p of ['profile', 'heap', 'allocs']) expect(html).toContain(`href="/debug/pprof/${p}"`);
    expect(html).toContain("V8's formats");
  });

  it('a 1-second CPU profile is a V8 .cpuprofile with nodes and samples', async () => {
    const res = await busyWhile(fetch(`${base}/debug/pprof/profile?seconds=1`));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="gophership-\d+-profile-\d{8}T\d{6}Z\.cpuprofile"$/);
    const profile = (await res.json()) as CpuProfile;
    expect(profile.nodes.length).toBeGreaterThan(1);
    expect(profile.nodes[0]!.callFrame.functionName).toBe('(root)');
    expect(profile.samples.length).toBeGreaterThan(10);
    expect(profile.timeDeltas).toHaveLength(profile.samples.length);
    const ids = new Set(profile.nodes.map((n) => n.id));
    expect(profile.samples.every((s) => ids.has(s))).toBe(true);
    // Microseconds, as V8 writes them: the profile spans the second asked for.
    expect(profile.endTime - profile.startTime).toBeGreaterThanOrEqual(900_000);
    expect(profile.nodes.some((n) => n.callFrame.functionName === 'busyWhile')).toBe(true);
  });

  it('heap (live at the end, gc=1) and allocs (every sampled allocation) are V8 sampling heap profiles', async () => {
    const heapRes = await fetch(`${base}/debug/pprof/heap?seconds=1&gc=1`);
    expect(heapRes.status).toBe(200);
    expect(heapRes.headers.get('content-disposition')).toMatch(/filename="gophership-\d+-heap-\d{8}T\d{6}Z\.heapprofile"$/);
    const heap = (await heapRes.json()) as HeapProfile;
    expect(heap.head.callFrame.functionName).toBe('(root)');
    expect(Array.isArray(heap.samples)).toBe(true);
    const allocsRes = await busyWhile(fetch(`${base}/debug/pprof/allocs?seconds=1`));
    expect(allocsRes.status).toBe(200);
    const allocs = (await allocsRes.json()) as HeapProfile;
    // busyWhile's strings are garbage at once: only allocs, which keeps collected samples, has them.
    expect(allocs.samples.length).toBeGreaterThan(10);
    const names = (n: HeapNode): string[] => [n.callFrame.functionName, ...n.children.flatMap(names)];
    expect(names(allocs.head)).toContain('busyWhile');
  });

  it('one profile at a time: a second request is refused with 409 and the first still completes', async () => {
    const first = fetch(`${base}/debug/pprof/profile?seconds=2`);
    await new Promise((r) => setTimeout(r, 300));
    for (const path of ['profile?seconds=1', 'heap?seconds=1']) {
      const second = await fetch(`${base}/debug/pprof/${path}`);
      expect(second.status).toBe(409);
      expect(second.headers.get('retry-after')).toMatch(/^[12]$/);
      expect(await second.text()).toMatch(/^a CPU profile is being taken \(about [12] s left\); one profile at a time: retry after it ends\n$/);
    }
    const done = await first;
    expect(done.status).toBe(200);
    expect(((await done.json()) as CpuProfile).samples.length).toBeGreaterThan(0);
  });

  it('a seconds outside 1 to 300 (or not a whole number) is a 400 naming the bound', async () => {
    for (const bad of ['0', '301', 'abc', '1.5', '-3']) {
      const res = await fetch(`${base}/debug/pprof/profile?seconds=${bad}`);
      expect(res.status).toBe(400);
      expect(await res.text()).toBe(`seconds must be a whole number from 1 to 300; got "${bad}"\n`);
    }
  });

  it("Go's profiles with no Node counterpart, and unknown paths, are a 404 with a sentence naming what is there", async () => {
    const goroutine = await fetch(`${base}/debug/pprof/goroutine?debug=2`);
    expect(goroutine.status).toBe(404);
    expect(await goroutine.text()).toBe(
      "/debug/pprof/goroutine: not available: Node has no goroutines. This endpoint serves /debug/pprof/profile, /debug/pprof/heap, /debug/pprof/allocs in V8's formats (not Go's pprof protobuf); /debug/pprof/ lists them.\n",
    );
    const mutex = await fetch(`${base}/debug/pprof/mutex`);
    expect([mutex.status, await mutex.text()]).toEqual([
      404,
      expect.stringMatching(/^\/debug\/pprof\/mutex: not available: Node has no mutex-contention profile/),
    ]);
    const unknown = await fetch(`${base}/metrics`);
    expect([unknown.status, await unknown.text()]).toEqual([
      404,
      expect.stringMatching(/^\/metrics: not found\. This endpoint serves \/debug\/pprof\/profile, /),
    ]);
  });

  it('a request target that is not a URL path is a 400, and the gateway lives on', async () => {
    const port = gw.component<PprofExtension>('extension', 'pprof')!.port!;
    const statusLine = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString()));
      socket.on('close', () => resolve(got.split('\r\n')[0]!));
      socket.on('error', reject);
    });
    expect(statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect((await fetch(`${base}/debug/pprof/`)).status).toBe(200);
  });

  it('a client that leaves mid-profile stops the profiler: the next profile is taken at once, not refused', async () => {
    const leaving = new AbortController();
    const left = fetch(`${base}/debug/pprof/profile?seconds=60`, { signal: leaving.signal }).catch((e: Error) => e.name);
    await new Promise((r) => setTimeout(r, 300));
    leaving.abort();
    expect(await left).toBe('AbortError');
    const startedAt = Date.now();
    let next: Response;
    // The server sees the disconnect a moment later; until then the slot may still be taken.
    for (;;) {
      next = await fetch(`${base}/debug/pprof/profile?seconds=1`);
      if (next.status !== 409 || Date.now() - startedAt > 5000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(next.status).toBe(200);
    expect(Date.now() - startedAt).toBeLessThan(5000);
  });
});

describe('pprof extension at start and shutdown', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gs-pprof-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('save_to_file: the file is created at start and holds a CPU profile of the whole run after shutdown; requested profiles run beside it', async () => {
    const file = join(dir, 'run.cpuprofile');
    const gw = await startGateway(gatewayYaml({ ...LOGS_TO_DEBUG, extensions: { pprof: { endpoint: '127.0.0.1:0', save_to_file: file } } }));
    try {
      expect((await stat(file)).size).toBe(0);
      // The whole-run profile has an inspector session of its own: a requested profile runs beside it.
      const res = await busyWhile(fetch(`${pprofBase(gw)}/debug/pprof/profile?seconds=1`));
      expect(res.status).toBe(200);
      expect(((await res.json()) as CpuProfile).samples.length).toBeGreaterThan(10);
    } finally {
      await gw.shutdown(5000);
    }
    const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
    expect(profile.nodes.length).toBeGreaterThan(1);
    expect(profile.samples.length).toBeGreaterThan(10);
    expect(profile.nodes.some((n) => n.callFrame.functionName === 'busyWhile')).toBe(true);
  });

  it('save_to_file in a directory that does not exist fails the start, naming the key', async () => {
    const file = join(dir, 'missing', 'run.cpuprofile');
    const message = await startRefused(gatewayYaml({ ...LOGS_TO_DEBUG, extensions: { pprof: { endpoint: '127.0.0.1:0', save_to_file: file } } }));
    expect(message).toContain(`extensions.pprof.save_to_file: cannot profile into "${file}": ENOENT`);
  });

  it("Go's block and mutex fractions (the collector's testdata values) start with a warning that Node has no such profile", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink: LogSink = { write: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
    const yaml = gatewayYaml({
      ...LOGS_TO_DEBUG,
      extensions: { 'pprof/1': { endpoint: '127.0.0.1:0', block_profile_fraction: 3, mutex_profile_fraction: 5 } },
    });
    const gw = await startGateway(yaml, process.env, new Logger('warn', {}, sink));
    await gw.shutdown(5000);
    const warned = lines.filter((l) => l.level === 'warn').map((l) => [l.msg, l.value]);
    expect(warned).toEqual([
      ['extensions.pprof/1.block_profile_fraction: Node has no blocking profile; the setting has no effect', 3],
      ['extensions.pprof/1.mutex_profile_fraction: Node has no mutex-contention profile; the setting has no effect', 5],
    ]);
  });

  it('shutdown during a profile stops it and answers 503 at once, and the endpoint closes', async () => {
    const gw = await startGateway(gatewayYaml({ ...LOGS_TO_DEBUG, extensions: { pprof: { endpoint: '127.0.0.1:0' } } }));
    const base = pprofBase(gw);
    const pending = fetch(`${base}/debug/pprof/profile?seconds=60`);
    await new Promise((r) => setTimeout(r, 300));
    const startedAt = Date.now();
    await gw.shutdown(5000);
    expect(Date.now() - startedAt).toBeLessThan(3000);
    const res = await pending;
    expect([res.status, await res.text()]).toEqual([503, 'the gateway is shutting down; the profile was stopped and discarded\n']);
    await expect(fetch(`${base}/debug/pprof/`)).rejects.toThrow();
  });
});
