/**
 * The consistent-hashing ring of the collector's loadbalancing exporter: each backend takes 100 positions
 * on a circle of 36000 (crc32(endpoint + byte(i)) % 36000, a position already taken is skipped), and a key
 * goes to the backend at the first position at or after crc32(key) % 36000, wrapping around. Adding or
 * removing a backend moves only the keys whose next position changes: about 1/n of them.
 *
 * The lookup is a table of all 36000 positions, so routing a span is one crc32 of its 16 trace ID bytes
 * and one array read.
 */
export const MAX_POSITIONS = 36000;
const POINTS_PER_BACKEND = 100;

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 (IEEE) of buf[s:e], continuing from `crc` (0 to start). */
export function crc32(buf: Uint8Array, s: number, e: number, crc = 0): number {
  let c = ~crc;
  for (let i = s; i < e; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

export class HashRing {
  /** Backend endpoints, sorted; indexes into this array are what lookups return. */
  readonly endpoints: readonly string[];
  private readonly table: Uint16Array;

  constructor(endpoints: readonly string[]) {
    this.endpoints = [...new Set(endpoints)].sort();
    this.table = new Uint16Array(MAX_POSITIONS);
    if (this.endpoints.length === 0) return;
    const owner = new Int32Array(MAX_POSITIONS).fill(-1);
    const one = new Uint8Array(1);
    this.endpoints.forEach((endpoint, idx) => {
      const name = Buffer.from(endpoint);
      const base = crc32(name, 0, name.length);
      for (let i = 0; i < POINTS_PER_BACKEND; i++) {
        one[0] = i;
        const pos = crc32(one, 0, 1, base) % MAX_POSITIONS;
        if (owner[pos] === -1) owner[pos] = idx;
      }
    });
    // Each position belongs to the first backend position at or after it; past the last one, the ring
    // wraps to the first.
    let first = 0;
    while (owner[first]! < 0) first++;
    let next = owner[first]!;
    for (let p = MAX_POSITIONS - 1; p >= 0; p--) {
      if (owner[p]! >= 0) next = owner[p]!;
      this.table[p] = next;
    }
  }

  get size(): number {
    return this.endpoints.length;
  }

  /** The index (into `endpoints`) of the backend for key buf[s:e]. */
  backendFor(buf: Uint8Array, s: number, e: number): number {
    return this.table[crc32(buf, s, e) % MAX_POSITIONS]!;
  }

  /** The index of the backend owning a position (0..35999). */
  backendForPosition(pos: number): number {
    return this.table[pos]!;
  }

  endpointFor(key: Uint8Array): string {
    return this.endpoints[this.backendFor(key, 0, key.length)]!;
  }
}

/** CRC-32 (IEEE) of the 4 bytes of `v` (little-endian), continuing from `crc`: crc32 of a uint32 without a buffer. */
export function crc32Int(v: number, crc = 0): number {
  let c = ~crc;
  c = CRC_TABLE[(c ^ v) & 0xff]! ^ (c >>> 8);
  c = CRC_TABLE[(c ^ (v >>> 8)) & 0xff]! ^ (c >>> 8);
  c = CRC_TABLE[(c ^ (v >>> 16)) & 0xff]! ^ (c >>> 8);
  c = CRC_TABLE[(c ^ (v >>> 24)) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
