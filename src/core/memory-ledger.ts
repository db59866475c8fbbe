/**
 * Memory a service holds outside the requests in flight: requests an exporter's memory queue keeps after
 * they were acknowledged, records a WAL queue read back for delivery. When a somatic processor sets a
 * memory limit, its admission gate is the service's ledger, so that memory counts against the same limit
 * as requests in flight: what the queues hold is room the gate no longer gives to new requests, and what
 * a queue reads back is bounded by the room left. Without a limit there is no ledger and nothing is counted.
 * A component finds the service's ledger through its create settings (`CreateSettings.pressure.ledger`).
 */
export interface MemoryLedger {
  /** Bytes that may be taken now without passing the limit (0 when none). */
  room(): number;
  /** Counts bytes now held (never refused: the caller already holds them or must, to make progress). */
  hold(bytes: number): void;
  /** Stops counting bytes held before. */
  unhold(bytes: number): void;
}

/** Where a component finds the service's ledger when it uses it (the service's PressureSlot: a somatic processor provides it after exporters are created). */
export interface MemoryLedgerSource {
  readonly ledger: MemoryLedger | undefined;
}
