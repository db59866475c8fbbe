/**
 * tail_sampling policy by policy, on hand-built traces (test/helpers/trace-builder.ts): each test holds a
 * few traces, decides them (shutdown decides every held trace at once; the timer tests wait for it) and
 * reads which traces came out whole. Probabilistic vectors come from FNV-1a 64 written here with BigInt,
 * independently of the processor's 32-bit-halves version.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { RetryableError } from '../../src/core/errors.js';
import { Payload } from '../../src/pdata/payload.js';
import type { Consumer } from '../../src/core/consumer.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { YELLOW } from '../../src/somatic/zone.js';
import { counterValue, testSettings } from '../../test/helpers/otlp-test-servers.js';
import { testSomaticSettings } from '../../test/helpers/somatic.js';
import { validConfig } from '../../test/helpers/component-config.js';
import { readSpans, spansRequest, traceId, traceKeyHex, traceRequest, type SpanSpec } from '../../test/helpers/trace-builder.js';
import { tailSamplingProcessorFactory } from './factory.js';
import { TailSamplingProcessor } from './tail-sampling-processor.js';
import { Decision, combine } from './policies.js';
import { probabilityThreshold, traceIdHash } from './trace-id-hash.js';
import { METRICS } from './metadata.js';
import { DecisionMemory, LruSet } from './decision-cache.js';
import { ArrivalOrder } from './arrival-order.js';
import { until } from '../../test/helpers/until.js';
import { histogramIn } from '../../test/helpers/gateway-child.js';

const settingsList: ReturnType<typeof testSettings>[] = [];
const procs: TailSamplingProcessor[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.shutdown();
  for (const s of settingsList.splice(0)) s.telemetry.close();
});

/** The next stage: keeps every request (as spans read back) and accepts it, or refuses as `refuse` says. */
class Sink implements Consumer {
  readonly requests: ReturnType<typeof readSpans>[] = [];
  refuse: (() => Error | undefined) | undefined;
  consume(p: Payload): Promise<void> {
    const err = this.refuse?.();
    if (err) return Promise.reject(err);
    this.requests.push(readSpans(p.bytes));
    return Promise.resolve();
  }
  /** Trace IDs (hex) that came out, each once. */
  traces(): string[] {
    return [...new Set(this.requests.flat().map((s) => s.trace))].sort();
  }
  spansOf(n: number): number {
    const key = traceKeyHex(traceId(n));
    return this.requests.flat().filter((s) => s.trace === key).length;
  }
}

const config = (raw: Record<string, unknown>) => validConfig(tailSamplingProcessorFactory, raw);

function make(raw: Record<string, unknown>, opts: { clock?: () => number; somatic?: boolean } = {}) {
  const settings = testSettings('tail_sampling', 'processor');
  settingsList.push(settings);
  const gate = opts.somatic
    ? settings.pressure.provide(testSomaticSettings({ memoryLimitBytes: 2 ** 30, inflightBudgetBytes: 2 ** 28 }), silentLogger, 'somatic').gate
    : undefined;
  const sink = new Sink();
  const proc = new TailSamplingProcessor(settings, config({ decision_wait: '1h', ...raw }), sink, opts.clock);
  procs.push(proc);
  // start() only reads the ledger and sets the timer (synchronously).
  void proc.start();
  return { proc, sink, settings, gate };
}

const send = (proc: TailSamplingProcessor, spans: SpanSpec[], resource?: Record<string, string>) =>
  proc.consume(new Payload('traces', spansRequest(spans, resource)));
const hex = (...ns: number[]) => ns.map((n) => traceKeyHex(traceId(n))).sort();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Holds the traces, decides them all (shutdown) and returns the sampled trace IDs. */
async function sampled(policies: unknown[], spans: SpanSpec[], resource?: Record<string, string>, extra: Record<string, unknown> = {}): Promise<string[]> {
  const { proc, sink } = make({ policies, ...extra });
  await send(proc, spans, resource);
  await proc.shutdown();
  return sink.traces();
}

