/**
 * The loadbalancing exporter's top-level timeout, sending_queue and retry_on_failure (in front of the
 * split), with real OTLP/gRPC servers on 127.0.0.1 that go down and come back: what the front queue
 * acknowledged is delivered to the backend that owns it once it returns, from memory and, with storage
 * wal, across a restart of the exporter.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Payload } from '../../src/pdata/payload.js';
import { requestFromJson, requestToJson } from '../../src/pdata/codec.js';
import { startRawGrpcServer, type TestGrpcServer } from '../../test/helpers/otlp-test-servers.js';
import { HashRing } from './ring.js';
import { fastRetry, makeExporter } from './test-support.js';
import { until } from '../../test/helpers/until.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tracesRequest(round: number): Uint8Array {
  return requestFromJson(
    'traces',
    JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
          scopeSpans: [
            {
              scope: { name: 'lib' },
              spans: Array.from({ length: 30 }, (_, i) => ({
                traceId: (0x5000 + i * 7919 + round * 131).toString(16).padStart(32, '0'),
                spanId: (i + 1).toString(16).padStart(16, '0'),
                name: `r${round}-${i}`,
              })),
            },
          ],
        },
      ],
    }),
  );
}

/** [span name, trace ID] of every span. */
const spansOf = (bytes: Uint8Array): [string, string][] =>
  (JSON.parse(requestToJson('traces', bytes)).resourceSpans as any[]).flatMap((rs) =>
    rs.scopeSpans.flatMap((ss: any) => ss.spans.map((sp: any): [string, string] => [sp.name, sp.traceId])),
  );

/** Each span name once per server that received it. */
const received = (servers: TestGrpcServer[]) => servers.map((s) => new Set(s.requests.flatMap((r) => spansOf(r.message).map((sp) => sp[0]))));

/** Two backends; the second is closed (down) until `revive()` starts it again on its port. */
async function backends() {
  const up = await startRawGrpcServer();
  let down = await startRawGrpcServer();
  const port = Number(down.endpoint.split(':')[1]);
  const endpoints = [up.endpoint, down.endpoint];
  await down.close();
  const servers = [up, down];
  cleanups.push(() => servers.forEach((s) => void s.close()));
  return {
    endpoints,
    servers,
    revive: async () => {
      down = await startRawGrpcServer({ host: '127.0.0.1', port });
      servers[1] = down;
    },
  };
}

// The backends' own queues and retries are off: a refused part fails the attempt at once, and the front
// queue's retry (a new split by the ring) is what delivers it.
const direct = { tls: { insecure: true }, compression: 'none', timeout: '1s', sending_queue: { enabled: false }, retry_on_failure: { enabled: false } };

describe('loadbalancing top-level sending_queue and retry_on_failure', () => {
  it('acknowledges into the front queue while a backend is down and delivers its part when it returns', async () => {
    const b = await backends();
    const exp = makeExporter(cleanups, {
      protocol: { otlp: direct },
      resolver: { static: { hostnames: b.endpoints } },
      timeout: '2s',
      sending_queue: { enabled: true, queue_size: 100 },
      retry_on_failure: { enabled: true, ...fastRetry },
    });
    await exp.start();
    cleanups.push(() => exp.shutdown());
    const reqs = [0, 1, 2].map(tracesRequest);
    // Answered at once: queued in front of the split, though one backend is down.
    for (const r of reqs) await exp.consume(new Payload('traces', r));
    await until(() => b.servers[0]!.requests.length >= 3);
    const ring = new HashRing(b.endpoints);
    const owned = (i: number) => reqs.flatMap(spansOf).filter((sp) => ring.endpointFor(Buffer.from(sp[1], 'hex')) === b.endpoints[i]);
    expect(owned(1).length).toBeGreaterThan(0);
    await b.revive();
    await until(() => received(b.servers)[1]!.size === owned(1).length);
    const [first, second] = received(b.servers);
    // Each backend got exactly the spans it owns (the first one possibly more than once: at-least-once).
    expect([...first!].sort()).toEqual(
      owned(0)
        .map((sp) => sp[0])
        .sort(),
    );
    expect([...second!].sort()).toEqual(
      owned(1)
        .map((sp) => sp[0])
        .sort(),
    );
  });

  it('keeps what a WAL front queue acknowledged across a restart of the exporter and delivers it when the backend returns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lb-front-wal-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const b = await backends();
    const config = {
      protocol: { otlp: direct },
      resolver: { static: { hostnames: b.endpoints } },
      sending_queue: { enabled: true, storage: 'wal', directory: dir, fsync: 'always' },
      retry_on_failure: { enabled: true, ...fastRetry, max_elapsed_time: '0s' },
    };
    const first = makeExporter(cleanups, config);
    await first.start();
    const reqs = [0, 1].map(tracesRequest);
    for (const r of reqs) await first.consume(new Payload('traces', r)); // durable in the WAL
    await until(() => b.servers[0]!.requests.length >= 2);
    await first.shutdown();

    // The backend returns; a new exporter on the same directory reads the WAL back and routes it.
    await b.revive();
    const second = makeExporter(cleanups, config);
    await second.start();
    cleanups.push(() => second.shutdown());
    const ring = new HashRing(b.endpoints);
    const owned = reqs.flatMap(spansOf).filter((sp) => ring.endpointFor(Buffer.from(sp[1], 'hex')) === b.endpoints[1]);
    expect(owned.length).toBeGreaterThan(0);
    await until(() => received(b.servers)[1]!.size === owned.length);
    expect([...received(b.servers)[1]!].sort()).toEqual(owned.map((sp) => sp[0]).sort());
  });

  it('is off by default, as contrib: without it a request is answered by the backends', async () => {
    const b = await backends();
    const exp = makeExporter(cleanups, { protocol: { otlp: direct }, resolver: { static: { hostnames: b.endpoints } } });
    await exp.start();
    cleanups.push(() => exp.shutdown());
    // The down backend refuses its part, so the request is refused (retryably).
    await expect(exp.consume(new Payload('traces', tracesRequest(0)))).rejects.toMatchObject({ name: 'RetryableError' });
  });
});
