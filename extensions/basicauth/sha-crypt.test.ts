/**
 * SHA-crypt against Debian's openssl (`openssl passwd -5/-6`, the same hashes as glibc's crypt(3)): every
 * password length from 1 to 130 and each multiple of 32 up to 256 (openssl takes at most 256 characters),
 * with and without rounds=N, and a UTF-8 password. unixcrypt, used before, differed at every multiple of
 * the digest size (32, 64, ...). At the fewest rounds (1000), so that 300 hashes take well under a second.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hasOpenssl } from '../../test/helpers/certs.js';
import { parseShaCrypt, shaCrypt } from './sha-crypt.js';

const HAVE_OPENSSL = hasOpenssl('the SHA-crypt cases against openssl');

/** openssl's hashes of `passwords`, one process for all of them (one password a line). */
function opensslHashes(id: '5' | '6', salt: string, passwords: string[]): string[] {
  return execFileSync('openssl', ['passwd', `-${id}`, '-salt', salt, '-stdin'], { input: passwords.join('\n') + '\n', encoding: 'utf8' })
    .trim()
    .split('\n');
}

describe('SHA-crypt', () => {
  it.runIf(HAVE_OPENSSL)('computes what openssl (glibc) computes, at every password length to 130 and at the block multiples', () => {
    const lengths = [...Array.from({ length: 130 }, (_, i) => i + 1), 160, 192, 224, 256];
    const passwords = lengths.map((n) => 'abcdefghij'.repeat(26).slice(0, n));
    for (const id of ['5', '6'] as const) {
      const expected = opensslHashes(id, 'rounds=1000$Zc8tsE3QnYd1', passwords);
      const got = passwords.map((p) => shaCrypt(p, parseShaCrypt(`$${id}$rounds=1000$Zc8tsE3QnYd1`)!));
      const wrong = got.map((h, i) => (h === expected[i] ? undefined : lengths[i])).filter((n) => n !== undefined);
      expect(wrong, `$${id}$ lengths that differ`).toEqual([]);
    }
  });

  it.runIf(HAVE_OPENSSL)('takes rounds=N (clamped to 1000 at least, and written out) and a UTF-8 password', () => {
    for (const id of ['5', '6'] as const) {
      const [withRounds] = opensslHashes(id, 'rounds=1234$saltsalt', ['pässwörd-✓']);
      expect(shaCrypt('pässwörd-✓', parseShaCrypt(withRounds!)!)).toBe(withRounds);
      const [clamped] = opensslHashes(id, 'rounds=10$saltsalt', ['x']);
      expect(clamped).toMatch(/\$rounds=1000\$/);
      expect(shaCrypt('x', parseShaCrypt(`$${id}$rounds=10$saltsalt`)!)).toBe(clamped);
    }
  });

  it('reads only $5$ / $6$ hashes, and cuts the salt at 16 characters', () => {
    expect(parseShaCrypt('$6$rounds=many$salt$abc')).toBeUndefined();
    expect(parseShaCrypt('$7$salt$abc')).toBeUndefined();
    expect(parseShaCrypt('$5$saltsaltsaltsaltsalt$abc')).toEqual({ id: '5', rounds: 5000, roundsGiven: false, salt: 'saltsaltsaltsalt' });
  });
});
