/**
 * The transform processor's metrics-only functions (its README, "Metrics only functions") on an OTLP/JSON
 * request holding every metric type, through the processor: the output is compared whole, as OTLP/JSON.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { Payload } from '../../src/pdata/payload.js';
import { requestFromJson, requestToJson } from '../../src/pdata/codec.js';
import { PermanentError } from '../../src/core/errors.js';
import { counterValue, RecordingConsumer } from '../../test/helpers/otlp-test-servers.js';
import { parseConfig, settingsForTest, validConfig } from '../../test/helpers/component-config.js';
import { transformProcessorFactory } from './factory.js';
import type { TransformProcessor } from './transform-processor.js';

const attr = (key: string, v: string) => ({ key, value: { stringValue: v } });
const T0 = '1700000000000000000';
const T1 = '1700000010000000000';

/** Every metric type, as an SDK or a collector sends them (int64 and fixed64 as strings, as OTLP/JSON writes them). */
const METRICS = {
  requests: {
    name: 'http.requests',
    description: 'requests served',
    unit: '1',
    sum: {
      aggregationTemporality: 2,
      isMonotonic: true,
      dataPoints: [
        {
          attributes: [attr('route', '/a')],
          startTimeUnixNano: T0,
          timeUnixNano: T1,
          asInt: '10',
          exemplars: [{ timeUnixNano: T1, asInt: '1', traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '0102030405060708' }],
        },
        { attributes: [attr('route', '/b')], startTimeUnixNano: T0, timeUnixNano: T1, asDouble: 2.5 },
      ],
    },
  },
  queue: {
    name: 'queue.depth',
    unit: '{item}',
    gauge: { dataPoints: [{ attributes: [attr('queue', 'q1')], timeUnixNano: T1, asInt: '7' }] },
  },
  duration: {
    name: 'http.duration',
    description: 'request duration',
    unit: 'ms',
    histogram: {
      aggregationTemporality: 1,
      dataPoints: [
        {
          attributes: [attr('route', '/a')],
          startTimeUnixNano: T0,
          timeUnixNano: T1,
          count: '3',
          sum: 12.5,
          bucketCounts: ['1', '1', '1'],
          explicitBounds: [5, 10],
          min: 1,
          max: 11,
          exemplars: [{ timeUnixNano: T1, asDouble: 4 }],
        },
        // No sum (a histogram of negative values may leave it out): extract_sum_metric skips the point.
        { attributes: [attr('route', '/b')], startTimeUnixNano: T0, timeUnixNano: T1, count: '2', bucketCounts: ['2', '0', '0'], explicitBounds: [5, 10] },
      ],
    },
  },
  latency: {
    name: 'rpc.latency',
    unit: 's',
    exponentialHistogram: {
      aggregationTemporality: 2,
      dataPoints: [
        { startTimeUnixNano: T0, timeUnixNano: T1, count: '4', sum: 8, scale: 1, zeroCount: '1', positive: { offset: 1, bucketCounts: ['2', '1'] } },
      ],
    },
  },
  pause: {
    name: 'gc.pause',
    description: 'gc pauses',
    unit: 's',
    summary: {
      dataPoints: [
        {
          attributes: [attr('gen', 'young')],
          startTimeUnixNano: T0,
          timeUnixNano: T1,
          count: '5',
          sum: 1.5,
          quantileValues: [
            { quantile: 0.5, value: 0.25 },
            { quantile: 0.99, value: 0.75 },
          ],
        },
        { attributes: [attr('gen', 'old')], startTimeUnixNano: T0, timeUnixNano: T1, count: '2', sum: 0.25 },
      ],
    },
  },
} as const;

type MetricJson = Record<string, any>;
const ALL = Object.values(METRICS) as unknown as MetricJson[];

function request(metrics: readonly MetricJson[] = ALL): Uint8Array {
  return requestFromJson(
    'metrics',
    JSON.stringify({ resourceMetrics: [{ resource: { attributes: [attr('service.name', 'shop')] }, scopeMetrics: [{ scope: { name: 'meter' }, metrics }] }] }),
  );
}

/** A metric as requestToJson renders it (int64 as strings, defaults left out, ids in hex). */
const rendered = (m: MetricJson): MetricJson => (JSON.parse(requestToJson('metrics', request([m]))) as any).resourceMetrics[0].scopeMetrics[0].metrics[0];

function make(raw: Record<string, unknown>) {
  const settings = settingsForTest('transform/metrics', 'processor');
  const sink = new RecordingConsumer();
  const proc = transformProcessorFactory.create(settings, validConfig(transformProcessorFactory, raw), 'metrics', sink) as TransformProcessor;
  return { proc, sink, settings };
}

/** Runs the statements on the request; the scope's metrics after them, as OTLP/JSON. */
async function run(statements: unknown[], metrics: readonly MetricJson[] = ALL, errorMode = 'propagate'): Promise<MetricJson[]> {
  const { proc, sink } = make({ error_mode: errorMode, metric_statements: statements });
  await proc.consume(new Payload('metrics', request(metrics)));
  return (JSON.parse(requestToJson('metrics', sink.got[0]!.bytes)) as any).resourceMetrics[0].scopeMetrics[0].metrics;
}

const problems = (statements: unknown[]) =>
  parseConfig(transformProcessorFactory, { metric_statements: statements })
    .issues.map((i) => `${i.path.join('.')}: ${i.message}`)
    .join('\n');

