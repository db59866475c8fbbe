/**
 * The zone decision, as a pure function: the controller's memory of past checks, this check's readings and
 * the settings in; the next memory, the pressure and the transition (if any) out. No clock, no sensor, no
 * metric or log: the runtime (runtime.ts) reads the sensors and applies the outcome, so the rule can be
 * tested as a table.
 *
 * Zone rule, per check:
 *  - each sensor has an enter threshold per zone (0 = that sensor never enters the zone) and a leave
 *    threshold = enter x leave_ratio; the zone rises one step when some sensor has been at or above the
 *    next zone's enter threshold on two checks in a row (memory safety is the gate's job, per request, so
 *    the zone can afford to ignore a single spike);
 *  - it falls one step only when every sensor is below the current zone's leave threshold, the zone has
 *    been held for min_dwell (longer after falls that did not hold: `dwellFactor`), and the intake rate
 *    is below what the lower zone was seen to saturate at (the "intake ceiling" remembered when the zone
 *    last rose out of it). That last rule keeps a steady overload in the zone that copes with it: the
 *    cheap zone makes its own sensors look calm, and without the memory of the ceiling the zone would
 *    fall, choke and rise again in a loop. The ceiling creeps up 2 %/s while the sensors are calm, so a
 *    stale one is re-probed now and then.
 */
import type { SensorName } from './sensors.js';
import { GREEN, RED, YELLOW, type Zone } from './zone.js';

export interface Thresholds {
  /** Value at which the sensor takes the zone to Yellow (0 = never). */
  yellow: number;
  /** Value at which the sensor takes the zone to Red (0 = never). */
  red: number;
}

/** Threshold keys of the config, one per sensor (the same names). */
export type ThresholdKey = SensorName;

/** What of the settings the decision reads. */
export interface ZoneRules {
  thresholds: Readonly<Record<ThresholdKey, Thresholds>>;
  leaveRatio: number;
  minDwellMs: number;
  /** Intake must be below ceiling x this before the zone falls to the zone the ceiling belongs to. */
  fallIntakeRatio: number;
  /** A forced zone never changes. */
  forceZone: Zone | undefined;
}

/** What the controller remembers from one check to the next. */
export interface ZoneMemory {
  readonly zone: Zone;
  /** Checks in a row whose readings called for a higher zone. */
  readonly riseStreak: number;
  /** When the zone was entered (ms). */
  readonly enteredAt: number;
  /** Per zone, the intake (bytes/s) it saturated at when the zone last rose out of it; Infinity when none. */
  readonly ceilings: readonly [number, number, number];
  /**
   * min_dwell is multiplied by this. A fall the zone returns from within the dwell (the lower zone choked
   * again at once) doubles it, up to MAX_DWELL_FACTOR; a fall that held longer halves it, and one that
   * held CALM_DWELLS x min_dwell resets it. Noisy intake, or a zone that copes worse than the one below
   * it (Red bound by a disk slower than Yellow's forwarding), otherwise makes a steady overload flap
   * between two zones every min_dwell.
   */
  readonly dwellFactor: number;
  readonly lastFallAt: number;
  readonly lastFallFrom: Zone;
}

export interface SensorReading {
  readonly name: SensorName;
  readonly value: number;
}

export interface ZoneInputs {
  readonly now: number;
  /** Time since the last check (ms, at least 1). */
  readonly dtMs: number;
  /** Intake rate (bytes/s admitted), EWMA. */
  readonly intakeRate: number;
  /** Every sensor's reading, in sensor order (the first of equal causes is named). */
  readonly readings: readonly SensorReading[];
  /**
   * With worker processes, the zone the primary's machine-wide view calls for (src/service/workers): one
   * more reading that can raise this worker's zone and hold it, never lower it below what the local
   * sensors call for. GREEN (or absent) without workers.
   */
  readonly globalZone?: Zone;
}

/** What caused a transition: a sensor, or the machine-wide view of worker processes. */
export type ZoneCause = SensorName | 'global';

export interface ZoneTransition {
  readonly from: Zone;
  readonly to: Zone;
  /** The sensor that caused it (for a fall: the one nearest its Yellow threshold) and its reading (for `global`, the global zone). */
  readonly sensor: ZoneCause;
  readonly value: number;
}

export interface ZoneDecision {
  readonly memory: ZoneMemory;
  /** max over sensors (but RSS) of value / Yellow enter threshold: < 1 means Green would hold. */
  readonly pressure: number;
  readonly transition: ZoneTransition | undefined;
}

/** The ceiling rises this much per second while the sensors say the lower zone would do. */
export const CEILING_CREEP_PER_SEC = 0.02;
/** Most the dwell grows to (x min_dwell) after falls that did not hold (see `dwellFactor`). */
export const MAX_DWELL_FACTOR = 16;
/** A fall that held this many min_dwells was a calm spell: the next rise starts from min_dwell again. */
export const CALM_DWELLS = 10;

