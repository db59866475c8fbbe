/**
 * One somatic runtime per service: the admission gate (reflex), the sensors and the zone controller
 * (ambient, on a timer), and the zone's telemetry. Several pipelines share it; it exists only when a
 * `somatic` processor is configured, which provides it into the service's PressureSlot (slot.ts), where
 * receivers, bypass stages and exporters find it through their create settings.
 *
 * The zone rule itself is a pure function (decide.ts); the runtime reads the sensors, keeps the rates and
 * the gate's cap, and applies the decision (gauge, counters, log).
 */
import type { Counter, Gauge } from 'prom-client';
import { mmapThresholdFixed, onGlibc, MMAP_THRESHOLD_TUNABLE } from '../core/allocator.js';
import { collectGarbage } from '../core/gc.js';
import { refreshHeapGrowth, slackBytesFor } from '../core/heap-growth.js';
import type { Logger } from '../telemetry/logger.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { AdmissionGate } from './gate.js';
import { SOMATIC_METRICS } from './metrics.js';
import type { MetricDef } from '../core/metadata.js';
import { counterFor, gaugeFor } from '../telemetry/metrics.js';
import {
  MemorySensors,
  SENSOR_NAMES,
  eventLoopDelaySensor,
  eventLoopUtilizationSensor,
  inflightSensor,
  maxOfSources,
  type RatioSource,
  type Sensor,
  type SensorName,
} from './sensors.js';
import { GREEN, RED, YELLOW, ZONE_NAMES, type Zone } from './zone.js';
import { decideZone, initialZoneMemory, type ZoneCause, type ThresholdKey, type Thresholds, type ZoneMemory } from './decide.js';

export type { ThresholdKey, Thresholds } from './decide.js';

export interface SomaticSettings {
  memoryLimitBytes: number;
  /** Request bytes in flight the gate admits (before memory headroom lowers it). */
  inflightBudgetBytes: number;
  /** Share of memory_limit_mib the gate keeps RSS under (the rest is slack for copies and GC lag). */
  admitMemoryRatio: number;
  checkIntervalMs: number;
  minDwellMs: number;
  leaveRatio: number;
  /** Intake must be below ceiling x this before the zone falls to the zone the ceiling belongs to. */
  fallIntakeRatio: number;
  thresholds: Record<ThresholdKey, Thresholds>;
  forceZone: Zone | undefined;
}

export const DEFAULT_THRESHOLDS: Readonly<Record<ThresholdKey, Thresholds>> = {
  heap: { yellow: 0.5, red: 0.7 },
  rss: { yellow: 0.85, red: 0 },
  inflight: { yellow: 0.3, red: 0.6 },
  event_loop_delay: { yellow: 40, red: 150 },
  event_loop_utilization: { yellow: 0.95, red: 0 },
  exporter_queue: { yellow: 0.5, red: 0.8 },
  wal: { yellow: 0, red: 0 },
};

/** Least time between two collections forced because memory held the gate shut while nothing moved. */
const STALL_COLLECT_INTERVAL_MS = 1000;

/**
 * Least time between two readings of RSS the gate asks for between checks (when what it admitted since the
 * last reading used up the room that reading showed): one cheap read per interval at most, whatever the rate.
 */
const REREAD_MIN_MS = 5;

/**
 * Least time between two collections of dead Buffers the gate's re-reads start (a full GC of the event
 * loop's heap takes a few ms; at most a fifth of the time goes to them).
 */
const GARBAGE_COLLECT_MIN_MS = 20;

/**
 * Buffers awaiting collection the runtime lets V8 keep, as a share of memory_limit_mib (at least
 * GARBAGE_FLOOR_BYTES): past it, and past the room left under the admission line, it collects them itself.
 */
const GARBAGE_SHARE = 1 / 32;
const GARBAGE_FLOOR_BYTES = 4 * 2 ** 20;

/** Time constant of the intake and drain rate averages. */
const RATE_TAU_MS = 1000;

interface PipelineGovernance {
  /** Processor ID -> whether the Yellow zone bypasses it (overrides the factory's declaration). */
  overrides: Readonly<Record<string, boolean>>;
}

export interface SensorState {
  name: SensorName;
  value: number;
  unit: 'ratio' | 'ms';
}

/** What a somatic processor reports about its debt (read at scrape time). */
export interface DebtProbe {
  records(): number;
  bytes(): number;
  /** Records replayed per second (EWMA). */
  replayRate(): number;
}

type TickListener = () => void;

