/**
 * The admission gate: the reflex half of somatic sensing. A receiver asks it, before reading a body,
 * whether `bytes` more request bytes fit; the answer is one comparison of a local counter against a cap
 * the ambient controller recomputes on every check (no syscall, allocation or lock per request).
 *
 * The cap is min(in-flight budget, what was in flight at the last check + memory headroom seen at that
 * check): bytes admitted since the check are exactly what the RSS reading did not yet include, so a burst
 * between two checks cannot take the process past its memory limit.
 *
 * Progress: the cap keeps a margin (admit_memory_ratio) for bursts between checks. When memory held by
 * something other than requests (a queue, retained garbage) leaves no headroom under that margin, a
 * request is still let in alone, with nothing else in flight, if it fits in the memory left under the
 * limit itself (`soloRoom`). Without that, retained memory would refuse every client until it fell.
 */
export class AdmissionGate {
  /** Request bytes admitted and not yet answered (plus replayed debt in flight). */
  inFlight = 0;
  /** Bytes admitted by tryAcquire since start: the intake the controller turns into a rate. */
  admittedTotal = 0;
  /** Bytes released since start: the drain rate behind Retry-After estimates. */
  releasedTotal = 0;
  /** Requests refused by the gate since start. */
  refusedTotal = 0;
  /** Recomputed by the controller; starts at the budget. */
  cap: number;
  /** Drain rate in bytes/s (EWMA), kept by the controller. */
  drainRate = 0;
  /** Memory left under the limit itself at the last check (no margin): what one lone request may take. */
  soloRoom: number;

  constructor(readonly budget: number) {
    this.cap = budget;
    this.soloRoom = budget;
  }

  /** Admits `bytes` if they fit under the cap; the caller must release the same amount when answered. */
  tryAcquire(bytes: number): boolean {
    return this.tryGrow(0, bytes);
  }

  /**
   * Admits `bytes` more for a request that already holds `held` (a compressed or chunked body that grew
   * past what it was charged while being read), if they fit under the cap. The caller releases held +
   * bytes when answered; on refusal it still holds `held`.
   */
  tryGrow(held: number, bytes: number): boolean {
    const after = this.inFlight + bytes;
    if (after > this.cap) {
      // Alone (nothing else in flight) a request may use the margin, if it fits under the limit itself.
      // One larger than the whole budget would never fit: it is let in alone when memory has full
      // headroom, so a request within the receiver's size limit is never refused forever.
      const alone = this.inFlight === held;
      const total = held + bytes;
      if (!(alone && (total <= this.soloRoom || (total > this.budget && this.cap >= this.budget)))) {
        this.refusedTotal++;
        return false;
      }
    }
    this.inFlight = after;
    this.admittedTotal += bytes;
    return true;
  }

  /** Replayed debt entering the pipeline: in flight like a request, and work the intake rate counts. */
  chargeReplay(bytes: number): void {
    this.inFlight += bytes;
    this.admittedTotal += bytes;
  }

  release(bytes: number): void {
    this.inFlight -= bytes;
    this.releasedTotal += bytes;
    if (this.inFlight < 0) this.inFlight = 0;
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
      `(admission cap ${Math.floor(this.cap)} bytes, from the somatic processor's memory_limit_mib); retry after the delay given`
    );
  }
}
