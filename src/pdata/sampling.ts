/**
 * Consistent probability sampling as OpenTelemetry specifies it (tracestate `th`/`rv`, 56-bit values) and
 * the collector's legacy FNV hash, as its contrib `pkg/sampling` and probabilistic sampler compute them,
 * so a span sampled here is the span the collector samples for the same trace ID, seed and percentage.
 *
 * 56-bit quantities (randomness, thresholds) do not fit a double exactly, so they are kept as two 28-bit
 * halves (`hi`, `lo`): the hot path compares numbers, and BigInt appears only at configuration time and
 * when an arriving `th` has to be combined with the configured ratio.
 */

/** 2^56: one more than the largest randomness; the threshold that never samples. */
export const MAX_ADJUSTED_COUNT = 1n << 56n;
const TWO28 = 0x10000000;
const MASK28 = 0xfffffff;

/** A rejection threshold: an item is sampled when its randomness is >= the threshold. */
export interface Threshold {
  readonly hi: number;
  readonly lo: number;
}

export const ALWAYS_SAMPLE: Threshold = Object.freeze({ hi: 0, lo: 0 });
export const NEVER_SAMPLE: Threshold = Object.freeze({ hi: TWO28, lo: 0 });

/** Randomness sampled at every probability (the collector's AllProbabilitiesRandomness: 2^56 - 1). */
export const ALL_PROBABILITIES_HI = MASK28;
export const ALL_PROBABILITIES_LO = MASK28;

export function thresholdFromBig(t: bigint): Threshold {
  return { hi: Number(t >> 28n), lo: Number(t & BigInt(MASK28)) };
}

export function thresholdToBig(t: Threshold): bigint {
  return (BigInt(t.hi) << 28n) | BigInt(t.lo);
}

export function thresholdLess(a: Threshold, b: Threshold): boolean {
  return a.hi < b.hi || (a.hi === b.hi && a.lo < b.lo);
}

export function sameThreshold(a: Threshold, b: Threshold): boolean {
  return a.hi === b.hi && a.lo === b.lo;
}

/** The consistent decision: randomness (hi, lo) >= threshold. */
export function shouldSample(t: Threshold, hi: number, lo: number): boolean {
  return hi > t.hi || (hi === t.hi && lo >= t.lo);
}

/** The sampling probability a threshold stands for, (2^56 - t) / 2^56. */
export function thresholdProbability(t: Threshold): number {
  return Number(MAX_ADJUSTED_COUNT - thresholdToBig(t)) / 2 ** 56;
}

export type ProbabilityError = 'range' | 'precision';

/**
 * A probability in [2^-56, 1] as a threshold rounded to `prec` significant hex digits (0: full precision),
 * as the collector's ProbabilityToThresholdWithPrecision. On 'precision' underflow the threshold returned
 * is ALWAYS_SAMPLE, as the collector's.
 */
export function probabilityToThreshold(prob: number, prec: number): { threshold: Threshold; error?: ProbabilityError } {
  if (!(prob >= 2 ** -56 && prob <= 1)) return { threshold: ALWAYS_SAMPLE, error: 'range' };
  const scaled = BigInt(Math.round(prob * 2 ** 56));
  let rejected = MAX_ADJUSTED_COUNT - scaled;
  if (prec === 0) return { threshold: thresholdFromBig(rejected) };
  if (prob === 1) return { threshold: ALWAYS_SAMPLE };
  // Leading zeros of the rejection probability are obligatory digits: they add to the precision.
  for (let reject = 1 - prob; reject * 16 < 1; reject *= 16) prec++;
  if (prec > 14) return { threshold: ALWAYS_SAMPLE, error: 'precision' };
  const shift = BigInt(4 * (14 - prec));
  if (shift > 0n) rejected = ((rejected + (1n << (shift - 1n))) >> shift) << shift;
  return { threshold: thresholdFromBig(rejected) };
}