describe('config', () => {
  it("has the collector's defaults", () => {
    const c = config({ policies: [{ name: 'a', type: 'always_sample' }] });
    expect(c.decision_wait).toBe(30_000);
    expect(c.num_traces).toBe(50_000);
    expect(c.expected_new_traces_per_sec).toBe(0);
    expect(c.decision_cache).toEqual({ sampled_cache_size: 0, non_sampled_cache_size: 0 });
    expect(c.policies[0]!.string_attribute).toMatchObject({ enabled_regex_matching: false, invert_match: false, cache_max_size: 0 });
    expect(c.policies[0]!.ottl_condition.error_mode).toBe('propagate');
  });

  it('names each problem with its key path', () => {
    const issues: { path: string[]; message: string }[] = [];
    tailSamplingProcessorFactory.config.parse(
      {
        num_shards: 4,
        policies: [
          { name: 'b', type: 'bytes_limiting' },
          { name: 's', type: 'string_attribute', string_attribute: { key: 'k', values: ['('], enabled_regex_matching: true } },
          { name: 'c', type: 'status_code', status_code: { status_codes: ['BAD'] } },
          { name: 'x', type: 'nope' },
        ],
      },
      ['tail_sampling'],
      issues,
    );
    const text = issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(text).toContain('tail_sampling.num_shards: not supported yet by GopherShip (splits the trace table across event loops)');
    expect(text.filter((t) => t.startsWith('tail_sampling.policies.0'))).toEqual([]);
    const bytes: { path: string[]; message: string }[] = [];
    tailSamplingProcessorFactory.config.parse({ policies: [{ name: 'b', type: 'bytes_limiting' }] }, ['tail_sampling'], bytes);
    expect(bytes.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(['tail_sampling.policies.0.bytes_limiting.bytes_per_second: must be greater than 0']);
    expect(text.some((t) => t.startsWith('tail_sampling.policies.2.status_code.status_codes.0: must be one of OK, ERROR, UNSET'))).toBe(true);
    expect(text.some((t) => t.startsWith('tail_sampling.policies.3.type: must be one of always_sample'))).toBe(true);
  });

  it('not: one simple sub-policy, named and valid, at the top or under and/drop; not under composite', () => {
    const problems = (policies: unknown[]) => {
      const issues: { path: string[]; message: string }[] = [];
      tailSamplingProcessorFactory.config.parse({ policies }, ['ts'], issues);
      return issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(problems([{ name: 'n', type: 'not' }])).toEqual(['ts.policies.0.not.not_sub_policy: is required: the policy to invert']);
    expect(problems([{ name: 'n', type: 'not', not: { not_sub_policy: { type: 'bytes_limiting' } } }])).toEqual([
      'ts.policies.0.not.not_sub_policy.name: is required: a name for the policy (metrics and logs show it)',
      'ts.policies.0.not.not_sub_policy.bytes_limiting.bytes_per_second: must be greater than 0',
    ]);
    expect(problems([{ name: 'n', type: 'not', not: { not_sub_policy: { name: 'x', type: 'and' } } }])[0]).toMatch(
      /^ts\.policies\.0\.not\.not_sub_policy\.type: must be one of always_sample, .*bytes_limiting; got "and"$/,
    );
    const dropNot = {
      name: 'd',
      type: 'drop',
      drop: { drop_sub_policy: [{ name: 'n', type: 'not', not: { not_sub_policy: { name: 'a', type: 'always_sample' } } }] },
    };
    expect(problems([dropNot])).toEqual([]);
    const compositeNot = {
      name: 'c',
      type: 'composite',
      composite: { max_total_spans_per_second: 10, composite_sub_policy: [{ name: 'n', type: 'not' }] },
    };
    expect(problems([compositeNot])[0]).toMatch(/^ts\.policies\.0\.composite\.composite_sub_policy\.0\.type: must be one of/);
  });

  it('refuses a bad regular expression and a missing policy list', () => {
    const issues: { path: string[]; message: string }[] = [];
    tailSamplingProcessorFactory.config.parse(
      { policies: [{ name: 's', type: 'string_attribute', string_attribute: { key: 'k', values: ['('], enabled_regex_matching: true } }] },
      ['tail_sampling'],
      issues,
    );
    expect(issues.map((i) => i.path.join('.'))).toEqual(['tail_sampling.policies.0.string_attribute.values.0']);
    const none: { path: string[]; message: string }[] = [];
    tailSamplingProcessorFactory.config.parse({}, ['tail_sampling'], none);
    expect(none.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(['tail_sampling.policies: is required']);
  });

  it('belongs in traces pipelines only', () => {
    expect(
      tailSamplingProcessorFactory.checkPipeline!(config({ policies: [{ name: 'a', type: 'always_sample' }] }), { signal: 'logs', index: 0, workers: '1' }),
    ).toMatch(/traces pipeline only/);
  });
});

describe('grouping by trace', () => {
  it('sends each sampled trace whole, its resource and scope as received, every span once', async () => {
    const { proc, sink } = make({ policies: [{ name: 'a', type: 'always_sample' }] });
    // Three traces interleaved across two resources and two scopes.
    const req = traceRequest([
      {
        attrs: { 'service.name': 'front' },
        scopes: [
          [{ trace: 1 }, { trace: 2 }, { trace: 1 }],
          [{ trace: 3 }, { trace: 1 }],
        ],
      },
      { attrs: { 'service.name': 'back' }, scopes: [[{ trace: 2 }, { trace: 3 }]] },
    ]);
    await proc.consume(new Payload('traces', req));
    expect(sink.requests).toEqual([]);
    expect(proc.tracesHeld).toBe(3);
    await proc.shutdown();
    const out = sink.requests.flat();
    expect(out).toHaveLength(7);
    const byTrace = (n: number) => out.filter((s) => s.trace === hex(n)[0]).map((s) => `${String(s.resource['service.name'])}/${s.scope}`);
    expect(byTrace(1)).toEqual(['front/scope-0', 'front/scope-0', 'front/scope-1']);
    expect(byTrace(2)).toEqual(['front/scope-0', 'back/scope-0']);
    expect(byTrace(3)).toEqual(['front/scope-1', 'back/scope-0']);
    // Spans of one trace are adjacent in the request (each trace's fragments were written together).
    const order = out.map((s) => s.trace);
    for (const t of hex(1, 2, 3)) {
      const first = order.indexOf(t);
      const last = order.lastIndexOf(t);
      expect(order.slice(first, last + 1).every((x) => x === t)).toBe(true);
    }
  });

  it('holds a trace until decision_wait after its first span, then sends it whole', async () => {
    const { proc, sink } = make({ decision_wait: '150ms', policies: [{ name: 'a', type: 'always_sample' }] });
    const t0 = Date.now();
    await send(proc, [{ trace: 1 }]);
    await sleep(60);
    await send(proc, [{ trace: 1 }, { trace: 1 }]);
    await until(() => sink.requests.length > 0);
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(145);
    expect(sink.requests).toHaveLength(1);
    expect(sink.spansOf(1)).toBe(3);
  });
});

describe('decision_wait_after_root_received', () => {
  const all = [{ name: 'a', type: 'always_sample' }];
  const tick = (proc: TailSamplingProcessor) => (proc as unknown as { decideDue(): void }).decideDue();

  it('decides a trace that long after its root span arrived, when sooner than decision_wait', async () => {
    let now = 0;
    const { proc, sink } = make({ decision_wait: '10s', decision_wait_after_root_received: '2s', policies: all }, { clock: () => now });
    await send(proc, [
      { trace: 1, parent: 7 },
      { trace: 2, parent: 7 },
      { trace: 3, parent: 7 },
    ]);
    now = 1000;
    // Trace 1's root arrives at 1 s (due at 3 s); trace 2's root has an all-zero parent ID (a root too).
    await send(proc, [{ trace: 1 }, { trace: 2, parent: new Uint8Array(8) }]);
    now = 2900;
    tick(proc);
    expect(sink.traces()).toEqual([]);
    now = 3000;
    tick(proc);
    await until(() => sink.traces().length === 2);
    expect(sink.traces()).toEqual(hex(1, 2));
    expect(sink.spansOf(1)).toBe(2);
    // Trace 3 (no root) waits the whole decision_wait.
    now = 9999;
    tick(proc);
    expect(proc.tracesHeld).toBe(1);
    now = 10_000;
    tick(proc);
    await until(() => sink.traces().length === 3);
  });

  it('never makes a trace later than decision_wait, and 0 (the default) leaves roots alone', async () => {
    let now = 0;
    const late = make({ decision_wait: '3s', decision_wait_after_root_received: '2s', policies: all }, { clock: () => now });
    await send(late.proc, [{ trace: 1, parent: 7 }]);
    now = 2000; // root at 2 s: 2 s + 2 s is past the 3 s decision_wait, which stands
    await send(late.proc, [{ trace: 1 }]);
    now = 3000;
    tick(late.proc);
    await until(() => late.sink.traces().length === 1);
    now = 0;
    const off = make({ decision_wait: '3s', policies: all }, { clock: () => now });
    await send(off.proc, [{ trace: 5 }]);
    now = 2999;
    tick(off.proc);
    expect(off.proc.tracesHeld).toBe(1);
  });
});

describe('policies', () => {
  it('always_sample samples every trace', async () => {
    expect(await sampled([{ name: 'a', type: 'always_sample' }], [{ trace: 1 }, { trace: 2 }])).toEqual(hex(1, 2));
  });

  it('latency: earliest start to latest end against threshold_ms and upper_threshold_ms', async () => {
    const spans: SpanSpec[] = [
      { trace: 1, startMs: 0, endMs: 100 },
      { trace: 1, startMs: 50, endMs: 600 }, // 600 ms
      { trace: 2, startMs: 0, endMs: 499 }, // 499 ms
      { trace: 3, startMs: 0, endMs: 2000 }, // 2000 ms
    ];
    expect(await sampled([{ name: 'l', type: 'latency', latency: { threshold_ms: 500 } }], spans)).toEqual(hex(1, 3));
    expect(await sampled([{ name: 'l', type: 'latency', latency: { threshold_ms: 500, upper_threshold_ms: 1000 } }], spans)).toEqual(hex(1));
  });

  it('numeric_attribute: a span or resource value in [min, max]; invert_match samples the rest', async () => {
    const spans: SpanSpec[] = [
      { trace: 1, attrs: { code: 503 } },
      { trace: 2, attrs: { code: 200 } },
      { trace: 3, attrs: { other: 503 } },
      { trace: 4, attrs: { code: '503' } }, // a string is not a number (pcommon's Int() is 0)
    ];
    const policy = (invert: boolean) => [
      { name: 'n', type: 'numeric_attribute', numeric_attribute: { key: 'code', min_value: 500, max_value: 599, invert_match: invert } },
    ];
    expect(await sampled(policy(false), spans)).toEqual(hex(1));
    expect(await sampled(policy(true), spans)).toEqual(hex(2, 3, 4));
    // A matching resource attribute samples every trace under it.
    expect(await sampled(policy(false), [{ trace: 5 }], { code: 'x' })).toEqual([]);
    const { proc, sink } = make({ policies: policy(false) });
    await proc.consume(new Payload('traces', traceRequest([{ attrs: { code: { int: 550 } }, scopes: [[{ trace: 6 }]] }])));
    await proc.shutdown();
    expect(sink.traces()).toEqual(hex(6));
  });

  it('numeric_attribute: either bound may be left out, as the collector (its README composite writes {key, min_value: 50})', async () => {
    const spans: SpanSpec[] = [
      { trace: 1, attrs: { n: 50 } },
      { trace: 2, attrs: { n: 49 } },
      { trace: 3, attrs: { n: 9_000_000_000 } },
      { trace: 4, attrs: { n: -7 } },
    ];
    const range = (r: Record<string, number>) => [{ name: 'n', type: 'numeric_attribute', numeric_attribute: { key: 'n', ...r } }];
    expect(await sampled(range({ min_value: 50 }), spans)).toEqual(hex(1, 3));
    // No lower bound is int64's least, not 0: a negative value matches.
    expect(await sampled(range({ max_value: 49 }), spans)).toEqual(hex(2, 4));
    const issues: { path: string[]; message: string }[] = [];
    tailSamplingProcessorFactory.config.parse({ policies: range({}) }, ['tail_sampling'], issues);
    tailSamplingProcessorFactory.config.parse({ policies: range({ min_value: 5, max_value: 4 }) }, ['tail_sampling'], issues);
    expect(issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'tail_sampling.policies.0.numeric_attribute: needs min_value, max_value or both: the range of values that match',
      'tail_sampling.policies.0.numeric_attribute.max_value: must be at least min_value',
    ]);
    // The composite of the collector's README, unchanged.
    config({
      policies: [
        {
          name: 'composite-policy-1',
          type: 'composite',
          composite: {
            max_total_spans_per_second: 1000,
            policy_order: ['test-composite-policy-1', 'test-composite-policy-2'],
            composite_sub_policy: [
              { name: 'test-composite-policy-1', type: 'numeric_attribute', numeric_attribute: { key: 'key1', min_value: 50 } },
              { name: 'test-composite-policy-2', type: 'always_sample' },
            ],
            rate_allocation: [{ policy: 'test-composite-policy-1', percent: 50 }],
          },
        },
      ],
    });
  });

  it('string_attribute: exact values, regular expressions, invert_match, resource attributes', async () => {
    const spans: SpanSpec[] = [
      { trace: 1, attrs: { route: '/health' } },
      { trace: 2, attrs: { route: '/api/users' } },
      { trace: 3, attrs: { route: '' } },
      { trace: 4 },
    ];
    const policy = (c: Record<string, unknown>) => [{ name: 's', type: 'string_attribute', string_attribute: { key: 'route', ...c } }];
    expect(await sampled(policy({ values: ['/health', '/ready'] }), spans)).toEqual(hex(1));
    expect(await sampled(policy({ values: ['^/api/.+'], enabled_regex_matching: true }), spans)).toEqual(hex(2));
    expect(await sampled(policy({ values: ['/health'], invert_match: true }), spans)).toEqual(hex(2, 3, 4));
    expect(await sampled(policy({ values: ['svc-a'] }), [{ trace: 7 }], { route: 'svc-a' })).toEqual(hex(7));
  });

  it("string_attribute: regular expressions in Go's syntax, as collector configs write them: (?i) and (?P<name>)", async () => {
    const spans: SpanSpec[] = [
      { trace: 1, attrs: { route: '/HEALTH' } },
      { trace: 2, attrs: { route: '/Api/v1/users' } },
      { trace: 3, attrs: { route: '/orders' } },
    ];
    const policy = (values: string[], invert = false) => [
      { name: 's', type: 'string_attribute', string_attribute: { key: 'route', values, enabled_regex_matching: true, invert_match: invert } },
    ];
    expect(await sampled(policy(['(?i)^/health$', '(?i)/api/(?P<version>v[0-9]+)/']), spans)).toEqual(hex(1, 2));
    expect(await sampled(policy(['(?i)health'], true), spans)).toEqual(hex(2, 3));
  });

  it('boolean_attribute: the value given; invert_match samples the rest', async () => {
    const spans: SpanSpec[] = [{ trace: 1, attrs: { force: true } }, { trace: 2, attrs: { force: false } }, { trace: 3 }];
    expect(await sampled([{ name: 'b', type: 'boolean_attribute', boolean_attribute: { key: 'force', value: true } }], spans)).toEqual(hex(1));
    expect(await sampled([{ name: 'b', type: 'boolean_attribute', boolean_attribute: { key: 'force', value: false } }], spans)).toEqual(hex(2));
    expect(await sampled([{ name: 'b', type: 'boolean_attribute', boolean_attribute: { key: 'force', value: true, invert_match: true } }], spans)).toEqual(
      hex(2, 3),
    );
  });

  it('status_code: any span with one of the codes', async () => {
    const spans: SpanSpec[] = [{ trace: 1, status: 2 }, { trace: 1, status: 1 }, { trace: 2, status: 1 }, { trace: 3 }];
    expect(await sampled([{ name: 'e', type: 'status_code', status_code: { status_codes: ['ERROR'] } }], spans)).toEqual(hex(1));
    expect(await sampled([{ name: 'e', type: 'status_code', status_code: { status_codes: ['UNSET', 'OK'] } }], spans)).toEqual(hex(1, 2, 3));
  });

  it('trace_state: the value of a key in a well-formed tracestate', async () => {
    const spans: SpanSpec[] = [
      { trace: 1, traceState: 'vendor=a,team=checkout' },
      { trace: 2, traceState: 'team=search' },
      { trace: 3, traceState: 'team=checkout,Bad Member' }, // malformed: matches nothing
      { trace: 4 },
    ];
    expect(await sampled([{ name: 't', type: 'trace_state', trace_state: { key: 'team', values: ['checkout'] } }], spans)).toEqual(hex(1));
  });

  it('span_count: spans of the trace within [min_spans, max_spans] (max 0: no bound)', async () => {
    const spans: SpanSpec[] = [{ trace: 1 }, { trace: 2 }, { trace: 2 }, { trace: 3 }, { trace: 3 }, { trace: 3 }];
    expect(await sampled([{ name: 'c', type: 'span_count', span_count: { min_spans: 2 } }], spans)).toEqual(hex(2, 3));
    expect(await sampled([{ name: 'c', type: 'span_count', span_count: { min_spans: 2, max_spans: 2 } }], spans)).toEqual(hex(2));
  });

  it('trace_flags: any span with the W3C sampled flag (bit 0 of the flags)', async () => {
    const spans: SpanSpec[] = [
      { trace: 1, flags: 0 },
      { trace: 1, flags: 0x101 }, // sampled, with a higher (non trace-flags) bit
      { trace: 2, flags: 0x100 }, // only a bit outside the trace flags byte
      { trace: 3, flags: 2 },
      { trace: 4 },
    ];
    expect(await sampled([{ name: 'f', type: 'trace_flags' }], spans)).toEqual(hex(1));
  });

  it('not: swaps the sub-policy vote (Sampled / NotSampled); inverted votes pass as they are', async () => {
    const spans: SpanSpec[] = [{ trace: 1, status: 2 }, { trace: 2 }, { trace: 3, attrs: { team: 'internal' } }];
    const notErrors = [{ name: 'ok-only', type: 'not', not: { not_sub_policy: { name: 'e', type: 'status_code', status_code: { status_codes: ['ERROR'] } } } }];
    expect(await sampled(notErrors, spans)).toEqual(hex(2, 3));
    // drop + not: drop every trace that is NOT from the team (the README's replacement for invert_match).
    const keepOnlyInternal = [
      { name: 'all', type: 'always_sample' },
      {
        name: 'drop-others',
        type: 'drop',
        drop: {
          drop_sub_policy: [
            {
              name: 'not-internal',
              type: 'not',
              not: { not_sub_policy: { name: 'i', type: 'string_attribute', string_attribute: { key: 'team', values: ['internal'] } } },
            },
          ],
        },
      },
    ];
    expect(await sampled(keepOnlyInternal, spans)).toEqual(hex(3));
    // An inverted vote is not swapped: invert_match on trace 3 stays InvertNotSampled and vetoes always_sample.
    const notInverted = [
      { name: 'all', type: 'always_sample' },
      {
        name: 'n',
        type: 'not',
        not: { not_sub_policy: { name: 'i', type: 'string_attribute', string_attribute: { key: 'team', values: ['internal'], invert_match: true } } },
      },
    ];
    expect(await sampled(notInverted, spans)).toEqual(hex(1, 2));
  });

  it('bytes_limiting: a token bucket of the held bytes, burst_capacity (default twice the rate) bounding a single trace', async () => {
    let now = 0;
    const pad = (n: number, bytes: number): SpanSpec => ({ trace: n, attrs: { pad: 'x'.repeat(bytes) } });
    const run = async (policy: Record<string, unknown>, traces: SpanSpec[]) => {
      const { proc, sink } = make({ policies: [{ name: 'b', type: 'bytes_limiting', bytes_limiting: policy }] }, { clock: () => now });
      await send(proc, traces);
      await proc.shutdown();
      return sink.traces();
    };
    // Each trace is one ~1,100-byte span. Rate 1,000 B/s: the default burst (2,000) passes one, not two.
    expect(await run({ bytes_per_second: 1000 }, [pad(1, 1000), pad(2, 1000)])).toEqual(hex(1));
    // A burst of 5,000 passes four; one past the burst never passes, even alone.
    expect(
      await run(
        { bytes_per_second: 1000, burst_capacity: 5000 },
        [1, 2, 3, 4, 5].map((n) => pad(n, 1000)),
      ),
    ).toEqual(hex(1, 2, 3, 4));
    expect(await run({ bytes_per_second: 100_000, burst_capacity: 1000 }, [pad(6, 1000), pad(7, 10)])).toEqual(hex(7));
    // Refill: at 1,000 B/s a second later the bucket has room for one more such trace.
    const { proc, sink } = make(
      { decision_wait: '1s', policies: [{ name: 'b', type: 'bytes_limiting', bytes_limiting: { bytes_per_second: 1200 } }] },
      { clock: () => now },
    );
    await send(proc, [pad(11, 1000), pad(12, 1000), pad(13, 1000)]);
    now = 1000;
    (proc as unknown as { decideDue(): void }).decideDue();
    await until(() => sink.traces().length === 2);
    await send(proc, [pad(14, 1000), pad(15, 1000)]);
    now = 2000;
    (proc as unknown as { decideDue(): void }).decideDue();
    await until(() => sink.traces().length === 3);
    expect(sink.traces()).toEqual(hex(11, 12, 14));
  });

  it('probabilistic: FNV-1a 64 of salt + trace ID against the ratio of 2^64 - 1', async () => {
    // FNV-1a 64 reference vectors ('' and 'a'), then the policy's hash against BigInt FNV written here.
    const fnv = (bytes: Uint8Array): bigint => {
      let h = 0xcbf29ce484222325n;
      for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
      return h;
    };
    expect(traceIdHash('', new Uint8Array(0))).toBe(0xcbf29ce484222325n);
    expect(traceIdHash('a', new Uint8Array(0))).toBe(0xaf63dc4c8601ec8cn);
    expect(probabilityThreshold(0.5)).toBe((1n << 63n) - 1n);
    expect(probabilityThreshold(1)).toBe((1n << 64n) - 1n);
    expect(probabilityThreshold(0)).toBe(0n);
    // Random-looking IDs: FNV-1a mixes the last bytes into the high bits weakly, so IDs differing only at
    // the end would all fall on one side of the threshold (in the collector as here).
    const ids = Array.from({ length: 200 }, (_, i) => createHash('md5').update(`trace-${i}`).digest());
    const keys = (list: Buffer[]) => list.map((id) => traceKeyHex(id)).sort();
    const threshold = probabilityThreshold(0.3);
    const expected = ids.filter((id) => fnv(Buffer.concat([Buffer.from('default-hash-seed'), id])) <= threshold);
    expect(expected.length).toBeGreaterThan(40);
    expect(expected.length).toBeLessThan(80);
    for (const id of ids.slice(0, 20)) expect(traceIdHash('default-hash-seed', id)).toBe(fnv(Buffer.concat([Buffer.from('default-hash-seed'), id])));
    const spans = ids.map((id) => ({ trace: id }));
    expect(await sampled([{ name: 'p', type: 'probabilistic', probabilistic: { sampling_percentage: 30 } }], spans)).toEqual(keys(expected));
    const salted = ids.filter((id) => fnv(Buffer.concat([Buffer.from('tier-2'), id])) <= threshold);
    expect(salted).not.toEqual(expected);
    expect(await sampled([{ name: 'p', type: 'probabilistic', probabilistic: { sampling_percentage: 30, hash_salt: 'tier-2' } }], spans)).toEqual(keys(salted));
  });

  it('rate_limiting: a token bucket of spans_per_second, burst twice the rate', async () => {
    let now = 0;
    const { proc, sink } = make(
      { decision_wait: '1s', policies: [{ name: 'r', type: 'rate_limiting', rate_limiting: { spans_per_second: 10 } }] },
      { clock: () => now },
    );
    // 25 traces of 1 span at once: the burst (20) passes.
    await send(
      proc,
      Array.from({ length: 25 }, (_, i) => ({ trace: i + 1 })),
    );
    now = 1000;
    await (proc as unknown as { decideDue(): void }).decideDue();
    await until(() => sink.traces().length === 20);
    // A second later the bucket has refilled 10 tokens: a 6-span trace takes 6, then a 5-span one finds 4.
    await send(proc, [...Array.from({ length: 6 }, () => ({ trace: 100 })), ...Array.from({ length: 5 }, () => ({ trace: 101 }))]);
    now = 2000;
    (proc as unknown as { decideDue(): void }).decideDue();
    await until(() => sink.traces().includes(hex(100)[0]!));
    expect(sink.spansOf(100)).toBe(6);
    expect(sink.traces()).not.toContain(hex(101)[0]);
    // burst_capacity: a bucket of 30 passes a 25-span trace that the default burst (2 x 10) never would.
    const big = Array.from({ length: 25 }, () => ({ trace: 200 }));
    const run = async (extra: Record<string, unknown>) => {
      const r = make({ policies: [{ name: 'r', type: 'rate_limiting', rate_limiting: { spans_per_second: 10, ...extra } }] }, { clock: () => now });
      await send(r.proc, big);
      await r.proc.shutdown();
      return r.sink.traces();
    };
    expect(await run({})).toEqual([]);
    expect(await run({ burst_capacity: 30 })).toEqual(hex(200));
  });

  it('ottl_condition: span and span event conditions on the held trace', async () => {
    const spans: SpanSpec[] = [
      { trace: 1, attrs: { 'http.method': 'POST' } },
      { trace: 2, events: [{ name: 'exception' }] },
      { trace: 3, name: 'quiet', events: [{ name: 'log' }] },
    ];
    const policy = [
      {
        name: 'o',
        type: 'ottl_condition',
        ottl_condition: { span: ['attributes["http.method"] == "POST"'], spanevent: ['name == "exception"'] },
      },
    ];
    expect(await sampled(policy, spans)).toEqual(hex(1, 2));
  });

  it('and: every sub-policy must sample', async () => {
    const spans: SpanSpec[] = [
      { trace: 1, attrs: { tier: 'gold' }, status: 2 },
      { trace: 2, attrs: { tier: 'gold' } },
      { trace: 3, status: 2 },
    ];
    const policy = [
      {
        name: 'gold-errors',
        type: 'and',
        and: {
          and_sub_policy: [
            { name: 'gold', type: 'string_attribute', string_attribute: { key: 'tier', values: ['gold'] } },
            { name: 'err', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
          ],
        },
      },
    ];
    expect(await sampled(policy, spans)).toEqual(hex(1));
  });

  it("and: an invert_match sub-policy votes plain sampled / not sampled inside it (the collector README's practical example)", async () => {
    // Rule 1: sample every trace of services not using tail sampling; rule 4: service-1's traces except a noisy route.
    const { proc, sink } = make({
      policies: [
        {
          name: 'backwards-compatibility-policy',
          type: 'and',
          and: {
            and_sub_policy: [
              {
                name: 'services-using-tail_sampling-policy',
                type: 'string_attribute',
                string_attribute: { key: 'service.name', values: ['service-1'], invert_match: true },
              },
              { name: 'sample-all-policy', type: 'always_sample' },
            ],
          },
        },
        {
          name: 'team_a-service-1',
          type: 'and',
          and: {
            and_sub_policy: [
              { name: 'service-name-policy', type: 'string_attribute', string_attribute: { key: 'service.name', values: ['service-1'] } },
              {
                name: 'route-name-policy',
                type: 'string_attribute',
                string_attribute: { key: 'http.route', values: ['/v1/name/.+'], enabled_regex_matching: true, invert_match: true },
              },
              { name: 'probabilistic-policy', type: 'probabilistic', probabilistic: { sampling_percentage: 100 } },
            ],
          },
        },
      ],
    });
    const svc = (name: string) => ({ 'service.name': name });
    await proc.consume(
      new Payload(
        'traces',
        traceRequest([
          { attrs: svc('legacy'), scopes: [[{ trace: 1 }]] },
          {
            attrs: svc('service-1'),
            scopes: [
              [
                { trace: 2, attrs: { 'http.route': '/v1/name/42' } },
                { trace: 3, attrs: { 'http.route': '/v1/orders' } },
              ],
            ],
          },
        ]),
      ),
    );
    await proc.shutdown();
    // Outside an and, rule 1's inverted "not sampled" for service-1 would have vetoed trace 3 as well.
    expect(sink.traces()).toEqual(hex(1, 3));
  });

  it('drop: all sub-policies matching drops the trace whatever else samples it', async () => {
    const spans: SpanSpec[] = [
      { trace: 1, attrs: { route: '/health' } },
      { trace: 2, attrs: { route: '/api' } },
    ];
    const policy = [
      { name: 'all', type: 'always_sample' },
      {
        name: 'no-health',
        type: 'drop',
        drop: { drop_sub_policy: [{ name: 'h', type: 'string_attribute', string_attribute: { key: 'route', values: ['/health'] } }] },
      },
    ];
    expect(await sampled(policy, spans)).toEqual(hex(2));
  });

  it('composite: sub-policies in order, each within its share of max_total_spans_per_second', async () => {
    const { proc, sink } = make(
      {
        policies: [
          {
            name: 'c',
            type: 'composite',
            composite: {
              max_total_spans_per_second: 10,
              policy_order: ['errors', 'rest'],
              composite_sub_policy: [
                { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
                { name: 'rest', type: 'always_sample' },
              ],
              rate_allocation: [
                { policy: 'errors', percent: 50 },
                { policy: 'rest', percent: 30 },
              ],
            },
          },
        ],
      },
      { clock: () => 5000 },
    );
    // 8 error traces of 1 span: 5 fit the errors share; 8 other traces: 3 fit the rest share.
    await send(proc, [...Array.from({ length: 8 }, (_, i) => ({ trace: i + 1, status: 2 })), ...Array.from({ length: 8 }, (_, i) => ({ trace: i + 11 }))]);
    await proc.shutdown();
    expect(sink.traces()).toEqual(hex(1, 2, 3, 4, 5, 11, 12, 13));
  });

  it('combines votes as the collector: drop and inverted not-sampled first, then sampled, then inverted sampled', async () => {
    expect(combine([Decision.Sampled, Decision.InvertNotSampled])).toBe(false);
    expect(combine([Decision.Sampled, Decision.NotSampled])).toBe(true);
    expect(combine([Decision.InvertSampled])).toBe(true);
    expect(combine([Decision.InvertSampled, Decision.NotSampled])).toBe(false);
    expect(combine([Decision.Dropped, Decision.Sampled])).toBe(false);
    expect(combine([])).toBe(false);
    // Through the processor: an inverted match on trace 1 vetoes always_sample.
    const policies = [
      { name: 'all', type: 'always_sample' },
      { name: 'not-internal', type: 'string_attribute', string_attribute: { key: 'team', values: ['internal'], invert_match: true } },
    ];
    expect(
      await sampled(policies, [
        { trace: 1, attrs: { team: 'internal' } },
        { trace: 2, attrs: { team: 'web' } },
      ]),
    ).toEqual(hex(2));
  });

  it('sample_on_first_match: policies in their configured order, as the collector; the first that samples decides, a drop decides when reached', async () => {
    const health = {
      name: 'no-health',
      type: 'drop',
      drop: { drop_sub_policy: [{ name: 'h', type: 'string_attribute', string_attribute: { key: 'url.path', values: ['/health'] } }] },
    };
    const errors = { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } };
    // One rate_limiting token: a policy not reached takes none.
    const limited = { name: 'one', type: 'rate_limiting', rate_limiting: { spans_per_second: 1, burst_capacity: 1 } };
    const spans: SpanSpec[] = [{ trace: 1, status: 2, attrs: { 'url.path': '/health' } }, { trace: 2, status: 2 }, { trace: 3 }];
    // errors first: trace 1 is sampled before the drop policy is reached; trace 2 too, without a token.
    expect(await sampled([errors, health, limited], spans, undefined, { sample_on_first_match: true })).toEqual(hex(1, 2, 3));
    // The drop policy first: it drops trace 1 whatever follows.
    expect(await sampled([health, errors, limited], spans, undefined, { sample_on_first_match: true })).toEqual(hex(2, 3));
    // Without sample_on_first_match every policy votes: trace 2 takes the token, trace 3 finds none.
    expect(await sampled([errors, health, limited], spans)).toEqual(hex(2));
  });

  it('counts each policy vote and the final decisions', async () => {
    const { proc, settings } = make({ policies: [{ name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } }] });
    await send(proc, [{ trace: 1, status: 2 }, { trace: 2 }, { trace: 3 }]);
    await proc.shutdown();
    const labels = { processor: 'tail_sampling' };
    expect(await counterValue(settings.telemetry, METRICS.policyDecisions.name, { ...labels, policy: 'errors', sampled: 'true' })).toBe(1);
    expect(await counterValue(settings.telemetry, METRICS.policyDecisions.name, { ...labels, policy: 'errors', sampled: 'false' })).toBe(2);
    expect(await counterValue(settings.telemetry, METRICS.globalDecisions.name, { ...labels, sampled: 'true' })).toBe(1);
    expect(await counterValue(settings.telemetry, METRICS.newTraces.name, labels)).toBe(3);
  });

  it("labels each vote and final decision with the collector's decision: sampled, not_sampled, dropped", async () => {
    // The collector README's queries: count_traces_sampled{decision="dropped"} by policy, global{decision=...}.
    const { proc, settings } = make({
      policies: [
        { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
        {
          name: 'no-health',
          type: 'drop',
          drop: { drop_sub_policy: [{ name: 'h', type: 'string_attribute', string_attribute: { key: 'url.path', values: ['/health'] } }] },
        },
      ],
    });
    await send(proc, [
      { trace: 1, status: 2 },
      { trace: 2 },
      { trace: 3, attrs: { 'url.path': '/health' } },
      { trace: 4, status: 2, attrs: { 'url.path': '/health' } },
    ]);
    await proc.shutdown();
    const at = (name: string, l: Record<string, string>) => counterValue(settings.telemetry, name, { processor: 'tail_sampling', ...l });
    const policy = METRICS.policyDecisions.name;
    const global = METRICS.globalDecisions.name;
    expect(await at(policy, { policy: 'no-health', decision: 'dropped', sampled: 'false' })).toBe(2);
    expect(await at(policy, { policy: 'no-health', decision: 'not_sampled', sampled: 'false' })).toBe(2);
    // Policies vote in their order: errors, listed first, votes on the dropped traces too (3 and 4).
    expect(await at(policy, { policy: 'errors', decision: 'sampled', sampled: 'true' })).toBe(2);
    expect(await at(policy, { policy: 'errors', decision: 'not_sampled' })).toBe(2);
    expect(await at(global, { decision: 'sampled', sampled: 'true' })).toBe(1);
    expect(await at(global, { decision: 'not_sampled', sampled: 'false' })).toBe(1);
    expect(await at(global, { decision: 'dropped', sampled: 'false' })).toBe(2);
  });
});

describe('late spans, bounds and memory', () => {
  const keepGold = [{ name: 'gold', type: 'string_attribute', string_attribute: { key: 'tier', values: ['gold'] } }];

  it('late spans follow the decision: forwarded at once for a sampled trace, dropped for the others', async () => {
    const { proc, sink, settings } = make({ decision_wait: '50ms', policies: keepGold });
    await send(proc, [{ trace: 1, attrs: { tier: 'gold' } }, { trace: 2 }]);
    await until(() => sink.requests.length === 1 && proc.tracesHeld === 0);
    expect(sink.traces()).toEqual(hex(1));
    // Late spans: trace 1's go on in the same call (its promise waits for the sink); trace 2's are dropped,
    // even one that would have matched.
    await send(proc, [{ trace: 1 }, { trace: 2, attrs: { tier: 'gold' } }, { trace: 1 }]);
    expect(sink.requests).toHaveLength(2);
    expect(sink.requests[1]!.map((s) => s.trace)).toEqual([hex(1)[0], hex(1)[0]]);
    expect(proc.tracesHeld).toBe(0);
    expect(await counterValue(settings.telemetry, METRICS.lateSpans.name, { processor: 'tail_sampling', sampled: 'true' })).toBe(2);
    expect(await counterValue(settings.telemetry, METRICS.lateSpans.name, { processor: 'tail_sampling', sampled: 'false' })).toBe(1);
  });

  it('remembers the last num_traces decisions and the LRU caches in order, without taking from a Map front', () => {
    const lru = new LruSet(3);
    for (const k of ['a', 'b', 'c']) lru.add(k);
    expect(lru.has('a')).toBe(true); // a is now the most recent: b goes first
    lru.add('d');
    expect(['a', 'b', 'c', 'd'].map((k) => lru.has(k))).toEqual([true, false, true, true]);
    lru.add('e'); // the least recent after those reads: a
    expect(['a', 'c', 'd', 'e'].map((k) => lru.has(k))).toEqual([false, true, true, true]);
    expect(lru.count).toBe(3);
    const memory = new DecisionMemory(2, 0, 0);
    memory.remember('t1', true);
    memory.remember('t2', false);
    memory.remember('t3', true);
    expect(['t1', 't2', 't3'].map((k) => memory.get(k))).toEqual([undefined, false, true]);
    for (let i = 0; i < 5000; i++) memory.remember(`x${i}`, i % 2 === 0);
    expect([memory.get('x4998'), memory.get('x4999'), memory.get('x4997')]).toEqual([true, false, undefined]);
    const order = new ArrivalOrder<{ n: number; waiting: boolean }>((t) => t.waiting);
    const items = Array.from({ length: 5000 }, (_, n) => ({ n, waiting: true }));
    for (const t of items) order.push(t);
    for (let n = 0; n < 4000; n++) if (n % 1000 !== 999) items[n]!.waiting = false;
    expect(order.oldest()!.n).toBe(999);
    items[999]!.waiting = false;
    expect(order.oldest()!.n).toBe(1999);
    for (const t of items) t.waiting = false;
    expect(order.oldest()).toBeUndefined();
  });

  it('decision_cache keeps a decision after num_traces newer ones pushed it out of the table', async () => {
    const run = async (cache: number) => {
      const { proc, sink } = make({ decision_wait: '1h', num_traces: 2, decision_cache: { sampled_cache_size: cache }, policies: keepGold });
      await send(proc, [{ trace: 1, attrs: { tier: 'gold' } }]);
      // Five newer traces: trace 1 is decided early (num_traces), then forgotten by the table of recent decisions.
      for (let n = 2; n <= 6; n++) await send(proc, [{ trace: n }]);
      await send(proc, [{ trace: 1, name: 'late' }]);
      return { proc, sink };
    };
    const withCache = await run(100);
    expect(withCache.sink.requests.flat().filter((s) => s.name === 'late')).toHaveLength(1);
    const without = await run(0);
    // Without the cache the late span starts a new trace (held, as the collector's scenario 2).
    expect(without.sink.requests.flat().filter((s) => s.name === 'late')).toHaveLength(0);
    expect(without.proc.tracesHeld).toBe(2);
  });

  it('num_traces bounds the traces held: the oldest is decided early', async () => {
    const { proc, sink, settings } = make({ num_traces: 3, policies: [{ name: 'a', type: 'always_sample' }] });
    for (let n = 1; n <= 5; n++) {
      await send(proc, [{ trace: n }, { trace: n }]);
      expect(proc.tracesHeld).toBeLessThanOrEqual(3);
    }
    expect(sink.traces()).toEqual(hex(1, 2));
    expect(sink.spansOf(1)).toBe(2);
    expect(await counterValue(settings.telemetry, METRICS.earlyDecisions.name, { processor: 'tail_sampling', reason: 'num_traces' })).toBe(2);
  });

  it('block_on_overflow: with num_traces held, a request waits for room instead of deciding traces early', async () => {
    let now = 0;
    const { proc, sink, settings } = make(
      { decision_wait: '1s', num_traces: 2, block_on_overflow: true, policies: [{ name: 'a', type: 'always_sample' }] },
      { clock: () => now },
    );
    await send(proc, [{ trace: 1 }, { trace: 2 }]);
    let answered = false;
    const waiting = send(proc, [{ trace: 3 }, { trace: 1, name: 'more' }]).then(() => (answered = true));
    const second = send(proc, [{ trace: 4 }]);
    await sleep(30);
    // Blocked: not answered, nothing taken, nothing decided early.
    expect(answered).toBe(false);
    expect(proc.tracesHeld).toBe(2);
    expect(sink.requests).toEqual([]);
    // Traces 1 and 2 come due: room for the waiting requests, in order.
    now = 1000;
    (proc as unknown as { decideDue(): void }).decideDue();
    await waiting;
    await second;
    expect(sink.traces()).toEqual(hex(1, 2));
    // The waiting request was taken after trace 1's decision: its span of trace 1 followed it as a late span.
    expect(sink.requests.flat().filter((s) => s.name === 'more')).toHaveLength(1);
    expect(proc.tracesHeld).toBe(2);
    expect(await counterValue(settings.telemetry, METRICS.earlyDecisions.name, { processor: 'tail_sampling', reason: 'num_traces' })).toBe(0);
    // A request waiting at shutdown is not lost: it goes on, undecided.
    const atShutdown = send(proc, [{ trace: 5 }]);
    await proc.shutdown();
    await atShutdown;
    expect(sink.traces()).toEqual(hex(1, 2, 3, 4, 5));
  });

  it('counts held bytes in the memory ledger until they are released or delivered', async () => {
    const { proc, sink, gate } = make({ policies: keepGold }, { somatic: true });
    const before = gate!.held;
    await send(proc, [{ trace: 1, attrs: { tier: 'gold' } }, { trace: 2 }, { trace: 2 }]);
    expect(proc.bytesHeld).toBeGreaterThan(0);
    expect(gate!.held - before).toBe(proc.bytesHeld);
    // A delivery refused twice keeps the sampled trace's bytes held until the sink accepts it.
    let refusals = 2;
    sink.refuse = () => (refusals-- > 0 ? new RetryableError('busy', { retryAfterMs: 20 }) : undefined);
    const done = proc.shutdown(Date.now() + 5000);
    await sleep(5);
    expect(gate!.held - before).toBeGreaterThan(0);
    await done;
    expect(sink.traces()).toEqual(hex(1));
    expect(proc.bytesHeld).toBe(0);
    expect(gate!.held).toBe(before);
  });

  it('under memory pressure decides the oldest traces early instead of holding more', async () => {
    const { proc, sink, settings } = make({ policies: [{ name: 'a', type: 'always_sample' }] }, { somatic: true });
    for (let n = 1; n <= 4; n++) await send(proc, [{ trace: n }]);
    expect(proc.tracesHeld).toBe(4);
    const heldGreen = proc.bytesHeld;
    const rt = settings.pressure.runtime!;
    // Yellow from the event loop alone: held as usual (deciding early would free memory, not CPU).
    rt.zone = YELLOW;
    rt.values.event_loop_delay = 500;
    await send(proc, [{ trace: 5 }]);
    expect(proc.tracesHeld).toBe(5);
    // Yellow with RSS past its Yellow threshold: each request decides at least its own size of older traces.
    rt.values.rss = 0.9;
    for (let n = 6; n <= 9; n++) await send(proc, [{ trace: n }]);
    await until(() => sink.traces().length >= 4);
    expect(proc.tracesHeld).toBe(5);
    expect(proc.bytesHeld).toBeLessThanOrEqual(heldGreen + heldGreen / 4);
    expect(sink.traces().slice(0, 4)).toEqual(hex(1, 2, 3, 4));
    expect(await counterValue(settings.telemetry, METRICS.earlyDecisions.name, { processor: 'tail_sampling', reason: 'pressure' })).toBe(4);
  });

  it('decides early when the memory ledger has no room for the arriving spans, whatever the zone', async () => {
    const { proc, sink, gate, settings } = make({ policies: [{ name: 'a', type: 'always_sample' }] }, { somatic: true });
    for (let n = 1; n <= 3; n++) await send(proc, [{ trace: n }]);
    expect(settings.pressure.runtime!.zone).toBe(0);
    gate!.cap = gate!.inFlight + gate!.held; // no room left
    await send(proc, [{ trace: 4 }]);
    await until(() => sink.traces().length === 1);
    expect(sink.traces()).toEqual(hex(1));
    expect(proc.tracesHeld).toBe(3);
  });

  it('maximum_trace_size_bytes drops a trace that grows past it', async () => {
    const { proc, sink } = make({ maximum_trace_size_bytes: 400, policies: [{ name: 'a', type: 'always_sample' }] });
    await send(proc, [{ trace: 1 }]);
    await send(
      proc,
      Array.from({ length: 10 }, () => ({ trace: 2, attrs: { pad: 'x'.repeat(40) } })),
    );
    await proc.shutdown();
    expect(sink.traces()).toEqual(hex(1));
  });

  it('drop_pending_traces_on_shutdown drops what is held instead of deciding it', async () => {
    const { proc, sink } = make({ drop_pending_traces_on_shutdown: true, policies: [{ name: 'a', type: 'always_sample' }] });
    await send(proc, [{ trace: 1 }]);
    await proc.shutdown();
    expect(sink.requests).toEqual([]);
    expect(proc.bytesHeld).toBe(0);
  });

  it('refuses a request it cannot read as permanent, naming the processor', async () => {
    const { proc } = make({ policies: [{ name: 'a', type: 'always_sample' }] });
    await expect(proc.consume(new Payload('traces', Uint8Array.from([0x0a, 0x05, 0x12, 0x09, 0x12])))).rejects.toThrow(
      /tail_sampling tail_sampling: cannot read/,
    );
  });
});

describe("the collector's tail_sampling metrics", () => {
  const tick = (proc: TailSamplingProcessor) => (proc as unknown as { decideDue(): void }).decideDue();
  /** The test runs the decision timer itself (tick), so its runs are counted exactly. */
  const ownTimer = (proc: TailSamplingProcessor) => clearInterval((proc as unknown as { timer: NodeJS.Timeout }).timer);
  const policies = [
    { name: 'all', type: 'always_sample' },
    { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
  ];

  it('observes each decision, each policy evaluation, each timer run and each late trace once, in the collector buckets', async () => {
    let now = 0;
    const { proc, sink, settings } = make({ decision_wait: '2s', policies }, { clock: () => now });
    ownTimer(proc);
    await send(proc, [{ trace: 1, status: 2 }, { trace: 1 }, { trace: 1 }, { trace: 2 }, { trace: 2 }]);
    now = 2500;
    tick(proc);
    await until(() => sink.traces().length === 2);
    const text = () => settings.telemetry.registry.metrics();
    const own = { processor: 'tail_sampling' };
    // Both traces left memory 2.5 s after their first span: 2 whole seconds each, in the le="5" bucket.
    const removal = histogramIn(await text(), METRICS.traceRemovalAge.name, own);
    expect(removal).toMatchObject({ count: 2, sum: 4 });
    expect(removal.buckets['0']).toBe(0);
    expect(removal.buckets['5']).toBe(2);
    // Each policy evaluated once per trace.
    for (const policy of ['all', 'errors']) {
      expect(histogramIn(await text(), METRICS.decisionLatency.name, { ...own, policy }).count).toBe(2);
      expect(await counterValue(settings.telemetry, METRICS.policyExecutions.name, { ...own, policy })).toBe(2);
      expect(await counterValue(settings.telemetry, METRICS.policyExecutionTime.name, { ...own, policy })).toBeGreaterThan(0);
    }
    expect(histogramIn(await text(), METRICS.decisionLatency.name).buckets['+Inf']).toBe(4);
    expect(histogramIn(await text(), METRICS.decisionTimerLatency.name, own).count).toBe(1);
    // Spans of the traces each policy voted on: all 5 sampled by `all`; `errors` sampled trace 1's 3.
    const spans = (policy: string, decision: string) => counterValue(settings.telemetry, METRICS.spansSampled.name, { ...own, policy, decision });
    expect(await spans('all', 'sampled')).toBe(5);
    expect(await spans('errors', 'sampled')).toBe(3);
    expect(await spans('errors', 'not_sampled')).toBe(2);

    // Late spans 6.5 s after the decision: one age per trace of the request (two spans of trace 1, one of trace 2).
    now = 9000;
    await send(proc, [{ trace: 1 }, { trace: 1 }, { trace: 2 }]);
    const late = histogramIn(await text(), METRICS.lateSpanAge.name, own);
    expect(late).toMatchObject({ count: 2, sum: 12 });
    expect(late.buckets['5']).toBe(0);
    expect(late.buckets['10']).toBe(2);
    expect(await counterValue(settings.telemetry, METRICS.earlyReleases.name, own)).toBe(0);
    expect(histogramIn(await text(), METRICS.decisionTimerLatency.name, own).count).toBe(1);
  });

  it('counts the spans a decision_cache hit releases at once as early releases, with no late-span age', async () => {
    let now = 0;
    const { proc, sink, settings } = make(
      { decision_wait: '1s', num_traces: 1, decision_cache: { sampled_cache_size: 10, non_sampled_cache_size: 10 }, policies: policies.slice(1) },
      { clock: () => now },
    );
    await send(proc, [{ trace: 1, status: 2 }, { trace: 2 }]); // trace 2 arriving decides trace 1 early (num_traces 1)
    now = 1000;
    tick(proc);
    await until(() => sink.traces().length === 1);
    await send(proc, [{ trace: 1 }, { trace: 1 }, { trace: 2 }]);
    await until(() => sink.spansOf(1) === 3);
    const own = { processor: 'tail_sampling' };
    expect(await counterValue(settings.telemetry, METRICS.earlyReleases.name, { ...own, sampled: 'true' })).toBe(2);
    expect(await counterValue(settings.telemetry, METRICS.earlyReleases.name, { ...own, sampled: 'false' })).toBe(1);
    expect(histogramIn(await settings.telemetry.registry.metrics(), METRICS.lateSpanAge.name, own).count).toBe(0);
  });
});
