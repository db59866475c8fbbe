import { describe, expect, it } from 'vitest';
import { Payload } from '../../src/pdata/payload.js';
import { decodeRequest } from '../../src/pdata/codec.js';
import { makeLogsRequest, makeMetricsRequest, makeTracesRequest, RecordingConsumer, testSettings } from '../../test/helpers/otlp-test-servers.js';
import { fromKeyValues } from '../../src/ottl/values.js';
import { countConnectorFactory } from './factory.js';
import { parseConfig } from '../../test/helpers/component-config.js';
import type { ExportMetricsServiceRequest } from '../../proto/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import type { Signal } from '../../src/core/signal.js';

function make(raw: Record<string, unknown>, from: Signal) {
  const { cfg, issues } = parseConfig(countConnectorFactory, raw);
  const sink = new RecordingConsumer();
  const settings = testSettings('count', 'connector');
  settings.telemetry.close();
  return {
    issues,
    conn: issues.length
      ? undefined
      : countConnectorFactory.create(settings, cfg, { from, to: 'metrics', pipelines: ['metrics'] }, new Map([['metrics', sink]])),
    sink,
  };
}

/** name -> [resource service.name, count] per resource. */
function counts(p: Payload): Record<string, [unknown, bigint][]> {
  const out: Record<string, [unknown, bigint][]> = {};
  for (const rm of (decodeRequest('metrics', p.bytes) as ExportMetricsServiceRequest).resourceMetrics) {
    expect(rm.scopeMetrics[0]!.scope!.name).toBe('github.com/open-telemetry/opentelemetry-collector-contrib/connector/countconnector');
    for (const m of rm.scopeMetrics[0]!.metrics) {
      expect(m.data.case).toBe('sum');
      if (m.data.case !== 'sum') continue;
      expect(m.data.value.isMonotonic).toBe(true);
      // No unit, as the collector's count metrics.
      expect(m.unit).toBe('');
      (out[m.name] ??= []).push([fromKeyValues(rm.resource!.attributes).get('service.name'), m.data.value.dataPoints[0]!.value.value as bigint]);
    }
  }
  return out;
}

