/**
 * The admission gate: the reflex half of somatic sensing. A receiver asks it, before reading a body,
 * whether `bytes` more request bytes fit; the answer is a comparison of local counters against a cap the
 * ambient controller recomputes on every check (no syscall, allocation or lock per request).
 *
 * Two bounds:
 *  - the in-flight budget: request bytes admitted and not yet answered;
 *  - memory: `cap` = what was in flight and held at the last check + the memory headroom seen then (RSS
 *    against admit_memory_ratio x the limit). Bytes admitted or held since the check are exactly what that
 *    RSS reading did not include, so they count against the cap, and a burst between two checks cannot
 *    take the process past its memory limit.
 * A request may reuse the room a released one left (its body is garbage V8 collects young; the margin
 * covers the lag). Memory taken for the service's own deferrable work (`room()`, e.g. a queue reading back
 * what requests just wrote) may not: bytes released or unheld since the check count against it until the
 * next RSS reading says whether they were freed. Before that rule, a WAL queue read back the records as
 * fast as requests wrote them, beside their uncollected bodies, and took RSS ~10 % past a 128 MiB limit.
 * "Held" is memory the service keeps outside requests (an exporter's memory queue, WAL records read back
 * for delivery): the gate is the service's MemoryLedger (src/core/memory-ledger.ts).
 *
 * Progress: the cap keeps a margin (admit_memory_ratio) for what the counters cannot see (copies, GC
 * lag). When memory retained for other reasons (garbage, allocator caches) leaves no headroom under
 * that margin, a request is still let in alone, with nothing else in flight, if it and its copies fit in
 * half the memory left under the limit itself (`soloRoom`, less what the queues took since the check).
 * Without that, retained memory would refuse every client until it fell. Memory the queues hold is not
 * such a reason: their drain frees it, and a lone request they kept would stay in the margin.
 */
import type { MemoryLedger } from '../core/memory-ledger.js';

export class AdmissionGate implements MemoryLedger {
  /** Request bytes admitted and not yet answered (plus replayed debt in flight). */
  inFlight = 0;
  /**
   * Request bytes admitted and not read yet (a body or message still arriving): memory an RSS reading
   * does not include, which the request takes after it (arrived(), release()).
   */
  awaited = 0;
  /** Bytes the service holds outside requests (exporter queues; see src/core/memory-ledger.ts). */
  held = 0;
  /** Bytes released or unheld since the last check: not known to be freed until RSS is read again (room()). */
  freedSinceCheck = 0;
  /** Bytes admitted by tryAcquire since start: the intake the controller turns into a rate. */
  admittedTotal = 0;
  /** Bytes released since start: the drain rate behind Retry-After estimates. */
  releasedTotal = 0;
  /** Requests refused by the gate since start. */
  refusedTotal = 0;
  /** Memory cap for in flight + held; recomputed by the controller, starts at the budget. */
  cap: number;
  /** Drain rate in bytes/s (EWMA), kept by the controller. */
  drainRate = 0;
  /** Memory left under the limit itself at the last check (no margin): what one lone request may take. */
  soloRoom: number;
  /**
   * Request bytes admitted since memory was last read, releases not credited: memory the reading did not
   * include, whether or not the bodies answered meanwhile were collected yet.
   */
  takenSinceReading = 0;
  /**
   * Memory left under the admission line at the last reading (admit_memory_ratio x limit - RSS), less the
   * copies still to come of what was in flight then.
   */
  roomAtReading = Infinity;
  /**
   * Reads memory again between two checks (the runtime's), when what was admitted since the last reading
   * used up the room it showed; returns false when it may not read yet (rate limited). Absent: no re-read.
   */
  reread: (() => boolean) | undefined;
  /**
   * Memory an admitted request takes before it is answered, as a multiple of its bytes: its body and the
   * copies its pipeline's edits make of it (PressureSlot.noteCopyingStage), each alive until its thread's
   * GC frees it. What the gate admits since a reading counts this many times against the room that
   * reading showed, and the copies still to come of what was in flight at it come off that room.
   */
  copies = 1;

  constructor(readonly budget: number) {
    this.cap = budget;
    this.soloRoom = budget;
  }

  /** Admits `bytes` if they fit; the caller must release the same amount when answered. */
  tryAcquire(bytes: number): boolean {
    return this.tryGrow(0, bytes);
  }