export class SomaticRuntime {
  /** The cached zone: what the reflex and the Yellow bypass read. */
  zone: Zone = GREEN;
  /** The machine-wide view's zone (service.workers > 1), set by the worker from the primary's broadcast. */
  private globalZone: Zone = GREEN;
  /** max over sensors (but RSS) of value / Yellow enter threshold: < 1 means Green would hold. The replayer paces on it. */
  pressure = 0;
  /** Intake rate (bytes/s admitted by the gate), EWMA. */
  intakeRate = 0;
  readonly gate: AdmissionGate;
  /** Exporter queue fill sources (0..1); exporter queues plug in here. */
  readonly exporterQueues = new Set<RatioSource>();
  /** Somatic WAL fill sources (0..1). */
  readonly wals = new Set<RatioSource>();
  readonly values: Record<SensorName, number>;
  /** Debt per pipeline, for the debt gauges. */
  readonly debts = new Map<string, DebtProbe>();
  readonly spilledRecords: Counter<string>;
  readonly spilledBytes: Counter<string>;
  readonly replayedRecords: Counter<string>;
  readonly replayDropped: Counter<string>;
  readonly bypassedItems: Counter<string>;

  private readonly sensors: Sensor[];
  private readonly memory: MemorySensors;
  /** A request's body and the copies its pipeline's edits make (setRequestCopies). */
  private requestCopies = 1;
  /** Whether the heap-growth slack fitted under the admission line at the last check. */
  private slackFits = true;
  private readonly governed = new Map<string, PipelineGovernance>();
  private readonly listeners = new Set<TickListener>();
  /** What the zone decision remembers between checks (decide.ts). */
  private zoneMemory: ZoneMemory;
  /** One reading per sensor, in sensor order, rewritten on every check. */
  private readonly sensorReadings: { name: SensorName; value: number }[];
  private timer: NodeJS.Timeout | undefined;
  private users = 0;
  private tickNo = 0;
  private lastTick = 0;
  private lastAdmitted = 0;
  private lastReleased = 0;
  private readonly zoneGauge: Gauge<string>;
  private readonly transitions: Counter<string>;
  private readonly zoneSeconds: Counter<string>;
  private readonly stallCollections: Counter<string>;
  private readonly garbageCollections: Counter<string>;
  private lastStallCollect = -Infinity;
  /** When dead Buffers were last collected for the garbage rule (a check or a re-read). */
  private lastGarbageCollect = -Infinity;
  /** When RSS was last read for the gate (a check, or a re-read between checks). */
  private lastReading = 0;
  private readonly sensorGauge: Gauge<string>;

  constructor(
    readonly settings: SomaticSettings,
    telemetry: Telemetry,
    private readonly logger: Logger,
    /** Replaces the built-in sensors (tests drive the controller with their own readings). */
    sensors?: Sensor[],
  ) {
    this.gate = new AdmissionGate(settings.inflightBudgetBytes);
    this.memory = new MemorySensors(settings.memoryLimitBytes);
    if (!sensors) this.gate.reread = () => this.reread();
    this.values = Object.fromEntries(SENSOR_NAMES.map((n) => [n, 0])) as Record<SensorName, number>;
    this.sensors = sensors ?? [
      ...this.memory.sensors(() => this.tickNo),
      inflightSensor(this.gate),
      eventLoopDelaySensor(),
      eventLoopUtilizationSensor(),
      maxOfSources('exporter_queue', this.exporterQueues),
      maxOfSources('wal', this.wals),
    ];
    if (settings.forceZone !== undefined) this.zone = settings.forceZone;
    this.zoneMemory = initialZoneMemory(this.zone, Date.now());
    this.sensorReadings = this.sensors.map((s) => ({ name: s.name, value: 0 }));
    const reg = telemetry.registry;
    const self = this;
    const M = SOMATIC_METRICS;
    this.zoneGauge = gaugeFor(reg, M.zone);
    this.zoneGauge.set(this.zone);
    this.transitions = counterFor(reg, M.transitions);
    this.stallCollections = counterFor(reg, M.stallCollections);
    this.garbageCollections = counterFor(reg, M.garbageCollections);
    this.zoneSeconds = counterFor(reg, M.zoneSeconds);
    this.sensorGauge = gaugeFor(reg, M.sensor, {
      collect() {
        for (const n of SENSOR_NAMES) this.set({ sensor: n }, self.values[n]);
      },
    });
    const debtGauge = (def: MetricDef, pick: (d: DebtProbe) => number) =>
      gaugeFor(reg, def, {
        collect() {
          for (const [pipeline, d] of self.debts) this.set({ pipeline }, pick(d));
        },
      });
    debtGauge(M.debtRecords, (d) => d.records());
    debtGauge(M.debtBytes, (d) => d.bytes());
    debtGauge(M.replayRate, (d) => d.replayRate());
    this.spilledRecords = counterFor(reg, M.spilledItems);
    this.spilledBytes = counterFor(reg, M.spilledBytes);
    this.replayedRecords = counterFor(reg, M.replayedItems);
    this.replayDropped = counterFor(reg, M.replayDroppedItems);
    this.bypassedItems = counterFor(reg, M.bypassedItems);
    const gateGauge = (def: MetricDef, read: (g: AdmissionGate) => number) =>
      gaugeFor(reg, def, {
        collect() {
          this.set(read(self.gate));
        },
      });
    gateGauge(M.inflightBytes, (g) => g.inFlight);
    gateGauge(M.heldBytes, (g) => g.held);
    gateGauge(M.admissionCapBytes, (g) => g.cap);
    gateGauge(M.refusedRequests, (g) => g.refusedTotal);
  }

