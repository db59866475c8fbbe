/**
 * What the trace_state and probabilistic policies compute as the collector does: a tracestate member's
 * value (the OpenTelemetry Go API's parsing), and FNV-1a 64 of salt + trace ID against ratio x (2^64 - 1).
 */
import { utf8 } from '../../src/processorhelper/wire-edit.js';

// ------------------------------------------------------------------------------------------------
// The W3C tracestate, read as the OpenTelemetry Go API's ParseTraceState (a malformed one matches nothing).

const TS_MEMBER =
  /^([a-z0-9][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})=([\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e])$/;

/** The value of `key` in a tracestate, '' when absent or when the tracestate is malformed. */
export function traceStateValue(raw: string, key: string): string {
  if (raw === '') return '';
  let found = '';
  const keys = new Set<string>();
  let n = 0;
  for (const part of raw.split(',')) {
    const member = part.replace(/^[ \t]+|[ \t]+$/g, '');
    if (member === '') continue;
    const m = TS_MEMBER.exec(member);
    if (!m || keys.has(m[1]!) || ++n > 32) return '';
    keys.add(m[1]!);
    if (m[1] === key) found = m[2]!;
  }
  return found;
}

// ------------------------------------------------------------------------------------------------
// probabilistic: FNV-1a (64 bits) of salt + trace ID against ratio x MaxUint64, as the collector.

export const FNV_OFFSET_HI = 0xcbf29ce4;
export const FNV_OFFSET_LO = 0x84222325;

/** FNV-1a 64 of `bytes`, continuing from h (two uint32 halves, written back). */
export function fnv1a64(bytes: Uint8Array, h: [number, number]): void {
  let [hi, lo] = h;
  for (let i = 0; i < bytes.length; i++) {
    lo = (lo ^ bytes[i]!) >>> 0;
    // h * (2^40 + 0x1b3) mod 2^64, in 32-bit halves: every product stays below 2^53.
    const a = lo * 0x1b3;
    const aLo = a >>> 0;
    const carry = Math.floor(a / 0x1_0000_0000);
    hi = (hi * 0x1b3 + carry + ((lo << 8) >>> 0)) >>> 0;
    lo = aLo;
  }
  h[0] = hi;
  h[1] = lo;
}

/** The hash the probabilistic policy compares, as a bigint (for tests). */
export function traceIdHash(salt: string, traceId: Uint8Array): bigint {
  const h: [number, number] = [FNV_OFFSET_HI, FNV_OFFSET_LO];
  fnv1a64(utf8(salt), h);
  fnv1a64(traceId, h);
  return (BigInt(h[0]) << 32n) | BigInt(h[1]);
}

/**
 * floor(ratio x (2^64 - 1)) as Go's big.Float computes it: the product rounded to 64 significant bits
 * (nearest, ties to even), then truncated to an integer; past 2^64 - 1 it is 2^64 - 1.
 */
export function probabilityThreshold(ratio: number): bigint {
  const MAX = (1n << 64n) - 1n;
  if (!(ratio > 0)) return 0n;
  // ratio = m x 2^e exactly (m a 53-bit integer).
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, ratio);
  const bits = view.getBigUint64(0);
  const expField = Number((bits >> 52n) & 0x7ffn);
  let m = bits & ((1n << 52n) - 1n);
  let e: number;
  if (expField === 0) e = -1074;
  else {
    m |= 1n << 52n;
    e = expField - 1075;
  }
  let p = MAX * m; // the exact product is p x 2^e
  const bitsLen = p.toString(2).length;
  if (bitsLen > 64) {
    const drop = BigInt(bitsLen - 64);
    const rem = p & ((1n << drop) - 1n);
    const half = 1n << (drop - 1n);
    p >>= drop;
    if (rem > half || (rem === half && (p & 1n) === 1n)) p += 1n;
    e += Number(drop);
  }
  const v = e >= 0 ? p << BigInt(e) : p >> BigInt(-e);
  return v > MAX ? MAX : v;
}
