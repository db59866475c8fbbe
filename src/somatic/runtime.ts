/**
 * One somatic runtime per service: the admission gate (reflex), the sensors and the zone controller
 * (ambient, on a timer), and the zone's telemetry. Several pipelines share it; it exists only when a
 * `somatic` processor is configured, and receivers find it through the service's Telemetry object.
 *
 * Zone rule, per check:
 *  - each sensor has an enter threshold per zone (0 = that sensor never enters the zone) and a leave
 *    threshold = enter x leave_ratio; the zone rises one step when some sensor has been at or above the
 *    next zone's enter threshold on two checks in a row (memory safety is the gate's job, per request, so
 *    the zone can afford to ignore a single spike);
 *  - it falls one step only when every sensor is below the current zone's leave threshold, the zone has
 *    been held for min_dwell (longer after falls that did not hold: `dwellFactor`), and the intake rate
 *    is below what the lower zone was seen to saturate at (the "intake ceiling" remembered when the zone
 *    last rose out of it). That last rule keeps a steady
 *    overload in the zone that copes with it: the cheap zone makes its own sensors look calm, and without
 *    the memory of the ceiling the zone would fall, choke and rise again in a loop. The ceiling creeps up
 *    2 %/s while the sensors are calm, so a stale one is re-probed now and then.
 */
import { Counter, Gauge } from 'prom-client';
import { collectGarbage } from '../core/gc.js';
import { refreshHeapGrowth, slackBytesFor } from '../core/heap-growth.js';
import { queueFillRatios } from '../exporterhelper/fill.js';
import type { Logger } from '../telemetry/logger.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { AdmissionGate } from './gate.js';
import { setMemoryLedger } from '../core/memory-ledger.js';
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

export interface Thresholds {
  /** Value at which the sensor takes the zone to Yellow (0 = never). */
  yellow: number;
  /** Value at which the sensor takes the zone to Red (0 = never). */
  red: number;
}

/** Threshold keys of the config, one per sensor. */
export type ThresholdKey = 'heap' | 'rss' | 'inflight' | 'event_loop_delay' | 'event_loop_utilization' | 'exporter_queue' | 'wal';

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

const THRESHOLD_OF: Record<SensorName, ThresholdKey> = {
  rss: 'rss',
  heap: 'heap',
  inflight: 'inflight',
  event_loop_delay: 'event_loop_delay',
  event_loop_utilization: 'event_loop_utilization',
  exporter_queue: 'exporter_queue',
  wal: 'wal',
};

/** Least time between two collections forced because memory held the gate shut while nothing moved. */
const STALL_COLLECT_INTERVAL_MS = 1000;

/** The ceiling rises this much per second while the sensors say the lower zone would do. */
const CEILING_CREEP_PER_SEC = 0.02;
/** Most the dwell grows to (x min_dwell) after falls that did not hold (see `dwellFactor`). */
const MAX_DWELL_FACTOR = 16;
/** A fall that held this many min_dwells was a calm spell: the next rise starts from min_dwell again. */
const CALM_DWELLS = 10;
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

const runtimes = new WeakMap<Telemetry, SomaticRuntime>();

