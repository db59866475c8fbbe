import { AggregatorRegistry, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SeriesHistogram } from './histogram.js';

const make = (registry = new Registry()) =>
  new SeriesHistogram({ name: 'test_size', help: 'Sizes', labelNames: ['processor'], buckets: [10, 25, 50] }, registry);

describe('SeriesHistogram', () => {
  it("writes prom-client's histogram lines: cumulative buckets whose bound is inclusive, +Inf, sum and count", async () => {
    const registry = new Registry();
    const series = make(registry).labels({ processor: 'batch' });
    for (const v of [10, 11, 25, 60]) series.observe(v);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE test_size histogram');
    expect(text).toContain('test_size_bucket{le="10",processor="batch"} 1\n');
    expect(text).toContain('test_size_bucket{le="25",processor="batch"} 3\n');
    expect(text).toContain('test_size_bucket{le="50",processor="batch"} 3\n');
    expect(text).toContain('test_size_bucket{le="+Inf",processor="batch"} 4\n');
    expect(text).toContain('test_size_sum{processor="batch"} 106\n');
    expect(text).toContain('test_size_count{processor="batch"} 4\n');
    registry.resetMetrics();
    expect(await registry.metrics()).toContain('test_size_count{processor="batch"} 0\n');
  });

  it('adds up across registries bucket by bucket (the primary of worker processes), and refuses an undeclared label', async () => {
    const [a, b] = [new Registry(), new Registry()];
    make(a).labels({ processor: 'batch' }).observe(5);
    make(b).labels({ processor: 'batch' }).observe(30);
    const sum = await AggregatorRegistry.aggregate([await a.getMetricsAsJSON(), await b.getMetricsAsJSON()]).metrics();
    expect(sum).toContain('test_size_bucket{le="10",processor="batch"} 1\n');
    expect(sum).toContain('test_size_bucket{le="50",processor="batch"} 2\n');
    expect(sum).toContain('test_size_sum{processor="batch"} 35\n');
    expect(() => make().labels({ exporter: 'x' })).toThrow(/label exporter is not one of processor/);
  });
});
