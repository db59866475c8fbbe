/**
 * The tail_sampling processor's config: the collector-contrib keys and defaults
 * (processor/tailsamplingprocessor/config.go and README). Policies are a list of `{name, type, <type>: {...}}`
 * maps; `and`, `drop` and `composite` hold sub-policies of the same shape. Regular expressions and OTTL
 * conditions are compiled here, so a bad one fails validation with its key path.
 */
import { Schema, s, type ConfigIssue, type ConfigOf, type SchemaDoc } from '../../src/core/schema.js';
import { ConditionsSchema, ERROR_MODES } from '../../src/ottl/config.js';
import { re2RegExp } from '../../src/processorhelper/re2.js';

/** Policy types GopherShip evaluates. */
export const POLICY_TYPES = [
  'always_sample',
  'latency',
  'numeric_attribute',
  'probabilistic',
  'status_code',
  'string_attribute',
  'rate_limiting',
  'span_count',
  'trace_state',
  'boolean_attribute',
  'ottl_condition',
  'trace_flags',
  'bytes_limiting',
  'not',
  'and',
  'drop',
  'composite',
] as const;
export type PolicyType = (typeof POLICY_TYPES)[number];

const strings = () => s.array(s.string()).default([]);

const leafSections = {
  latency: s.object({
    threshold_ms: s.int(0).default(0).describe('lower bound of the trace duration (earliest start to latest end) in ms'),
    upper_threshold_ms: s.int(0).default(0).describe('upper bound in ms; 0: none (duration >= threshold_ms samples)'),
  }),
  numeric_attribute: s.object({
    key: s.string().default('').describe('attribute key (resource or span)'),
    // Either bound may be left out (the collector's optional values): no lower, or no upper, bound.
    min_value: s.presence(s.int()).describe('least value that matches (inclusive); absent: no lower bound'),
    max_value: s.presence(s.int()).describe('greatest value that matches (inclusive); absent: no upper bound'),
    invert_match: s.bool().default(false).describe('sample traces with no matching value (an inverted decision)'),
  }),
  probabilistic: s.object({
    hash_salt: s.string().default('').describe('salt of the FNV-1a hash of the trace ID; empty: the collector\'s "default-hash-seed"'),
    sampling_percentage: s.number(0).default(0).describe('percentage of traces sampled; >= 100 samples all'),
  }),
  status_code: s.object({
    status_codes: s
      .array(s.enum('OK', 'ERROR', 'UNSET'))
      .default([])
      .describe('span status codes that sample the trace'),
  }),
  string_attribute: s.object({
    key: s.string().default('').describe('attribute key (resource or span)'),
    values: strings().describe('values (or regular expressions) that match'),
    enabled_regex_matching: s.bool().default(false).describe('values are regular expressions, found anywhere in the value'),
    cache_max_size: s.int(0).default(0).describe('entries of the cache of regex results (0: 128)'),
    invert_match: s.bool().default(false).describe('sample traces with no matching value (an inverted decision)'),
  }),
  rate_limiting: s.object({
    spans_per_second: s.int(0).default(0).describe('spans of sampled traces per second (token bucket refill rate)'),
    burst_capacity: s.int(0).default(0).describe('spans the bucket holds (0: twice spans_per_second); a larger trace never passes'),
  }),
  span_count: s.object({
    min_spans: s.int(0).default(0).describe('least spans in the trace (inclusive)'),
    max_spans: s.int(0).default(0).describe('most spans in the trace (inclusive); 0: no upper bound'),
  }),
  trace_state: s.object({
    key: s.string().default('').describe('W3C tracestate key'),
    values: strings().describe('values of the key that sample the trace'),
  }),
  boolean_attribute: s.object({
    key: s.string().default('').describe('attribute key (resource or span)'),
    value: s.bool().default(false).describe('the value that matches'),
    invert_match: s.bool().default(false).describe('sample traces with no matching value (an inverted decision)'),
  }),
  ottl_condition: s.object({
    error_mode: s
      .enum(...ERROR_MODES)
      .default('propagate')
      .describe('what a failing condition does: propagate (the policy errs: not sampled), ignore (logged, false), silent (false)'),
    span: new ConditionsSchema('span', 'traces').default([]).describe('conditions on spans; any true samples the trace'),
    spanevent: new ConditionsSchema('spanevent', 'traces').default([]).describe('conditions on span events; any true samples the trace'),
  }),
  bytes_limiting: s.object({
    bytes_per_second: s.int(0).default(0).describe('bytes of sampled traces per second (token bucket refill rate)'),
    burst_capacity: s.int(0).default(0).describe('bytes the bucket holds (0: twice bytes_per_second); a larger trace never passes'),
  }),
};

