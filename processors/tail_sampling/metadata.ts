/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata, MetricDef } from '../../src/core/metadata.js';
import { PROCESSOR_METRICS } from '../../src/telemetry/metrics.js';

/** The collector's bucket bounds of its tail_sampling latency histograms (ms for the timer, µs for a policy). */
const LATENCY_BUCKETS = [1, 2, 5, 10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 50000];

/** The metrics of this processor alone: the collector's names, and gophership_* for what it lacks. */
export const METRICS = {
  policyDecisions: {
    name: 'otelcol_processor_tail_sampling_count_traces_sampled',
    level: 'basic',
    type: 'counter',
    unit: '{traces}',
    description: 'Traces each policy voted to sample or not (a vote is not the final decision); decision: sampled, not_sampled or dropped',
    labels: ['processor', 'policy', 'sampled', 'decision'],
  },
  globalDecisions: {
    name: 'otelcol_processor_tail_sampling_global_count_traces_sampled',
    level: 'basic',
    type: 'counter',
    unit: '{traces}',
    description: 'Traces sampled or not, after every policy; decision: sampled, not_sampled or dropped (by a drop policy)',
    labels: ['processor', 'sampled', 'decision'],
  },
  policyErrors: {
    name: 'otelcol_processor_tail_sampling_sampling_policy_evaluation_error',
    level: 'basic',
    type: 'counter',
    unit: '{errors}',
    description: 'Policy evaluations that failed (the policy counts as not sampling)',
    labels: ['processor', 'policy'],
  },
  newTraces: {
    name: 'otelcol_processor_tail_sampling_new_trace_id_received',
    level: 'basic',
    type: 'counter',
    unit: '{traces}',
    description: 'Trace IDs seen for the first time (held until their decision)',
    labels: ['processor'],
  },
  tracesOnMemory: {
    name: 'otelcol_processor_tail_sampling_sampling_traces_on_memory',
    level: 'basic',
    type: 'gauge',
    unit: '{traces}',
    description: 'Traces held waiting for their decision',
    labels: ['processor'],
  },
  decisionTimerLatency: {
    name: 'otelcol_processor_tail_sampling_sampling_decision_timer_latency',
    level: 'basic',
    type: 'histogram',
    unit: 'ms',
    description: 'Milliseconds each run of the decision timer took: deciding the due traces and handing the sampled ones on',
    labels: ['processor'],
    buckets: LATENCY_BUCKETS,
  },
  decisionLatency: {
    name: 'otelcol_processor_tail_sampling_sampling_decision_latency',
    level: 'basic',
    type: 'histogram',
    unit: 'µs',
    description: 'Microseconds each evaluation of a policy on a trace took',
    labels: ['processor', 'policy'],
    buckets: LATENCY_BUCKETS,
  },
  policyExecutions: {
    name: 'otelcol_processor_tail_sampling_sampling_policy_execution_count',
    level: 'basic',
    type: 'counter',
    unit: '{executions}',
    description: 'Evaluations of each policy (one per trace it voted on)',
    labels: ['processor', 'policy'],
  },
  policyExecutionTime: {
    name: 'otelcol_processor_tail_sampling_sampling_policy_execution_time_sum',
    level: 'basic',
    type: 'counter',
    unit: 'µs',
    description: 'Microseconds spent evaluating each policy, in total',
    labels: ['processor', 'policy'],
  },
  traceRemovalAge: {
    name: 'otelcol_processor_tail_sampling_sampling_trace_removal_age',
    level: 'basic',
    type: 'histogram',
    unit: 's',
    description: "Whole seconds from a trace's first span to its decision, when its spans leave memory (close to decision_wait; shorter when decided early)",
    labels: ['processor'],
  },
  lateSpanAge: {
    name: 'otelcol_processor_tail_sampling_sampling_late_span_age',
    level: 'basic',
    type: 'histogram',
    unit: 's',
    description:
      "Whole seconds from a trace's decision to the arrival of its late spans (once per trace per request), for decisions among the last num_traces (not from decision_cache)",
    labels: ['processor'],
  },
  spansSampled: {
    name: 'otelcol_processor_tail_sampling_count_spans_sampled',
    level: 'basic',
    type: 'counter',
    unit: '{spans}',
    description: "Spans of the traces each policy voted on, by its vote (the collector's, behind its metricstatcountspanssampled feature gate)",
    labels: ['processor', 'policy', 'sampled', 'decision'],
  },
  earlyReleases: {
    name: 'otelcol_processor_tail_sampling_early_releases_from_cache_decision',
    level: 'basic',
    type: 'counter',
    unit: '{spans}',
    description: 'Spans that followed a decision found in decision_cache at once (sent on when sampled, dropped otherwise)',
    labels: ['processor', 'sampled'],
  },
  heldBytes: {
    name: 'gophership_processor_tail_sampling_held_bytes',
    // normal: the memory the held traces take, for an operator; one series per processor.
    level: 'normal',
    type: 'gauge',
    unit: 'By',
    description: 'Bytes of spans held for a decision or a delivery (counted in the somatic memory ledger)',
    labels: ['processor'],
  },
  earlyDecisions: {
    name: 'gophership_processor_tail_sampling_early_decisions',
    // normal: decisions taken before decision_wait, for an operator; a few series per processor.
    level: 'normal',
    type: 'counter',
    unit: '{traces}',
    description: 'Traces decided before decision_wait, by reason: num_traces, pressure, shutdown (maximum_trace_size_bytes drops count as max_size)',
    labels: ['processor', 'reason'],
  },
  lateSpans: {
    name: 'gophership_processor_tail_sampling_late_spans',
    // normal: spans arriving after the decision, for an operator; two series per processor.
    level: 'normal',
    type: 'counter',
    unit: '{spans}',
    description: 'Spans that arrived after their trace was decided and followed its decision',
    labels: ['processor', 'sampled'],
  },
  undelivered: {
    name: 'gophership_processor_tail_sampling_undelivered_spans',
    // normal: kept spans the next consumer refused, which an operator must see; one series per processor.
    level: 'normal',
    type: 'counter',
    unit: '{spans}',
    description: 'Spans of sampled traces the next stage refused permanently, or still refused at shutdown',
    labels: ['processor'],
  },
} as const satisfies Record<string, MetricDef>;

export const metadata = {
  type: 'tail_sampling',
  description: 'Holds the spans of each trace for decision_wait, then keeps or drops the whole trace by policies, as the collector decides',
  stability: 'alpha',
  signals: ['traces'],
  // Never bypassed in Yellow: a bypass would send some spans of a trace on unsampled while the rest are held,
  // breaking traces and sending more data exactly when there is least room. Under pressure it decides early.
  skippableUnderPressure: false,
  metrics: [...Object.values(PROCESSOR_METRICS), ...Object.values(METRICS)],
  tests: { config: () => ({ decision_wait: '1s', policies: [{ name: 'all', type: 'always_sample' }] }) },
} as const satisfies ComponentMetadata & { signals: unknown; skippableUnderPressure: boolean };