  /** A pipeline whose first processor is somatic: its optional processors are bypassed in Yellow and Red. */
  govern(pipelineId: string, overrides: Readonly<Record<string, boolean>>): void {
    this.governed.set(pipelineId, { overrides });
  }

  /**
   * The copies of a request its pipeline's edits make, body included (PressureSlot.noteCopyingStage): what
   * the gate counts an admitted byte as, except in Red, where requests are spilled as received and no
   * processor copies them (counting them there would refuse the intake Red exists to take).
   */
  setRequestCopies(copies: number): void {
    this.requestCopies = copies;
    this.gate.copies = this.zone === RED ? 1 : copies;
  }

  /** Whether the Yellow bypass applies to processor `processorId` in `pipelineId`. */
  isBypassable(pipelineId: string, processorId: string, declared: boolean): boolean {
    const g = this.governed.get(pipelineId);
    if (!g) return false;
    return g.overrides[processorId] ?? declared;
  }

  /** Called on every check, after the zone is recomputed. */
  onTick(fn: TickListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Starts the timer on the first user; several processors share one runtime. */
  acquire(): void {
    if (this.users++ > 0) return;
    this.lastTick = Date.now();
    this.zoneMemory = { ...this.zoneMemory, enteredAt: this.lastTick };
    this.timer = setInterval(() => this.check(), this.settings.checkIntervalMs);
    this.timer.unref();
    this.logger.info('somatic zone controller started', {
      zone: ZONE_NAMES[this.zone],
      forced: this.settings.forceZone !== undefined,
      memory_limit_mib: this.settings.memoryLimitBytes / 2 ** 20,
      inflight_budget_mib: this.settings.inflightBudgetBytes / 2 ** 20,
      admission_copies: this.gate.copies,
    });
    // Freed request buffers must leave RSS for the gate's readings to mean what it admits (src/core/allocator.ts).
    if (!mmapThresholdFixed() && onGlibc()) {
      this.logger.warn(
        `memory_limit_mib is kept by reading RSS, and glibc's malloc, left to its default, keeps freed request buffers resident and can take RSS past the limit; ` +
          `start the gateway with GLIBC_TUNABLES=${MMAP_THRESHOLD_TUNABLE} in its environment (npm start, the container image and worker processes set it)`,
      );
    }
    // The gateway's own resident memory (code, heaps, sockets) is not room for data. A limit that leaves
    // little above it makes the gate refuse large requests and slows intake to one request at a time.
    const rss = process.memoryUsage.rss();
    const limit = this.settings.memoryLimitBytes;
    const ratio = this.settings.admitMemoryRatio;
    const room = limit * ratio - rss;
    if (room < limit / 4) {
      // The least limit that passes this check is rss / (ratio - 1/4); none does at a ratio of 1/4 or less.
      const least = ratio > 0.25 ? Math.max(2 * rss, rss / (ratio - 0.25)) : undefined;
      const advice =
        least === undefined
          ? `Raise admit_memory_ratio (${ratio}) in the somatic processor well above 0.25, and memory_limit_mib to at least ${Math.ceil((2 * rss) / 2 ** 20)}`
          : `Raise memory_limit_mib in the somatic processor to at least ${Math.ceil(least / 2 ** 20)}` +
            (least > 2 * rss ? ` (admit_memory_ratio ${ratio} keeps the rest as margin)` : ' (twice the resident memory at start)');
      this.logger.warn(
        `memory_limit_mib ${Math.round(limit / 2 ** 20)} leaves ${Math.max(0, Math.round(room / 2 ** 20))} MiB for requests, batches and queues above the gateway's own ` +
          `${Math.round(rss / 2 ** 20)} MiB resident at start; the admission gate will refuse requests that do not fit there. ${advice}`,
        { rss_mib: Math.round(rss / 2 ** 20) },
      );
    }
  }

  release(): void {
    if (--this.users > 0) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const s of this.sensors) s.close?.();
  }