describe('transform: converting sums and gauges', () => {
  it('convert_sum_to_gauge turns a sum into a gauge with the same points (exemplars too); other types are left as they are', async () => {
    const out = await run(['convert_sum_to_gauge()']);
    const { sum, ...rest } = rendered(METRICS.requests);
    expect(out[0]).toEqual({ ...rest, gauge: { dataPoints: sum.dataPoints } });
    expect(out[0]!.gauge.dataPoints[0].exemplars).toHaveLength(1);
    expect(out.slice(1)).toEqual(ALL.slice(1).map(rendered));
  });

  it('convert_sum_to_gauge on a gauge does nothing; a where clause picks the metric', async () => {
    expect(await run(['convert_sum_to_gauge() where metric.name == "queue.depth"'])).toEqual(ALL.map(rendered));
  });

  it('convert_gauge_to_sum sets the temporality and monotonicity given; a sum is left as it is', async () => {
    const out = await run(['convert_gauge_to_sum("delta", true)']);
    const { gauge, ...rest } = rendered(METRICS.queue);
    expect(out[1]).toEqual({ ...rest, sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: gauge.dataPoints } });
    expect(out[0]).toEqual(rendered(METRICS.requests));

    const cumulative = await run(['convert_gauge_to_sum("cumulative", false) where metric.name == "queue.depth"']);
    // isMonotonic false is the default, so OTLP/JSON leaves it out.
    expect(cumulative[1]!.sum).toEqual({ aggregationTemporality: 2, dataPoints: gauge.dataPoints });
  });

  it('a sum turned into a gauge and back is the sum again', async () => {
    const out = await run([
      'convert_sum_to_gauge() where metric.name == "http.requests"',
      'convert_gauge_to_sum("cumulative", true) where metric.name == "http.requests"',
    ]);
    expect(out).toEqual(ALL.map(rendered));
  });
});