  /**
   * Admits `bytes` more for a request that already holds `own` (a compressed or chunked body that grew
   * past what it was charged while being read), if they fit. The caller releases own + bytes when
   * answered; on refusal it still holds `own`.
   */
  tryGrow(own: number, bytes: number): boolean {
    const after = this.inFlight + bytes;
    if (!this.fits(after, bytes) && !(this.reread?.() && this.fits(after, bytes))) {
      // Alone (nothing else in flight) a request may use the margin, if it and its copies fit in half the
      // room under the limit itself, unless the queues hold the room: their drain frees it (see soloBlockedByQueues).
      // One larger than the whole budget would never fit: it is let in alone when memory has full
      // headroom, so a request within the receiver's size limit is never refused forever.
      const alone = this.inFlight === own;
      const total = own + bytes;
      // Less what others were let in since the reading (their bodies may not be collected yet).
      const soloRoom = this.soloRoom - (this.takenSinceReading - own);
      const solo = total * this.copies <= soloRoom && !this.soloBlockedByQueues(total);
      if (!(alone && (solo || (total > this.budget && this.cap - this.held - own >= this.budget)))) {
        this.refusedTotal++;
        return false;
      }
    }
    this.inFlight = after;
    this.awaited += bytes;
    this.admittedTotal += bytes;
    this.takenSinceReading += bytes;
    return true;
  }

  /** `bytes` of an admitted request were read (the receivers tell as they read). */
  arrived(bytes: number): void {
    this.awaited = Math.max(0, this.awaited - bytes);
  }

  /**
   * Whether the memory the queues hold is what leaves no room for a lone request: had they drained, the
   * room under the admission line would take it. Then the request waits for the drain (refused, retryable)
   * instead of using the margin: a lone request a queue keeps once it is answered (the memory queue of a
   * Yellow forward) would be held in the margin, the next one beside it, and RSS would climb a request at
   * a time to the limit itself. Measured in the flood of bench/run-all.mjs flood-http: with 140-160 MiB in
   * the exporter's queue, lone requests took RSS from the 230 MiB admission line to 258 MiB of a 256 MiB
   * limit, one re-read after another (bench/RESULTS.md, 2026-12-07 issue 17 item 3, the solo rule).
   */
  private soloBlockedByQueues(total: number): boolean {
    return this.held > 0 && this.roomAtReading + this.held >= total * this.copies;
  }

  /**
   * The budget, the cap (room a released request left may be reused: its body is garbage V8 collects
   * young), and the room at the last reading, which releases do not give back: a body answered is not
   * freed until collected, and the bytes admitted in its place are new memory until RSS says otherwise.
   */
  private fits(after: number, bytes: number): boolean {
    return after <= this.budget && after + this.held <= this.cap && (this.takenSinceReading + bytes) * this.copies <= this.roomAtReading;
  }

  /** Replayed debt entering the pipeline: in flight like a request, and work the intake rate counts. */
  chargeReplay(bytes: number): void {
    this.inFlight += bytes;
    this.admittedTotal += bytes;
  }

  /** A request answered; `unarrived`: the part of its bytes never read (refused or cut short while arriving). */
  release(bytes: number, unarrived = 0): void {
    this.awaited = Math.max(0, this.awaited - unarrived);
    this.inFlight -= bytes;
    this.releasedTotal += bytes;
    this.freedSinceCheck += bytes;
    if (this.inFlight < 0) this.inFlight = 0;
  }

  /** Room for the service's own deferrable memory (MemoryLedger): what is freed since the check does not count as room yet. */
  room(): number {
    return Math.max(0, this.cap - this.inFlight - this.held - this.freedSinceCheck);
  }

  hold(bytes: number): void {
    this.held += bytes;
    // Held since the check, the bytes take memory the RSS reading behind soloRoom did not see: a lone
    // request may not have it too (requests let in alone one after another would each be queued beside it).
    this.soloRoom = Math.max(0, this.soloRoom - bytes);
  }

  unhold(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
    this.freedSinceCheck += bytes;
  }

  /** How long a refused client should wait: the time to drain what is in flight, 1..30 s. */
  retryAfterMs(): number {
    const rate = this.drainRate;
    const ms = rate > 0 ? (this.inFlight / rate) * 1000 : 1000;
    return Math.min(30_000, Math.max(1000, Math.ceil(ms)));
  }

  refusalMessage(bytes: number): string {
    return (
      `gateway under memory pressure: a request of ${bytes} bytes does not fit beside the ${this.inFlight} bytes in flight ` +
      `(budget ${this.budget}: the somatic processor's inflight_budget_mib) and ${this.held} held by queues ` +
      `(memory cap ${Math.floor(this.cap)} bytes until the next check, from its memory_limit_mib); retry after the delay given`
    );
  }
}