/** A list of sub-policies: validated as policies, documented as one key (their keys are those of `policies[]`). */
class SubPoliciesSchema<T> extends Schema<T[]> {
  constructor(
    private readonly item: Schema<T>,
    private readonly what: string,
  ) {
    super();
    this.defaultValue = [];
  }
  protected check(v: unknown, path: string[], issues: ConfigIssue[]): T[] {
    if (!Array.isArray(v)) {
      issues.push({ path, message: 'expected a list of policies' });
      return [];
    }
    return v.map((item, i) => this.item.parse(item, [...path, String(i)], issues));
  }
  override mask(value: unknown): unknown {
    return value;
  }
  doc(): SchemaDoc {
    return { type: 'list', default: [], description: this.what };
  }
}

/** One sub-policy (`not.not_sub_policy`): validated as a policy, documented as one key. */
class SubPolicySchema<T> extends Schema<T | undefined> {
  constructor(
    private readonly item: Schema<T>,
    private readonly what: string,
  ) {
    super();
  }
  protected check(v: unknown, path: string[], issues: ConfigIssue[]): T | undefined {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      issues.push({ path, message: 'expected one policy ({name, type, <type>: {...}})' });
      return undefined;
    }
    return this.item.parse(v, path, issues);
  }
  override mask(value: unknown): unknown {
    return value;
  }
  doc(): SchemaDoc {
    return { type: 'policy', description: this.what };
  }
}

const policyName = () => s.string().default('').describe("the policy's name (metrics and logs)");

/** `type`: one of the policy types allowed where it stands. */
class PolicyTypeSchema extends Schema<PolicyType> {
  constructor(private readonly allowed: readonly PolicyType[]) {
    super();
  }
  protected check(v: unknown, path: string[], issues: ConfigIssue[]): PolicyType {
    if (typeof v === 'string' && (this.allowed as readonly string[]).includes(v)) return v as PolicyType;
    issues.push({ path, message: `must be one of ${this.allowed.join(', ')}; got ${JSON.stringify(v)}` });
    return 'always_sample';
  }
  doc(): SchemaDoc {
    return { ...this.baseDoc('enum'), values: this.allowed };
  }
}

/** Policies that judge the trace themselves (no sub-policies). */
const SIMPLE_TYPES = POLICY_TYPES.filter((t) => t !== 'not' && t !== 'and' && t !== 'drop' && t !== 'composite');
/** What and/drop sub-policies may be: a simple policy or a `not` of one. */
const LEAF_TYPES: PolicyType[] = [...SIMPLE_TYPES, 'not'];

const simplePolicy = s.object({
  name: policyName(),
  type: new PolicyTypeSchema(SIMPLE_TYPES).mustBeSet().describe('the policy type; the section of the same name holds its keys'),
  ...leafSections,
});
export type SimplePolicyConfig = ConfigOf<typeof simplePolicy>;

const notSection = s.object({
  not_sub_policy: new SubPolicySchema(
    simplePolicy,
    'the policy whose Sampled / NotSampled vote is inverted (keys as in `policies[]`, no and/drop/composite/not)',
  ),
});

const leafPolicy = s.object({
  name: policyName(),
  type: new PolicyTypeSchema(LEAF_TYPES).mustBeSet().describe('the policy type; the section of the same name holds its keys'),
  ...leafSections,
  not: notSection,
});
export type LeafPolicyConfig = ConfigOf<typeof leafPolicy>;

const andSection = s.object({
  and_sub_policy: new SubPoliciesSchema(leafPolicy, 'policies that must all sample the trace (keys as in `policies[]`, no and/drop/composite)'),
});

