/**
 * OTTL's hash and identifier converters (ottlfuncs README): FNV, Murmur3Hash, Murmur3Hash128, XXH3,
 * XXH128, UUID and UUIDv7. FNV and Murmur3 are small enough to write here (checked against the
 * collector's test vectors); XXH3 comes from hash-wasm, whose WebAssembly hashers are made once at load.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createXXHash128, createXXHash3 } from 'hash-wasm';
import { needString, one, type Converter } from './function-args.js';

const xxh3 = await createXXHash3(0, 0);
const xxh128 = await createXXHash128(0, 0);

const MASK64 = (1n << 64n) - 1n;

/**
 * FNV-1a, 64 bits, as a signed int64 (the collector's FNV returns int64(Sum64())). The 64-bit state is
 * two 32-bit halves, so a byte costs a few float multiplications rather than BigInt arithmetic; the
 * prime is 2^40 + 0x1b3.
 */
export function fnv1a64(text: string): bigint {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (const b of Buffer.from(text, 'utf8')) {
    lo = (lo ^ b) >>> 0;
    const low = lo * 0x1b3;
    hi = (hi * 0x1b3 + lo * 0x100 + Math.floor(low / 0x1_0000_0000)) >>> 0;
    lo = low >>> 0;
  }
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

const rotl32 = (x: number, r: number): number => (x << r) | (x >>> (32 - r));

/** MurmurHash3 x86_32 with seed 0. */
export function murmur3x86_32(data: Uint8Array): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = 0;
  const blocks = data.length >>> 2;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < blocks; i++) {
    let k = view.getUint32(i * 4, true);
    k = Math.imul(rotl32(Math.imul(k, c1), 15), c2);
    h ^= k;
    h = (Math.imul(rotl32(h, 13), 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  const rest = data.length & 3;
  if (rest > 0) {
    let k = 0;
    for (let i = rest - 1; i >= 0; i--) k ^= data[tail + i]! << (i * 8);
    h ^= Math.imul(rotl32(Math.imul(k, c1), 15), c2);
  }
  h ^= data.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const rotl64 = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & MASK64;
const mul64 = (a: bigint, b: bigint): bigint => (a * b) & MASK64;

function fmix64(k: bigint): bigint {
  k ^= k >> 33n;
  k = mul64(k, 0xff51afd7ed558ccdn);
  k ^= k >> 33n;
  k = mul64(k, 0xc4ceb9fe1a85ec53n);
  return k ^ (k >> 33n);
}

/** MurmurHash3 x64_128 with seed 0: the two 64-bit halves. */
export function murmur3x64_128(data: Uint8Array): [bigint, bigint] {
  const c1 = 0x87c37b91114253d5n;
  const c2 = 0x4cf5ad432745937fn;
  let h1 = 0n;
  let h2 = 0n;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const blocks = data.length >>> 4;
  for (let i = 0; i < blocks; i++) {
    let k1 = view.getBigUint64(i * 16, true);
    let k2 = view.getBigUint64(i * 16 + 8, true);
    k1 = mul64(rotl64(mul64(k1, c1), 31n), c2);
    h1 ^= k1;
    h1 = (mul64((rotl64(h1, 27n) + h2) & MASK64, 5n) + 0x52dce729n) & MASK64;
    k2 = mul64(rotl64(mul64(k2, c2), 33n), c1);
    h2 ^= k2;
    h2 = (mul64((rotl64(h2, 31n) + h1) & MASK64, 5n) + 0x38495ab5n) & MASK64;
  }
  const tail = blocks * 16;
  const rest = data.length & 15;
  let k1 = 0n;
  let k2 = 0n;
  for (let i = rest - 1; i >= 8; i--) k2 ^= BigInt(data[tail + i]!) << BigInt((i - 8) * 8);
  if (rest > 8) h2 ^= mul64(rotl64(mul64(k2, c2), 33n), c1);
  for (let i = Math.min(rest, 8) - 1; i >= 0; i--) k1 ^= BigInt(data[tail + i]!) << BigInt(i * 8);
  if (rest > 0) h1 ^= mul64(rotl64(mul64(k1, c1), 31n), c2);
  const len = BigInt(data.length);
  h1 ^= len;
  h2 ^= len;
  h1 = (h1 + h2) & MASK64;
  h2 = (h2 + h1) & MASK64;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 = (h1 + h2) & MASK64;
  h2 = (h2 + h1) & MASK64;
  return [h1, h2];
}

/** A UUID version 7: 48 bits of Unix milliseconds, then random bits (RFC 9562). */
export function uuidV7(nowMs = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(nowMs, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const HASH_CONVERTERS: Record<string, Converter> = {
  FNV: one((v, fn) => fnv1a64(needString(v, fn))),
  // The 32-bit hash's four bytes little-endian, in hex.
  Murmur3Hash: one((v, fn) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(murmur3x86_32(Buffer.from(needString(v, fn), 'utf8')));
    return b.toString('hex');
  }),
  // The two 64-bit halves, each little-endian, in hex.
  Murmur3Hash128: one((v, fn) => {
    const [h1, h2] = murmur3x64_128(Buffer.from(needString(v, fn), 'utf8'));
    const b = Buffer.alloc(16);
    b.writeBigUInt64LE(h1, 0);
    b.writeBigUInt64LE(h2, 8);
    return b.toString('hex');
  }),
  XXH3: one((v, fn) => xxh3.init().update(needString(v, fn)).digest('hex')),
  XXH128: one((v, fn) => xxh128.init().update(needString(v, fn)).digest('hex')),
  UUID: { params: [], build: () => () => randomUUID() },
  UUIDv7: { params: [], build: () => () => uuidV7() },
};
