/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata, MetricDef } from '../../src/core/metadata.js';
import { PROCESSOR_METRICS } from '../../src/telemetry/metrics.js';

/** The metrics of this processor alone: the collector's names, and gophership_* for what it lacks. */
export const METRICS = {
  policyDecisions: {
    name: 'otelcol_processor_tail_sampling_count_traces_sampled',
    type: 'counter',
    unit: '{traces}',
    description: 'Traces each policy voted to sample or not (a vote is not the final decision); decision: sampled, not_sampled or dropped',
    labels: ['processor', 'policy', 'sampled', 'decision'],
  },
  globalDecisions: {
    name: 'otelcol_processor_tail_sampling_global_count_traces_sampled',
    type: 'counter',
    unit: '{traces}',
    description: 'Traces sampled or not, after every policy; decision: sampled, not_sampled or dropped (by a drop policy)',
    labels: ['processor', 'sampled', 'decision'],
  },
  policyErrors: {
    name: 'otelcol_processor_tail_sampling_sampling_policy_evaluation_error',
    type: 'counter',
    unit: '{errors}',
    description: 'Policy evaluations that failed (the policy counts as not sampling)',
    labels: ['processor', 'policy'],
  },
  newTraces: {
    name: 'otelcol_processor_tail_sampling_new_trace_id_received',
    type: 'counter',
    unit: '{traces}',
    description: 'Trace IDs seen for the first time (held until their decision)',
    labels: ['processor'],
  },
  tracesOnMemory: {
    name: 'otelcol_processor_tail_sampling_sampling_traces_on_memory',
    type: 'gauge',
    unit: '{traces}',
    description: 'Traces held waiting for their decision',
    labels: ['processor'],
  },
  heldBytes: {
    name: 'gophership_processor_tail_sampling_held_bytes',
    type: 'gauge',
    unit: 'By',
    description: 'Bytes of spans held for a decision or a delivery (counted in the somatic memory ledger)',
    labels: ['processor'],
  },
  earlyDecisions: {
    name: 'gophership_processor_tail_sampling_early_decisions',
    type: 'counter',
    unit: '{traces}',
    description: 'Traces decided before decision_wait, by reason: num_traces, pressure, shutdown (maximum_trace_size_bytes drops count as max_size)',
    labels: ['processor', 'reason'],
  },
  lateSpans: {
    name: 'gophership_processor_tail_sampling_late_spans',
    type: 'counter',
    unit: '{spans}',
    description: 'Spans that arrived after their trace was decided and followed its decision',
    labels: ['processor', 'sampled'],
  },
  undelivered: {
    name: 'gophership_processor_tail_sampling_undelivered_spans',
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