const compositeSubPolicy = s.object({
  name: policyName(),
  type: new PolicyTypeSchema([...SIMPLE_TYPES, 'and']).mustBeSet().describe('the policy type; the section of the same name holds its keys'),
  ...leafSections,
  and: andSection,
});
export type CompositeSubPolicyConfig = ConfigOf<typeof compositeSubPolicy>;

const policy = s.object({
  name: policyName(),
  type: new PolicyTypeSchema(POLICY_TYPES).mustBeSet().describe('the policy type; the section of the same name holds its keys'),
  ...leafSections,
  and: andSection,
  drop: s.object({
    drop_sub_policy: new SubPoliciesSchema(
      leafPolicy,
      'policies that, all sampling the trace, drop it whatever other policies decide (keys as in `policies[]`)',
    ),
  }),
  composite: s.object({
    max_total_spans_per_second: s.int(0).default(0).describe('spans per second the composite samples at most'),
    policy_order: strings().describe('sub-policy names in order (the collector evaluates them in composite_sub_policy order)'),
    composite_sub_policy: new SubPoliciesSchema(compositeSubPolicy, 'sub-policies tried in order (keys as in `policies[]`, and `and`)'),
    rate_allocation: s
      .array(s.object({ policy: s.string().default(''), percent: s.int(0, 100).default(0) }))
      .default([])
      .describe('percent of max_total_spans_per_second for each named sub-policy (0: an equal share); a sub-policy not listed samples nothing'),
  }),
  not: notSection,
});
export type PolicyConfig = ConfigOf<typeof policy>;

const base = s.object({
  decision_wait: s.duration().default(30_000).describe("time from a trace's first span to its sampling decision"),
  num_traces: s.int(1).default(50_000).describe('traces held at once; past it the oldest is decided early'),
  expected_new_traces_per_sec: s.int(0).default(0).describe('expected new traces per second (a sizing hint; accepted and unused here)'),
  decision_cache: s.object({
    sampled_cache_size: s.int(0).default(0).describe('trace IDs of sampled traces remembered (LRU), so late spans follow the decision; 0: none'),
    non_sampled_cache_size: s.int(0).default(0).describe('trace IDs of traces not sampled remembered (LRU); 0: none'),
  }),
  sample_on_first_match: s
    .bool()
    .default(false)
    .describe('stop at the first policy that samples, in the configured order (a drop policy listed after it is not reached)'),
  drop_pending_traces_on_shutdown: s.bool().default(false).describe('at shutdown drop the traces not decided yet instead of deciding them early'),
  maximum_trace_size_bytes: s.int(0).default(0).describe('a trace held past this size is dropped at once (not sampled); 0: no bound'),
  policies: s.array(policy).default([]).mustBeSet().describe('the sampling policies, each `{name, type, <type>: {...}}` (see the README)'),
  decision_wait_after_root_received: s
    .duration()
    .default(0)
    .describe('decide a trace this long after its root span (no parent span ID) arrived, when that is before decision_wait; 0: off'),
  block_on_overflow: s.bool().default(false).describe('when num_traces are held, requests wait for room instead of deciding the oldest traces early'),
  num_shards: s.notYet('splits the trace table across event loops', 1),
  sampling_strategy: s.notYet('span-ingest evaluates policies as spans arrive', 'trace-complete'),
  tail_storage: s.notYet('keeps held spans in a storage extension'),
});

