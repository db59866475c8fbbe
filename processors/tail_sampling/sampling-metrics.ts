/**
 * The metrics of one tail_sampling instance (metadata.ts): its instruments, and the tallies the processor
 * adds to at each decision, which `flush` hands to the counters once per request or timer run rather than
 * one counter call (a label lookup) per trace. Histograms are observed on series resolved here once.
 */
import type { Counter, Gauge, Registry } from 'prom-client';
import type { HistogramSeries } from '../../src/telemetry/histogram.js';
import { sharedCounter, sharedGauge, sharedHistogram } from '../../src/telemetry/metrics.js';
import { METRICS } from './metadata.js';

/** A policy's vote as counted: the collector's `decision` label by index (VOTED_*). */
const VOTE_DECISION = ['not_sampled', 'sampled', 'dropped'] as const;
export const VOTED_NOT_SAMPLED = 0;
export const VOTED_SAMPLED = 1;
export const VOTED_DROPPED = 2;

export class SamplingMetrics {
  readonly errors: Counter<string>;
  readonly newTraces: Counter<string>;
  readonly early: Counter<string>;
  readonly late: Counter<string>;
  readonly undelivered: Counter<string>;
  readonly timerLatency: HistogramSeries;
  readonly removalAge: HistogramSeries;
  readonly lateSpanAge: HistogramSeries;
  // Tallies since the last flush: final decisions, and spans a decision_cache hit released.
  sampled = 0;
  notSampled = 0;
  dropped = 0;
  cachedSampledSpans = 0;
  cachedNotSampledSpans = 0;

  private readonly policy: Counter<string>;
  private readonly global: Counter<string>;
  private readonly spans: Counter<string>;
  private readonly earlyReleases: Counter<string>;
  private readonly executions: Counter<string>;
  private readonly executionTime: Counter<string>;
  private readonly onMemory: Gauge<string>;
  private readonly heldBytes: Gauge<string>;
  /** By policy, in the configured order. */
  private readonly decisionLatency: HistogramSeries[];
  /** By 3 * policy + vote: the traces voted on and their spans, since the last flush. */
  private readonly voteTraces: Float64Array;
  private readonly voteSpans: Float64Array;
  /** By policy: evaluations and their microseconds, since the last flush. */
  private readonly evaluations: Float64Array;
  private readonly evaluationMicros: Float64Array;

  constructor(
    registry: Registry,
    private readonly labels: { processor: string },
    private readonly policyNames: readonly string[],
  ) {
    this.policy = sharedCounter(registry, METRICS.policyDecisions);
    this.global = sharedCounter(registry, METRICS.globalDecisions);
    this.errors = sharedCounter(registry, METRICS.policyErrors);
    this.newTraces = sharedCounter(registry, METRICS.newTraces);
    this.early = sharedCounter(registry, METRICS.earlyDecisions);
    this.late = sharedCounter(registry, METRICS.lateSpans);
    this.undelivered = sharedCounter(registry, METRICS.undelivered);
    this.onMemory = sharedGauge(registry, METRICS.tracesOnMemory);
    this.heldBytes = sharedGauge(registry, METRICS.heldBytes);
    this.spans = sharedCounter(registry, METRICS.spansSampled);
    this.earlyReleases = sharedCounter(registry, METRICS.earlyReleases);
    this.executions = sharedCounter(registry, METRICS.policyExecutions);
    this.executionTime = sharedCounter(registry, METRICS.policyExecutionTime);
    this.timerLatency = sharedHistogram(registry, METRICS.decisionTimerLatency).labels(labels);
    this.removalAge = sharedHistogram(registry, METRICS.traceRemovalAge).labels(labels);
    this.lateSpanAge = sharedHistogram(registry, METRICS.lateSpanAge).labels(labels);
    const decisionLatency = sharedHistogram(registry, METRICS.decisionLatency);
    this.decisionLatency = policyNames.map((policy) => decisionLatency.labels({ ...labels, policy }));
    this.voteTraces = new Float64Array(3 * policyNames.length);
    this.voteSpans = new Float64Array(3 * policyNames.length);
    this.evaluations = new Float64Array(policyNames.length);
    this.evaluationMicros = new Float64Array(policyNames.length);
  }

  /** Policy `policy` (its index in the configured order) voted `vote` on a trace of `spans` spans, in `micros`. */
  voted(policy: number, vote: number, spans: number, micros: number): void {
    this.voteTraces[3 * policy + vote]!++;
    this.voteSpans[3 * policy + vote]! += spans;
    this.decisionLatency[policy]!.observe(micros);
    this.evaluations[policy]!++;
    this.evaluationMicros[policy]! += micros;
  }

  /** Adds the tallies to the counters and sets the gauges. */
  flush(tracesHeld: number, bytesHeld: number): void {
    const own = this.labels;
    // `decision` as the collector's (sampled, not_sampled, dropped) beside its older `sampled` bool.
    if (this.sampled > 0) this.global.inc({ ...own, sampled: 'true', decision: 'sampled' }, this.sampled);
    if (this.notSampled > 0) this.global.inc({ ...own, sampled: 'false', decision: 'not_sampled' }, this.notSampled);
    if (this.dropped > 0) this.global.inc({ ...own, sampled: 'false', decision: 'dropped' }, this.dropped);
    this.sampled = this.notSampled = this.dropped = 0;
    for (let i = 0; i < this.voteTraces.length; i++) {
      if (this.voteTraces[i] === 0) continue;
      const decision = VOTE_DECISION[i % 3]!;
      const labels = { ...own, policy: this.policyNames[Math.floor(i / 3)]!, sampled: decision === 'sampled' ? 'true' : 'false', decision };
      this.policy.inc(labels, this.voteTraces[i]);
      this.spans.inc(labels, this.voteSpans[i]);
      this.voteTraces[i] = this.voteSpans[i] = 0;
    }
    for (let p = 0; p < this.evaluations.length; p++) {
      if (this.evaluations[p] === 0) continue;
      const labels = { ...own, policy: this.policyNames[p]! };
      this.executions.inc(labels, this.evaluations[p]);
      this.executionTime.inc(labels, this.evaluationMicros[p]);
      this.evaluations[p] = this.evaluationMicros[p] = 0;
    }
    if (this.cachedSampledSpans > 0) this.earlyReleases.inc({ ...own, sampled: 'true' }, this.cachedSampledSpans);
    if (this.cachedNotSampledSpans > 0) this.earlyReleases.inc({ ...own, sampled: 'false' }, this.cachedNotSampledSpans);
    this.cachedSampledSpans = this.cachedNotSampledSpans = 0;
    this.onMemory.set(own, tracesHeld);
    this.heldBytes.set(own, bytesHeld);
  }
}
