/**
 * The somatic runtime's metrics (one set per service, created by runtime.ts): the somatic processor lists
 * them in its metadata, and the status page reads the zone, sensors and debt by these names.
 */
import type { MetricDef } from '../core/metadata.js';

const PIPELINE = ['pipeline'] as const;

export const SOMATIC_METRICS = {
  zone: {
    name: 'gophership_somatic_zone',
    // basic: the gateway's pressure state: the status page and a zone alert read it; one series.
    level: 'basic',
    type: 'gauge',
    unit: '{zone}',
    description: 'Somatic zone: 0 green, 1 yellow, 2 red',
    labels: [],
    acrossWorkers: 'max',
  },
  transitions: {
    name: 'gophership_somatic_transitions',
    // basic: the status page counts zone changes by it; a few series (sensor, from, to).
    level: 'basic',
    type: 'counter',
    unit: '{transitions}',
    description: 'Zone transitions, by the sensor that caused each',
    labels: ['sensor', 'from', 'to'],
  },
  // normal: time in each zone, for an operator's capacity review; three series.
  zoneSeconds: {
    name: 'gophership_somatic_zone_seconds',
    level: 'normal',
    type: 'counter',
    unit: 's',
    description: 'Seconds spent in each zone',
    labels: ['zone'],
  },
  stallCollections: {
    name: 'gophership_somatic_stall_collections_total',
    // normal: forced GCs an operator tunes memory_limit_mib by; one series.
    level: 'normal',
    type: 'counter',
    unit: '{collections}',
    description: 'Full GCs forced because memory held the admission gate or the zone while nothing was admitted',
    labels: [],
  },
  garbageCollections: {
    name: 'gophership_somatic_garbage_collections_total',
    // normal: forced GCs an operator tunes memory_limit_mib by; one series.
    level: 'normal',
    type: 'counter',
    unit: '{collections}',
    description:
      'Full GCs forced because Buffers nobody holds any more (request bodies and their copies) took more memory than the room left under memory_limit_mib',
    labels: [],
  },
  sensor: {
    name: 'gophership_somatic_sensor',
    // basic: the status page shows why the zone is what it is; one series per sensor.
    level: 'basic',
    type: 'gauge',
    unit: '1',
    description: 'Last reading of each somatic sensor (ratio of its limit; event_loop_delay in ms)',
    labels: ['sensor'],
    acrossWorkers: 'max',
  },
  debtRecords: {
    name: 'gophership_somatic_debt_records',
    // basic: the status page shows the Red debt; one series per pipeline, read at scrape.
    level: 'basic',
    type: 'gauge',
    unit: '{requests}',
    description: 'Requests spilled to the somatic WAL in Red and not yet replayed',
    labels: PIPELINE,
  },
  // basic: the status page shows the Red debt on disk; one series per pipeline, read at scrape.
  debtBytes: {
    name: 'gophership_somatic_debt_bytes',
    level: 'basic',
    type: 'gauge',
    unit: 'By',
    description: 'Bytes of debt held by the somatic WAL',
    labels: PIPELINE,
  },
  replayRate: {
    name: 'gophership_somatic_replay_rate',
    // normal: how fast the debt drains, for an operator; one series per pipeline.
    level: 'normal',
    type: 'gauge',
    unit: '{items}/s',
    description: 'Debt records (log records, spans, points) replayed per second',
    labels: PIPELINE,
  },
  spilledItems: {
    name: 'gophership_somatic_spilled_items',
    // normal: what Red spilled, for an operator; one series per pipeline.
    level: 'normal',
    type: 'counter',
    unit: '{items}',
    description: 'Items (log records, spans, points) spilled to the somatic WAL in Red',
    labels: PIPELINE,
  },
  spilledBytes: {
    name: 'gophership_somatic_spilled_bytes',
    // normal: what Red spilled, for an operator; one series per pipeline.
    level: 'normal',
    type: 'counter',
    unit: 'By',
    description: 'Request bytes spilled to the somatic WAL in Red',
    labels: PIPELINE,
  },
  replayedItems: {
    name: 'gophership_somatic_replayed_items',
    // normal: what replay delivered, for an operator; one series per pipeline.
    level: 'normal',
    type: 'counter',
    unit: '{items}',
    description: 'Items replayed from the somatic WAL and accepted downstream',
    labels: PIPELINE,
  },
  replayDroppedItems: {
    name: 'gophership_somatic_replay_dropped_items',
    // normal: replayed data refused for good, which an operator must see; one series per pipeline.
    level: 'normal',
    type: 'counter',
    unit: '{items}',
    description: 'Replayed items the pipeline refused permanently (written to the replay dead-letter file, logged; not retried)',
    labels: PIPELINE,
  },
  bypassedItems: {
    name: 'gophership_somatic_bypassed_items',
    // normal: what Yellow skipped, for an operator; one series per pipeline and optional processor.
    level: 'normal',
    type: 'counter',
    unit: '{items}',
    description: 'Items (log records, spans, points) that went around an optional processor in Yellow or Red',
    labels: ['pipeline', 'processor'],
  },
  inflightBytes: {
    name: 'gophership_somatic_inflight_bytes',
    // normal: the admission gate's state, for an operator; one series, read at scrape.
    level: 'normal',
    type: 'gauge',
    unit: 'By',
    description: 'Request bytes admitted and not yet answered',
    labels: [],
  },
  heldBytes: {
    name: 'gophership_somatic_held_bytes',
    // normal: the admission gate's state, for an operator; one series, read at scrape.
    level: 'normal',
    type: 'gauge',
    unit: 'By',
    description:
      'Bytes the service holds outside requests in flight (exporter queues in memory, WAL records read back for delivery), counted by the admission gate',
    labels: [],
  },
  admissionCapBytes: {
    name: 'gophership_somatic_admission_cap_bytes',
    // normal: the admission gate's state, for an operator; one series, read at scrape.
    level: 'normal',
    type: 'gauge',
    unit: 'By',
    description: 'Bytes in flight and held the admission gate allows until the next check (the in-flight budget applies besides)',
    labels: [],
  },
  refusedRequests: {
    name: 'gophership_somatic_refused_requests',
    // normal: requests refused before their body, which an operator must see; one series.
    level: 'normal',
    type: 'gauge',
    unit: '{requests}',
    description: 'Requests the admission gate refused before reading their body',
    labels: [],
  },
} as const satisfies Record<string, MetricDef>;