  /** One ambient check: read every sensor, update rates and the gate cap, recompute the zone. Public for tests. */
  check(now = Date.now()): void {
    this.tickNo++;
    const dt = Math.max(1, now - this.lastTick);
    this.lastTick = now;
    this.zoneSeconds.inc({ zone: ZONE_NAMES[this.zone] }, dt / 1000);

    const gate = this.gate;
    const admittedSinceLastCheck = gate.admittedTotal !== this.lastAdmitted;
    const alpha = 1 - Math.exp(-dt / RATE_TAU_MS);
    this.intakeRate += alpha * (((gate.admittedTotal - this.lastAdmitted) * 1000) / dt - this.intakeRate);
    gate.drainRate += alpha * (((gate.releasedTotal - this.lastReleased) * 1000) / dt - gate.drainRate);
    this.lastAdmitted = gate.admittedTotal;
    this.lastReleased = gate.releasedTotal;

    for (let i = 0; i < this.sensors.length; i++) {
      const s = this.sensors[i]!;
      const v = s.read();
      this.values[s.name] = v;
      this.sensorReadings[i]!.value = v;
    }
    const { thresholds, leaveRatio } = this.settings;
    const decision = decideZone(
      this.zoneMemory,
      { now, dtMs: dt, intakeRate: this.intakeRate, readings: this.sensorReadings, globalZone: this.globalZone },
      this.settings,
    );
    this.zoneMemory = decision.memory;
    this.pressure = decision.pressure;

    const headroom = this.applyReading(now);
    // The heap-growth slack goes once the room under the admission line is less than it (the service's
    // governor asks heapSlackFits): apply a change at this check, not at the governor's next 1 s tick.
    const slackFits = headroom >= slackBytesFor(this.settings.memoryLimitBytes);
    if (slackFits !== this.slackFits) {
      this.slackFits = slackFits;
      refreshHeapGrowth();
    }

    // After an overload the garbage it left (request bodies nobody references) keeps RSS and the heap
    // sensor high until V8 collects, and V8 collects only when something allocates: with the gate shut by
    // that very memory, nothing does, and the zone and the gate would stay shut for good. So when memory
    // is what holds them and nothing was admitted or is in flight, collect now (at most once a second);
    // the next check reads what is really live.
    const memoryHolds = headroom <= 0 || this.values.heap >= thresholds.heap.yellow * leaveRatio;
    if (memoryHolds && !admittedSinceLastCheck && gate.inFlight === 0 && now - this.lastStallCollect >= STALL_COLLECT_INTERVAL_MS) {
      this.lastStallCollect = now;
      if (collectGarbage()) this.stallCollections.inc();
    } else if (this.garbageOverRoom(headroom) && collectGarbage()) {
      this.lastGarbageCollect = now;
      this.garbageCollections.inc();
    }

    if (decision.transition) this.transition(decision.transition.to, decision.transition.sensor, decision.transition.value);

    for (const fn of this.listeners) fn();
  }

  /**
   * Sets the gate from the RSS just read: its cap is what is in flight and held now plus the memory
   * headroom now (see gate.ts), and what was admitted or freed before this reading is in it. Returns the headroom.
   */
  private applyReading(now: number): number {
    const gate = this.gate;
    const headroom = this.memoryRoomBytes();
    gate.cap = gate.inFlight + gate.held + Math.max(0, headroom);
    gate.freedSinceCheck = 0;
    // What was in flight at this reading may not have made its copies yet, nor been read whole (bodies and
    // messages still arriving): neither is in this RSS. Measured in the gRPC flood of test/rss-flood.test.ts:
    // 13 MiB of messages in flight at a reading 1 MiB under the admission line arrived after it and took RSS
    // 8 MiB past the line with nothing more admitted.
    gate.roomAtReading = headroom - (gate.copies - 1) * gate.inFlight - gate.awaited;
    gate.takenSinceReading = 0;
    // Half the room under the limit: a request costs more than its bytes once read and parsed.
    gate.soloRoom = Math.max(0, this.settings.memoryLimitBytes - this.memory.rssBytes) / 2;
    this.lastReading = now;
    return headroom;
  }

