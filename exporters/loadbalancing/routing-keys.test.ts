/**
 * routing_key streamID (metrics, each data point by its stream) and attributes (routing_attributes), on
 * the wire splitter and through the exporter to real OTLP/gRPC servers on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Payload } from '../../src/pdata/payload.js';
import { requestFromJson, requestToJson } from '../../src/pdata/codec.js';
import type { Signal } from '../../src/core/signal.js';
import { startRawGrpcServer, type TestGrpcServer } from '../../test/helpers/otlp-test-servers.js';
import { loadBalancingExporterFactory } from './factory.js';
import { HashRing } from './ring.js';
import { Routers } from './routers.js';
import { WireSplitter } from './split.js';
import { fastRetry, makeExporter } from './test-support.js';
import { until } from '../../test/helpers/until.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
const KINDS = ['sum', 'gauge', 'histogram', 'exponentialHistogram', 'summary'] as const;

/** A data point of each kind, with its attributes in the order given. */
function point(kind: (typeof KINDS)[number], attributes: unknown[], v: number): Record<string, unknown> {
  const t = { timeUnixNano: String(1_000 + v), attributes };
  if (kind === 'sum' || kind === 'gauge') return { ...t, asInt: String(v) };
  if (kind === 'histogram') return { ...t, count: '2', sum: v, bucketCounts: ['1', '1'], explicitBounds: [1] };
  if (kind === 'exponentialHistogram') return { ...t, count: '1', scale: 1, zeroCount: '1' };
  return { ...t, count: '1', sum: v, quantileValues: [{ quantile: 0.5, value: v }] };
}

/**
 * A metrics request: `services` resources, two scopes, one metric of each kind with `hosts` x `codes`
 * streams; `shuffle` writes every attribute set in another order (the same streams).
 */
function metricsRequest(services: number, hosts: number, codes: number, round: number, shuffle = false): Uint8Array {
  const order = <T>(a: T[]) => (shuffle ? [...a].reverse() : a);
  return requestFromJson(
    'metrics',
    JSON.stringify({
      resourceMetrics: Array.from({ length: services }, (_, r) => ({
        resource: { attributes: order([str('service.name', `svc-${r}`), str('deployment', 'prod')]) },
        schemaUrl: 'https://resource',
        scopeMetrics: ['lib-a', 'lib-b'].map((scope) => ({
          scope: { name: scope, version: '1.0', attributes: order([str('x', '1'), str('y', '2')]) },
          metrics: KINDS.map((kind) => {
            const dataPoints = [];
            for (let h = 0; h < hosts; h++)
              for (let c = 0; c < codes; c++)
                dataPoints.push(point(kind, order([str('host', `h${h}`), { key: 'code', value: { intValue: String(c) } }]), round));
            const temporality = kind === 'gauge' || kind === 'summary' ? {} : { aggregationTemporality: 2 };
            return {
              name: `${scope}.${kind}`,
              unit: 'ms',
              description: `a ${kind}`,
              [kind]: { ...temporality, ...(kind === 'sum' ? { isMonotonic: true } : {}), dataPoints },
            };
          }),
        })),
      })),
    }),
  );
}

/** Each data point of a metrics request: its stream (resource, scope, metric, sorted attributes) and value, and the metric's own fields. */
function pointsOf(bytes: Uint8Array): { stream: string; value: string; metric: string }[] {
  const out: { stream: string; value: string; metric: string }[] = [];
  const sorted = (attrs: any[] | undefined) => JSON.stringify([...(attrs ?? [])].sort((a, b) => (a.key < b.key ? -1 : 1)));
  for (const rm of JSON.parse(requestToJson('metrics', bytes)).resourceMetrics)
    for (const sm of rm.scopeMetrics)
      for (const m of sm.metrics) {
        const kind = KINDS.find((k) => m[k] !== undefined)!;
        const { dataPoints, ...data } = m[kind];
        const metric = JSON.stringify({ name: m.name, unit: m.unit, description: m.description, kind, data, rs: rm.schemaUrl, scope: sm.scope });
        for (const dp of dataPoints) {
          const { attributes, ...rest } = dp;
          out.push({ stream: `${sorted(rm.resource.attributes)}|${sm.scope.name}|${m.name}|${sorted(attributes)}`, value: JSON.stringify(rest), metric });
        }
      }
  return out;
}

