import { describe, expect, it } from 'vitest';
import { decideZone, initialZoneMemory, type SensorReading, type ZoneMemory, type ZoneRules } from './decide.js';
import { DEFAULT_THRESHOLDS } from './runtime.js';
import type { SensorName } from './sensors.js';
import { GREEN, RED, YELLOW, type Zone } from './zone.js';

const NOW = 1_000_000;
const RULES: ZoneRules = { thresholds: DEFAULT_THRESHOLDS, leaveRatio: 0.8, minDwellMs: 1000, fallIntakeRatio: 0.7, forceZone: undefined };

interface Row {
  name: string;
  /** The memory before the check (over a Green controller that entered its zone long ago). */
  before?: Partial<ZoneMemory>;
  readings: Partial<Record<SensorName, number>>;
  intake?: number;
  rules?: Partial<ZoneRules>;
  /** The machine-wide view's zone (worker processes). */
  global?: Zone;
  /** Expected: the zone after, the transition's sensor (required when the zone changes), and memory fields. */
  zone: Zone;
  cause?: SensorName | 'global';
  after?: Partial<ZoneMemory>;
  pressure?: number;
}

// Thresholds (DEFAULT_THRESHOLDS): inflight Yellow 0.3 / Red 0.6, exporter_queue 0.5 / 0.8, heap 0.5 / 0.7,
// rss Yellow 0.85 only, wal never. Leave ratio 0.8: inflight leaves Yellow below 0.24.
const rows: Row[] = [
  {
    name: 'calm Green stays Green; pressure is the reading over its Yellow threshold',
    readings: { inflight: 0.15 },
    zone: GREEN,
    after: { riseStreak: 0 },
    pressure: 0.5,
  },
  { name: 'one check over Yellow only counts the streak', readings: { inflight: 0.4 }, zone: GREEN, after: { riseStreak: 1 } },
  {
    name: 'the second check in a row rises, names the sensor and remembers the intake Green saturated at',
    before: { riseStreak: 1 },
    readings: { inflight: 0.4 },
    intake: 5e6,
    zone: YELLOW,
    cause: 'inflight',
    after: { riseStreak: 0, enteredAt: NOW, ceilings: [5e6, Infinity, Infinity] },
  },
  { name: 'over Red from Green rises one step only', before: { riseStreak: 1 }, readings: { inflight: 0.9 }, zone: YELLOW, cause: 'inflight' },
  {
    name: 'a rise from downstream (exporter queue) sets no ceiling',
    before: { riseStreak: 1 },
    readings: { inflight: 0.1, exporter_queue: 0.6 },
    intake: 5e6,
    zone: YELLOW,
    cause: 'exporter_queue',
    after: { ceilings: [Infinity, Infinity, Infinity] },
  },
  {
    name: 'a rise with no intake measured (memory alone) sets no ceiling',
    before: { riseStreak: 1 },
    readings: { heap: 0.6 },
    intake: 0,
    zone: YELLOW,
    cause: 'heap',
    after: { ceilings: [Infinity, Infinity, Infinity] },
  },
  {
    name: 'of two sensors in the same zone, the one further over its threshold is named',
    before: { riseStreak: 1 },
    readings: { inflight: 0.35, exporter_queue: 0.7 },
    zone: YELLOW,
    cause: 'exporter_queue',
  },
  {
    name: 'a sensor in a higher zone is named over one further over a lower threshold',
    before: { zone: YELLOW, riseStreak: 1 },
    readings: { inflight: 0.61, exporter_queue: 0.79 },
    zone: RED,
    cause: 'inflight',
  },
  { name: 'a threshold of 0 never enters its zone', before: { riseStreak: 1 }, readings: { wal: 1 }, zone: GREEN, after: { riseStreak: 0 } },
  { name: 'RSS does not count towards the pressure', readings: { rss: 0.8, inflight: 0.03 }, zone: GREEN, pressure: 0.1 },
  { name: 'Yellow holds before min_dwell even when calm', before: { zone: YELLOW, enteredAt: NOW - 900 }, readings: { inflight: 0 }, zone: YELLOW },
  {
    name: 'Yellow falls once calm for min_dwell with the intake under the ceiling x fall_intake_ratio',
    before: { zone: YELLOW, enteredAt: NOW - 1000, ceilings: [10e6, Infinity, Infinity] },
    readings: { inflight: 0.1, heap: 0.2 },
    intake: 6.9e6,
    zone: GREEN,
    cause: 'heap',
    after: { lastFallAt: NOW, lastFallFrom: YELLOW, enteredAt: NOW },
  },
  {
    name: 'an intake at the ceiling x fall_intake_ratio holds Yellow, and the ceiling creeps 2 %/s',
    before: { zone: YELLOW, enteredAt: NOW - 5000, ceilings: [10e6, Infinity, Infinity] },
    readings: { inflight: 0.1 },
    intake: 7e6,
    zone: YELLOW,
    after: { ceilings: [10e6 * 1.002, Infinity, Infinity] },
  },
  { name: 'a reading in the leave band holds the zone', before: { zone: YELLOW, enteredAt: NOW - 5000 }, readings: { inflight: 0.25 }, zone: YELLOW },
  {
    name: 'RSS has no leave band: under its enter threshold it holds nothing',
    before: { zone: YELLOW, enteredAt: NOW - 5000 },
    readings: { rss: 0.8, inflight: 0.1 },
    zone: GREEN,
    cause: 'inflight',
  },
  {
    name: 'Red falls to Yellow only, against the ceiling Yellow saturated at',
    before: { zone: RED, enteredAt: NOW - 5000, ceilings: [1e6, 20e6, Infinity] },
    readings: { inflight: 0.3 },
    intake: 10e6,
    zone: YELLOW,
    cause: 'inflight',
  },
  { name: 'the dwell is min_dwell x dwellFactor', before: { zone: YELLOW, enteredAt: NOW - 1500, dwellFactor: 2 }, readings: { inflight: 0 }, zone: YELLOW },
  {
    name: 'a return within the dwell after a fall doubles the dwell',
    before: { riseStreak: 1, lastFallFrom: YELLOW, lastFallAt: NOW - 500 },
    readings: { inflight: 0.4 },
    zone: YELLOW,
    cause: 'inflight',
    after: { dwellFactor: 2 },
  },
  {
    name: 'the dwell grows to 16 x min_dwell at most',
    before: { riseStreak: 1, lastFallFrom: YELLOW, lastFallAt: NOW - 500, dwellFactor: 16 },
    readings: { inflight: 0.4 },
    zone: YELLOW,
    cause: 'inflight',
    after: { dwellFactor: 16 },
  },
  {
    name: 'a return after the dwell halves it',
    before: { riseStreak: 1, lastFallFrom: YELLOW, lastFallAt: NOW - 5000, dwellFactor: 4 },
    readings: { inflight: 0.4 },
    zone: YELLOW,
    cause: 'inflight',
    after: { dwellFactor: 2 },
  },
  {
    name: 'a return after a calm spell (10 min_dwells) resets it',
    before: { riseStreak: 1, lastFallFrom: YELLOW, lastFallAt: NOW - 10_000, dwellFactor: 16 },
    readings: { inflight: 0.4 },
    zone: YELLOW,
    cause: 'inflight',
    after: { dwellFactor: 1 },
  },
  {
    name: 'the next step up after a return is not another return',
    before: { zone: YELLOW, riseStreak: 1, lastFallFrom: YELLOW, lastFallAt: NOW - 500, dwellFactor: 2 },
    readings: { inflight: 0.9 },
    zone: RED,
    cause: 'inflight',
    after: { dwellFactor: 2 },
  },
  {
    name: "the machine-wide view raises the zone though the local sensors are calm, and sets no ceiling (it is not this worker's intake)",
    before: { riseStreak: 1 },
    readings: { inflight: 0.1 },
    global: RED,
    intake: 5e6,
    zone: YELLOW,
    cause: 'global',
    after: { ceilings: [Infinity, Infinity, Infinity] },
  },
  {
    name: 'the machine-wide view holds the zone: no fall below it',
    before: { zone: YELLOW, enteredAt: NOW - 5000 },
    readings: { inflight: 0 },
    global: YELLOW,
    zone: YELLOW,
  },
  {
    name: 'a local sensor as high as the machine-wide view is the one named',
    before: { riseStreak: 1 },
    readings: { inflight: 0.4 },
    global: YELLOW,
    zone: YELLOW,
    cause: 'inflight',
  },
  {
    name: 'a forced zone never changes, but the pressure is still measured',
    before: { zone: YELLOW, riseStreak: 1 },
    readings: { inflight: 0.9 },
    rules: { forceZone: YELLOW },
    zone: YELLOW,
    after: { riseStreak: 1 },
    pressure: 3,
  },
];

