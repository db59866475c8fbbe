/**
 * What the spanmetrics state holds, estimated per object as it is created (JS gives no exact size): a
 * series' key and attribute strings, its attribute objects, its histogram's counts (an exponential one at
 * 2 x max_size from the start, the most it holds while rescaling) and a fixed share for the series object and its Map
 * entry; an exemplar; a resource's attributes. The estimates are counted in the service's memory ledger
 * (the somatic admission gate), so a flood of new series leaves less room to new requests, as tail_sampling's
 * held traces do, and released when a series, exemplar or resource is dropped.
 */
import type { KeyValue } from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';
import type { MemoryLedger } from '../../src/core/memory-ledger.js';

/** A series object, its Map entry and its exemplar array. */
const SERIES_BYTES = 200;
/** A KeyValue with its AnyValue (three small objects), besides its strings. */
const ATTRIBUTE_BYTES = 160;
/** An exemplar: the object and two 16- and 8-byte arrays. */
export const EXEMPLAR_BYTES = 240;
/** A resource state: the object, its Map entry and its series Map. */
const RESOURCE_BYTES = 300;

/** Strings: two bytes a character (V8 may store one, but two-byte strings exist). */
const textBytes = (s: string): number => 2 * s.length;

export function attributesBytes(attributes: readonly KeyValue[]): number {
  let n = 0;
  for (const kv of attributes) {
    n += ATTRIBUTE_BYTES + textBytes(kv.key);
    const v = kv.value?.value;
    if (v?.case === 'stringValue') n += textBytes(v.value);
    else if (v?.case === 'bytesValue') n += v.value.length;
    else if (v?.case === 'arrayValue' || v?.case === 'kvlistValue') n += ATTRIBUTE_BYTES * 4;
  }
  return n;
}

export function seriesBytes(key: string, attributes: readonly KeyValue[], histogramCounts: number): number {
  return SERIES_BYTES + textBytes(key) + attributesBytes(attributes) + 8 * histogramCounts;
}

export function resourceBytes(key: string, attributes: readonly KeyValue[]): number {
  return RESOURCE_BYTES + textBytes(key) + attributesBytes(attributes);
}

/** The running total, mirrored into the ledger once there is one. */
export class HeldBytes {
  total = 0;
  private ledger: MemoryLedger | undefined;

  /** Counts what is already held in `ledger` from now on (the ledger is known only at start). */
  attach(ledger: MemoryLedger | undefined): void {
    if (ledger === this.ledger) return;
    this.ledger?.unhold(this.total);
    this.ledger = ledger;
    ledger?.hold(this.total);
  }

  hold(bytes: number): void {
    this.total += bytes;
    this.ledger?.hold(bytes);
  }

  unhold(bytes: number): void {
    this.total -= bytes;
    this.ledger?.unhold(bytes);
  }
}
