import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { MMAP_THRESHOLD_TUNABLE } from '../core/allocator.js';
import { Logger, silentLogger } from '../telemetry/logger.js';
import { Telemetry } from '../telemetry/telemetry.js';
import { AdmissionGate } from './gate.js';
import { DEFAULT_THRESHOLDS, SomaticRuntime, type SomaticSettings } from './runtime.js';
import type { Sensor } from './sensors.js';
import { GREEN, RED, YELLOW } from './zone.js';
import { QueueFillRegistry } from '../exporterhelper/fill.js';
import { PressureSlot } from './slot.js';
import { testSomaticSettings } from '../../test/helpers/somatic.js';

function settings(over: Partial<SomaticSettings> = {}): SomaticSettings {
  return testSomaticSettings({ thresholds: { ...DEFAULT_THRESHOLDS, inflight: { yellow: 0.5, red: 0.8 } }, ...over });
}

/** A runtime driven by one fake in-flight-ratio sensor the test sets. */
function fakeRuntime(over: Partial<SomaticSettings> = {}) {
  const telemetry = new Telemetry();
  const reading = { v: 0 };
  const sensor: Sensor = { name: 'inflight', unit: 'ratio', read: () => reading.v };
  const rt = new SomaticRuntime(settings(over), telemetry, silentLogger, [sensor]);
  return { rt, reading, telemetry };
}

/** A steady 10 MB/s through the gate for `checks` checks 100 ms apart from `now`; returns the clock after. */
function steadyIntake(rt: SomaticRuntime, now: number, checks: number, afterEach?: () => void): number {
  for (let i = 0; i < checks; i++) {
    rt.gate.tryAcquire(1_000_000);
    rt.gate.release(1_000_000);
    rt.check((now += 100));
    afterEach?.();
  }
  return now;
}

async function metric(t: Telemetry, name: string): Promise<string> {
  return (await t.registry.getSingleMetricAsString(name)) ?? '';
}

