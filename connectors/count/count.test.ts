import { describe, expect, it } from 'vitest';
import { Payload } from '../../src/pdata/payload.js';
import { decodeRequest } from '../../src/pdata/codec.js';
import { makeLogsRequest, makeTracesRequest, RecordingConsumer, testSettings } from '../../test/helpers/otlp-test-servers.js';
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
    for (const m of rm.scopeMetrics[0]!.metrics) {
      expect(m.data.case).toBe('sum');
      if (m.data.case !== 'sum') continue;
      expect(m.data.value.isMonotonic).toBe(true);
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
    expect(got['trace.span.event.count']).toBeDefined();
    const c = make({ spans: { 'spans.first': { description: 'the first', conditions: ['attributes["i"] == 0', 'name == "nope"'] } } }, 'traces');
    expect(c.issues).toEqual([]);
    await c.conn!.consume(new Payload('traces', makeTracesRequest(4)));
    const custom = counts(c.sink.got[0]!);
    expect(Object.keys(custom).sort()).toEqual(['spans.first', 'trace.span.event.count']);
  });

  it('refuses what it does not do yet, and bad conditions', () => {
    expect(make({ logs: { n: { attributes: [{ key: 'a' }] } } }, 'logs').issues[0]).toEqual({
      path: ['logs', 'n', 'attributes'],
      message: 'grouping counts by attributes is not supported yet',
    });
    expect(make({ logs: { n: { conditions: ['name =='] } } }, 'logs').issues[0]!.path).toEqual(['logs', 'n', 'conditions', '0']);
    expect(countConnectorFactory.supports('traces', 'metrics')).toBe(true);
    expect(countConnectorFactory.supports('traces', 'traces')).toBe(false);
  });
});
