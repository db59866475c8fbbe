/**
 * htpasswd entries and their check, for the hash formats Apache's htpasswd writes: bcrypt (`$2y$`, -B),
 * apr1 MD5 (`$apr1$`, the default) and `$1$` MD5-crypt, SHA1 (`{SHA}`, -s) and salted SHA1 (`{SSHA}`), and
 * the SHA-crypt hashes (`$5$`, `$6$`, e.g. `openssl passwd -6`, mkpasswd) the collector's library takes too.
 * bcrypt goes through bcryptjs, MD5 through apache-md5 (both pure JS), SHA-crypt through sha-crypt.ts; SHA
 * through node:crypto. bcrypt and SHA-crypt run on worker threads (hash-pool.ts), the rest where asked.
 * Anything else is a password in plain text, as the collector's htpasswd library reads it (its README's own
 * example is `${BASIC_AUTH_USERNAME}:${BASIC_AUTH_PASSWORD}`): accepted, compared in constant time, and
 * reported so the start can warn (an empty one is refused). A DES-crypt hash is therefore read as plain text,
 * as there.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import md5 from 'apache-md5';
import { parseShaCrypt, shaCrypt } from './sha-crypt.js';

/**
 * How one stored hash is checked. A fast one (MD5, SHA1, plain text: microseconds) is checked where it is
 * asked; a slow one (bcrypt, SHA-crypt: ~70 ms and ~9 ms, slow on purpose) goes to the worker threads of
 * hash-pool.ts with its hash, so that no guess holds the event loop.
 */
export type HashEntry =
  | { readonly slow: false; matches(password: string): boolean; readonly plain?: true }
  | { readonly slow: true; readonly hash: string; readonly longestPassword: number };

/**
 * The longest password (UTF-8 bytes) checked against a SHA-crypt hash; a longer one is wrong without a
 * check. SHA-crypt hashes the password in each of its rounds, so its cost grows with the password: 60 KB
 * (under the 64 KiB header limit) took 8-17 s a check here, against ~9 ms for a short one; 1024 bytes
 * costs a few times a short one. htpasswd itself reads at most 255 characters. bcrypt reads only the
 * first 72 bytes, whatever the length, so its entries take any.
 */
export const SHA_CRYPT_LONGEST_PASSWORD = 1024;

function sameText(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

const BCRYPT = /^\$2[abxy]\$\d\d\$/;
const SHA_CRYPT = /^\$[56]\$/;

/**
 * A slow hash's check, synchronous: what a hash-pool worker runs. bcryptjs compares in constant time;
 * SHA-crypt is computed with the stored salt and rounds, then compared in constant time.
 */
export function slowHashMatches(hash: string, password: string): boolean {
  if (BCRYPT.test(hash)) return bcrypt.compareSync(password, hash);
  const settings = parseShaCrypt(hash);
  return settings !== undefined && sameText(shaCrypt(password, settings), hash);
}

/** The check for one stored hash, or a reason it cannot be used (never the hash in the reason). */
export function hashCheck(hash: string): HashEntry | string {
  if (BCRYPT.test(hash)) return { slow: true, hash, longestPassword: Infinity };
  if (hash.startsWith('$apr1$') || hash.startsWith('$1$')) return { slow: false, matches: (password) => sameText(md5(password, hash), hash) };
  if (hash.startsWith('{SHA}')) {
    const stored = hash.slice(5);
    return { slow: false, matches: (password) => sameText(createHash('sha1').update(password).digest('base64'), stored) };
  }
  if (hash.startsWith('{SSHA}')) {
    const raw = Buffer.from(hash.slice(6), 'base64');
    if (raw.length <= 20) return 'a {SSHA} hash too short to hold a salt';
    const digest = raw.subarray(0, 20);
    const salt = raw.subarray(20);
    return { slow: false, matches: (password) => timingSafeEqual(createHash('sha1').update(password).update(salt).digest(), digest) };
  }
  if (SHA_CRYPT.test(hash)) {
    if (!parseShaCrypt(hash)) return 'a SHA-crypt hash that cannot be read (expected $5$ or $6$, optional rounds=N$, salt$, hash)';
    return { slow: true, hash, longestPassword: SHA_CRYPT_LONGEST_PASSWORD };
  }
  if (hash === '') return 'an empty password; write the entry with htpasswd -B (bcrypt)';
  return { slow: false, matches: (password) => sameText(password, hash), plain: true };
}

/**
 * Parses htpasswd text; later entries for a user replace earlier ones. Problems name the line, never the hash;
 * `plain` gets the place of every plain-text entry (`file line N (user U)`), never the password.
 */
export function parseHtpasswd(text: string, source: string, users: Map<string, HashEntry>, problems: string[], plain: string[] = []): void {
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      problems.push(`${source} line ${i + 1}: expected user:hash`);
      return;
    }
    const user = line.slice(0, colon);
    const check = hashCheck(line.slice(colon + 1));
    if (typeof check === 'string') problems.push(`${source} line ${i + 1} (user ${user}): ${check}`);
    else {
      users.set(user, check);
      if (!check.slow && check.plain) plain.push(`${source} line ${i + 1} (user ${user})`);
    }
  });
}
