/**
 * Memory a service holds outside the requests in flight: requests an exporter's memory queue keeps after
 * they were acknowledged, records a WAL queue read back for delivery. When a somatic processor sets a
 * memory limit, its admission gate is the service's ledger, so that memory counts against the same limit
 * as requests in flight: what the queues hold is room the gate no longer gives to new requests, and what
 * a queue reads back is bounded by the room left. Without a limit there is no ledger and nothing is counted.
 */
export interface MemoryLedger {
  /** Bytes that may be taken now without passing the limit (0 when none). */
  room(): number;
  /** Counts bytes now held (never refused: the caller already holds them or must, to make progress). */
  hold(bytes: number): void;
  /** Stops counting bytes held before. */
  unhold(bytes: number): void;
}

/** One ledger per service, keyed by the service's Telemetry (what every component's settings carry). */
const ledgers = new WeakMap<object, MemoryLedger>();

export function setMemoryLedger(service: object, ledger: MemoryLedger | undefined): void {
  if (ledger) ledgers.set(service, ledger);
  else ledgers.delete(service);
}

/** The service's ledger, or undefined when no memory limit is set. */
export function memoryLedgerOf(service: object): MemoryLedger | undefined {
  return ledgers.get(service);
}