/** Rules between keys: what each policy type needs, names unique, regexes that compile. */
function checkPolicy(p: SimplePolicyConfig | LeafPolicyConfig | CompositeSubPolicyConfig | PolicyConfig, path: string[], issues: ConfigIssue[]): void {
  const at = (...k: string[]) => [...path, ...k];
  switch (p.type) {
    case 'numeric_attribute':
      if (p.numeric_attribute.key === '') issues.push({ path: at('numeric_attribute', 'key'), message: 'is required: the attribute key to compare' });
      {
        const { min_value: min, max_value: max } = p.numeric_attribute;
        if (min === undefined && max === undefined)
          issues.push({ path: at('numeric_attribute'), message: 'needs min_value, max_value or both: the range of values that match' });
        else if (min !== undefined && max !== undefined && max < min)
          issues.push({ path: at('numeric_attribute', 'max_value'), message: 'must be at least min_value' });
      }
      break;
    case 'string_attribute':
      if (p.string_attribute.key === '') issues.push({ path: at('string_attribute', 'key'), message: 'is required: the attribute key to match' });
      if (p.string_attribute.enabled_regex_matching) {
        p.string_attribute.values.forEach((v, i) => {
          try {
            re2RegExp(v);
          } catch (err) {
            issues.push({ path: at('string_attribute', 'values', String(i)), message: `is not a valid regular expression: ${(err as Error).message}` });
          }
        });
      }
      break;
    case 'boolean_attribute':
      if (p.boolean_attribute.key === '') issues.push({ path: at('boolean_attribute', 'key'), message: 'is required: the attribute key to match' });
      break;
    case 'trace_state':
      if (p.trace_state.key === '') issues.push({ path: at('trace_state', 'key'), message: 'is required: the tracestate key to match' });
      break;
    case 'status_code':
      if (p.status_code.status_codes.length === 0)
        issues.push({ path: at('status_code', 'status_codes'), message: 'expected at least one status code to filter on (OK, ERROR, UNSET)' });
      break;
    case 'rate_limiting':
      if (p.rate_limiting.spans_per_second <= 0) issues.push({ path: at('rate_limiting', 'spans_per_second'), message: 'must be greater than 0' });
      break;
    case 'bytes_limiting':
      if (p.bytes_limiting.bytes_per_second <= 0) issues.push({ path: at('bytes_limiting', 'bytes_per_second'), message: 'must be greater than 0' });
      break;
    case 'not':
      if ('not' in p) {
        const sub = p.not.not_sub_policy;
        if (sub === undefined) issues.push({ path: at('not', 'not_sub_policy'), message: 'is required: the policy to invert' });
        else checkList([sub], at('not', 'not_sub_policy'), issues, false);
      }
      break;
    case 'ottl_condition':
      if (p.ottl_condition.span.length === 0 && p.ottl_condition.spanevent.length === 0)
        issues.push({ path: at('ottl_condition'), message: 'needs at least one condition in span or spanevent' });
      break;
    case 'and':
      if ('and' in p) checkList(p.and.and_sub_policy, at('and', 'and_sub_policy'), issues);
      break;
    case 'drop':
      if ('drop' in p) checkList(p.drop.drop_sub_policy, at('drop', 'drop_sub_policy'), issues);
      break;
    case 'composite':
      if ('composite' in p) {
        checkList(p.composite.composite_sub_policy, at('composite', 'composite_sub_policy'), issues);
        if (p.composite.max_total_spans_per_second <= 0)
          issues.push({ path: at('composite', 'max_total_spans_per_second'), message: 'must be greater than 0' });
        const names = new Set(p.composite.composite_sub_policy.map((sp) => sp.name));
        p.composite.rate_allocation.forEach((r, i) => {
          if (!names.has(r.policy))
            issues.push({ path: at('composite', 'rate_allocation', String(i), 'policy'), message: `names no composite_sub_policy ("${r.policy}")` });
        });
      }
      break;
    default:
      break;
  }
}

function checkList(
  list: readonly (SimplePolicyConfig | LeafPolicyConfig | CompositeSubPolicyConfig | PolicyConfig)[],
  path: string[],
  issues: ConfigIssue[],
  indexed = true,
): void {
  if (list.length === 0) issues.push({ path, message: 'needs at least one policy' });
  const seen = new Set<string>();
  list.forEach((p, i) => {
    const at = indexed ? [...path, String(i)] : path;
    if (p.name === '') issues.push({ path: [...at, 'name'], message: 'is required: a name for the policy (metrics and logs show it)' });
    else if (seen.has(p.name)) issues.push({ path: [...at, 'name'], message: `duplicate policy name "${p.name}"` });
    seen.add(p.name);
    checkPolicy(p, at, issues);
  });
}

export const tailSamplingConfig = s.refine(base, (c, path, issues) => {
  if (c.decision_wait <= 0) issues.push({ path: [...path, 'decision_wait'], message: 'must be greater than 0' });
  checkList(c.policies, [...path, 'policies'], issues);
});

export type TailSamplingConfig = ConfigOf<typeof base>;
