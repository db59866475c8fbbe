import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { Payload } from '../../src/pdata/payload.js';
import { decodeRequest, requestFromJson, requestToJson } from '../../src/pdata/codec.js';
import { loadBalancingExporterFactory } from './factory.js';
import { LoadBalancingExporter } from './loadbalancing-exporter.js';
import { METRICS } from './metadata.js';
import { counterValue, startRawGrpcServer, testSettings, type TestGrpcServer } from '../../test/helpers/otlp-test-servers.js';
import { validConfig } from '../../test/helpers/component-config.js';
import { HashRing, crc32 } from './ring.js';
import { WireSplitter, type Router } from './split.js';
import { withPort } from './resolver.js';
import { fastRetry, makeExporter as makeExporterWith } from './test-support.js';
import { until } from '../../test/helpers/until.js';
import { histogramIn } from '../../test/helpers/gateway-child.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const makeExporter = (yaml: Record<string, unknown>, lookup?: (h: string) => Promise<string[]>) => makeExporterWith(cleanups, yaml, lookup);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const traceIdOf = (i: number) => (0x1000 + i * 7919).toString(16).padStart(32, 'a');

/** A traces request: `traces` traces of `spans` spans, interleaved over two resources and two scopes. */
function tracesRequest(traces: number, spans: number, tag = 't'): Uint8Array {
  const mk = (res: number) => ({
    resource: { attributes: [{ key: 'service.name', value: { stringValue: `svc-${res}` } }] },
    scopeSpans: [0, 1].map((sc) => ({
      scope: { name: `scope-${sc}` },
      spans: Array.from({ length: traces * spans }, (_, k) => k)
        .filter((k) => k % 4 === res * 2 + sc)
        .map((k) => ({
          traceId: traceIdOf(k % traces),
          spanId: (k + 1).toString(16).padStart(16, '0'),
          name: `${tag}-${k}`,
          kind: 1,
          startTimeUnixNano: '1',
          endTimeUnixNano: '2',
        })),
    })),
  });
  return requestFromJson('traces', JSON.stringify({ resourceSpans: [mk(0), mk(1)] }));
}

/** A traces request as OTLP/JSON's shape (hex IDs), to rebuild it in another shape. */
const decodeRequestJson = (bytes: Uint8Array): any => JSON.parse(requestToJson('traces', bytes));

/** Every span of a traces request: [name, traceId, service, scope]. */
function spansOf(bytes: Uint8Array): [string, string, string, string][] {
  return decodeRequest('traces', bytes).resourceSpans.flatMap((rs) =>
    rs.scopeSpans.flatMap((ss) =>
      ss.spans.map((s): [string, string, string, string] => [
        s.name,
        hex(s.traceId),
        String(rs.resource?.attributes[0]?.value?.value.value),
        ss.scope?.name ?? '',
      ]),
    ),
  );
}

describe('hash ring', () => {
  it('computes crc32 as zlib does', () => {
    const b = Buffer.from('backend-1:4317');
    expect(crc32(b, 0, b.length)).toBe(zlib.crc32(b));
    expect(crc32(Buffer.from([7]), 0, 1, zlib.crc32(b))).toBe(zlib.crc32(Buffer.concat([b, Buffer.from([7])])));
  });

  it('moves only the keys a membership change must move', () => {
    const three = new HashRing(['a:4317', 'b:4317', 'c:4317']);
    const four = new HashRing(['a:4317', 'b:4317', 'c:4317', 'd:4317']);
    const two = new HashRing(['a:4317', 'c:4317']);
    let movedToD = 0;
    let fromB = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const key = Buffer.from(traceIdOf(i), 'hex');
      const before = three.endpointFor(key);
      const added = four.endpointFor(key);
      // Adding d: a key either stays or moves to d, never between the old members.
      if (added !== before) {
        expect(added).toBe('d:4317');
        movedToD++;
      }
      // Removing b: only b's keys move.
      const removed = two.endpointFor(key);
      if (before !== 'b:4317') expect(removed).toBe(before);
      else fromB++;
    }
    expect(movedToD / n).toBeGreaterThan(0.1);
    expect(movedToD / n).toBeLessThan(0.45);
    expect(fromB / n).toBeGreaterThan(0.15);
  });

  it('puts a default port on hosts without one', () => {
    expect([withPort('backend'), withPort('backend:4000'), withPort('::1'), withPort('[::1]:5'), withPort('10.0.0.1', '55690')]).toEqual([
      'backend:4317',
      'backend:4000',
      '[::1]:4317',
      '[::1]:5',
      '10.0.0.1:55690',
    ]);
  });
});