/** The memory of a controller that has not checked yet, in `zone` since `now`. */
export function initialZoneMemory(zone: Zone, now: number): ZoneMemory {
  return { zone, riseStreak: 0, enteredAt: now, ceilings: [Infinity, Infinity, Infinity], dwellFactor: 1, lastFallAt: -Infinity, lastFallFrom: GREEN };
}

export function decideZone(memory: ZoneMemory, inputs: ZoneInputs, rules: ZoneRules): ZoneDecision {
  const { thresholds, leaveRatio } = rules;
  let enter: Zone = GREEN;
  let enterCause: ZoneCause = 'inflight';
  let enterValue = 0;
  let enterScore = 0;
  let hold: Zone = GREEN;
  let pressure = 0;
  let top: SensorName = 'inflight';
  for (const { name, value: v } of inputs.readings) {
    const t = thresholds[name];
    // RSS lags behind the load (freed pages stay resident), so it does not steer the replay pace.
    if (name !== 'rss' && t.yellow > 0 && v / t.yellow > pressure) {
      pressure = v / t.yellow;
      top = name;
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
      enterCause = name;
      enterValue = v;
      enterScore = score;
    }
    // RSS lags the load by itself (freed pages stay resident long after the heap shrank), so it holds a
    // zone only while it is still over the enter threshold: a leave band below it would hold Yellow for good.
    const ratio = name === 'rss' ? 1 : leaveRatio;
    const h: Zone = t.red > 0 && v >= t.red * ratio ? RED : t.yellow > 0 && v >= t.yellow * ratio ? YELLOW : GREEN;
    if (h > hold) hold = h;
  }
  const globalZone = inputs.globalZone ?? GREEN;
  if (globalZone > enter) {
    enter = globalZone;
    enterCause = 'global';
    enterValue = globalZone;
  }
  if (globalZone > hold) hold = globalZone;
  if (rules.forceZone !== undefined) return { memory, pressure, transition: undefined };

  const { now, intakeRate } = inputs;
  const zone = memory.zone;
  // A rise needs its condition on two checks in a row, so one late timer or one GC pause does not change
  // the zone (memory is not at risk meanwhile: the admission gate enforces it per request).
  const riseStreak = enter > zone ? memory.riseStreak + 1 : 0;
  if (enter > zone && riseStreak >= 2) {
    // Remember what the zone being left coped with: the intake it saturated at. No ceiling when the intake
    // was not what saturated it: no intake measured (a rise from memory alone), or a rise from downstream
    // (a full exporter queue or WAL during an outage), where the intake is merely what clients sent, and a
    // ceiling at it would hold the zone long after the downstream came back. The global view is not this
    // worker's intake either.
    const fromDownstream = enterCause === 'exporter_queue' || enterCause === 'wal' || enterCause === 'global';
    const ceilings = withCeiling(memory.ceilings, zone, intakeRate > 1 && !fromDownstream ? intakeRate : Infinity);
    let dwellFactor = memory.dwellFactor;
    // Only a rise back into the zone the last fall left is a return; the next step up after it
    // (Green -> Yellow -> Red at once) is not another one.
    if (zone + 1 === memory.lastFallFrom) {
      const dwell = rules.minDwellMs * dwellFactor;
      const held = now - memory.lastFallAt;
      // The calm test comes first: with the dwell at 16x, a fall that held 10-16 min_dwells was calm too.
      if (held >= CALM_DWELLS * rules.minDwellMs) dwellFactor = 1;
      else if (held < dwell) dwellFactor = Math.min(MAX_DWELL_FACTOR, dwellFactor * 2);
      else dwellFactor = Math.max(1, dwellFactor / 2);
    }
    const to = (zone + 1) as Zone;
    return {
      memory: { ...memory, zone: to, riseStreak: 0, enteredAt: now, ceilings, dwellFactor },
      pressure,
      transition: { from: zone, to, sensor: enterCause, value: enterValue },
    };
  }
  if (zone > GREEN && hold < zone && now - memory.enteredAt >= rules.minDwellMs * memory.dwellFactor) {
    const lower = (zone - 1) as Zone;
    const ceiling = memory.ceilings[lower];
    if (intakeRate < ceiling * rules.fallIntakeRatio) {
      return {
        memory: { ...memory, zone: lower, riseStreak, enteredAt: now, lastFallAt: now, lastFallFrom: zone },
        pressure,
        transition: { from: zone, to: lower, sensor: top, value: inputs.readings.find((r) => r.name === top)?.value ?? 0 },
      };
    }
    if (Number.isFinite(ceiling)) {
      const crept = withCeiling(memory.ceilings, lower, ceiling * (1 + (CEILING_CREEP_PER_SEC * inputs.dtMs) / 1000));
      return { memory: { ...memory, riseStreak, ceilings: crept }, pressure, transition: undefined };
    }
  }
  return { memory: riseStreak === memory.riseStreak ? memory : { ...memory, riseStreak }, pressure, transition: undefined };
}

function withCeiling(ceilings: readonly [number, number, number], zone: Zone, value: number): [number, number, number] {
  const next: [number, number, number] = [...ceilings];
  next[zone] = value;
  return next;
}