describe('zone controller', () => {
  it('rises one zone at a time, after two checks in a row over the threshold, and names the sensor', async () => {
    const { rt, reading, telemetry } = fakeRuntime();
    let now = 1_000_000;
    rt.check(now);
    expect(rt.zone).toBe(GREEN);
    reading.v = 0.9; // above red
    rt.check((now += 100));
    expect(rt.zone).toBe(GREEN); // one spike is not enough
    reading.v = 0;
    rt.check((now += 100));
    reading.v = 0.9;
    rt.check((now += 100));
    expect(rt.zone).toBe(GREEN);
    rt.check((now += 100));
    expect(rt.zone).toBe(YELLOW);
    rt.check((now += 100));
    expect(rt.zone).toBe(YELLOW);
    rt.check(now + 100);
    expect(rt.zone).toBe(RED);
    const text = await metric(telemetry, 'gophership_somatic_transitions');
    expect(text).toContain('sensor="inflight",from="green",to="yellow"} 1');
    expect(text).toContain('sensor="inflight",from="yellow",to="red"} 1');
    expect(await metric(telemetry, 'gophership_somatic_zone')).toMatch(/gophership_somatic_zone 2/);
    telemetry.close();
  });

  it('falls only below the leave threshold and after the minimum dwell', () => {
    const { rt, reading, telemetry } = fakeRuntime();
    let now = 1_000_000;
    reading.v = 0.6; // yellow (enter 0.5)
    rt.check((now += 100));
    rt.check((now += 100));
    expect(rt.zone).toBe(YELLOW);
    reading.v = 0.45; // below enter but above leave (0.5 x 0.8 = 0.4): hysteresis holds Yellow
    for (let i = 0; i < 30; i++) rt.check((now += 100));
    expect(rt.zone).toBe(YELLOW);
    reading.v = 0.1; // below leave, but the dwell counts from entering
    const entered = now;
    reading.v = 0.1;
    rt.check((now += 100));
    // 3 s have passed since entering Yellow: the dwell is over, so it falls at once.
    expect(rt.zone).toBe(GREEN);
    // Rise again at once and try to fall within the dwell: it must wait, and since the fall did not hold
    // (the zone came back within the dwell), the dwell is now twice min_dwell.
    reading.v = 0.6;
    rt.check((now += 50));
    rt.check((now += 50));
    expect(rt.zone).toBe(YELLOW);
    reading.v = 0;
    rt.check((now += 500));
    expect(rt.zone).toBe(YELLOW);
    rt.check((now += 600)); // 1100 ms after entering: one min_dwell is not enough any more
    expect(rt.zone).toBe(YELLOW);
    rt.check(now + 1000); // 2100 ms
    expect(rt.zone).toBe(GREEN);
    expect(entered).toBeGreaterThan(0);
    telemetry.close();
  });

  it('a zone that keeps coming back right after it fell waits longer each time (dwell doubles up to 16x), and a fall that holds shortens it again', () => {
    // The lower zone chokes at once (the reading is high there) and the upper one calms it: a steady
    // overload on a zone that copes no better than the one below, or noisy intake. With a fixed dwell the
    // zone would flap every ~1.2 s.
    const { rt, reading, telemetry } = fakeRuntime();
    let now = 1_000_000;
    const falls: number[] = [];
    for (let i = 0; i < 300; i++) {
      reading.v = rt.zone === GREEN ? 0.6 : 0;
      const before = rt.zone;
      rt.check((now += 100));
      if (rt.zone < before) falls.push(now);
    }
    // 30 s: falls after dwells of 1, 2, 4, 8 and 16 s (plus the rises), not ~25.
    expect(falls.length).toBeLessThanOrEqual(5);
    const gaps = falls.slice(1).map((t, k) => t - falls[k]!);
    for (let k = 1; k < gaps.length; k++) expect(gaps[k]!).toBeGreaterThan(gaps[k - 1]!);
    // The overload ends: the zone falls after the (long) dwell and stays in Green...
    reading.v = 0;
    for (let i = 0; i < 200; i++) rt.check((now += 100));
    expect(rt.zone).toBe(GREEN);
    // ...and a later, separate rise is held for min_dwell again, not the long dwell.
    reading.v = 0.6;
    rt.check((now += 100));
    rt.check((now += 100));
    expect(rt.zone).toBe(YELLOW);
    reading.v = 0;
    for (let i = 0; i < 11; i++) rt.check((now += 100));
    expect(rt.zone).toBe(GREEN);
    telemetry.close();
  });

  it('does not flap on a reading that oscillates around one threshold', () => {
    const { rt, reading, telemetry } = fakeRuntime();
    let now = 1_000_000;
    let transitions = 0;
    let last = rt.zone;
    for (let i = 0; i < 200; i++) {
      reading.v = i % 4 < 2 ? 0.52 : 0.47; // around the Yellow enter threshold 0.5, two checks each
      rt.check((now += 100));
      if (rt.zone !== last) transitions++;
      last = rt.zone;
    }
    expect(transitions).toBe(1);
    telemetry.close();
  });

  it('stays in the zone that copes while intake stays at the rate the lower zone saturated at', () => {
    const { rt, reading, telemetry } = fakeRuntime({ minDwellMs: 200 });
    let now = steadyIntake(rt, 1_000_000, 30);
    reading.v = 0.6; // the lower zone chokes at this intake
    now = steadyIntake(rt, now, 2);
    expect(rt.zone).toBe(YELLOW);
    reading.v = 0; // Yellow is cheap: the sensor calms down, but the intake is unchanged
    let falls = 0;
    now = steadyIntake(rt, now, 30, () => {
      if (rt.zone === GREEN) falls++;
    });
    expect(falls).toBe(0);
    // Load drops: intake falls well below the ceiling, the zone falls.
    for (let i = 0; i < 40; i++) rt.check((now += 100));
    expect(rt.zone).toBe(GREEN);
    telemetry.close();
  });

  it('a rise caused downstream (exporter queue) sets no intake ceiling: the zone falls once the queue drains, at the same intake', () => {
    const telemetry = new Telemetry();
    const queue = { v: 0 };
    const sensor: Sensor = { name: 'exporter_queue', unit: 'ratio', read: () => queue.v };
    const rt = new SomaticRuntime(settings({ minDwellMs: 200 }), telemetry, silentLogger, [sensor]);
    let now = steadyIntake(rt, 1_000_000, 30);
    queue.v = 0.6; // the downstream stops taking data
    now = steadyIntake(rt, now, 2);
    expect(rt.zone).toBe(YELLOW);
    queue.v = 0; // it is back and the queue drained; clients send what they sent before
    steadyIntake(rt, now, 5);
    expect(rt.zone).toBe(GREEN);
    rt.release();
    telemetry.close();
  });

  it('only a rise back into the zone the last fall left counts as a return: Green -> Yellow -> Red at once doubles the dwell once', () => {
    const { rt, reading, telemetry } = fakeRuntime();
    let now = 1_000_000;
    reading.v = 0.6;
    rt.check((now += 100));
    rt.check((now += 100));
    expect(rt.zone).toBe(YELLOW);
    reading.v = 0;
    for (let i = 0; i < 11; i++) rt.check((now += 100));
    expect(rt.zone).toBe(GREEN); // fell from Yellow
    reading.v = 0.9; // straight back up, and on to Red
    for (let i = 0; i < 4; i++) rt.check((now += 100));
    expect(rt.zone).toBe(RED);
    reading.v = 0;
    const calm = now;
    while (rt.zone !== GREEN && now - calm < 20_000) rt.check((now += 100));
    // Red and then Yellow each held twice min_dwell (one return), not four times (8 s).
    expect(now - calm).toBeGreaterThanOrEqual(4000);
    expect(now - calm).toBeLessThan(5000);
    telemetry.close();
  });

  it('force_zone pins the zone whatever the sensors say', () => {
    const { rt, reading, telemetry } = fakeRuntime({ forceZone: RED });
    expect(rt.zone).toBe(RED);
    reading.v = 0;
    for (let i = 0; i < 50; i++) rt.check(1_000_000 + i * 100);
    expect(rt.zone).toBe(RED);
    const y = fakeRuntime({ forceZone: YELLOW });
    y.reading.v = 0.99;
    y.rt.check(1_000_000);
    expect(y.rt.zone).toBe(YELLOW);
    telemetry.close();
    y.telemetry.close();
  });

  it('accounts seconds per zone', async () => {
    const { rt, reading, telemetry } = fakeRuntime();
    rt.acquire(); // sets the time base
    rt.release();
    const t0 = Date.now();
    reading.v = 0.6;
    rt.check(t0 + 500);
    rt.check(t0 + 1000);
    rt.check(t0 + 2000);
    const text = await metric(telemetry, 'gophership_somatic_zone_seconds');
    const green = Number(/zone="green"} ([\d.]+)/.exec(text)?.[1]);
    const yellow = Number(/zone="yellow"} ([\d.]+)/.exec(text)?.[1]);
    expect(green).toBeGreaterThanOrEqual(0.9);
    expect(green).toBeLessThan(1.2);
    expect(yellow).toBeCloseTo(1, 1);
    telemetry.close();
  });

  it('a fall that held 10 x min_dwell resets the dwell even when it had grown to 16x', () => {
    const { rt, reading, telemetry } = fakeRuntime();
    let now = 1_000_000;
    let falls = 0;
    // Flap until the dwell has reached its 16x cap (falls after 1, 2, 4, 8, 16, 16 s).
    while (falls < 6) {
      reading.v = rt.zone === GREEN ? 0.6 : 0;
      const before = rt.zone;
      rt.check((now += 100));
      if (rt.zone < before) falls++;
    }
    expect(rt.zone).toBe(GREEN);
    // A calm spell of 12 s (over 10 x min_dwell), then a separate rise.
    reading.v = 0;
    for (let i = 0; i < 120; i++) rt.check((now += 100));
    reading.v = 0.6;
    rt.check((now += 100));
    rt.check((now += 100));
    expect(rt.zone).toBe(YELLOW);
    reading.v = 0;
    for (let i = 0; i < 11; i++) rt.check((now += 100));
    expect(rt.zone).toBe(GREEN); // held for min_dwell again, not 16 x min_dwell
    telemetry.close();
  });
});

