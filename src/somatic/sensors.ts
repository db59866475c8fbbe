/**
 * The sensors of the ambient view. Each is read once per check (never per request) and yields one number
 * in the unit its thresholds use: a ratio of a limit, or milliseconds for the event-loop delay.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import type { AdmissionGate } from './gate.js';

export const SENSOR_NAMES = ['rss', 'heap', 'inflight', 'event_loop_delay', 'event_loop_utilization', 'exporter_queue', 'wal'] as const;
export type SensorName = (typeof SENSOR_NAMES)[number];

export interface Sensor {
  readonly name: SensorName;
  /** Called once per check; returns the current value. */
  read(): number;
  /** Human unit for logs. */
  readonly unit: 'ratio' | 'ms';
  close?(): void;
}

/** A ratio source other components plug in (an exporter queue's fill, a WAL's fill). */
export type RatioSource = () => number;

/**
 * RSS, and live memory (V8 heap used + external memory such as Buffers), read together (one
 * process.memoryUsage() per check) against the memory limit. Live memory drives the zones: RSS lags
 * behind it (freed pages stay resident for a while), so RSS alone would hold a zone long after the load.
 */
export class MemorySensors {
  rssBytes = 0;
  heapBytes = 0;
  /** Memory of this thread's Buffers and other ArrayBuffers, live or awaiting collection. */
  arrayBufferBytes = 0;
  private stamp = -1;
  constructor(private readonly limitBytes: number) {}

  private refresh(tick: number): void {
    if (tick === this.stamp) return;
    this.stamp = tick;
    this.refreshNow();
  }

  /** Reads memory now (the gate's re-read between checks); the next check reads again. */
  refreshNow(): void {
    const m = process.memoryUsage();
    this.rssBytes = m.rss;
    this.heapBytes = m.heapUsed + m.external;
    this.arrayBufferBytes = m.arrayBuffers;
  }

  sensors(currentTick: () => number): Sensor[] {
    return [
      { name: 'rss', unit: 'ratio', read: () => (this.refresh(currentTick()), this.rssBytes / this.limitBytes) },
      { name: 'heap', unit: 'ratio', read: () => (this.refresh(currentTick()), this.heapBytes / this.limitBytes) },
    ];
  }
}

export function inflightSensor(gate: AdmissionGate): Sensor {
  return { name: 'inflight', unit: 'ratio', read: () => gate.inFlight / gate.budget };
}

/** p99 event-loop delay over the last check interval, in ms (timer lateness, 10 ms resolution). */
export function eventLoopDelaySensor(): Sensor {
  const h: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  return {
    name: 'event_loop_delay',
    unit: 'ms',
    read() {
      // The histogram counts lateness beyond the resolution; an idle loop reads ~0.
      const v = h.count > 0 ? Math.max(0, h.percentile(99) / 1e6 - 10) : 0;
      h.reset();
      return v;
    },
    close: () => h.disable(),
  };
}

/** Share of the last interval the event loop was busy (0..1). */
export function eventLoopUtilizationSensor(): Sensor {
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  return {
    name: 'event_loop_utilization',
    unit: 'ratio',
    read() {
      const now = performance.eventLoopUtilization();
      const d = performance.eventLoopUtilization(now, last);
      last = now;
      return d.utilization;
    },
  };
}

/** The fullest of a set of plugged-in ratio sources (0 when none). */
export function maxOfSources(name: SensorName, sources: Set<RatioSource>): Sensor {
  return {
    name,
    unit: 'ratio',
    read() {
      let max = 0;
      for (const src of sources) {
        const v = src();
        if (v > max) max = v;
      }
      return max;
    },
  };
}
