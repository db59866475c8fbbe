// The requests of the loadbalancing benchmarks (bench/loadbalancing.mjs, bench/loadbalancing-split.mjs).
import { requestFromJson } from '../../dist/src/pdata/codec.js';

/**
 * A traces request of `spans` spans of one resource and scope: traces of 10 adjacent spans, or with
 * `interleave` 100 traces whose spans alternate. About 200 bytes a span.
 */
export function tracesRequest(seed, spans = 1000, interleave = false) {
  const list = [];
  for (let i = 0; i < spans; i++) {
    const trace = (seed * 1_000_003 + (interleave ? i % 100 : Math.floor(i / 10))) >>> 0;
    list.push({
      traceId: trace.toString(16).padStart(8, '0').repeat(4),
      spanId: (i + 1).toString(16).padStart(16, '0'),
      name: `GET /api/v1/items/${i % 50}`,
      kind: 2,
      startTimeUnixNano: '1700000000000000000',
      endTimeUnixNano: '1700000000001000000',
      attributes: [
        { key: 'http.method', value: { stringValue: 'GET' } },
        { key: 'http.route', value: { stringValue: '/api/v1/items/:id' } },
        { key: 'http.status_code', value: { intValue: '200' } },
      ],
    });
  }
  const resourceSpans = [
    { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bench' } }] }, scopeSpans: [{ scope: { name: 'bench' }, spans: list }] },
  ];
  return requestFromJson('traces', JSON.stringify({ resourceSpans }));
}

/** A metrics request: one resource and scope, 100 monotonic sums of 10 points (host x status code): 1000 points, 10 streams a metric. */
export function metricsRequest(seed) {
  const metrics = [];
  for (let m = 0; m < 100; m++) {
    const dataPoints = [];
    for (let p = 0; p < 10; p++)
      dataPoints.push({
        attributes: [
          { key: 'host', value: { stringValue: `host-${p % 5}` } },
          { key: 'http.status_code', value: { intValue: String(200 + (p >> 2)) } },
        ],
        startTimeUnixNano: '1700000000000000000',
        timeUnixNano: String(1700000000000000000n + BigInt(seed)),
        asInt: String(seed * 10 + p),
      });
    metrics.push({ name: `http.server.requests.${m}`, unit: '{request}', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints } });
  }
  const resourceMetrics = [
    { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bench' } }] }, scopeMetrics: [{ scope: { name: 'bench' }, metrics }] },
  ];
  return requestFromJson('metrics', JSON.stringify({ resourceMetrics }));
}