  /**
   * The gate's re-read between checks, at most every REREAD_MIN_MS: RSS and this thread's ArrayBuffer
   * memory (one process.memoryUsage()), and the garbage rule of the checks (garbageOverRoom) applied
   * here too, at most every GARBAGE_COLLECT_MIN_MS. A re-read happens when requests used up the room the
   * last reading showed, which is when dead Buffers pile up fastest: each admitted request leaves its
   * body and the copies made of it (decompression, a worker's copy, a batch, an export). Measured under
   * a flood of 1 MiB requests through processors (test/rss-flood.test.ts), the event loop's dead Buffers
   * reached 94 MiB between two 100 ms checks (V8 starts a full GC only ~64 MiB of external memory past
   * its last one), and the allocator keeps the pages they took: RSS went past a 256 MiB limit.
   */
  private reread(): boolean {
    const now = Date.now();
    if (now - this.lastReading < REREAD_MIN_MS) return false;
    this.memory.refreshNow();
    const headroom = this.applyReading(now);
    if (now - this.lastGarbageCollect >= GARBAGE_COLLECT_MIN_MS && this.garbageOverRoom(headroom) && collectGarbage()) {
      this.lastGarbageCollect = now;
      this.garbageCollections.inc();
    }
    return true;
  }

  /**
   * Whether Buffers nobody holds any more are worth a collection now. V8 sizes its collections by its own
   * heap, blind to memory_limit_mib: measured under a flood of 1 MiB requests through processors, the main
   * thread held 130 MiB of dead request bodies and copies (ArrayBuffers beyond the bytes in flight and held)
   * while RSS went 35 MiB past a 256 MiB limit. Each dead byte is memory the next allocation cannot reuse,
   * so RSS grows by it. The estimate is this thread's ArrayBuffer memory less what the gate knows to be
   * live (in flight and held); past a small allowance, and past the room left under the admission line,
   * collect (at most once per check; a full GC of this small heap takes a few ms).
   */
  private garbageOverRoom(headroom: number): boolean {
    const gate = this.gate;
    const garbage = this.memory.arrayBufferBytes - gate.inFlight - gate.held;
    const allowance = Math.max(GARBAGE_FLOOR_BYTES, this.settings.memoryLimitBytes * GARBAGE_SHARE);
    return garbage > allowance && garbage > headroom;
  }

  /** Memory left under the admission line (admit_memory_ratio x memory_limit_mib) at the last check's RSS. */
  memoryRoomBytes(): number {
    return this.settings.memoryLimitBytes * this.settings.admitMemoryRatio - this.memory.rssBytes;
  }

  /**
   * Whether the heap-growth slack (src/core/heap-growth.ts) fitted in memoryRoomBytes at the last check.
   * Not by zone: Red and Yellow are the zones that must keep up with the wire, and without the slack full
   * GCs took ~30 % of the CPU (bench/RESULTS.md); in forced Red, without it, Red's rate halved in some
   * runs. A zone entered for another sensor (event loop, queues) leaves memory room.
   */
  get heapSlackFits(): boolean {
    return this.slackFits;
  }

  /** The zone the machine-wide view calls for (worker processes only); the next check applies it. */
  setGlobalZone(zone: number): void {
    this.globalZone = zone >= RED ? RED : zone >= YELLOW ? YELLOW : GREEN;
  }

  /** Applies a transition the decision made: the cached zone, its gauge and counter, and the log line. */
  private transition(to: Zone, sensor: ZoneCause, value: number): void {
    const from = this.zone;
    this.zone = to;
    this.setRequestCopies(this.requestCopies);
    this.zoneGauge.set(to);
    this.transitions.inc({ sensor, from: ZONE_NAMES[from], to: ZONE_NAMES[to] });
    const fields = {
      from: ZONE_NAMES[from],
      to: ZONE_NAMES[to],
      sensor,
      value: Math.round(value * 1000) / 1000,
      unit: sensor === 'event_loop_delay' ? 'ms' : 'ratio',
      intake_mib_per_s: Math.round((this.intakeRate / 2 ** 20) * 10) / 10,
      inflight_bytes: this.gate.inFlight,
    };
    if (to > from) this.logger.warn(`somatic zone rose to ${ZONE_NAMES[to]}`, fields);
    else this.logger.info(`somatic zone fell to ${ZONE_NAMES[to]}`, fields);
  }

  /** Test and tooling access to the current sensor readings. */
  readings(): SensorState[] {
    return this.sensors.map((s) => ({ name: s.name, value: this.values[s.name], unit: s.unit }));
  }
}