/** The somatic runtime of a service, if a somatic processor is configured in it. */
export function somaticRuntimeOf(telemetry: Telemetry): SomaticRuntime | undefined {
  return runtimes.get(telemetry);
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
  /** Whether the heap-growth slack fitted under the admission line at the last check. */
  private slackFits = true;
  private readonly governed = new Map<string, PipelineGovernance>();
  private readonly listeners = new Set<TickListener>();
  private readonly ceilings: number[] = [Infinity, Infinity, Infinity];
  private riseStreak = 0;
  private timer: NodeJS.Timeout | undefined;
  private users = 0;
  private tickNo = 0;
  private enteredAt = Date.now();
  /**
   * min_dwell is multiplied by this. A fall the zone returns from within the dwell (the lower zone choked
   * again at once) doubles it, up to MAX_DWELL_FACTOR; a fall that held longer halves it, and one that
   * held CALM_DWELLS x min_dwell resets it. Noisy intake, or a zone that copes worse than the one below
   * it (Red bound by a disk slower than Yellow's forwarding), otherwise makes a steady overload flap
   * between two zones every min_dwell.
   */
  private dwellFactor = 1;
  private lastFallAt = -Infinity;
  private lastFallFrom: Zone = GREEN;
  private lastTick = 0;
  private lastAdmitted = 0;
  private lastReleased = 0;
  private readonly zoneGauge: Gauge<string>;
  private readonly transitions: Counter<string>;
  private readonly zoneSeconds: Counter<string>;
  private readonly stallCollections: Counter<string>;
  private lastStallCollect = -Infinity;
  private readonly sensorGauge: Gauge<string>;

  constructor(
    readonly settings: SomaticSettings,
    private readonly telemetry: Telemetry,
    private readonly logger: Logger,
    /** Replaces the built-in sensors (tests drive the controller with their own readings). */
    sensors?: Sensor[],
  ) {
    this.gate = new AdmissionGate(settings.inflightBudgetBytes);
    this.memory = new MemorySensors(settings.memoryLimitBytes);
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
    // The fullest exporter sending queue: waiting requests against queue_size and, for a WAL queue, disk
    // bytes against max_size_mib too (a queue of few large requests fills its disk budget first).
    this.exporterQueues.add(queueFillRatios);
    const registers = [telemetry.registry];
    const self = this;
    this.zoneGauge = new Gauge({ name: 'gophership_somatic_zone', help: 'Somatic zone: 0 green, 1 yellow, 2 red', registers });
    this.zoneGauge.set(this.zone);
    this.transitions = new Counter({
      name: 'gophership_somatic_transitions',
      help: 'Zone transitions, by the sensor that caused each',
      labelNames: ['sensor', 'from', 'to'],
      registers,
    });
    this.stallCollections = new Counter({
      name: 'gophership_somatic_stall_collections_total',
      help: 'Full GCs forced because memory held the admission gate or the zone while nothing was admitted',
      registers,
    });
    this.zoneSeconds = new Counter({ name: 'gophership_somatic_zone_seconds', help: 'Seconds spent in each zone', labelNames: ['zone'], registers });
    this.sensorGauge = new Gauge({
      name: 'gophership_somatic_sensor',
      help: 'Last reading of each somatic sensor (ratio of its limit; event_loop_delay in ms)',
      labelNames: ['sensor'],
      registers,
      collect() {
        for (const n of SENSOR_NAMES) this.set({ sensor: n }, self.values[n]);
      },
    });
    const debtGauge = (name: string, help: string, pick: (d: DebtProbe) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['pipeline'],
        registers,
        collect() {
          for (const [pipeline, d] of self.debts) this.set({ pipeline }, pick(d));
        },
      });
    debtGauge('gophership_somatic_debt_records', 'Requests spilled to the somatic WAL in Red and not yet replayed', (d) => d.records());
    debtGauge('gophership_somatic_debt_bytes', 'Bytes of debt held by the somatic WAL', (d) => d.bytes());
    debtGauge('gophership_somatic_replay_rate', 'Debt records (log records, spans, points) replayed per second', (d) => d.replayRate());
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames: ['pipeline'], registers });
    this.spilledRecords = counter('gophership_somatic_spilled_items', 'Items (log records, spans, points) spilled to the somatic WAL in Red');
    this.spilledBytes = counter('gophership_somatic_spilled_bytes', 'Request bytes spilled to the somatic WAL in Red');
    this.replayedRecords = counter('gophership_somatic_replayed_items', 'Items replayed from the somatic WAL and accepted downstream');
    this.replayDropped = counter('gophership_somatic_replay_dropped_items', 'Replayed items the pipeline refused permanently (written to the replay dead-letter file, logged; not retried)');
    this.bypassedItems = new Counter({
      name: 'gophership_somatic_bypassed_items',
      help: 'Items (log records, spans, points) that went around an optional processor in Yellow or Red',
      labelNames: ['pipeline', 'processor'],
      registers,
    });
    new Gauge({ name: 'gophership_somatic_inflight_bytes', help: 'Request bytes admitted and not yet answered', registers, collect() { this.set(self.gate.inFlight); } });
    new Gauge({ name: 'gophership_somatic_held_bytes', help: 'Bytes the service holds outside requests in flight (exporter queues in memory, WAL records read back for delivery), counted by the admission gate', registers, collect() { this.set(self.gate.held); } });
    new Gauge({ name: 'gophership_somatic_admission_cap_bytes', help: 'Bytes in flight and held the admission gate allows until the next check (the in-flight budget applies besides)', registers, collect() { this.set(self.gate.cap); } });
    new Gauge({ name: 'gophership_somatic_refused_requests', help: 'Requests the admission gate refused before reading their body', registers, collect() { this.set(self.gate.refusedTotal); } });
  }

  /**
   * The runtime of this service, created on first call. Later callers with different runtime settings
   * get the first one (one zone per process), and a warning says so.
   */
  static forService(telemetry: Telemetry, logger: Logger, settings: SomaticSettings, who: string): SomaticRuntime {
    const existing = runtimes.get(telemetry);
    if (existing) {
      if (JSON.stringify(existing.settings) !== JSON.stringify(settings)) {
        logger.warn('a second somatic processor has different zone settings; the service has one zone, so the first somatic processor\'s settings apply', { processor: who });
      }
      return existing;
    }
    const rt = new SomaticRuntime(settings, telemetry, logger);
    runtimes.set(telemetry, rt);
    setMemoryLedger(telemetry, rt.gate);
    return rt;
  }

  /** A pipeline whose first processor is somatic: its optional processors are bypassed in Yellow and Red. */
  govern(pipelineId: string, overrides: Readonly<Record<string, boolean>>): void {
    this.governed.set(pipelineId, { overrides });
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
    this.enteredAt = this.lastTick;
    this.timer = setInterval(() => this.check(), this.settings.checkIntervalMs);
    this.timer.unref();
    this.logger.info('somatic zone controller started', {
      zone: ZONE_NAMES[this.zone],
      forced: this.settings.forceZone !== undefined,
      memory_limit_mib: this.settings.memoryLimitBytes / 2 ** 20,
      inflight_budget_mib: this.settings.inflightBudgetBytes / 2 ** 20,
    });
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

    let enter: Zone = GREEN;
    let enterCause: SensorName | 'global' = 'inflight';
    let enterScore = 0;
    let hold: Zone = GREEN;
    let pressure = 0;
    let top: SensorName = 'inflight';
    const { thresholds, leaveRatio } = this.settings;
    for (const s of this.sensors) {
      const v = s.read();
      this.values[s.name] = v;
      const t = thresholds[THRESHOLD_OF[s.name]];
      // RSS lags behind the load (freed pages stay resident), so it does not steer the replay pace.
      if (s.name !== 'rss' && t.yellow > 0 && v / t.yellow > pressure) {
        pressure = v / t.yellow;
        top = s.name;
      }
      let level: Zone = GREEN;
      let score = 0;
      if (t.red > 0 && v >= t.red) {
        level = RED;
        score = v / t.red;
      } else if (t.yellow > 0 && v >= t.yellow) {
        level = YELLOW;
        score = v / t.yellow;
      }
      if (level > enter || (level === enter && level !== GREEN && score > enterScore)) {
        enter = level;
        enterCause = s.name;
        enterScore = score;
      }
      // RSS lags the load by itself (freed pages stay resident long after the heap shrank), so it holds a
      // zone only while it is still over the enter threshold: a leave band below it would hold Yellow for good.
      const ratio = s.name === 'rss' ? 1 : leaveRatio;
      const h: Zone = t.red > 0 && v >= t.red * ratio ? RED : t.yellow > 0 && v >= t.yellow * ratio ? YELLOW : GREEN;
      if (h > hold) hold = h;
    }
    this.pressure = pressure;
    // With worker processes, the primary's machine-wide view (src/service/workers) is one more reading:
    // it can raise this worker's zone and hold it, never lower it below what the local sensors call for.
    if (this.globalZone > enter) {
      enter = this.globalZone;
      enterCause = 'global';
    }
    if (this.globalZone > hold) hold = this.globalZone;

    // The gate's cap: what is in flight and held now plus the memory headroom now (see gate.ts).
    const headroom = this.memoryRoomBytes();
    gate.cap = gate.inFlight + gate.held + Math.max(0, headroom);
    gate.freedSinceCheck = 0;
    // Half the room under the limit: a request costs more than its bytes once read and parsed.
    gate.soloRoom = Math.max(0, this.settings.memoryLimitBytes - this.memory.rssBytes) / 2;
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
    }

    if (this.settings.forceZone === undefined) {
      const zone = this.zone;
      // A rise needs its condition on two checks in a row, so one late timer or one GC pause does not
      // change the zone (memory is not at risk meanwhile: the admission gate enforces it per request).
      this.riseStreak = enter > zone ? this.riseStreak + 1 : 0;
      if (enter > zone && this.riseStreak >= 2) {
        this.riseStreak = 0;
        // Remember what the zone being left coped with: the intake it saturated at. No ceiling when the
        // intake was not what saturated it: no intake measured (a rise from memory alone), or a rise from
        // downstream (a full exporter queue or WAL during an outage), where the intake is merely what
        // clients sent, and a ceiling at it would hold the zone long after the downstream came back.
        const fromDownstream = enterCause === 'exporter_queue' || enterCause === 'wal' || enterCause === 'global';
        this.ceilings[zone] = this.intakeRate > 1 && !fromDownstream ? this.intakeRate : Infinity;
        // Only a rise back into the zone the last fall left is a return; the next step up after it
        // (Green -> Yellow -> Red at once) is not another one.
        if (zone + 1 === this.lastFallFrom) {
          const dwell = this.settings.minDwellMs * this.dwellFactor;
          const held = now - this.lastFallAt;
          // The calm test comes first: with the dwell at 16x, a fall that held 10-16 min_dwells was calm too.
          if (held >= CALM_DWELLS * this.settings.minDwellMs) this.dwellFactor = 1;
          else if (held < dwell) this.dwellFactor = Math.min(MAX_DWELL_FACTOR, this.dwellFactor * 2);
          else this.dwellFactor = Math.max(1, this.dwellFactor / 2);
        }
        this.transition((zone + 1) as Zone, enterCause, enterCause === 'global' ? this.globalZone : this.values[enterCause], now);
      } else if (zone > GREEN && hold < zone) {
        const lower = (zone - 1) as Zone;
        const ceiling = this.ceilings[lower]!;
        if (now - this.enteredAt >= this.settings.minDwellMs * this.dwellFactor) {
          if (this.intakeRate < ceiling * this.settings.fallIntakeRatio) {
            this.lastFallAt = now;
            this.lastFallFrom = zone;
            this.transition(lower, top, this.values[top], now);
          } else if (Number.isFinite(ceiling)) {
            this.ceilings[lower] = ceiling * (1 + (CEILING_CREEP_PER_SEC * dt) / 1000);
          }
        }
      }
    }
    for (const fn of this.listeners) fn();
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

  private transition(to: Zone, sensor: SensorName | 'global', value: number, now: number): void {
    const from = this.zone;
    this.zone = to;
    this.enteredAt = now;
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

  /** For tests: drop the runtime of a service. */
  static forget(telemetry: Telemetry): void {
    runtimes.delete(telemetry);
    setMemoryLedger(telemetry, undefined);
  }

  get telemetryRegistry(): Telemetry {
    return this.telemetry;
  }
}