describe('admission gate', () => {
  it('admits up to the cap, refuses beyond it, and frees on release', () => {
    const g = new AdmissionGate(1000);
    expect(g.tryAcquire(600)).toBe(true);
    expect(g.tryAcquire(300)).toBe(true);
    expect(g.inFlight).toBe(900);
    expect(g.tryAcquire(200)).toBe(false);
    expect(g.refusedTotal).toBe(1);
    g.release(600);
    expect(g.inFlight).toBe(300);
    expect(g.tryAcquire(700)).toBe(true);
    expect(g.inFlight).toBe(1000);
    expect(g.admittedTotal).toBe(1600);
    g.release(300);
    g.release(700);
    expect(g.inFlight).toBe(0);
    expect(g.releasedTotal).toBe(1600);
  });

  it('counts bytes held beside requests; deferrable memory gets no room from what was freed since the check', () => {
    const g = new AdmissionGate(1000);
    g.cap = 1000;
    g.soloRoom = 0; // as a check finding no memory left under the limit would set it
    g.hold(300); // a queue holds 300 bytes: requests get the rest
    expect(g.tryAcquire(800)).toBe(false);
    expect(g.tryAcquire(600)).toBe(true);
    expect(g.room()).toBe(100);
    g.release(600);
    // A request may reuse the released room; the service's own deferrable work (a queue reading back) may
    // not until the next check has read RSS again.
    expect(g.room()).toBe(100);
    expect(g.tryAcquire(650)).toBe(true);
    g.release(650);
    g.unhold(300);
    expect(g.held).toBe(0);
    expect(g.room()).toBe(0);
    g.freedSinceCheck = 0; // what the controller's check does
    expect(g.room()).toBe(1000);
    // A refusal names both bounds and the keys that set them.
    g.hold(900);
    expect(g.tryAcquire(200)).toBe(false);
    expect(g.refusalMessage(200)).toMatch(
      /request of 200 bytes .* 0 bytes in flight \(budget 1000: the somatic processor's inflight_budget_mib\) and 900 held by queues \(memory cap 1000 bytes until the next check, from its memory_limit_mib\)/,
    );
  });

  it('room a released request left is not reused past the room the last memory reading showed until memory is read again', () => {
    const g = new AdmissionGate(10_000);
    g.cap = 10_000;
    g.roomAtReading = 1000; // a reading found 1000 bytes under the admission line
    g.soloRoom = 0;
    expect(g.tryAcquire(600)).toBe(true);
    g.release(600); // answered: its body is garbage until collected, so the 600 bytes are not room yet
    expect(g.tryAcquire(600)).toBe(false);
    expect(g.tryAcquire(400)).toBe(true);
    g.release(400);
    // A reading between checks (the runtime's, rate limited) finds the room again.
    let reads = 0;
    g.reread = () => {
      reads++;
      g.roomAtReading = 1000;
      g.takenSinceReading = 0;
      return true;
    };
    expect(g.tryAcquire(600)).toBe(true);
    expect(reads).toBe(1);
    expect(g.takenSinceReading).toBe(600);
  });

  it("a request counts as its body plus its pipeline's copies against the room a reading showed, and what was in flight at the reading reserves its copies to come", () => {
    const g = new AdmissionGate(10_000);
    g.cap = 10_000;
    g.soloRoom = 0;
    g.copies = 3;
    g.roomAtReading = 1000;
    expect(g.tryAcquire(300)).toBe(true); // 900 of the 1000
    expect(g.tryAcquire(100)).toBe(false); // 1200: its copies would pass the room, its body alone would not
    g.copies = 1;
    expect(g.tryAcquire(100)).toBe(true);

    // The slot sets the copies from what each pipeline's wire processors noted (1 + the pipeline with the
    // most); in Red, where requests are spilled as received, a request counts as its body alone.
    const telemetry = new Telemetry();
    const slot = new PressureSlot(telemetry);
    slot.noteCopyingStage('logs', 1); // an edit on the event loop
    slot.noteCopyingStage('logs', 2); // an edit on a worker thread
    slot.noteCopyingStage('traces', 1);
    const rt = slot.provide(settings({ memoryLimitBytes: 64 * 2 ** 30, inflightBudgetBytes: 2 ** 30 }), silentLogger, 'somatic');
    expect(rt.gate.copies).toBe(4);
    slot.noteCopyingStage('traces', 2);
    expect(rt.gate.copies).toBe(4);
    slot.noteCopyingStage('traces', 2);
    expect(rt.gate.copies).toBe(6);
    rt.gate.inFlight = 1000;
    rt.check();
    expect(rt.gate.roomAtReading).toBe(rt.memoryRoomBytes() - 5 * 1000);
    (rt as unknown as { transition(to: number, sensor: string, value: number): void }).transition(RED, 'inflight', 1);
    expect(rt.gate.copies).toBe(1);
    (rt as unknown as { transition(to: number, sensor: string, value: number): void }).transition(YELLOW, 'inflight', 0.5);
    expect(rt.gate.copies).toBe(6);
    rt.gate.inFlight = 0;
    rt.release();
  });

  it('the runtime re-reads RSS between checks once the room its last reading showed is used up, at most every few ms', () => {
    const telemetry = new Telemetry();
    const rt = new SomaticRuntime(settings({ memoryLimitBytes: 64 * 2 ** 30, inflightBudgetBytes: 2 ** 30 }), telemetry, silentLogger);
    rt.check();
    const g = rt.gate;
    expect(g.tryAcquire(10)).toBe(true); // not alone from here on
    g.roomAtReading = 0; // as if the reading had found no room
    // As if the check had read just now (on a loaded machine more than 5 ms may have passed since it did).
    (rt as unknown as { lastReading: number }).lastReading = Date.now();
    expect(g.tryAcquire(1000)).toBe(false); // just read: no second reading within 5 ms
    g.roomAtReading = 0;
    const t = Date.now();
    while (Date.now() - t < 10);
    expect(g.tryAcquire(1000)).toBe(true); // read again: this process is far under 64 GiB
    expect(g.roomAtReading).toBeGreaterThan(60 * 2 ** 30);
    rt.release();
    telemetry.close();
  });

  it('collects Buffers nobody holds when they take more than the room left under the admission line', async () => {
    const telemetry = new Telemetry();
    const rss = process.memoryUsage.rss();
    // No room under the admission line: 64 MiB of dead Buffers must be collected at the check. Measured
    // against what this process held before (earlier tests in the file may keep Buffers of their own).
    const rt = new SomaticRuntime(settings({ memoryLimitBytes: rss, inflightBudgetBytes: 2 ** 30 }), telemetry, silentLogger);
    const before = process.memoryUsage().arrayBuffers;
    const made = (() => Array.from({ length: 64 }, () => Buffer.alloc(2 ** 20, 1)).length)(); // dropped at once
    expect(made).toBe(64);
    expect(process.memoryUsage().arrayBuffers).toBeGreaterThan(before + 60 * 2 ** 20);
    rt.check();
    // V8 frees the backing stores of collected ArrayBuffers on a background thread: wait for that, briefly
    // (nothing here allocates, so without the runtime's collection they would stay).
    for (let i = 0; i < 40 && process.memoryUsage().arrayBuffers >= before + 16 * 2 ** 20; i++) await new Promise((r) => setTimeout(r, 25));
    expect(process.memoryUsage().arrayBuffers).toBeLessThan(before + 16 * 2 ** 20);
    rt.release();
    telemetry.close();
  });

  it('collects dead Buffers at the gate re-read between checks too, not only at the next check', async () => {
    const telemetry = new Telemetry();
    // No room under the admission line, a request in flight (not alone). The limit is half this process's RSS:
    // at the RSS itself, the previous test's 64 MiB freed after this reading left room larger than the dead
    // Buffers below, and the re-read rightly did not collect (seen in full-suite runs).
    const rt = new SomaticRuntime(
      settings({ memoryLimitBytes: Math.floor(process.memoryUsage.rss() / 2), inflightBudgetBytes: 2 ** 30 }),
      telemetry,
      silentLogger,
    );
    rt.check();
    const g = rt.gate;
    g.inFlight = 10;
    const before = process.memoryUsage().arrayBuffers;
    // Held until just before the re-read: dropped at once, V8's own collection (64 MiB of external memory
    // past its last one starts one) could free them first, and then there is rightly nothing to collect
    // (the test failed so in a clean-clone CI run). Nothing allocates between the drop and the re-read.
    const bodies = Array.from({ length: 64 }, () => Buffer.alloc(2 ** 20, 1));
    expect(bodies.length).toBe(64);
    expect(await metric(telemetry, 'gophership_somatic_garbage_collections_total')).toMatch(/ 0$/m);
    const t = Date.now();
    while (Date.now() - t < 25); // past the least interval between two re-reads and two collections
    bodies.length = 0;
    expect(g.tryAcquire(1000)).toBe(false); // re-read: still no room, but the dead Buffers were collected
    expect(await metric(telemetry, 'gophership_somatic_garbage_collections_total')).toMatch(/ 1$/m);
    for (let i = 0; i < 40 && process.memoryUsage().arrayBuffers >= before + 16 * 2 ** 20; i++) await new Promise((r) => setTimeout(r, 25));
    expect(process.memoryUsage().arrayBuffers).toBeLessThan(before + 16 * 2 ** 20);
    rt.release();
    telemetry.close();
  });

  it('lets a request larger than the whole budget in alone, only with full headroom', () => {
    const g = new AdmissionGate(1000);
    expect(g.tryAcquire(5000)).toBe(true);
    expect(g.tryAcquire(1)).toBe(false);
    g.release(5000);
    g.cap = 500; // memory headroom short
    expect(g.tryAcquire(5000)).toBe(false);
  });

  it('the exporter_queue sensor reads the fullest sending queue of its own service, disk bytes of a WAL queue included', () => {
    const telemetry = new Telemetry();
    const fills = new QueueFillRegistry();
    const slot = new PressureSlot(telemetry, fills.fullest);
    const rt = slot.provide(settings({ memoryLimitBytes: 64 * 2 ** 30, inflightBudgetBytes: 2 ** 30 }), silentLogger, 'somatic');
    // Another service in the same process, with a full queue of its own: it must not move this zone.
    const otherTelemetry = new Telemetry();
    const otherFills = new QueueFillRegistry();
    const unregisterOther = otherFills.register('otlp/other', () => 1);
    // What a WAL queue of few large requests registers: 2 of 1000 requests, its disk budget 97 % used.
    const unregister = fills.register('otlphttp/backend', () => Math.max(2 / 1000, 0.97));
    try {
      for (let i = 0; i < 4; i++) rt.check(Date.now() + i * 200);
      expect(rt.values.exporter_queue).toBeCloseTo(0.97);
      expect(rt.zone).toBe(RED);
      unregister();
      rt.check(Date.now() + 1000);
      expect(rt.values.exporter_queue).toBe(0);
    } finally {
      unregisterOther();
      rt.release();
      telemetry.close();
      otherTelemetry.close();
    }
  });

  it('the pressure slot holds one runtime per service: the second somatic processor gets the first one, and a warning if its settings differ', () => {
    const telemetry = new Telemetry();
    const lines: string[] = [];
    const logger = new Logger('info', {}, { write: (l) => void lines.push(l) });
    const slot = new PressureSlot(telemetry);
    expect(slot.runtime).toBeUndefined();
    expect(slot.gate).toBeUndefined();
    expect(slot.ledger).toBeUndefined();
    const rt = slot.provide(settings(), logger, 'somatic');
    expect(slot.runtime).toBe(rt);
    expect(slot.gate).toBe(rt.gate);
    expect(slot.ledger).toBe(rt.gate);
    expect(slot.provide(settings(), logger, 'somatic/2')).toBe(rt);
    expect(lines).toEqual([]);
    expect(slot.provide(settings({ minDwellMs: 5 }), logger, 'somatic/3')).toBe(rt);
    expect(lines.join('\n')).toMatch(/second somatic processor has different zone settings.*somatic\/3/);
    // A second service has its own slot, empty until its own somatic processor provides into it.
    expect(new PressureSlot(new Telemetry()).runtime).toBeUndefined();
    telemetry.close();
  });

  it('the controller counts bytes held in the cap and forgets what was freed once it has read RSS again', () => {
    const telemetry = new Telemetry();
    const rt = new SomaticRuntime(settings({ memoryLimitBytes: 64 * 2 ** 30, inflightBudgetBytes: 2 ** 30 }), telemetry, silentLogger);
    rt.gate.hold(5000);
    rt.gate.unhold(2000);
    expect(rt.gate.freedSinceCheck).toBe(2000);
    rt.check();
    expect(rt.gate.freedSinceCheck).toBe(0);
    expect(rt.gate.cap).toBeGreaterThan(3000); // held bytes are inside the cap, not taken from the headroom
    expect(rt.gate.room()).toBe(rt.gate.cap - 3000);
    rt.release();
    telemetry.close();
  });

  it('warns at start when memory_limit_mib leaves little above the resident memory, naming the key and a value', () => {
    // Started as npm start starts it: no warning about the allocator (test/allocator.test.ts) beside this one.
    vi.stubEnv('GLIBC_TUNABLES', MMAP_THRESHOLD_TUNABLE);
    onTestFinished(() => void vi.unstubAllEnvs());
    const lines: string[] = [];
    const logger = new Logger('info', {}, { write: (l) => void lines.push(l) });
    const telemetry = new Telemetry();
    const rt = new SomaticRuntime(settings({ memoryLimitBytes: process.memoryUsage.rss() * 1.2, admitMemoryRatio: 0.9 }), telemetry, logger);
    rt.acquire();
    rt.release();
    const warn = lines.map((l) => JSON.parse(l) as { level: string; msg: string }).find((l) => l.level === 'warn');
    expect(warn?.msg).toMatch(/memory_limit_mib \d+ leaves \d+ MiB .* Raise memory_limit_mib in the somatic processor to at least \d+/);
    telemetry.close();
    const quiet: string[] = [];
    const telemetry2 = new Telemetry();
    const rt2 = new SomaticRuntime(settings({ memoryLimitBytes: 64 * 2 ** 30 }), telemetry2, new Logger('info', {}, { write: (l) => void quiet.push(l) }));
    rt2.acquire();
    rt2.release();
    expect(quiet.some((l) => l.includes('"warn"'))).toBe(false);
    telemetry2.close();
  });

  it('the controller lowers the cap to the memory headroom', () => {
    const telemetry = new Telemetry();
    const rss = process.memoryUsage.rss();
    // A limit just 10 MiB above the current RSS: the gate may admit about that much, not its 1 GiB budget.
    const rt = new SomaticRuntime(settings({ memoryLimitBytes: rss + 10 * 2 ** 20, inflightBudgetBytes: 2 ** 30 }), telemetry, silentLogger);
    rt.check();
    expect(rt.gate.cap).toBeLessThan(40 * 2 ** 20);
    expect(rt.gate.tryAcquire(200 * 2 ** 20)).toBe(false);
    expect(rt.gate.tryAcquire(1 * 2 ** 20)).toBe(true);
    rt.release();
    telemetry.close();
  });

  it('lets a small request in alone when retained memory leaves no headroom under the margin', () => {
    const telemetry = new Telemetry();
    // RSS at ~93 % of the limit: over the 90 % admission margin, so the cap is what is in flight (0).
    // Memory the gateway retains for other reasons must not refuse every client: one request at a time
    // that fits in half the room left under the limit gets in.
    const rss = process.memoryUsage.rss();
    const rt = new SomaticRuntime(settings({ memoryLimitBytes: rss / 0.93, inflightBudgetBytes: 2 ** 30, admitMemoryRatio: 0.9 }), telemetry, silentLogger);
    rt.check();
    expect(rt.gate.cap).toBe(0);
    expect(rt.gate.soloRoom).toBeGreaterThan(1 * 2 ** 20);
    expect(rt.gate.tryAcquire(1 * 2 ** 20)).toBe(true);
    expect(rt.gate.tryAcquire(1024)).toBe(false); // not alone any more
    expect(rt.gate.tryGrow(1 * 2 ** 20, 256 * 1024)).toBe(true); // the lone request's body grows
    expect(rt.gate.tryAcquire(rt.gate.soloRoom + 1)).toBe(false);
    rt.gate.release(1.25 * 2 ** 20);
    expect(rt.gate.tryAcquire(1024)).toBe(true);
    expect(rt.gate.tryAcquire(rt.gate.soloRoom * 4)).toBe(false); // larger than the room: refused even alone
    rt.release();
    telemetry.close();
  });

  it('what was admitted and not read yet comes off the room a reading shows, and leaves with its request', () => {
    const telemetry = new Telemetry();
    const rt = new SomaticRuntime(settings({ memoryLimitBytes: 64 * 2 ** 30, inflightBudgetBytes: 2 ** 30 }), telemetry, silentLogger);
    const MiB = 2 ** 20;
    expect(rt.gate.tryAcquire(4 * MiB)).toBe(true);
    rt.gate.arrived(1 * MiB); // a quarter of the body read
    rt.check();
    expect(rt.gate.roomAtReading).toBe(rt.memoryRoomBytes() - 3 * MiB);
    rt.gate.arrived(3 * MiB);
    rt.check();
    expect(rt.gate.roomAtReading).toBe(rt.memoryRoomBytes());
    rt.gate.release(4 * MiB);
    // A body cut short: what never arrived is not awaited any more.
    expect(rt.gate.tryAcquire(2 * MiB)).toBe(true);
    rt.gate.arrived(0.5 * MiB);
    rt.gate.release(2 * MiB, 1.5 * MiB);
    expect(rt.gate.awaited).toBe(0);
    rt.release();
    telemetry.close();
  });

  it('a lone request waits while the queues hold the room under the admission line, and its copies count against the solo room', () => {
    // A reading found RSS 4 MiB past the admission line (room -4 MiB), 9 MiB under the limit itself
    // (solo room 4.5 MiB), with 60 MiB in the exporter's memory queue.
    const MiB = 2 ** 20;
    const g = new AdmissionGate(64 * MiB);
    g.cap = 60 * MiB;
    g.roomAtReading = -4 * MiB;
    g.hold(60 * MiB);
    g.soloRoom = 4.5 * MiB; // as the reading that saw the queue sets it
    // The queue's drain frees the room: a lone request the queue would keep may not go into the margin
    // (one after another they took RSS to the limit itself).
    expect(g.tryAcquire(1 * MiB)).toBe(false);
    // Queues that could not make room by draining are not what holds it: the lone request gets in.
    g.unhold(57 * MiB);
    expect(g.tryAcquire(1 * MiB)).toBe(true);
    g.release(1 * MiB);
    g.takenSinceReading = 0;
    // With nothing held, retained memory (garbage, allocator caches) leaves the margin to lone requests,
    // body and copies: 1 MiB with four copies passes the 4.5 MiB, with three it fits.
    g.unhold(3 * MiB);
    g.copies = 5;
    expect(g.tryAcquire(1 * MiB)).toBe(false);
    g.copies = 4;
    expect(g.tryAcquire(1 * MiB)).toBe(true);
  });

  it('collects garbage when memory holds the gate shut and nothing moves, at most once a second', async () => {
    const telemetry = new Telemetry();
    // A limit below the current RSS: no headroom, the gate admits nothing.
    const rt = new SomaticRuntime(settings({ memoryLimitBytes: process.memoryUsage.rss() / 2, inflightBudgetBytes: 2 ** 30 }), telemetry, silentLogger);
    const collections = async () =>
      Number(/stall_collections_total (\d+)/.exec(await metric(telemetry, 'gophership_somatic_stall_collections_total'))?.[1] ?? -1);
    let now = 5_000_000;
    rt.check(now);
    expect(rt.gate.tryAcquire(1024)).toBe(false);
    expect(await collections()).toBe(1);
    rt.check((now += 100));
    expect(await collections()).toBe(1); // not again within a second
    rt.check((now += 1000));
    expect(await collections()).toBe(2);
    // While requests are admitted (something allocates, so V8 collects by itself) it leaves V8 alone.
    rt.gate.admittedTotal += 4096;
    rt.check(now + 1000);
    expect(await collections()).toBe(2);
    rt.release();
    telemetry.close();
  });

  it('does not collect while memory has headroom', async () => {
    const telemetry = new Telemetry();
    const rt = new SomaticRuntime(settings({ memoryLimitBytes: 64 * 2 ** 30, inflightBudgetBytes: 2 ** 30 }), telemetry, silentLogger);
    rt.check(5_000_000);
    rt.check(5_002_000);
    expect(await metric(telemetry, 'gophership_somatic_stall_collections_total')).toMatch(/stall_collections_total 0/);
    rt.release();
    telemetry.close();
  });

  it('estimates Retry-After from the drain rate within 1..30 s', () => {
    const g = new AdmissionGate(1000);
    g.inFlight = 10_000;
    g.drainRate = 1000; // 10 s to drain
    expect(g.retryAfterMs()).toBe(10_000);
    g.drainRate = 0;
    expect(g.retryAfterMs()).toBe(1000);
    g.drainRate = 1;
    expect(g.retryAfterMs()).toBe(30_000);
  });

  it('the memory_limit_mib the warning suggests does not warn again (admit_memory_ratio 0.5)', () => {
    vi.stubEnv('GLIBC_TUNABLES', MMAP_THRESHOLD_TUNABLE);
    onTestFinished(() => void vi.unstubAllEnvs());
    const warnings = (limit: number): string[] => {
      const lines: string[] = [];
      const telemetry = new Telemetry();
      const rt = new SomaticRuntime(
        settings({ memoryLimitBytes: limit, admitMemoryRatio: 0.5 }),
        telemetry,
        new Logger('info', {}, { write: (l) => void lines.push(l) }),
      );
      rt.acquire();
      rt.release();
      telemetry.close();
      return lines
        .map((l) => JSON.parse(l) as { level: string; msg: string })
        .filter((l) => l.level === 'warn')
        .map((l) => l.msg);
    };
    const first = warnings(process.memoryUsage.rss() * 1.2);
    const suggested = Number(/to at least (\d+)/.exec(first[0] ?? '')?.[1]);
    expect(suggested).toBeGreaterThan(0);
    expect(warnings(suggested * 2 ** 20 + 64 * 2 ** 20)).toEqual([]); // with 64 MiB to spare for RSS growth
  });
});
