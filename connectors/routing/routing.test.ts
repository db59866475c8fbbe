/**
 * The routing connector in a running gateway: three tenants by an HTTP header, each to its own exporter
 * and sink on 127.0.0.1, a default route, resource routing that splits one request, and the answer to
 * the client only once every exporter the data was routed to accepted it.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { GRPC_METHOD } from '../../src/core/signal.js';
import type { Service } from '../../src/service/service.js';
import { decodeRequest } from '../../src/pdata/codec.js';
import { fromKeyValues } from '../../src/ottl/values.js';
import { makeLogsRequest, startHttpServer, type TestHttpServer } from '../../test/helpers/otlp-test-servers.js';
import { receiverAddress, startGateway } from '../../test/helpers/gateway.js';
import { gatewayYaml, otlpReceiver, OTLP_HTTP_AND_DEBUG } from '../../test/helpers/configs.js';
import { configProblems as problems } from '../../test/helpers/config-problems.js';
import type { ExportLogsServiceRequest } from '../../proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sinks(n: number): Promise<TestHttpServer[]> {
  const out = await Promise.all(Array.from({ length: n }, () => startHttpServer()));
  for (const s of out) cleanups.push(() => s.close());
  return out;
}

async function gateway(yaml: string): Promise<Service> {
  const svc = await startGateway(yaml);
  cleanups.push(() => svc.shutdown(5000));
  return svc;
}

/** Exporters without a queue (accepted means the sink answered), otlphttp/<name> to each sink by name. */
const exporters = (urls: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(urls).map(([name, url]) => [`otlphttp/${name}`, { endpoint: url, sending_queue: { enabled: false }, retry_on_failure: { enabled: false } }]),
  );

/** logs/in into the routing connector, and one pipeline from it to its exporter for each of `routes`. */
const routedPipelines = (routes: string[]) => ({
  'logs/in': { exporters: ['routing'] },
  ...Object.fromEntries(routes.map((r) => [`logs/${r}`, { receivers: ['routing'], exporters: [`otlphttp/${r}`] }])),
});