describe('wire splitter', () => {
  const ring = new HashRing(['a:1', 'b:1', 'c:1']);
  const byTrace: Router = {
    resource: () => -1,
    leaf: (buf, s) => {
      // trace_id is the span's first field here: tag 0x0a, length 16
      expect(buf[s]).toBe(0x0a);
      return ring.backendFor(buf, s + 2, s + 18);
    },
  };

  /** Each part's pieces joined (undefined: no part). */
  const joined = (parts: (Uint8Array[] | undefined)[]) => parts.map((p) => (p ? Buffer.concat(p) : undefined));

  for (const copy of [false, true]) {
    const mode = copy ? 'copied into one buffer per part' : 'views of the request between new headers';
    it(`splits by trace ID keeping resources and scopes, each span exactly once (${mode})`, () => {
      const req = tracesRequest(30, 5);
      const splitter = new WireSplitter(copy);
      const pieces = splitter.split(req, 3, byTrace);
      const parts = joined(pieces);
      // The exporter hands each part on with the split's leaf count as its item count.
      expect(parts.map((p) => (p ? spansOf(p).length : 0))).toEqual(splitter.leaves);
      const all = spansOf(req);
      const got = parts.flatMap((p, i) => (p ? spansOf(p).map((s) => ({ s, i })) : []));
      expect(got.map((g) => g.s).sort()).toEqual([...all].sort());
      for (const { s, i } of got) expect(ring.endpointFor(Buffer.from(s[1], 'hex'))).toBe(ring.endpoints[i]);
      expect(parts.filter(Boolean).length).toBe(3);
      for (const p of pieces) {
        if (copy) expect(p).toHaveLength(1);
        // Views: the spans' bytes are the request's own memory, not copies.
        else expect(p!.filter((v) => v.buffer === req.buffer).length).toBeGreaterThan(p!.length / 2);
      }
    });

    it(`splits a one-resource request (an SDK export) into the same spans as the two-resource one (${mode})`, () => {
      const two = tracesRequest(30, 5);
      const one = requestFromJson(
        'traces',
        JSON.stringify({
          resourceSpans: [{ ...decodeRequestJson(two).resourceSpans[0], scopeSpans: decodeRequestJson(two).resourceSpans.flatMap((r: any) => r.scopeSpans) }],
        }),
      );
      const splitter = new WireSplitter(copy);
      // Split a two-resource request first: nothing of it may show in the next split's parts.
      splitter.split(two, 3, byTrace);
      const parts = joined(splitter.split(one, 3, byTrace));
      expect(parts.map((p) => (p ? spansOf(p).length : 0))).toEqual(splitter.leaves);
      expect(parts.flatMap((p) => (p ? spansOf(p) : [])).sort()).toEqual(spansOf(one).sort());
      for (const [i, p] of parts.entries()) for (const s of spansOf(p!)) expect(ring.endpointFor(Buffer.from(s[1], 'hex'))).toBe(ring.endpoints[i]);
    });
  }

  it('keeps schema_url fields and spans of several scopes in order when parts are views', () => {
    const json = {
      resourceSpans: [1, 2].map((r) => ({
        resource: { attributes: [{ key: 'service.name', value: { stringValue: `svc-${r}` } }] },
        schemaUrl: `https://resource/${r}`,
        scopeSpans: [1, 2, 3].map((k) => ({
          scope: { name: `scope-${k}` },
          schemaUrl: `https://scope/${k}`,
          spans: Array.from({ length: 12 }, (_, i) => ({ traceId: traceIdOf(i % 5), spanId: (i + 1).toString(16).padStart(16, '0'), name: `s${r}${k}${i}` })),
        })),
      })),
    };
    const req = requestFromJson('traces', JSON.stringify(json));
    const parts = joined(new WireSplitter().split(req, 3, byTrace));
    const copied = joined(new WireSplitter(true).split(req, 3, byTrace));
    expect(parts).toEqual(copied);
    for (const [i, p] of parts.entries()) {
      if (!p) continue;
      const got = decodeRequestJson(p);
      for (const rs of got.resourceSpans) {
        expect(rs.schemaUrl).toMatch(/^https:\/\/resource\//);
        for (const ss of rs.scopeSpans) {
          expect(ss.schemaUrl).toBe(`https://scope/${ss.scope.name.slice(6)}`);
          for (const sp of ss.spans) expect(ring.endpointFor(Buffer.from(sp.traceId, 'hex'))).toBe(ring.endpoints[i]);
        }
      }
    }
    expect(parts.flatMap((p) => (p ? spansOf(p) : [])).sort()).toEqual(spansOf(req).sort());
  });

  it('hands a request whose spans all go to one backend on as the same bytes', () => {
    const req = tracesRequest(1, 8);
    const parts = new WireSplitter().split(req, 3, byTrace);
    expect(parts.filter((p) => p?.length === 1 && p[0] === req).length).toBe(1);
    expect(parts.filter((p) => p !== undefined).length).toBe(1);
  });

  it('refuses broken framing with WireFormatError', () => {
    const req = tracesRequest(3, 3);
    expect(() => new WireSplitter().split(req.subarray(0, req.length - 3), 3, byTrace)).toThrow(/overruns|truncated/);
  });
});

describe('loadbalancing exporter', () => {
  // With a queue, parts are copied out of the request; without one they go out as views of it.
  for (const queued of [true, false]) {
    it(`routes every span of a trace to one backend over OTLP/gRPC, and a request is answered when all parts are ${queued ? 'queued' : 'sent'}`, async () => {
      const servers = await Promise.all([0, 1, 2].map(() => startRawGrpcServer()));
      for (const s of servers) cleanups.push(() => s.close());
      const exp = await makeExporter({
        protocol: { otlp: { tls: { insecure: true }, compression: 'none', retry_on_failure: fastRetry, sending_queue: { enabled: queued } } },
        resolver: { static: { hostnames: servers.map((s) => s.endpoint) } },
      });
      await exp.start();
      cleanups.push(() => exp.shutdown());
      const sent: [string, string, string, string][] = [];
      for (let r = 0; r < 5; r++) {
        const req = tracesRequest(20, 4, `r${r}`);
        sent.push(...spansOf(req));
        await exp.consume(new Payload('traces', req));
        // Without a queue the request is answered after its parts were delivered.
        if (!queued) expect(servers.reduce((n, s) => n + s.requests.length, 0)).toBeGreaterThanOrEqual(r + 1);
      }
      await exp.shutdown();
      const traceHome = new Map<string, string>();
      const got: [string, string, string, string][] = [];
      for (const s of servers) {
        for (const r of s.requests) {
          expect(r.path).toBe('/opentelemetry.proto.collector.trace.v1.TraceService/Export');
          for (const span of spansOf(r.message)) {
            got.push(span);
            const home = traceHome.get(span[1]);
            if (home !== undefined) expect(home).toBe(s.endpoint);
            traceHome.set(span[1], s.endpoint);
          }
        }
        expect(s.requests.length).toBeGreaterThan(0);
      }
      expect(got.sort()).toEqual(sent.sort());
    });
  }

  it('sends the parts for one backend routed in one turn as one call; a refused batch still delivers the good requests', async () => {
    const server = await startRawGrpcServer();
    cleanups.push(() => server.close());
    // INVALID_ARGUMENT (permanent) for any message holding the span "bad-0".
    server.reply = (r) => (spansOf(r.message).some((sp) => sp[0] === 'bad-0') ? { code: 3, message: 'bad span' } : { code: 0 });
    const exp = await makeExporter({
      protocol: { otlp: { tls: { insecure: true }, compression: 'none', sending_queue: { enabled: false }, retry_on_failure: fastRetry } },
      resolver: { static: { hostnames: [server.endpoint] } },
    });
    await exp.start();
    cleanups.push(() => exp.shutdown());
    const good = [0, 1, 2].map((i) => tracesRequest(5, 2, `good${i}`));
    await Promise.all(good.map((r) => exp.consume(new Payload('traces', r))));
    // Three requests, one call, holding every span of the three.
    expect(server.requests).toHaveLength(1);
    expect(spansOf(server.requests[0]!.message).sort()).toEqual(good.flatMap((r) => spansOf(r)).sort());

    server.requests.length = 0;
    const reqs = ['ok', 'bad', 'fine'].map((tag) => tracesRequest(5, 2, tag));
    const results = await Promise.allSettled(reqs.map((r) => exp.consume(new Payload('traces', r))));
    // One verdict per call: every request of the refused batch hears of the refusal...
    for (const r of results) expect(r).toMatchObject({ status: 'rejected', reason: { name: 'PermanentError' } });
    // ...but the batch was narrowed: every span of the good requests was accepted once, none of "bad"'s resource.
    const accepted = server.requests.filter((r) => !spansOf(r.message).some((sp) => sp[0] === 'bad-0')).flatMap((r) => spansOf(r.message));
    expect(accepted.filter((sp) => !sp[0].startsWith('bad')).sort()).toEqual([...spansOf(reqs[0]!), ...spansOf(reqs[2]!)].sort());
  });

  it('re-routes the queued data of a backend that leaves the DNS answer to the backends that now own its traces', async () => {
    const first = await startRawGrpcServer();
    const port = Number(first.endpoint.split(':')[1]);
    const servers: TestGrpcServer[] = [first, await startRawGrpcServer({ host: '127.0.0.2', port }), await startRawGrpcServer({ host: '127.0.0.3', port })];
    for (const s of servers) cleanups.push(() => s.close());
    // 127.0.0.3 is down for now: it answers UNAVAILABLE, so its part waits in its queue with retries.
    servers[2]!.reply = () => ({ code: 14, message: 'down' });
    let answer = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
    const exp = (await makeExporter(
      {
        protocol: { otlp: { tls: { insecure: true }, compression: 'none', retry_on_failure: fastRetry } },
        resolver: { dns: { hostname: 'backends.test', port: String(port), interval: '50ms' } },
      },
      async () => answer,
    )) as LoadBalancingExporter;
    await exp.start();
    cleanups.push(() => exp.shutdown());
    expect(exp.endpoints).toEqual(servers.map((s) => s.endpoint));
    const req = tracesRequest(60, 3);
    await exp.consume(new Payload('traces', req)); // answered once every part is queued
    await until(() => servers[2]!.requests.length > 0);
    const ownedBy3 = new Set(
      spansOf(req)
        .filter((s) => new HashRing(exp.endpoints).endpointFor(Buffer.from(s[1], 'hex')) === servers[2]!.endpoint)
        .map((s) => s[1]),
    );
    expect(ownedBy3.size).toBeGreaterThan(0);

    answer = ['127.0.0.1', '127.0.0.2'];
    await until(() => exp.endpoints.length === 2);
    const delivered = () => servers.slice(0, 2).flatMap((s) => s.requests.flatMap((r) => spansOf(r.message)));
    await until(() => delivered().length === spansOf(req).length).catch((e: unknown) => {
      throw new Error(`delivered ${delivered().length} of ${spansOf(req).length}; endpoints ${exp.endpoints.join()}: ${String(e)}`);
    });
    expect(
      delivered()
        .map((s) => s[0])
        .sort(),
    ).toEqual(
      spansOf(req)
        .map((s) => s[0])
        .sort(),
    );
    // Only the leaving backend's traces moved: each remaining backend still has all its own traces too.
    const ring2 = new HashRing(exp.endpoints);
    for (const s of servers.slice(0, 2))
      for (const r of s.requests) for (const span of spansOf(r.message)) expect(ring2.endpointFor(Buffer.from(span[1], 'hex'))).toBe(s.endpoint);
  });

  it('refuses retryably while no backend is resolved, and validates its config', async () => {
    const exp = await makeExporter({ resolver: { dns: { hostname: 'nothing.test', interval: '1h' } } }, async () => []);
    await exp.start();
    cleanups.push(() => exp.shutdown());
    await expect(exp.consume(new Payload('traces', tracesRequest(1, 1)))).rejects.toMatchObject({ name: 'RetryableError' });

    const issues: { path: string[]; message: string }[] = [];
    loadBalancingExporterFactory.config.parse({ resolver: { k8s: { service: 'x' } } }, [], issues);
    expect(issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      "resolver.k8s: not supported yet by GopherShip (resolves the backends from a Kubernetes Service's endpoints; use dns on a headless Service)",
    ]);
    issues.length = 0;
    loadBalancingExporterFactory.config.parse({ resolver: {} }, [], issues);
    expect(issues[0]!.message).toMatch(/exactly one of static or dns/);
  });

  it("counts resolutions by outcome and backend updates, as the collector's num_resolutions and num_backend_updates", async () => {
    const answers: (string[] | Error)[] = [['127.0.0.1'], new Error('SERVFAIL'), ['127.0.0.1'], ['127.0.0.1', '127.0.0.2']];
    let calls = 0;
    const lookup = async () => {
      const a = answers[Math.min(calls++, answers.length - 1)]!;
      if (a instanceof Error) throw a;
      return a;
    };
    const settings = testSettings('loadbalancing', 'exporter');
    cleanups.push(() => settings.telemetry.close());
    const cfg = validConfig(loadBalancingExporterFactory, {
      protocol: { otlp: { tls: { insecure: true } } },
      resolver: { dns: { hostname: 'backends.test', port: '1', interval: '20ms' } },
    });
    const exp = new LoadBalancingExporter(settings, cfg, lookup);
    await exp.start();
    cleanups.push(() => exp.shutdown());
    await until(() => exp.endpoints.length === 2);
    const at = (name: string, labels: Record<string, string>) => counterValue(settings.telemetry, name, labels);
    expect(await at(METRICS.numResolutions.name, { resolver: 'dns', success: 'false' })).toBe(1);
    expect(await at(METRICS.numResolutions.name, { resolver: 'dns', success: 'true' })).toBeGreaterThanOrEqual(3);
    // The first answer and the one that added a backend; an unchanged answer is no update.
    expect(await at(METRICS.numBackendUpdates.name, { resolver: 'dns' })).toBe(2);

    const staticSettings = testSettings('loadbalancing/static', 'exporter');
    cleanups.push(() => staticSettings.telemetry.close());
    const fixed = new LoadBalancingExporter(
      staticSettings,
      validConfig(loadBalancingExporterFactory, { protocol: { otlp: { tls: { insecure: true } } }, resolver: { static: { hostnames: ['127.0.0.1:1'] } } }),
    );
    await fixed.start();
    cleanups.push(() => fixed.shutdown());
    expect(await counterValue(staticSettings.telemetry, METRICS.numResolutions.name, { resolver: 'static', success: 'true' })).toBe(1);
    expect(await counterValue(staticSettings.telemetry, METRICS.numBackendUpdates.name, { resolver: 'static' })).toBe(1);
  });

  it("counts and times each backend's export attempts, as the collector's otelcol_loadbalancer_backend_outcome{endpoint,success} and _backend_latency{endpoint} (ms, its buckets)", async () => {
    const server = await startRawGrpcServer();
    cleanups.push(() => server.close());
    const settings = testSettings('loadbalancing', 'exporter');
    cleanups.push(() => settings.telemetry.close());
    const exp = new LoadBalancingExporter(
      settings,
      validConfig(loadBalancingExporterFactory, {
        protocol: { otlp: { tls: { insecure: true }, sending_queue: { enabled: false }, retry_on_failure: { enabled: false } } },
        resolver: { static: { hostnames: [server.endpoint] } },
      }),
    );
    await exp.start();
    cleanups.push(() => exp.shutdown());
    // One attempt answered after 250 ms, one refused after 30 ms (bounds with room for a loaded machine).
    server.reply = () => ({ code: 0, delayMs: 250 });
    await exp.consume(new Payload('traces', tracesRequest(4, 2)));
    server.reply = () => ({ code: 14, message: 'down', delayMs: 30 });
    await expect(exp.consume(new Payload('traces', tracesRequest(4, 2, 'later')))).rejects.toThrow();
    const outcome = (success: string) => counterValue(settings.telemetry, METRICS.backendOutcome.name, { endpoint: server.endpoint, success });
    expect(await outcome('true')).toBe(1);
    expect(await outcome('false')).toBe(1);
    const latency = histogramIn(await settings.telemetry.registry.metrics(), METRICS.backendLatency.name, { endpoint: server.endpoint });
    expect(latency.count).toBe(2);
    expect(latency.buckets['20']).toBe(0);
    expect(latency.buckets['200']).toBe(1);
    expect(latency.buckets['+Inf']).toBe(2);
    expect(latency.sum).toBeGreaterThanOrEqual(280);
  });
});