const joined = (parts: (Uint8Array[] | undefined)[]) => parts.map((p) => (p ? Buffer.concat(p) : undefined));

describe('routing_key streamID on the wire', () => {
  for (const copy of [false, true]) {
    it(`splits metrics by data point stream: every point once, with its metric's fields, a stream in one part (${copy ? 'copied' : 'views'})`, () => {
      const routers = new Routers();
      routers.ring = new HashRing(['a:1', 'b:1', 'c:1']);
      const router = routers.streamId();
      const splitter = new WireSplitter(copy);
      const home = new Map<string, number>();
      for (let round = 0; round < 4; round++) {
        // Rounds 1 and 3 write every attribute set in reverse: the same streams, other bytes.
        const req = metricsRequest(3, 4, 3, round, round % 2 === 1);
        const parts = joined(splitter.split(req, 3, router));
        expect(parts.filter(Boolean).length).toBe(3);
        const got = parts.flatMap((p, i) => (p ? pointsOf(p).map((pt) => ({ ...pt, i })) : []));
        const want = pointsOf(req);
        // Every point exactly once, each with its own metric's name, unit, description, temporality, scope.
        expect(got.map(({ stream, value, metric }) => ({ stream, value, metric })).sort(cmp)).toEqual([...want].sort(cmp));
        for (const { stream, i } of got) {
          expect(home.get(stream) ?? i).toBe(i);
          home.set(stream, i);
        }
      }
      // 3 services x 2 scopes x 5 metrics x 12 streams, spread over all three backends.
      expect(home.size).toBe(360);
      const share = [0, 1, 2].map((b) => [...home.values()].filter((v) => v === b).length / home.size);
      for (const s of share) expect(s).toBeGreaterThan(0.15);
    });
  }

  it('joins a part of many small pieces into one buffer when asked (joinSmall), with the same bytes', () => {
    const routers = new Routers();
    routers.ring = new HashRing(['a:1', 'b:1', 'c:1']);
    const req = metricsRequest(2, 4, 3, 0);
    const views = new WireSplitter().split(req, 3, routers.streamId());
    expect(views.every((p) => p!.length >= 32)).toBe(true);
    const joinedParts = new WireSplitter(false, true).split(req, 3, routers.streamId());
    expect(joinedParts.map((p) => p!.length)).toEqual([1, 1, 1]);
    expect(joined(joinedParts)).toEqual(joined(views));
  });

  it('hands a request whose streams all belong to one backend on as the same bytes', () => {
    const routers = new Routers();
    routers.ring = new HashRing(['a:1']);
    const req = metricsRequest(2, 2, 2, 0);
    const parts = new WireSplitter().split(req, 1, routers.streamId());
    expect(parts[0]).toEqual([req]);
  });

  it('is a metrics-only routing key, and attributes needs routing_attributes', () => {
    const place = (signal: Signal) => ({ signal, pipeline: `${signal}`, index: 0 });
    const parse = (yaml: Record<string, unknown>) => {
      const issues: { path: string[]; message: string }[] = [];
      const cfg = loadBalancingExporterFactory.config.parse({ resolver: { static: { hostnames: ['x'] } }, ...yaml }, [], issues);
      return { cfg, issues: issues.map((i) => `${i.path.join('.')}: ${i.message}`) };
    };
    const stream = parse({ routing_key: 'streamID' });
    expect(stream.issues).toEqual([]);
    expect(loadBalancingExporterFactory.checkPipeline!(stream.cfg, place('traces') as never)).toMatch(/streamID applies to metrics pipelines only/);
    expect(loadBalancingExporterFactory.checkPipeline!(stream.cfg, place('metrics') as never)).toBeUndefined();
    expect(parse({ routing_key: 'attributes' }).issues).toEqual([
      'routing_attributes: is required with routing_key attributes: list the attributes that make the key',
    ]);
    expect(parse({ routing_key: 'traceID', routing_attributes: ['a'] }).issues).toEqual([
      'routing_attributes: applies only with routing_key attributes (routing_key is traceID)',
    ]);
  });
});

const cmp = (a: { stream: string; value: string }, b: { stream: string; value: string }) =>
  a.stream + a.value < b.stream + b.value ? -1 : a.stream + a.value > b.stream + b.value ? 1 : 0;

