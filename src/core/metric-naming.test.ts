/**
 * The served names of metrics under each reader naming, as the collector's Prometheus exporter makes them
 * (the OpenTelemetry-to-Prometheus translation): unit words, `_total` on counters, no suffix twice.
 */
import { describe, expect, it } from 'vitest';
import { BARE_NAMING, SUFFIXED_NAMING, servedMetricName } from './metric-naming.js';

const UNITS_ONLY = { units: true, typeSuffix: false };
const TOTAL_ONLY = { units: false, typeSuffix: true };

describe('servedMetricName', () => {
  it("serves the collector's examples as an explicit prometheus reader does by default", () => {
    expect(servedMetricName('otelcol_process_uptime', 'counter', 's', SUFFIXED_NAMING)).toBe('otelcol_process_uptime_seconds_total');
    expect(servedMetricName('otelcol_receiver_accepted_spans', 'counter', '{items}', SUFFIXED_NAMING)).toBe('otelcol_receiver_accepted_spans_total');
    expect(servedMetricName('otelcol_process_memory_rss', 'gauge', 'By', SUFFIXED_NAMING)).toBe('otelcol_process_memory_rss_bytes');
    // A unit the name already spells is not repeated; _total still goes last.
    expect(servedMetricName('otelcol_process_cpu_seconds', 'counter', 's', SUFFIXED_NAMING)).toBe('otelcol_process_cpu_seconds_total');
    expect(servedMetricName('otelcol_process_runtime_heap_alloc_bytes', 'gauge', 'By', SUFFIXED_NAMING)).toBe('otelcol_process_runtime_heap_alloc_bytes');
    // A unit-1 counter (filter's) adds no word; a unit-1 gauge ends in _ratio, once.
    expect(servedMetricName('otelcol_processor_filter_spans_filtered', 'counter', '1', SUFFIXED_NAMING)).toBe('otelcol_processor_filter_spans_filtered_total');
    expect(servedMetricName('gophership_somatic_sensor', 'gauge', '1', SUFFIXED_NAMING)).toBe('gophership_somatic_sensor_ratio');
    expect(servedMetricName('gophership_global_memory_ratio', 'gauge', '1', SUFFIXED_NAMING)).toBe('gophership_global_memory_ratio');
  });

  it("puts a histogram's unit word before _bucket/_sum/_count and never adds _total", () => {
    expect(servedMetricName('otelcol_processor_tail_sampling_sampling_decision_timer_latency', 'histogram', 'ms', SUFFIXED_NAMING)).toBe(
      'otelcol_processor_tail_sampling_sampling_decision_timer_latency_milliseconds',
    );
    expect(servedMetricName('otelcol_processor_batch_batch_send_size', 'histogram', '{units}', SUFFIXED_NAMING)).toBe(
      'otelcol_processor_batch_batch_send_size',
    );
    expect(servedMetricName('otelcol_processor_batch_batch_send_size_bytes', 'histogram', 'By', SUFFIXED_NAMING)).toBe(
      'otelcol_processor_batch_batch_send_size_bytes',
    );
  });

  it('keeps one _total on a counter named with it, and writes rate units as _per_', () => {
    expect(servedMetricName('gophership_processing_worker_edits_total', 'counter', '{requests}', SUFFIXED_NAMING)).toBe(
      'gophership_processing_worker_edits_total',
    );
    // The unit word goes before the _total the name carried.
    expect(servedMetricName('gophership_spill_total', 'counter', 'By', SUFFIXED_NAMING)).toBe('gophership_spill_bytes_total');
    expect(servedMetricName('gophership_somatic_replay_rate', 'gauge', '{items}/s', SUFFIXED_NAMING)).toBe('gophership_somatic_replay_rate_per_second');
    expect(servedMetricName('x_throughput', 'gauge', 'By/s', SUFFIXED_NAMING)).toBe('x_throughput_bytes_per_second');
  });

  it('applies each option alone, and neither without them', () => {
    expect(servedMetricName('otelcol_process_uptime', 'counter', 's', UNITS_ONLY)).toBe('otelcol_process_uptime_seconds');
    expect(servedMetricName('otelcol_process_uptime', 'counter', 's', TOTAL_ONLY)).toBe('otelcol_process_uptime_total');
    expect(servedMetricName('otelcol_process_memory_rss', 'gauge', 'By', TOTAL_ONLY)).toBe('otelcol_process_memory_rss');
    for (const [name, type, unit] of [
      ['otelcol_process_uptime', 'counter', 's'],
      ['otelcol_receiver_accepted_spans', 'counter', '{items}'],
      ['gophership_somatic_sensor', 'gauge', '1'],
      ['gophership_processing_worker_edits_total', 'counter', '{requests}'],
    ] as const)
      expect(servedMetricName(name, type, unit, BARE_NAMING)).toBe(name);
  });
});
