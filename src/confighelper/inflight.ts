/**
 * A bound on the request bytes a server holds at once (bodies and messages being read or in the
 * pipeline), counted from what each request declares before its bytes are read. It holds with or without
 * a somatic processor: a client that declares a large body and stops sending cannot make the gateway
 * hold more than this, however many connections it opens.
 */

/** What a receiver asks before it reads a body (the somatic AdmissionGate has the same shape). */
export interface ByteAdmission {
  /** Admits `bytes` if they fit; the caller releases the same amount when the request is answered. */
  tryAcquire(bytes: number): boolean;
  /** Admits `bytes` more for a request that holds `own`; on refusal it still holds `own`. */
  tryGrow(own: number, bytes: number): boolean;
  /** `bytes` of an admitted request's body or message were read: they are in memory from now on. */
  arrived(bytes: number): void;
  /** Releases what a request was admitted for; `unarrived`: the part of it that was never read. */
  release(bytes: number, unarrived?: number): void;
  /** The delay a refused client is told to wait. */
  retryAfterMs(): number;
  /** Why the last refusal happened, for the client. */
  refusalMessage(bytes: number): string;
}

/** The retry delay of a refusal for lack of in-flight room: requests in flight finish within seconds. */
const RETRY_AFTER_MS = 1000;

export class InFlightBudget implements ByteAdmission {
  inFlight = 0;
  /** The most ever held at once (what the bound promised not to pass, bar a lone request). */
  peak = 0;

  constructor(
    readonly limit: number,
    /** The config key, for the refusal message. */
    private readonly key: string,
  ) {}

  tryAcquire(bytes: number): boolean {
    return this.tryGrow(0, bytes);
  }

  tryGrow(own: number, bytes: number): boolean {
    // A request alone is always let in (its size is bounded by the body / message limit), so a limit
    // below the largest request cannot refuse it forever.
    if (this.inFlight + bytes > this.limit && this.inFlight !== own) return false;
    this.inFlight += bytes;
    if (this.inFlight > this.peak) this.peak = this.inFlight;
    return true;
  }

  arrived(): void {}

  release(bytes: number): void {
    this.inFlight = Math.max(0, this.inFlight - bytes);
  }

  retryAfterMs(): number {
    return RETRY_AFTER_MS;
  }

  refusalMessage(bytes: number): string {
    return `too many request bytes in flight on this server: ${bytes} more would pass ${this.key} (${this.limit} bytes, ${this.inFlight} in flight); retry after the delay given`;
  }
}

/** Both admissions must take a request: the server's own bound first, then the somatic gate. */
export class ChainedAdmission implements ByteAdmission {
  private refuser: ByteAdmission;

  constructor(
    private readonly first: ByteAdmission,
    private readonly second: ByteAdmission,
  ) {
    this.refuser = first;
  }

  tryAcquire(bytes: number): boolean {
    return this.tryGrow(0, bytes);
  }

  tryGrow(own: number, bytes: number): boolean {
    if (!this.first.tryGrow(own, bytes)) {
      this.refuser = this.first;
      return false;
    }
    if (!this.second.tryGrow(own, bytes)) {
      this.first.release(bytes);
      this.refuser = this.second;
      return false;
    }
    return true;
  }

  arrived(bytes: number): void {
    this.second.arrived(bytes);
  }

  release(bytes: number, unarrived = 0): void {
    this.first.release(bytes);
    this.second.release(bytes, unarrived);
  }

  retryAfterMs(): number {
    return this.refuser.retryAfterMs();
  }

  refusalMessage(bytes: number): string {
    return this.refuser.refusalMessage(bytes);
  }
}

/** The admission a server uses: its in-flight bound, chained before the somatic gate when there is one. */
export function serverAdmission(budget: InFlightBudget, gate: ByteAdmission | undefined): ByteAdmission {
  return gate ? new ChainedAdmission(budget, gate) : budget;
}
