/**
 * Connectors in the pipeline graph: validation (a connector is an exporter and a receiver, signal pairs,
 * cycles named) and the forward connector in a running gateway. The routing connector's own config
 * problems are in connectors/routing/routing.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { configProblems } from '../../test/helpers/config-problems.js';
import { decodeRequest } from '../../src/pdata/codec.js';
import { fromKeyValues } from '../../src/ottl/values.js';
import { makeLogsRequest, startHttpServer, type TestHttpServer } from '../../test/helpers/otlp-test-servers.js';
import { receiverAddress, startGateway } from '../../test/helpers/gateway.js';
import { gatewayYaml, OTLP_HTTP_AND_DEBUG } from '../../test/helpers/configs.js';
import type { ExportLogsServiceRequest } from '../../proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';

const problems = configProblems;

describe('connectors in the config graph', () => {
  it('a cycle through connectors is refused, naming it', async () => {
    const p = await problems(`${OTLP_HTTP_AND_DEBUG}connectors:
  forward/a:
  forward/b:
service:
  pipelines:
    logs/in:
      receivers: [otlp]
      exporters: [forward/a]
    logs/x:
      receivers: [forward/a]
      exporters: [forward/b, debug]
    logs/y:
      receivers: [forward/b]
      exporters: [forward/a]
`);
    expect(p).toEqual([
      'FILE:16: service.pipelines.logs/x: connectors form a cycle: logs/x -> forward/b -> logs/y -> forward/a -> logs/x; data would go round forever',
    ]);
  });

  it('a connector used only one way, a signal it cannot connect, an undefined one', async () => {
    const p = await problems(`${OTLP_HTTP_AND_DEBUG}connectors:
  forward:
  forward/lonely:
service:
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [forward, forward/lonely, nope]
    traces:
      receivers: [forward]
      exporters: [debug]
`);
    // An undefined ID is reported on its own (the graph checks run on a config whose references resolve).
    expect(p).toEqual(['FILE:15: service.pipelines.logs.exporters.2: exporter "nope" is not defined under exporters:']);
    const p2 = await problems(`${OTLP_HTTP_AND_DEBUG}connectors:
  forward:
  forward/lonely:
service:
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [forward, forward/lonely]
    traces:
      receivers: [forward]
      exporters: [debug]
`);
    expect(p2).toEqual([
      'FILE:15: service.pipelines.logs.exporters: connector "forward" cannot take logs to any pipeline that receives from it (traces)',
      'FILE:17: service.pipelines.traces.receivers: connector "forward" cannot emit traces from any pipeline that exports to it (logs)',
      'FILE:10: connectors.forward/lonely: connector "forward/lonely" must be listed as an exporter of one pipeline and a receiver of another; it is only an exporter',
    ]);
  });
});

describe('forward connector', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('each receiving pipeline gets its own copy; the client is answered after both exporters accepted', async () => {
    const sinks: TestHttpServer[] = [await startHttpServer(), await startHttpServer()];
    for (const s of sinks) cleanups.push(() => s.close());
    const svc = await startGateway(
      gatewayYaml({
        processors: { 'transform/a': { log_statements: ['set(resource.attributes["branch"], "a")'] } },
        connectors: { forward: null },
        exporters: {
          'otlphttp/a': { endpoint: sinks[0]!.url, sending_queue: { enabled: false } },
          'otlphttp/b': { endpoint: sinks[1]!.url, sending_queue: { enabled: false } },
        },
        pipelines: {
          'logs/in': { exporters: ['forward'] },
          'logs/a': { receivers: ['forward'], processors: ['transform/a'], exporters: ['otlphttp/a'] },
          'logs/b': { receivers: ['forward'], exporters: ['otlphttp/b'] },
        },
      }),
    );
    cleanups.push(() => svc.shutdown(5000));
    sinks[1]!.reply = () => ({ status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(0), delayMs: 300 });
    const t0 = Date.now();
    const res = await fetch(`http://${receiverAddress(svc, 'otlp', 'http')}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: makeLogsRequest(1, 2),
    });
    expect(res.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    const branch = (s: TestHttpServer) =>
      fromKeyValues((decodeRequest('logs', s.requests[0]!.body) as ExportLogsServiceRequest).resourceLogs[0]!.resource!.attributes).get('branch') ?? null;
    expect(branch(sinks[0]!)).toBe('a');
    // Pipeline a's transform did not reach pipeline b's copy.
    expect(branch(sinks[1]!)).toBe(null);
  });
});