describe('decideZone (the zone rule as a table)', () => {
  it.each(rows)('$name', (row) => {
    const before: ZoneMemory = { ...initialZoneMemory(GREEN, NOW - 60_000), ...row.before };
    const readings: SensorReading[] = Object.entries(row.readings).map(([name, value]) => ({ name: name as SensorName, value }));
    const frozen = structuredClone(before);
    const d = decideZone(before, { now: NOW, dtMs: 100, intakeRate: row.intake ?? 0, readings, globalZone: row.global }, { ...RULES, ...row.rules });
    expect(before).toEqual(frozen); // pure: the memory passed in is not changed
    expect(d.memory.zone).toBe(row.zone);
    if (row.cause) {
      const value = row.cause === 'global' ? row.global : row.readings[row.cause];
      expect(d.transition).toMatchObject({ from: before.zone, to: row.zone, sensor: row.cause, value });
    } else {
      expect(d.transition).toBeUndefined();
    }
    if (row.after) {
      const picked = Object.fromEntries(Object.keys(row.after).map((k) => [k, d.memory[k as keyof ZoneMemory]]));
      expect(picked).toEqual(row.after);
    }
    if (row.pressure !== undefined) expect(d.pressure).toBeCloseTo(row.pressure);
  });

  it('the same inputs give the same decision', () => {
    const m = { ...initialZoneMemory(YELLOW, NOW - 5000), ceilings: [10e6, Infinity, Infinity] as [number, number, number] };
    const inputs = { now: NOW, dtMs: 100, intakeRate: 8e6, readings: [{ name: 'inflight' as const, value: 0.1 }] };
    expect(decideZone(m, inputs, RULES)).toEqual(decideZone(m, inputs, RULES));
  });
});
