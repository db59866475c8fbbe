/**
 * The datapoint context's exponential histogram fields, as the collector's OTTL reads and writes them:
 * scale, zero_count and each bucket range's offset and bucket_counts; on another point they read nil and
 * a write does nothing.
 */
import { describe, expect, it } from 'vitest';
import { Payload } from '../../src/pdata/payload.js';
import { requestFromJson, requestToJson } from '../../src/pdata/codec.js';
import { RecordingConsumer } from '../../test/helpers/otlp-test-servers.js';
import { settingsForTest, validConfig } from '../../test/helpers/component-config.js';
import { transformProcessorFactory } from './factory.js';
import type { TransformProcessor } from './transform-processor.js';

const T = '1700000000000000000';
const metrics = [
  {
    name: 'rpc.latency',
    exponentialHistogram: {
      aggregationTemporality: 2,
      dataPoints: [
        {
          timeUnixNano: T,
          count: '6',
          scale: 2,
          zeroCount: '1',
          positive: { offset: 3, bucketCounts: ['2', '1'] },
          negative: { offset: -1, bucketCounts: ['2'] },
        },
      ],
    },
  },
  { name: 'rpc.size', histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: T, count: '1', bucketCounts: ['1'], explicitBounds: [] }] } },
];

async function run(statements: string[]): Promise<any[]> {
  const sink = new RecordingConsumer();
  const cfg = validConfig(transformProcessorFactory, { error_mode: 'propagate', metric_statements: [{ context: 'datapoint', statements }] });
  const proc = transformProcessorFactory.create(settingsForTest('transform/exp', 'processor'), cfg, 'metrics', sink) as TransformProcessor;
  await proc.consume(new Payload('metrics', requestFromJson('metrics', JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics }] }] }))));
  return (JSON.parse(requestToJson('metrics', sink.got[0]!.bytes)) as any).resourceMetrics[0].scopeMetrics[0].metrics;
}

describe('datapoint exponential histogram fields', () => {
  it('reads scale, zero_count and the bucket ranges; another point reads nil', async () => {
    const out = await run([
      'set(attributes["scale"], scale)',
      'set(attributes["zero"], zero_count)',
      'set(attributes["pos"], Concat([positive.offset, Len(positive.bucket_counts)], "/")) where scale != nil',
      'set(attributes["neg"], Concat([negative.offset, Len(negative.bucket_counts)], "/")) where scale != nil',
      'set(attributes["nil_scale"], true) where scale == nil',
    ]);
    const attrs = (m: any) =>
      Object.fromEntries((m.exponentialHistogram ?? m.histogram).dataPoints[0].attributes.map((a: any) => [a.key, Object.values(a.value)[0]]));
    expect(attrs(out[0])).toEqual({ scale: '2', zero: '1', pos: '3/2', neg: '-1/1' });
    expect(attrs(out[1])).toEqual({ nil_scale: true });
  });

  it('writes scale, zero_count and the offsets of an exponential point only', async () => {
    const out = await run(['set(scale, 1)', 'set(zero_count, 0)', 'set(positive.offset, 4)', 'set(negative.offset, 0)']);
    expect(out[0].exponentialHistogram.dataPoints[0]).toMatchObject({
      scale: 1,
      positive: { offset: 4, bucketCounts: ['2', '1'] },
      negative: { bucketCounts: ['2'] },
    });
    expect(out[0].exponentialHistogram.dataPoints[0].zeroCount).toBeUndefined();
    expect(out[1].histogram.dataPoints[0]).not.toHaveProperty('scale');
  });
});