function post(addr: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`http://${addr}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', ...headers }, body });
}

/** One OTLP/gRPC Export call with metadata; resolves to the status code. */
function grpcExport(addr: string, body: Uint8Array, metadata: Record<string, string>): Promise<number> {
  const client = new grpc.Client(addr, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      GRPC_METHOD.logs,
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => b,
      body,
      md,
      (err) => {
        client.close();
        resolve(err ? (err.code ?? -1) : 0);
      },
    );
  });
}

const bodiesAt = (s: TestHttpServer): string[] =>
  s.requests.flatMap((r) =>
    (decodeRequest('logs', r.body) as ExportLogsServiceRequest).resourceLogs.flatMap((rl) =>
      rl.scopeLogs.flatMap((sl) => sl.logRecords.map((lr) => String(lr.body?.value.value))),
    ),
  );

/** The pipelines of a routing config under test: logs into the connector, logs/out from it. */
const ROUTED_TO_LOGS_OUT = `service:
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [routing]
    logs/out:
      receivers: [routing]
      exporters: [debug]
`;

describe('routing connector config', () => {
  it('routes must name pipelines that receive from it; contexts not supported yet say so', async () => {
    const p = await problems(`${OTLP_HTTP_AND_DEBUG}connectors:
  routing:
    default_pipelines: [logs/typo]
    table:
      - condition: resource.attributes["a"] == "b"
        pipelines: [logs/out]
      - context: log
        condition: body == "x"
        pipelines: [logs/out]
      - statement: set(attributes["x"], 1) where true
        pipelines: [logs/out]
      - condition: resource.attributes["a"] ==
        pipelines: [logs/out]
      - statement: delete_key(attributes, "X-Tenant") where IsMatch(attributes["X-Tenant"], ".*corp")
        pipelines: [logs/out]
      - statement: route()
        pipelines: [logs/out]
${ROUTED_TO_LOGS_OUT}`);
    expect(p).toEqual([
      'FILE:14: connectors.routing.table.1.context: context log is not supported yet; use resource or request',
      'FILE:17: connectors.routing.table.2.statement: in "set(attributes["x"], 1) where true": a routing statement is route() where <condition>',
      'FILE:19: connectors.routing.table.3.condition: in "resource.attributes["a"] ==", column 28: expected a value (a string, number, bytes, nil, true/false, path, converter call, list or map), found the end of the statement',
      // The collector's README example: a statement may run delete_key on a match.
      'FILE:21: connectors.routing.table.4.statement: in "delete_key(attributes, "X-Tenant") where IsMatch(attributes["X-Tenant"], ".*corp")": a route statement that edits (delete_key) is not supported yet by GopherShip; write the where clause as condition and edit in a processor of the routed pipelines',
    ]);
    const p2 = await problems(`${OTLP_HTTP_AND_DEBUG}connectors:
  routing:
    default_pipelines: [logs/typo]
    table:
      - condition: resource.attributes["a"] == "b"
        pipelines: [logs/out]
${ROUTED_TO_LOGS_OUT}`);
    expect(p2).toEqual([
      'FILE:9: connectors.routing: routes to logs/typo, which does not list this connector among its receivers (pipelines that do: logs/out)',
    ]);
  });
});

describe('routing connector', () => {
  it('routes three tenants by header to their own exporters, the rest to the default; nothing on a wrong route', async () => {
    const [a, b, c, other] = await sinks(4);
    const svc = await gateway(
      gatewayYaml({
        receivers: { otlp: otlpReceiver(['http', 'grpc'], { include_metadata: true }) },
        connectors: {
          routing: {
            default_pipelines: ['logs/other'],
            table: [
              { context: 'request', condition: 'request["x-tenant"] == "acme"', pipelines: ['logs/acme'] },
              { context: 'request', statement: 'route() where request["X-Tenant"] == "globex"', pipelines: ['logs/globex'] },
              { context: 'request', condition: 'request["x-tenant"] == "initech"', pipelines: ['logs/initech'] },
            ],
          },
        },
        exporters: exporters({ acme: a!.url, globex: b!.url, initech: c!.url, other: other!.url }),
        pipelines: routedPipelines(['acme', 'globex', 'initech', 'other']),
      }),
    );
    const addr = receiverAddress(svc, 'otlp', 'http');
    for (const [tenant, tag] of [
      ['acme', 'A'],
      ['globex', 'G'],
      ['initech', 'I'],
      ['acme', 'A2'],
      ['nobody', 'N'],
    ] as const) {
      const res = await post(addr, makeLogsRequest(1, 2, tag), { 'x-tenant': tenant });
      expect(res.status).toBe(200);
    }
    const noHeader = await post(addr, makeLogsRequest(1, 1, 'X'));
    expect(noHeader.status).toBe(200);
    // gRPC metadata routes the same way.
    expect(await grpcExport(receiverAddress(svc, 'otlp', 'grpc'), makeLogsRequest(1, 1, 'A3'), { 'x-tenant': 'acme' })).toBe(0);
    expect(bodiesAt(a!)).toEqual(['A log 0.0', 'A log 0.1', 'A2 log 0.0', 'A2 log 0.1', 'A3 log 0.0']);
    expect(bodiesAt(b!)).toEqual(['G log 0.0', 'G log 0.1']);
    expect(bodiesAt(c!)).toEqual(['I log 0.0', 'I log 0.1']);
    expect(bodiesAt(other!)).toEqual(['N log 0.0', 'N log 0.1', 'X log 0.0']);
  });

  it('routes by resource attribute, splitting a request; answers only after every routed exporter accepted', async () => {
    const [r0, r1, rest] = await sinks(3);
    const svc = await gateway(
      gatewayYaml({
        connectors: {
          routing: {
            match_once: true,
            default_pipelines: ['logs/rest'],
            table: [
              { condition: 'resource.attributes["service.name"] == "t-svc-0"', pipelines: ['logs/r0'] },
              { condition: 'IsMatch(resource.attributes["service.name"], "-1$")', pipelines: ['logs/r1', 'logs/rest'] },
            ],
          },
        },
        exporters: exporters({ r0: r0!.url, r1: r1!.url, rest: rest!.url }),
        pipelines: routedPipelines(['r0', 'r1', 'rest']),
      }),
    );
    const addr = receiverAddress(svc, 'otlp', 'http');
    // One request, three resources (service.name t-svc-0, t-svc-1, t-svc-2).
    r1!.reply = () => ({ status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(0), delayMs: 400 });
    const started = Date.now();
    let answeredAt = 0;
    const res = await post(addr, makeLogsRequest(3, 1, 't')).then((r) => ((answeredAt = Date.now()), r));
    expect(res.status).toBe(200);
    // The slow sink's exporter held the answer back.
    expect(answeredAt - started).toBeGreaterThanOrEqual(350);
    const services = (s: TestHttpServer) =>
      s.requests.flatMap((r) =>
        (decodeRequest('logs', r.body) as ExportLogsServiceRequest).resourceLogs.map((rl) => fromKeyValues(rl.resource!.attributes).get('service.name')),
      );
    expect(services(r0!)).toEqual(['t-svc-0']);
    expect(services(r1!)).toEqual(['t-svc-1']);
    expect(services(rest!)).toEqual(['t-svc-1', 't-svc-2']);

    // A refusal on one route is the client's refusal (retryable: the sink answered 503).
    rest!.reply = () => ({ status: 503, headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(0) });
    r1!.reply = () => ({ status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(0) });
    const refused = await post(addr, makeLogsRequest(3, 1, 't'));
    expect(refused.status).toBe(503);
  });

  it('the first matching route only, as the collector since v0.116 (match_once: true by default); false: every match', async () => {
    const services = (s: TestHttpServer) =>
      s.requests.flatMap((r) =>
        (decodeRequest('logs', r.body) as ExportLogsServiceRequest).resourceLogs.map((rl) => fromKeyValues(rl.resource!.attributes).get('service.name')),
      );
    for (const matchOnce of [undefined, false]) {
      const [first, second, rest] = await sinks(3);
      const svc = await gateway(
        gatewayYaml({
          connectors: {
            routing: {
              ...(matchOnce === undefined ? {} : { match_once: matchOnce }),
              default_pipelines: ['logs/rest'],
              table: [
                { condition: 'resource.attributes["service.name"] == "m-svc-0"', pipelines: ['logs/first'] },
                // Matches m-svc-0 too: a second route for it in the collector's order.
                { statement: 'route() where IsMatch(resource.attributes["service.name"], "^m-svc-[01]$")', pipelines: ['logs/second'] },
              ],
            },
          },
          exporters: exporters({ first: first!.url, second: second!.url, rest: rest!.url }),
          pipelines: routedPipelines(['first', 'second', 'rest']),
        }),
      );
      const res = await post(receiverAddress(svc, 'otlp', 'http'), makeLogsRequest(3, 1, 'm'));
      expect(res.status).toBe(200);
      expect(services(first!)).toEqual(['m-svc-0']);
      expect(services(second!)).toEqual(matchOnce === false ? ['m-svc-0', 'm-svc-1'] : ['m-svc-1']);
      expect(services(rest!)).toEqual(['m-svc-2']);
    }
  });
});