/** Which server received each stream (failing if one went to two). */
function streamHomes(servers: TestGrpcServer[]): Map<string, string> {
  const homes = new Map<string, string>();
  for (const s of servers)
    for (const r of s.requests)
      for (const { stream } of pointsOf(r.message)) {
        expect(homes.get(stream) ?? s.endpoint).toBe(s.endpoint);
        homes.set(stream, s.endpoint);
      }
  return homes;
}

describe('routing_key streamID through the exporter', () => {
  it('sends every point of a stream to one backend, spreads streams, and a backend joining moves only the streams it takes', async () => {
    const first = await startRawGrpcServer();
    const port = Number(first.endpoint.split(':')[1]);
    const servers = [first];
    for (const host of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) servers.push(await startRawGrpcServer({ host, port }));
    for (const s of servers) cleanups.push(() => s.close());
    let answer = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
    const exp = makeExporter(
      cleanups,
      {
        routing_key: 'streamID',
        protocol: { otlp: { tls: { insecure: true }, compression: 'none', retry_on_failure: fastRetry, sending_queue: { enabled: false } } },
        resolver: { dns: { hostname: 'tier2.test', port: String(port), interval: '50ms' } },
      },
      async () => answer,
    );
    await exp.start();
    cleanups.push(() => exp.shutdown());
    const sent: { stream: string; value: string }[] = [];
    for (let round = 0; round < 3; round++) {
      const req = metricsRequest(4, 3, 2, round, round === 1);
      sent.push(...pointsOf(req));
      await exp.consume(new Payload('metrics', req));
    }
    const before = streamHomes(servers);
    expect(new Set(before.values()).size).toBe(3);
    const got = servers.flatMap((s) => s.requests.flatMap((r) => pointsOf(r.message)));
    expect(got.map(({ stream, value }) => ({ stream, value })).sort(cmp)).toEqual(sent.map(({ stream, value }) => ({ stream, value })).sort(cmp));

    answer = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
    await until(() => exp.endpoints.length === 4);
    for (const s of servers) s.requests.length = 0;
    await exp.consume(new Payload('metrics', metricsRequest(4, 3, 2, 9)));
    const after = streamHomes(servers);
    let moved = 0;
    for (const [stream, home] of after) {
      if (home === before.get(stream)) continue;
      // A stream that moved went to the new backend, never between the old ones.
      expect(home).toBe(servers[3]!.endpoint);
      moved++;
    }
    expect(after.size).toBe(before.size);
    expect(moved / after.size).toBeGreaterThan(0.05);
    expect(moved / after.size).toBeLessThan(0.5);
  });
});