describe('count connector', () => {
  it('default counts per resource: log records', async () => {
    const { conn, sink } = make({}, 'logs');
    await conn!.consume(new Payload('logs', makeLogsRequest(2, 3, 'c')));
    expect(counts(sink.got[0]!)).toEqual({
      'log.record.count': [
        ['c-svc-0', 3n],
        ['c-svc-1', 3n],
      ],
    });
  });

  it('default counts for spans and span events; custom counts with OTTL conditions', async () => {
    const d = make({}, 'traces');
    await d.conn!.consume(new Payload('traces', makeTracesRequest(4)));
    const got = counts(d.sink.got[0]!);
    expect(got['trace.span.count']![0]![1]).toBe(4n);
    // These spans have no events: nothing counted, no metric (as the collector's).
    expect(got['trace.span.event.count']).toBeUndefined();
    const c = make({ spans: { 'spans.first': { description: 'the first', conditions: ['attributes["i"] == 0', 'name == "s-span-0"'] } } }, 'traces');
    expect(c.issues).toEqual([]);
    await c.conn!.consume(new Payload('traces', makeTracesRequest(4)));
    const custom = counts(c.sink.got[0]!);
    expect(custom).toEqual({ 'spans.first': [['s-svc', 1n]] });
  });

  it('refuses what it does not do yet, and bad conditions', () => {
    expect(make({ profiles: { n: {} } }, 'logs').issues[0]).toEqual({
      path: ['profiles'],
      message: 'not supported yet by GopherShip (counts profiles (GopherShip has no profiles signal))',
    });
    // As the collector: metric counts cannot be grouped; an attribute needs its key.
    expect(make({ metrics: { n: { attributes: [{ key: 'a' }] } } }, 'metrics').issues[0]!.path).toEqual(['metrics', 'n', 'attributes']);
    expect(make({ logs: { n: { attributes: [{ default_value: 'x' }] } } }, 'logs').issues[0]!.path).toEqual(['logs', 'n', 'attributes', '0', 'key']);
    expect(make({ logs: { n: { conditions: ['name =='] } } }, 'logs').issues[0]!.path).toEqual(['logs', 'n', 'conditions', '0']);
    // any_depth (the collector's testdata sets it on a log attribute): off is the key alone, on is not built.
    expect(make({ logs: { n: { attributes: [{ key: 'env.region', any_depth: false }] } } }, 'logs').issues).toEqual([]);
    expect(make({ logs: { n: { attributes: [{ key: 'env.region', any_depth: true }] } } }, 'logs').issues).toEqual([
      { path: ['logs', 'n', 'attributes', '0', 'any_depth'], message: 'not supported yet by GopherShip (finds the key inside nested map attributes too)' },
    ]);
    expect(countConnectorFactory.supports('traces', 'metrics')).toBe(true);
    expect(countConnectorFactory.supports('traces', 'traces')).toBe(false);
  });

  it('metrics: default names metric.count and metric.datapoint.count, as the collector', async () => {
    const { conn, sink } = make({}, 'metrics');
    await conn!.consume(new Payload('metrics', makeMetricsRequest(3)));
    expect(Object.keys(counts(sink.got[0]!)).sort()).toEqual(['metric.count', 'metric.datapoint.count']);
  });

  it("attributes: a count per set of values (record, then scope, then resource attribute, else default_value); the collector README's example", async () => {
    const { conn, sink, issues } = make(
      {
        logs: {
          'my.log.count': { description: 'The number of logs from each environment.', attributes: [{ key: 'env', default_value: 'unspecified_environment' }] },
          'by.i': { attributes: [{ key: 'i' }, { key: 'service.name' }] },
          'by.tier': { attributes: [{ key: 'tier', default_value: 1.5 }] },
          'needs.env': { attributes: [{ key: 'env' }] },
          'none.matched': { conditions: ['body == "nope"'] },
        },
      },
      'logs',
    );
    expect(issues).toEqual([]);
    // Two resources of three records each, record attribute i = 0, 1, 2 (an int).
    await conn!.consume(new Payload('logs', makeLogsRequest(2, 3, 'g')));
    const rms = (decodeRequest('metrics', sink.got[0]!.bytes) as ExportMetricsServiceRequest).resourceMetrics;
    expect(rms).toHaveLength(2);
    const points = (name: string) =>
      rms[1]!.scopeMetrics[0]!.metrics.filter((m) => m.name === name)
        .flatMap((m) => (m.data.case === 'sum' ? m.data.value.dataPoints : []))
        .map((p) => [Object.fromEntries(p.attributes.map((kv) => [kv.key, kv.value!.value.value])), p.value.value]);
    expect(points('my.log.count')).toEqual([[{ env: 'unspecified_environment' }, 3n]]);
    // An int attribute stays an int; service.name comes from the resource.
    expect(points('by.i')).toEqual([
      [{ i: 0n, 'service.name': 'g-svc-1' }, 1n],
      [{ i: 1n, 'service.name': 'g-svc-1' }, 1n],
      [{ i: 2n, 'service.name': 'g-svc-1' }, 1n],
    ]);
    expect(points('by.tier')).toEqual([[{ tier: 1.5 }, 3n]]);
    // Nothing counted: no metric (an item without env and no default is not counted).
    expect(rms[1]!.scopeMetrics[0]!.metrics.map((m) => m.name)).toEqual(['my.log.count', 'by.i', 'by.tier']);
    // A request where no count counts anything sends nothing.
    const nothing = make({ logs: { 'none.matched': { conditions: ['body == "nope"'] } } }, 'logs');
    await nothing.conn!.consume(new Payload('logs', makeLogsRequest(2, 3, 'g')));
    expect(nothing.sink.got).toEqual([]);
  });
});