describe('transform: extract_sum_metric and extract_count_metric', () => {
  it("extract_sum_metric appends <name>_sum after the scope's metrics: a Sum of each point's sum, with the histogram's temporality, description and unit", async () => {
    const out = await run(['extract_sum_metric(true) where metric.name == "http.duration"']);
    expect(out.slice(0, 5)).toEqual(ALL.map(rendered));
    expect(out[5]).toEqual({
      name: 'http.duration_sum',
      description: 'request duration',
      unit: 'ms',
      sum: {
        aggregationTemporality: 1,
        isMonotonic: true,
        // The point without a sum gives none; exemplars, bounds and flags are not carried.
        dataPoints: [{ attributes: [attr('route', '/a')], startTimeUnixNano: T0, timeUnixNano: T1, asDouble: 12.5 }],
      },
    });
    expect(out).toHaveLength(6);
  });

  it('from a summary the new sum is cumulative; from an exponential histogram it keeps its temporality; a suffix names it', async () => {
    const out = await run(['extract_sum_metric(false, ".sum") where metric.name == "gc.pause" or metric.name == "rpc.latency"']);
    expect(out.slice(5)).toEqual([
      {
        name: 'rpc.latency.sum',
        unit: 's',
        sum: { aggregationTemporality: 2, dataPoints: [{ startTimeUnixNano: T0, timeUnixNano: T1, asDouble: 8 }] },
      },
      {
        name: 'gc.pause.sum',
        description: 'gc pauses',
        unit: 's',
        sum: {
          aggregationTemporality: 2,
          dataPoints: [
            { attributes: [attr('gen', 'young')], startTimeUnixNano: T0, timeUnixNano: T1, asDouble: 1.5 },
            { attributes: [attr('gen', 'old')], startTimeUnixNano: T0, timeUnixNano: T1, asDouble: 0.25 },
          ],
        },
      },
    ]);
  });

  it("extract_count_metric appends <name>_count: an int Sum of every point's count", async () => {
    const out = await run(['extract_count_metric(true) where metric.name == "http.duration"', 'extract_count_metric(false) where metric.name == "gc.pause"']);
    expect(out.slice(5)).toEqual([
      {
        name: 'http.duration_count',
        description: 'request duration',
        unit: 'ms',
        sum: {
          aggregationTemporality: 1,
          isMonotonic: true,
          dataPoints: [
            { attributes: [attr('route', '/a')], startTimeUnixNano: T0, timeUnixNano: T1, asInt: '3' },
            { attributes: [attr('route', '/b')], startTimeUnixNano: T0, timeUnixNano: T1, asInt: '2' },
          ],
        },
      },
      {
        name: 'gc.pause_count',
        description: 'gc pauses',
        unit: 's',
        sum: {
          aggregationTemporality: 2,
          dataPoints: [
            { attributes: [attr('gen', 'young')], startTimeUnixNano: T0, timeUnixNano: T1, asInt: '5' },
            { attributes: [attr('gen', 'old')], startTimeUnixNano: T0, timeUnixNano: T1, asInt: '2' },
          ],
        },
      },
    ]);
  });

  it('a histogram without points gives no new metric', async () => {
    const empty = { name: 'empty.hist', histogram: { aggregationTemporality: 2, dataPoints: [] } };
    expect(await run(['extract_sum_metric(true)', 'extract_count_metric(true)'], [empty])).toEqual([rendered(empty)]);
  });

  it('the new metric meets the statements after the one that made it, as the collector passes it on', async () => {
    const out = await run([
      'extract_sum_metric(true) where metric.name == "http.duration"',
      'set(metric.description, "extracted") where metric.name == "http.duration_sum"',
    ]);
    expect(out[5]).toMatchObject({ name: 'http.duration_sum', description: 'extracted' });
  });

  it('on a gauge or a sum it is an error, as the collector: propagate refuses the request, ignore logs it and goes on', async () => {
    const { proc } = make({ error_mode: 'propagate', metric_statements: ['extract_sum_metric(true) where metric.name == "queue.depth"'] });
    const err = await proc.consume(new Payload('metrics', request())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toBe(
      'processor transform/metrics: failed to execute "extract_sum_metric(true) where metric.name == "queue.depth"": extract_sum_metric requires an input metric of type Histogram, ExponentialHistogram or Summary, got Gauge',
    );

    const ignoring = make({ error_mode: 'ignore', metric_statements: ['extract_count_metric(true)'] });
    await ignoring.proc.consume(new Payload('metrics', request()));
    const out = (JSON.parse(requestToJson('metrics', ignoring.sink.got[0]!.bytes)) as any).resourceMetrics[0].scopeMetrics[0].metrics as MetricJson[];
    // The sum and the gauge fail (logged); the three others each give a count metric.
    expect(out.map((m) => m.name)).toEqual([...ALL.map((m) => m.name), 'http.duration_count', 'rpc.latency_count', 'gc.pause_count']);
    const warned = ignoring.settings.logs.filter((l) => String(l.msg ?? l.message).includes('OTTL statement failed'));
    // The sum, the gauge, then the three new sums: the loop reaches them too, as the collector's does.
    expect(warned.map((l) => String(l.error).replace(/.* got /, ''))).toEqual(['Sum', 'Gauge', 'Sum', 'Sum', 'Sum']);
    expect(warned[0]!.error).toBe('extract_count_metric requires an input metric of type Histogram, ExponentialHistogram or Summary, got Sum');
  });
});

describe('transform: convert_summary_sum_val_to_sum and convert_summary_count_val_to_sum', () => {
  it("a Sum of the summary's sums with the temporality and monotonicity given, appended once for the summary (datapoint context)", async () => {
    const out = await run(['convert_summary_sum_val_to_sum("delta", false) where metric.name == "gc.pause"']);
    expect(out.slice(0, 5)).toEqual(ALL.map(rendered));
    expect(out.slice(5)).toEqual([
      {
        name: 'gc.pause_sum',
        description: 'gc pauses',
        unit: 's',
        sum: {
          aggregationTemporality: 1,
          dataPoints: [
            { attributes: [attr('gen', 'young')], startTimeUnixNano: T0, timeUnixNano: T1, asDouble: 1.5 },
            { attributes: [attr('gen', 'old')], startTimeUnixNano: T0, timeUnixNano: T1, asDouble: 0.25 },
          ],
        },
      },
    ]);
  });

  it('a where clause on the data point decides on any point of the summary; every point is taken, once', async () => {
    const out = await run(['convert_summary_sum_val_to_sum("delta", false) where datapoint.attributes["gen"] == "old"']);
    expect(out.map((m) => m.name)).toEqual([...ALL.map((m) => m.name), 'gc.pause_sum']);
    expect(out[5]!.sum.dataPoints.map((p: any) => p.asDouble)).toEqual([1.5, 0.25]);
  });

  it('the counts, with a suffix; other metric types are left alone', async () => {
    const out = await run(['convert_summary_count_val_to_sum("cumulative", true, ".count")']);
    expect(out.slice(0, 5)).toEqual(ALL.map(rendered));
    expect(out.slice(5)).toEqual([
      {
        name: 'gc.pause.count',
        description: 'gc pauses',
        unit: 's',
        sum: {
          aggregationTemporality: 2,
          isMonotonic: true,
          dataPoints: [
            { attributes: [attr('gen', 'young')], startTimeUnixNano: T0, timeUnixNano: T1, asInt: '5' },
            { attributes: [attr('gen', 'old')], startTimeUnixNano: T0, timeUnixNano: T1, asInt: '2' },
          ],
        },
      },
    ]);
  });
});

describe('transform: copy_metric', () => {
  it('appends a copy of the metric, with the name, description and unit given', async () => {
    const out = await run(['copy_metric(name="http.requests.copy", unit="req") where metric.name == "http.requests"']);
    expect(out.slice(0, 5)).toEqual(ALL.map(rendered));
    expect(out[5]).toEqual({ ...rendered(METRICS.requests), name: 'http.requests.copy', unit: 'req' });
    expect(out).toHaveLength(6);
  });

  it('the new name may be an expression on the metric; a copy is a new metric (editing it leaves the original)', async () => {
    const out = await run([
      'copy_metric(Concat([metric.name, "v2"], "."), "second") where metric.name == "queue.depth"',
      'scale_metric(2.0) where metric.name == "queue.depth.v2"',
    ]);
    expect(out[1]).toEqual(rendered(METRICS.queue));
    const { gauge, ...rest } = rendered(METRICS.queue);
    expect(out[5]).toEqual({ ...rest, name: 'queue.depth.v2', description: 'second', gauge: { dataPoints: [{ ...gauge.dataPoints[0], asInt: '14' }] } });
  });

  it('without a where clause each metric is copied once (a statement does not copy its own copies; the collector copies forever)', async () => {
    const out = await run(['copy_metric()']);
    expect(out).toEqual([...ALL, ...ALL].map(rendered));
  });
});

describe('transform: scale_metric', () => {
  it('a histogram: sum, min, max, bounds and exemplars scaled, bucket counts kept; the unit set', async () => {
    const out = await run(['scale_metric(0.001, "s") where metric.name == "http.duration"']);
    const h = rendered(METRICS.duration);
    const [p0, p1] = h.histogram.dataPoints;
    expect(out[2]).toEqual({
      ...h,
      unit: 's',
      histogram: {
        aggregationTemporality: 1,
        dataPoints: [
          { ...p0, sum: 0.0125, min: 0.001, max: 0.011, explicitBounds: [0.005, 0.01], exemplars: [{ ...p0.exemplars[0], asDouble: 0.004 }] },
          { ...p1, explicitBounds: [0.005, 0.01] },
        ],
      },
    });
    expect(out.filter((_, i) => i !== 2)).toEqual(ALL.filter((_, i) => i !== 2).map(rendered));
  });

  it('sums and gauges: int values truncated toward zero as Go converts, doubles multiplied; exemplars of number points kept', async () => {
    const out = await run(['scale_metric(1.5)'], [METRICS.requests, METRICS.queue]);
    const s = rendered(METRICS.requests);
    expect(out[0]).toEqual({
      ...s,
      sum: {
        ...s.sum,
        dataPoints: [
          { ...s.sum.dataPoints[0], asInt: '15' },
          { ...s.sum.dataPoints[1], asDouble: 3.75 },
        ],
      },
    });
    expect(out[1]!.gauge.dataPoints[0].asInt).toBe('10');
  });

  it('a summary: its sums and quantile values', async () => {
    const out = await run(['scale_metric(10)'], [METRICS.pause]);
    const [q0, q1] = out[0]!.summary.dataPoints;
    expect([q0.sum, q0.quantileValues, q1.sum]).toEqual([
      15,
      [
        { quantile: 0.5, value: 2.5 },
        { quantile: 0.99, value: 7.5 },
      ],
      2.5,
    ]);
  });

  it('an exponential histogram is an error, as the collector', async () => {
    const { proc } = make({ metric_statements: ['scale_metric(2.0)'] });
    await expect(proc.consume(new Payload('metrics', request([METRICS.latency])))).rejects.toThrow(/exponential histograms are not supported by scale_metric/);
  });
});

describe('transform: the metrics-only functions refused at config load', () => {
  it.each([
    ['convert_gauge_to_sum("weekly", true)', 'column 22: convert_gauge_to_sum: unknown aggregation temporality "weekly"; use "cumulative" or "delta"'],
    ['convert_gauge_to_sum("delta", "yes")', 'column 31: convert_gauge_to_sum: is_monotonic must be true or false'],
    ['convert_gauge_to_sum(metric.name, true)', 'column 22: convert_gauge_to_sum: aggregation_temporality must be a string literal'],
    ['extract_sum_metric()', 'column 1: extract_sum_metric needs its is_monotonic argument: extract_sum_metric(is_monotonic, Optional[suffix])'],
    ['extract_count_metric(true, 1)', 'column 28: extract_count_metric: suffix must be a string literal'],
    ['convert_summary_sum_val_to_sum("delta")', 'column 1: convert_summary_sum_val_to_sum needs its is_monotonic argument'],
    ['scale_metric("x")', 'column 14: scale_metric: factor must be a number literal, e.g. 0.001'],
    ['scale_metric(2.0, 3)', 'column 19: scale_metric: unit must be a string'],
    ['copy_metric(name=1)', 'column 18: copy_metric: name must be a string'],
    ['copy_metric(title="x")', 'column 19: copy_metric has no parameter "title"; its parameters: name, description, unit'],
    ['convert_sum_to_gauge(true)', 'column 22: convert_sum_to_gauge takes at most 0 arguments ()'],
  ])('%s', (statement, message) => {
    expect(problems([statement])).toContain(`metric_statements.0: in "${statement}", ${message}`);
  });

  it('a metric-context function in a datapoint group is refused, as the collector has it in the metric context only', () => {
    expect(problems([{ context: 'datapoint', statements: ['convert_sum_to_gauge()'] }])).toBe(
      'metric_statements.0.statements.0: in "convert_sum_to_gauge()", column 1: convert_sum_to_gauge is a metrics-only function of the transform processor: ' +
        'it runs in the metric context only (this statement is in the datapoint context)',
    );
    expect(problems([{ context: 'metric', statements: ['convert_summary_sum_val_to_sum("delta", true)'] }])).toContain(
      'convert_summary_sum_val_to_sum is a metrics-only function of the transform processor: it runs in the datapoint context only (this statement is in the metric context)',
    );
  });

  it("beside a datapoint path in one list it is refused, saying the list shares the datapoint context and how to split it (the collector's README example)", () => {
    const msg = problems(['convert_sum_to_gauge() where metric.name == "system.processes.count"', 'limit(datapoint.attributes, 100, ["host.name"])']);
    expect(msg).toContain(
      'metric_statements.0: in "convert_sum_to_gauge() where metric.name == "system.processes.count"", column 1: convert_sum_to_gauge is a metrics-only function',
    );
    expect(msg).toContain("(the list's plain statements run together in one context, datapoint, inferred from datapoint.attributes");
    // As two groups, as the collector's README writes it, the config loads.
    expect(
      problems([
        { statements: ['convert_sum_to_gauge() where metric.name == "system.processes.count"'] },
        { statements: ['limit(datapoint.attributes, 100, ["host.name"])'] },
      ]),
    ).toBe('');
  });

  it('in trace or log statements it is refused too', () => {
    const msg = parseConfig(transformProcessorFactory, { trace_statements: ['copy_metric()'] }).issues.map((i) => i.message);
    expect(msg).toEqual([
      'in "copy_metric()", column 1: copy_metric is a metrics-only function of the transform processor: it runs in the metric context only (this statement is in the span context)',
    ]);
  });
});

describe('transform README: the metrics-only functions example', () => {
  it('loads as written', () => {
    const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Metrics-only functions'));
    const block = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    const cfg = (parse(block) as { processors: { transform: Record<string, unknown> } }).processors.transform;
    expect((cfg.metric_statements as unknown[]).length).toBe(9);
    expect(parseConfig(transformProcessorFactory, cfg).issues).toEqual([]);
  });
});

describe('transform: aggregate_on_attributes and aggregate_on_attribute_value', () => {
  const T2 = '1700000005000000000';
  const cpuPoint = (cpu: string, state: string, value: number, start = T0) => ({
    attributes: [attr('cpu', cpu), attr('state', state), attr('host', 'a')],
    startTimeUnixNano: start,
    timeUnixNano: T1,
    asDouble: value,
  });
  const CPU = {
    name: 'cpu.time',
    unit: 's',
    gauge: {
      dataPoints: [cpuPoint('0', 'user', 1), cpuPoint('1', 'user', 3, T2), cpuPoint('0', 'system', 2), cpuPoint('1', 'system', 6), cpuPoint('2', 'system', 7)],
    },
  };
  const values = (m: MetricJson) => (m.gauge ?? m.sum).dataPoints.map((p: any) => [p.attributes ?? [], p.asDouble ?? p.asInt]);

  it.each([
    ['sum', 4, 15],
    ['mean', 2, 5],
    ['min', 1, 2],
    ['max', 3, 7],
    ['median', 2, 6],
    ['count', 2, 3],
  ])('%s over the attributes kept: one point per remaining attribute set, with the earliest start time', async (fn, user, system) => {
    const [out] = await run([`aggregate_on_attributes("${fn}", ["state"]) where metric.name == "cpu.time"`], [CPU]);
    expect(out).toEqual({
      name: 'cpu.time',
      unit: 's',
      gauge: {
        dataPoints: [
          { attributes: [attr('state', 'user')], startTimeUnixNano: T0, timeUnixNano: T1, asDouble: user },
          { attributes: [attr('state', 'system')], startTimeUnixNano: T0, timeUnixNano: T1, asDouble: system },
        ],
      },
    });
  });

  it('[] drops every attribute and aggregates all points; without the list only points with the same attributes merge', async () => {
    expect(values((await run(['aggregate_on_attributes("sum", [])'], [CPU]))[0]!)).toEqual([[[], 19]]);
    expect(await run(['aggregate_on_attributes("max")'], [CPU])).toEqual([rendered(CPU)]);
  });

  it('int sums: delta points merge only with the same start time, cumulative ones take the earliest; mean truncates', async () => {
    const point = (route: string, v: string, start: string) => ({ attributes: [attr('route', route)], startTimeUnixNano: start, timeUnixNano: T1, asInt: v });
    const sum = (temporality: number) => ({
      name: 'reqs',
      sum: { aggregationTemporality: temporality, isMonotonic: true, dataPoints: [point('/a', '10', T2), point('/b', '5', T0), point('/c', '4', T2)] },
    });
    expect(values((await run(['aggregate_on_attributes("sum", [])'], [sum(1)]))[0]!)).toEqual([
      [[], '14'],
      [[], '5'],
    ]);
    const [cumulative] = await run(['aggregate_on_attributes("mean", [])'], [sum(2)]);
    expect(cumulative!.sum.dataPoints).toEqual([{ startTimeUnixNano: T0, timeUnixNano: T1, asInt: '6' }]);
  });

  it('histograms are summed: count, sum, min, max, buckets, exemplars (points with other bounds stay apart)', async () => {
    const point = (host: string, count: string, sum: number, buckets: string[], bounds = [5, 10]) => ({
      attributes: [attr('route', '/a'), attr('host', host)],
      startTimeUnixNano: T0,
      timeUnixNano: T1,
      count,
      sum,
      bucketCounts: buckets,
      explicitBounds: bounds,
      min: sum / 4,
      max: sum,
      exemplars: [{ timeUnixNano: T1, asDouble: sum }],
    });
    const hist = {
      name: 'lat',
      histogram: {
        aggregationTemporality: 2,
        dataPoints: [point('x', '3', 12, ['1', '1', '1']), point('y', '2', 20, ['0', '1', '1']), point('z', '1', 2, ['1', '0'], [5])],
      },
    };
    const [out] = await run(['aggregate_on_attributes("sum", ["route"])'], [hist]);
    const route = [attr('route', '/a')];
    expect(out!.histogram.dataPoints).toEqual([
      {
        attributes: route,
        startTimeUnixNano: T0,
        timeUnixNano: T1,
        count: '5',
        sum: 32,
        bucketCounts: ['1', '2', '2'],
        explicitBounds: [5, 10],
        min: 3,
        max: 20,
        exemplars: [
          { timeUnixNano: T1, asDouble: 12 },
          { timeUnixNano: T1, asDouble: 20 },
        ],
      },
      { ...rendered(hist).histogram.dataPoints[2], attributes: route },
    ]);
  });

  it('exponential histograms: counts, zero counts and buckets of the same scale and offsets added', async () => {
    const point = (host: string, positive: string[]) => ({
      attributes: [attr('host', host)],
      timeUnixNano: T1,
      count: '3',
      sum: 6,
      scale: 2,
      zeroCount: '1',
      positive: { offset: 3, bucketCounts: positive },
    });
    const exp = { name: 'exp', exponentialHistogram: { aggregationTemporality: 2, dataPoints: [point('a', ['1', '1']), point('b', ['2'])] } };
    const [out] = await run(['aggregate_on_attributes("sum", [])'], [exp]);
    expect(out!.exponentialHistogram.dataPoints).toEqual([
      { timeUnixNano: T1, count: '6', sum: 12, scale: 2, zeroCount: '2', positive: { offset: 3, bucketCounts: ['3', '1'] } },
    ]);
  });

  it('aggregate_on_attribute_value renames the values listed and merges the points that then share their attributes', async () => {
    const [out] = await run(['aggregate_on_attribute_value("sum", "state", ["user", "system"], "busy") where metric.name == "cpu.time"'], [CPU]);
    const busy = (cpu: string) => [attr('cpu', cpu), attr('state', 'busy'), attr('host', 'a')];
    expect(values(out!)).toEqual([
      [busy('0'), 3],
      [busy('1'), 9],
      [busy('2'), 7],
    ]);
    expect(out!.gauge.dataPoints[1].startTimeUnixNano).toBe(T0);
  });

  it('a summary is an error (the collector drops its points)', async () => {
    const { proc } = make({ metric_statements: ['aggregate_on_attribute_value("sum", "gen", ["young", "old"], "all")'] });
    await expect(proc.consume(new Payload('metrics', request([METRICS.pause])))).rejects.toThrow(
      /aggregate_on_attribute_value does not support aggregating Summary metrics/,
    );
  });

  it.each([
    [
      'aggregate_on_attributes("avg")',
      'column 25: aggregate_on_attributes: invalid aggregation function "avg"; valid options: sum, mean, min, max, median, count (case-sensitive)',
    ],
    ['aggregate_on_attributes("sum", "state")', 'column 32: aggregate_on_attributes: attributes must be a list of strings, e.g. ["a", "b"]'],
    [
      'aggregate_on_attribute_value("sum", "state", "user", "busy")',
      'column 46: aggregate_on_attribute_value: values must be a list of strings, e.g. ["a", "b"]',
    ],
    ['aggregate_on_attribute_value("sum", "state", ["user"])', 'column 1: aggregate_on_attribute_value needs its new_value argument'],
  ])('refused at load: %s', (statement, message) => {
    expect(problems([statement])).toContain(`metric_statements.0: in "${statement}", ${message}`);
  });
});

describe('transform: convert_exponential_histogram_to_histogram', () => {
  // Scale 0: bucket k holds (2^k, 2^(k+1)]. Positive (1,2]: 1, (2,4]: 2, (4,8]: 4; one zero; negative [-2,-1): 1.
  const EXP = {
    name: 'rpc.size',
    description: 'sizes',
    unit: 'By',
    exponentialHistogram: {
      aggregationTemporality: 1,
      dataPoints: [
        {
          attributes: [attr('rpc', 'get')],
          startTimeUnixNano: T0,
          timeUnixNano: T1,
          count: '9',
          sum: 30,
          scale: 0,
          zeroCount: '1',
          positive: { offset: 0, bucketCounts: ['1', '2', '4'] },
          negative: { offset: 0, bucketCounts: ['1'] },
          min: -1.5,
          max: 7,
          exemplars: [{ timeUnixNano: T1, asDouble: 3 }],
        },
      ],
    },
  };
  const converted = (bucketCounts: string[]) => {
    const { exponentialHistogram, ...rest } = rendered(EXP);
    const { scale, zeroCount, positive, negative, ...point } = exponentialHistogram.dataPoints[0];
    expect([scale, zeroCount, positive, negative]).toBeDefined();
    return { ...rest, histogram: { aggregationTemporality: 1, dataPoints: [{ ...point, explicitBounds: [0, 2, 5], bucketCounts }] } };
  };

  it.each([
    // Buckets (-inf,0], (0,2], (2,5], (5,+inf): zero and the negative bucket in the first, (4,8] by its upper end 8.
    ['upper', ['2', '1', '2', '4']],
    // (4,8] by its midpoint 6.
    ['midpoint', ['2', '1', '2', '4']],
    // (4,8] spread over (2,5] and (5,+inf).
    ['uniform', ['2', '1', '4', '2']],
  ])('%s: a valid histogram (one more count than bounds), every value counted, the point otherwise kept', async (distribution, counts) => {
    const out = await run([`convert_exponential_histogram_to_histogram("${distribution}", [0.0, 2.0, 5.0])`], [EXP, METRICS.duration]);
    expect(out).toEqual([converted(counts), rendered(METRICS.duration)]);
  });

  it('random (the default for ""): shares by overlap, the rest at random within the buckets the range reaches; the total kept', async () => {
    for (const distribution of ['random', '']) {
      const [out] = await run([`convert_exponential_histogram_to_histogram("${distribution}", [0, 2, 5])`], [EXP]);
      const counts = (out!.histogram.dataPoints[0].bucketCounts as string[]).map(Number);
      expect(counts.slice(0, 2)).toEqual([2, 1]);
      // (4,8]: 1/4 of its range below 5, 3/4 above: 1 and 3, nothing left to chance.
      expect(counts.slice(2)).toEqual([3, 3]);
    }
    // Three in (4,8]: 0 and 2 by share, the one left to chance lands in one of the two.
    const three = structuredClone(EXP) as any;
    three.exponentialHistogram.dataPoints[0].positive.bucketCounts = ['1', '2', '3'];
    const [out] = await run(['convert_exponential_histogram_to_histogram("random", [0, 2, 5])'], [three]);
    const [b0, b1, b2, b3] = (out!.histogram.dataPoints[0].bucketCounts as string[]).map(Number);
    expect([b0, b1, b2! + b3!, b3! >= 2 && b3! <= 3]).toEqual([2, 1, 5, true]);
  });

  it.each([
    [
      'convert_exponential_histogram_to_histogram("linear", [1.0])',
      'column 44: convert_exponential_histogram_to_histogram: invalid distribution "linear"; use one of upper, midpoint, uniform, random',
    ],
    ['convert_exponential_histogram_to_histogram("upper", [])', 'column 53: convert_exponential_histogram_to_histogram: explicit_bounds cannot be empty'],
    [
      'convert_exponential_histogram_to_histogram("upper", [5.0, 1.0])',
      'column 53: convert_exponential_histogram_to_histogram: explicit_bounds must be strictly increasing, got [5, 1]',
    ],
    [
      'convert_exponential_histogram_to_histogram("upper", ["a"])',
      'column 53: convert_exponential_histogram_to_histogram: explicit_bounds must be a list of numbers, e.g. [0.0, 10.0, 100.0]',
    ],
  ])('refused at load: %s', (statement, message) => {
    expect(problems([statement])).toContain(`metric_statements.0: in "${statement}", ${message}`);
  });
});

describe('transform: the outgoing item count follows the data points the functions add or merge', () => {
  it('otelcol_processor_outgoing_items counts the points that leave', async () => {
    const { proc, settings } = make({
      metric_statements: [
        'extract_count_metric(true) where metric.name == "http.duration"',
        'aggregate_on_attributes("sum", []) where metric.name == "http.requests"',
      ],
    });
    await proc.consume(new Payload('metrics', request()));
    const labels = { processor: 'transform/metrics', otel_signal: 'metrics' };
    // In: 2 + 1 + 2 + 1 + 2 points; out: the two sum points merged into one, two count points added.
    expect(await counterValue(settings.telemetry, 'otelcol_processor_incoming_items', labels)).toBe(8);
    expect(await counterValue(settings.telemetry, 'otelcol_processor_outgoing_items', labels)).toBe(9);
  });
});

describe('transform: convert_summary_quantile_val_to_gauge', () => {
  it('appends <name>.quantiles: a gauge point per quantile, the quantile as a double attribute', async () => {
    const out = await run(['convert_summary_quantile_val_to_gauge() where metric.name == "gc.pause"']);
    expect(out.slice(0, 5)).toEqual(ALL.map(rendered));
    const point = (value: number, quantile: number) => ({
      attributes: [attr('gen', 'young'), { key: 'quantile', value: { doubleValue: quantile } }],
      startTimeUnixNano: T0,
      timeUnixNano: T1,
      asDouble: value,
    });
    // The second summary point has no quantiles, so gives no gauge point.
    expect(out.slice(5)).toEqual([
      { name: 'gc.pause.quantiles', description: 'gc pauses', unit: 's', gauge: { dataPoints: [point(0.25, 0.5), point(0.75, 0.99)] } },
    ]);
  });

  it('an attribute key and a suffix; the key replaces an attribute of that name', async () => {
    const out = await run(['convert_summary_quantile_val_to_gauge("gen", "_q")'], [METRICS.pause, METRICS.queue]);
    expect(out.map((m) => m.name)).toEqual(['gc.pause', 'queue.depth', 'gc.pause_q']);
    expect(out[2]!.gauge.dataPoints.map((p: any) => p.attributes)).toEqual([
      [{ key: 'gen', value: { doubleValue: 0.5 } }],
      [{ key: 'gen', value: { doubleValue: 0.99 } }],
    ]);
  });

  it('refused at load: a suffix that is not a string', () => {
    expect(problems(['convert_summary_quantile_val_to_gauge("q", 1)'])).toContain(
      'column 44: convert_summary_quantile_val_to_gauge: suffix must be a string literal',
    );
  });
});

describe('transform: merge_histogram_buckets', () => {
  const hist = (bounds: number[], counts: number[]) => ({
    name: 'http.server.duration',
    histogram: {
      aggregationTemporality: 2,
      dataPoints: [{ timeUnixNano: T1, count: String(counts.reduce((a, b) => a + b, 0)), sum: 99, explicitBounds: bounds, bucketCounts: counts.map(String) }],
    },
  });
  const pointOf = (m: MetricJson) => {
    const p = m.histogram.dataPoints[0];
    return [p.explicitBounds, p.bucketCounts.map(Number), p.count, p.sum];
  };

  it('removes a bound, merging the bucket it ends into the next (datapoint context, inferred from the function)', async () => {
    const [out] = await run(['merge_histogram_buckets(0.5) where metric.name == "http.server.duration"'], [hist([0.1, 0.5, 1.0], [5, 8, 3, 1])]);
    expect(pointOf(out!)).toEqual([[0.1, 1.0], [5, 11, 1], '17', 99]);
    // A bound that is not there: nothing changes.
    const [same] = await run(['merge_histogram_buckets(0.7)'], [hist([0.1, 0.5, 1.0], [5, 8, 3, 1])]);
    expect(same).toEqual(rendered(hist([0.1, 0.5, 1.0], [5, 8, 3, 1])));
  });

  it('limit_buckets: adjacent buckets merged in groups of the smallest size that fits (the collector README example)', async () => {
    const input = hist([0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0], [80, 4, 6, 120, 3, 2, 40, 10, 1]);
    const [out] = await run(['merge_histogram_buckets(5, method="limit_buckets")'], [input]);
    expect(pointOf(out!)).toEqual([[0.2, 1.0, 5.0, 30.0], [84, 126, 5, 50, 1], '266', 99]);
    // Within the limit already, bounds and counts that do not fit, bounds not increasing: left as they are.
    const cases: [MetricJson, number][] = [
      [hist([1, 2], [1, 2, 3]), 3],
      [hist([1, 2, 3, 4], [1, 2]), 1],
      [hist([2, 1], [1, 2, 3]), 2],
    ];
    for (const [h, limit] of cases) expect(await run([`merge_histogram_buckets(${limit}, "limit_buckets")`], [h])).toEqual([rendered(h)]);
  });

  it.each([
    ['merge_histogram_buckets("0.5")', 'column 25: merge_histogram_buckets: target_value must be a number literal, e.g. 0.5'],
    [
      'merge_histogram_buckets(2.5, "limit_buckets")',
      'column 25: merge_histogram_buckets: with limit_buckets, target_value is the number of buckets to keep: a positive integer, got 2.5',
    ],
    ['merge_histogram_buckets(1.0, "halve")', 'column 30: merge_histogram_buckets: method must be "remove_explicit_bound" or "limit_buckets", got "halve"'],
  ])('refused at load: %s', (statement, message) => {
    expect(problems([statement])).toContain(`metric_statements.0: in "${statement}", ${message}`);
  });
});

describe('transform: extract_percentile_metric', () => {
  const HIST = {
    name: 'req.time',
    description: 'request time',
    unit: 'ms',
    histogram: {
      aggregationTemporality: 2,
      dataPoints: [
        {
          attributes: [attr('route', '/a')],
          startTimeUnixNano: T0,
          timeUnixNano: T1,
          count: '10',
          sum: 200,
          explicitBounds: [10, 20, 50],
          bucketCounts: ['2', '4', '3', '1'],
          min: 4,
          max: 80,
        },
        // No counts: skipped.
        { attributes: [attr('route', '/b')], timeUnixNano: T1, count: '0', explicitBounds: [10], bucketCounts: ['0', '0'] },
        // One bucket without bounds: min to max.
        { attributes: [attr('route', '/c')], timeUnixNano: T1, count: '4', bucketCounts: ['4'], min: 1, max: 3 },
        // No min: the lowest bucket starts at 0.
        { attributes: [attr('route', '/d')], timeUnixNano: T1, count: '2', explicitBounds: [5, 10], bucketCounts: ['2', '0', '0'] },
      ],
    },
  };
  const valuesOf = (m: MetricJson) => m.gauge.dataPoints.map((p: any) => [p.attributes[0].value.stringValue, p.asDouble ?? 0]);

  it.each([
    // p50: target 5 of 10, in (10,20] after 2: 3/4 of the way.
    [
      50,
      [
        ['/a', 17.5],
        ['/c', 2],
        ['/d', 2.5],
      ],
    ],
    // p10: target 1, in the lowest bucket, from min 4 to 10.
    [
      10,
      [
        ['/a', 7],
        ['/c', 1.5],
        ['/d', 2.5],
      ],
    ],
    // p95: target 10, in the last bucket, up to max 80.
    [
      95,
      [
        ['/a', 80],
        ['/c', 3],
        ['/d', 5],
      ],
    ],
  ])('p%s of a histogram: interpolated within the bucket holding the target count; a point without counts skipped', async (p, expected) => {
    const out = await run([`extract_percentile_metric(${p}.0) where metric.name == "req.time"`], [HIST]);
    expect(out[0]).toEqual(rendered(HIST));
    expect(out[1]).toMatchObject({ name: `req.time_p${p}`, description: `request time (p${p})`, unit: 'ms' });
    const got = valuesOf(out[1]!);
    expect(got.map((g: any) => g[0])).toEqual(expected.map((e: any) => e[0]));
    got.forEach((g: any, i: number) => expect(g[1]).toBeCloseTo((expected[i] as [string, number])[1], 12));
    expect(out[1]!.gauge.dataPoints[0]).toMatchObject({ startTimeUnixNano: T0, timeUnixNano: T1 });
  });

  it('an exponential histogram: logarithmic within a bucket, linear across zero, negative buckets most negative first', async () => {
    const exp = {
      name: 'size',
      exponentialHistogram: {
        aggregationTemporality: 2,
        dataPoints: [
          {
            attributes: [attr('k', 'v')],
            timeUnixNano: T1,
            count: '9',
            scale: 0,
            zeroCount: '1',
            positive: { offset: 0, bucketCounts: ['1', '2', '4'] },
            negative: { offset: 0, bucketCounts: ['1'] },
          },
        ],
      },
    };
    const at = async (p: string) => (await run([`extract_percentile_metric(${p}, "_q")`], [exp]))[1]!;
    expect((await at('10')).gauge.dataPoints[0].asDouble).toBe(-1);
    expect((await at('50')).gauge.dataPoints[0].asDouble).toBe(4);
    expect((await at('40')).gauge.dataPoints[0].asDouble).toBe(2 ** 1.5);
    expect((await at('90')).gauge.dataPoints[0].asDouble).toBe(8);
    // Across the zero bucket (threshold 0): 0.
    expect((await at('20')).gauge.dataPoints[0]).toMatchObject({ asDouble: 0 });
    expect(await at('99.9')).toMatchObject({ name: 'size_q', description: 'p99.9' });
  });

  it('other types are left alone; a histogram whose counts do not fit its bounds is an error', async () => {
    expect(await run(['extract_percentile_metric(50.0)'], [METRICS.requests, METRICS.pause])).toEqual([METRICS.requests, METRICS.pause].map(rendered));
    const bad = {
      name: 'bad',
      histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: T1, count: '3', explicitBounds: [1, 2], bucketCounts: ['3'] }] },
    };
    const { proc } = make({ metric_statements: ['extract_percentile_metric(50.0)'] });
    await expect(proc.consume(new Payload('metrics', request([bad])))).rejects.toThrow(
      'calculating histogram percentile: malformed data: bucketCounts length (1) != explicitBounds length (2) + 1',
    );
  });

  it.each([
    ['extract_percentile_metric(0.0)', 'column 27: extract_percentile_metric: percentile must be greater than 0 and less than 100, got 0'],
    ['extract_percentile_metric(100)', 'column 27: extract_percentile_metric: percentile must be greater than 0 and less than 100, got 100'],
    ['extract_percentile_metric("p95")', 'column 27: extract_percentile_metric: percentile must be a number literal, e.g. 95.0'],
    ['extract_percentile_metric(95.0, 5)', 'column 33: extract_percentile_metric: suffix must be a string literal'],
  ])('refused at load: %s', (statement, message) => {
    expect(problems([statement])).toContain(`metric_statements.0: in "${statement}", ${message}`);
  });
});
