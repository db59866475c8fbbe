/**
 * htpasswd entries and their check, for the hash formats Apache's htpasswd writes: bcrypt (`$2y$`, -B),
 * apr1 MD5 (`$apr1$`, the default) and `$1$` MD5-crypt, SHA1 (`{SHA}`, -s) and salted SHA1 (`{SSHA}`), and
 * the SHA-crypt hashes (`$5$`, `$6$`, e.g. `openssl passwd -6`, mkpasswd) the collector's library takes too.
 * bcrypt goes through bcryptjs, MD5 through apache-md5 and SHA-crypt through unixcrypt (all pure JS); SHA
 * through node:crypto.
 * Anything else is a password in plain text, as the collector's htpasswd library reads it (its README's own
 * example is `${BASIC_AUTH_USERNAME}:${BASIC_AUTH_PASSWORD}`): accepted, compared in constant time, and
 * reported so the start can warn (an empty one is refused). A DES-crypt hash is therefore read as plain text,
 * as there.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import md5 from 'apache-md5';
import { encrypt as shaCrypt } from 'unixcrypt';

export type HashCheck = (password: string) => Promise<boolean>;

/** A plain-text entry's check, marked so the loader can name such lines in its warning. */
const PLAIN = Symbol('plain text');
type PlainCheck = HashCheck & { [PLAIN]?: true };

function sameText(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/** The check for one stored hash, or a reason it cannot be used (never the hash in the reason). */
export function hashCheck(hash: string): HashCheck | string {
  if (/^\$2[abxy]\$\d\d\$/.test(hash)) return (password) => bcrypt.compare(password, hash);
  if (hash.startsWith('$apr1$') || hash.startsWith('$1$')) return async (password) => sameText(md5(password, hash), hash);
  if (hash.startsWith('{SHA}')) {
    const stored = hash.slice(5);
    return async (password) => sameText(createHash('sha1').update(password).digest('base64'), stored);
  }
  if (hash.startsWith('{SSHA}')) {
    const raw = Buffer.from(hash.slice(6), 'base64');
    if (raw.length <= 20) return 'a {SSHA} hash too short to hold a salt';
    const digest = raw.subarray(0, 20);
    const salt = raw.subarray(20);
    return async (password) => timingSafeEqual(createHash('sha1').update(password).update(salt).digest(), digest);
  }
  if (/^\$[56]\$/.test(hash)) {
    // Computed with the stored salt and rounds, then compared in constant time (unixcrypt's own verify
    // throws on a stored hash of another length). Synchronous: ~9 ms at the default 5000 rounds, paid once
    // per credential that passes (basicauth remembers it) and on every wrong guess, as bcrypt's cost is.
    // unixcrypt takes the settings part (id, rounds, salt: all before the last `$`), not the whole hash.
    const settings = hash.slice(0, hash.lastIndexOf('$'));
    try {
      shaCrypt('', settings);
    } catch {
      return 'a SHA-crypt hash that cannot be read (expected $5$ or $6$, optional rounds=N$, salt$, hash)';
    }
    return async (password) => sameText(shaCrypt(password, settings), hash);
  }
  if (hash === '') return 'an empty password; write the entry with htpasswd -B (bcrypt)';
  const plain: PlainCheck = async (password) => sameText(password, hash);
  plain[PLAIN] = true;
  return plain;
}

/**
 * Parses htpasswd text; later entries for a user replace earlier ones. Problems name the line, never the hash;
 * `plain` gets the place of every plain-text entry (`file line N (user U)`), never the password.
 */
export function parseHtpasswd(text: string, source: string, users: Map<string, HashCheck>, problems: string[], plain: string[] = []): void {
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
      if ((check as PlainCheck)[PLAIN]) plain.push(`${source} line ${i + 1} (user ${user})`);
    }
  });
}