describe('routing_key attributes', () => {
  /** Spans of `tenants` tenants (a span attribute), each span of a trace with its own tenant; two services. */
  function tracesRequest(round: number): Uint8Array {
    return requestFromJson(
      'traces',
      JSON.stringify({
        resourceSpans: ['svc-a', 'svc-b'].map((svc) => ({
          resource: { attributes: [str('service.name', svc)] },
          scopeSpans: [
            {
              scope: { name: 'lib' },
              spans: Array.from({ length: 40 }, (_, i) => ({
                traceId: (0x100 + i * 31 + round).toString(16).padStart(32, '0'),
                spanId: (i + 1).toString(16).padStart(16, '0'),
                name: `op-${i % 3}`,
                kind: 2 + (i % 2),
                attributes: [str('tenant', `t${i % 7}`), { key: 'shard', value: { intValue: String(i % 2) } }],
              })),
            },
          ],
        })),
      }),
    );
  }

  const spansOf = (bytes: Uint8Array) =>
    (JSON.parse(requestToJson('traces', bytes)).resourceSpans as any[]).flatMap((rs) =>
      rs.scopeSpans.flatMap((ss: any) =>
        ss.spans.map((sp: any) => ({
          service: rs.resource.attributes[0].value.stringValue as string,
          tenant: sp.attributes[0].value.stringValue as string,
          shard: sp.attributes[1].value.intValue as string,
          name: sp.name as string,
          kind: sp.kind as number,
          id: `${sp.traceId}/${sp.spanId}`,
        })),
      ),
    );

  it('keys each span by resource, scope and span attributes and pseudo attributes, as name=value| pairs', async () => {
    const servers = await Promise.all([0, 1, 2].map(() => startRawGrpcServer()));
    for (const s of servers) cleanups.push(() => s.close());
    const exp = makeExporter(cleanups, {
      routing_key: 'attributes',
      routing_attributes: ['service.name', 'tenant', 'span.kind', 'span.name', 'missing'],
      protocol: { otlp: { tls: { insecure: true }, compression: 'none', sending_queue: { enabled: false }, retry_on_failure: fastRetry } },
      resolver: { static: { hostnames: servers.map((s) => s.endpoint) } },
    });
    await exp.start();
    cleanups.push(() => exp.shutdown());
    const sent = [0, 1, 2].flatMap((round) => spansOf(tracesRequest(round)));
    for (const round of [0, 1, 2]) await exp.consume(new Payload('traces', tracesRequest(round)));
    const ring = new HashRing(servers.map((s) => s.endpoint));
    const kinds = ['Unspecified', 'Internal', 'Server', 'Client'];
    const got: string[] = [];
    for (const s of servers)
      for (const r of s.requests)
        for (const sp of spansOf(r.message)) {
          got.push(sp.id + sp.service);
          // The key as the collector writes it: resource-level values first, then span-level, a missing one empty.
          const key = `service.name=${sp.service}|tenant=${sp.tenant}|span.kind=${kinds[sp.kind]}|span.name=${sp.name}|missing=|`;
          expect(ring.endpointFor(Buffer.from(key))).toBe(s.endpoint);
        }
    expect(got.sort()).toEqual(sent.map((sp) => sp.id + sp.service).sort());
    expect(servers.filter((s) => s.requests.length > 0).length).toBeGreaterThan(1);
  });

  it('sends a whole resource to one backend when the resource holds every attribute', () => {
    const routers = new Routers();
    routers.ring = new HashRing(['a:1', 'b:1', 'c:1']);
    const req = tracesRequest(0);
    const parts = joined(new WireSplitter().split(req, 3, routers.attributes(['service.name'], 'traces')));
    for (const [i, p] of parts.entries()) {
      if (!p) continue;
      for (const sp of spansOf(p)) expect(routers.ring.endpointFor(Buffer.from(`service.name=${sp.service}|`))).toBe(routers.ring.endpoints[i]);
    }
    expect(parts.flatMap((p) => (p ? spansOf(p) : [])).length).toBe(80);
  });

  it('keys log records by severity text and body, and metric points by their attributes', () => {
    const routers = new Routers();
    routers.ring = new HashRing(['a:1', 'b:1', 'c:1', 'd:1']);
    const logs = requestFromJson(
      'logs',
      JSON.stringify({
        resourceLogs: [
          {
            resource: { attributes: [str('service.name', 'api')] },
            scopeLogs: [
              {
                scope: { name: 'log', attributes: [str('region', 'eu')] },
                logRecords: Array.from({ length: 30 }, (_, i) => ({
                  severityText: ['INFO', 'WARN', 'ERROR'][i % 3],
                  body: { intValue: String(i % 5) },
                  timeUnixNano: String(i + 1),
                })),
              },
            ],
          },
        ],
      }),
    );
    const parts = joined(new WireSplitter().split(logs, 4, routers.attributes(['region', 'log.severity', 'log.body'], 'logs')));
    let n = 0;
    for (const [i, p] of parts.entries()) {
      if (!p) continue;
      for (const rl of JSON.parse(requestToJson('logs', p)).resourceLogs)
        for (const sl of rl.scopeLogs)
          for (const lr of sl.logRecords) {
            n++;
            expect(routers.ring.endpointFor(Buffer.from(`region=eu|log.severity=${lr.severityText}|log.body=${lr.body.intValue}|`))).toBe(
              routers.ring.endpoints[i],
            );
          }
    }
    expect(n).toBe(30);
    expect(parts.filter(Boolean).length).toBeGreaterThan(1);

    const metrics = metricsRequest(1, 3, 2, 0);
    const mparts = joined(new WireSplitter().split(metrics, 4, routers.attributes(['service.name', 'host'], 'metrics')));
    const points = mparts.flatMap((p, i) => (p ? pointsOf(p).map((pt) => ({ ...pt, i })) : []));
    expect(points.length).toBe(pointsOf(metrics).length);
    for (const pt of points) {
      const host = /"host","value":\{"stringValue":"(h\d)"/.exec(pt.stream)![1];
      expect(routers.ring.endpointFor(Buffer.from(`service.name=svc-0|host=${host}|`))).toBe(routers.ring.endpoints[pt.i]);
    }
  });
});
