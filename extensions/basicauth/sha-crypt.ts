/**
 * SHA-crypt (`$5$` SHA-256, `$6$` SHA-512), after Ulrich Drepper's specification, as glibc's crypt(3),
 * `openssl passwd -5/-6` and mkpasswd write it. Written here because the library used before (unixcrypt
 * 3.0.4) computes a different hash for a password whose length is a multiple of the digest size (32 bytes
 * for $5$, 64 for $6$): such users, a generated 32- or 64-character password among them, were refused.
 * Checked against openssl for every length from 1 to 300 (sha-crypt.test.ts).
 */
import { createHash, type Hash } from 'node:crypto';

const ALGORITHM = { '5': 'sha256', '6': 'sha512' } as const;
const DEFAULT_ROUNDS = 5000;
const MIN_ROUNDS = 1000;
const MAX_ROUNDS = 999_999_999;
const MAX_SALT = 16;
const B64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * The order in which the final digest's bytes are written, three at a time (the specification's
 * permutation); the last group holds the bytes left over.
 */
const ORDER = {
  '5': [
    [0, 10, 20],
    [21, 1, 11],
    [12, 22, 2],
    [3, 13, 23],
    [24, 4, 14],
    [15, 25, 5],
    [6, 16, 26],
    [27, 7, 17],
    [18, 28, 8],
    [9, 19, 29],
    [31, 30],
  ],
  '6': [
    [0, 21, 42],
    [22, 43, 1],
    [44, 2, 23],
    [3, 24, 45],
    [25, 46, 4],
    [47, 5, 26],
    [6, 27, 48],
    [28, 49, 7],
    [50, 8, 29],
    [9, 30, 51],
    [31, 52, 10],
    [53, 11, 32],
    [12, 33, 54],
    [34, 55, 13],
    [56, 14, 35],
    [15, 36, 57],
    [37, 58, 16],
    [59, 17, 38],
    [18, 39, 60],
    [40, 61, 19],
    [62, 20, 41],
    [63],
  ],
} as const;

/** A SHA-crypt hash's settings: algorithm, rounds (and whether written out), salt. */
export interface ShaCryptSettings {
  readonly id: '5' | '6';
  readonly rounds: number;
  readonly roundsGiven: boolean;
  readonly salt: string;
}

/** Reads `$5$[rounds=N$]salt[$hash]`; undefined when it is not that. */
export function parseShaCrypt(text: string): ShaCryptSettings | undefined {
  const m = /^\$([56])\$(?:rounds=(\d{1,10})\$)?([^$]*)(?:\$[./0-9A-Za-z]*)?$/.exec(text);
  if (!m) return undefined;
  const rounds = m[2] === undefined ? DEFAULT_ROUNDS : Math.min(MAX_ROUNDS, Math.max(MIN_ROUNDS, Number(m[2])));
  return { id: m[1] as '5' | '6', rounds, roundsGiven: m[2] !== undefined, salt: m[3]!.slice(0, MAX_SALT) };
}

/** `bytes` repeated to fill `length` bytes (whole copies, then the start of one). */
function stretch(bytes: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let at = 0; at < length; at += bytes.length) bytes.copy(out, at, 0, Math.min(bytes.length, length - at));
  return out;
}

/** The whole hash string of `password` under `s`, as crypt(3) writes it. */
export function shaCrypt(password: string, s: ShaCryptSettings): string {
  const hash = (): Hash => createHash(ALGORITHM[s.id]);
  const p = Buffer.from(password, 'utf8');
  const salt = Buffer.from(s.salt, 'utf8');
  const b = hash().update(p).update(salt).update(p).digest();
  const ha = hash().update(p).update(salt).update(stretch(b, p.length));
  for (let n = p.length; n > 0; n >>= 1) ha.update(n & 1 ? b : p);
  const a = ha.digest();
  const hp = hash();
  for (let i = 0; i < p.length; i++) hp.update(p);
  const pSeq = stretch(hp.digest(), p.length);
  const hs = hash();
  for (let i = 0; i < 16 + a[0]!; i++) hs.update(salt);
  const sSeq = stretch(hs.digest(), salt.length);
  let c = a;
  for (let i = 0; i < s.rounds; i++) {
    const h = hash().update(i & 1 ? pSeq : c);
    if (i % 3 !== 0) h.update(sSeq);
    if (i % 7 !== 0) h.update(pSeq);
    c = h.update(i & 1 ? c : pSeq).digest();
  }
  let encoded = '';
  for (const group of ORDER[s.id]) {
    // Up to three bytes, the first listed most significant, as 4 (or 3, 2) characters, low bits first.
    let v = 0;
    for (const i of group) v = (v << 8) | c[i]!;
    for (let k = 0; k < group.length + 1; k++, v >>= 6) encoded += B64[v & 63];
  }
  return `$${s.id}$${s.roundsGiven ? `rounds=${s.rounds}$` : ''}${s.salt}$${encoded}`;
}