const HEX7 = (n: number) => n.toString(16).padStart(7, '0');

/** The `th` encoding: 14 hex digits without trailing zeros; "0" for always-sample. */
export function tvalue(t: Threshold): string {
  if (t.hi === 0 && t.lo === 0) return '0';
  return (HEX7(t.hi) + HEX7(t.lo)).replace(/0+$/, '');
}

const HEX_RE = /^[0-9a-fA-F]+$/;

/** Parses a `th` value (1..14 hex digits, trailing zeros implied); undefined when malformed. */
export function parseTValue(s: string): Threshold | undefined {
  if (s.length === 0 || s.length > 14 || !HEX_RE.test(s)) return undefined;
  const padded = s.padEnd(14, '0');
  return { hi: parseInt(padded.slice(0, 7), 16), lo: parseInt(padded.slice(7), 16) };
}

/** The `rv` encoding of randomness: exactly 14 hex digits. */
export function rvalue(hi: number, lo: number): string {
  return HEX7(hi) + HEX7(lo);
}

/** Parses an `rv` value (exactly 14 hex digits) into out[0] (hi), out[1] (lo); false when malformed. */
export function parseRValue(s: string, out: number[]): boolean {
  if (s.length !== 14 || !HEX_RE.test(s)) return false;
  out[0] = parseInt(s.slice(0, 7), 16);
  out[1] = parseInt(s.slice(7), 16);
  return true;
}

/**
 * Randomness from a trace ID as W3C Trace Context Level 2 defines it: its least-significant 7 bytes
 * (bytes 9..15). Writes hi/lo into out.
 */
export function traceIdRandomness(buf: Uint8Array, s: number, out: number[]): void {
  out[0] = (buf[s + 9]! << 20) | (buf[s + 10]! << 12) | (buf[s + 11]! << 4) | (buf[s + 12]! >>> 4);
  out[1] = ((buf[s + 12]! & 0xf) << 24) | (buf[s + 13]! << 16) | (buf[s + 14]! << 8) | buf[s + 15]!;
}

/** 32-bit FNV-1a of the seed (4 bytes, little-endian) followed by buf[s:e]: the collector's computeHash. */
export function fnv1a32(seed: number, buf: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 4; i++) h = Math.imul(h ^ ((seed >>> (8 * i)) & 0xff), 0x01000193);
  for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h >>> 0;
}

export const HASH_BUCKETS = 0x4000;

/**
 * The hash_seed mode's randomness, as the collector builds it so that an OTel threshold makes the same
 * decision as the legacy `hash < percentage * 16384 / 100`: the top 14 bits are 16383 - (hash & 0x3fff),
 * then 28 bits mixed from the hash's 18 unused bits, then the 14 hashed bits. Writes hi/lo into out.
 */
export function hashRandomness(hash32: number, out: number[]): void {
  const hashed = hash32 & (HASH_BUCKETS - 1);
  const rprime = HASH_BUCKETS - 1 - hashed;
  const unused18 = hash32 >>> 14;
  const mixed28 = (unused18 ^ (unused18 << 10)) & MASK28;
  out[0] = (rprime << 14) | (mixed28 >>> 14);
  out[1] = ((mixed28 & 0x3fff) << 14) | hashed;
}

/**
 * The hash_seed mode's threshold for a percentage: the collector's `uint32(pct * 163.84)` in float32
 * arithmetic, truncated (so 0.001% rounds to nothing), as a rejection threshold (16384 - scaled) << 42.
 * Returns undefined when the rate rounds to zero (never sample).
 */
export function hashSeedThreshold(percentage: number): Threshold | undefined {
  const pct = Math.fround(Math.min(percentage, 100));
  const scaled = Math.trunc(Math.fround(pct * Math.fround(HASH_BUCKETS / 100)));
  if (scaled <= 0) return undefined;
  return thresholdFromBig(BigInt(HASH_BUCKETS - scaled) << 42n);
}
