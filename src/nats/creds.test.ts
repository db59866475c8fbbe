import { describe, expect, it } from 'vitest';
import { nkeys } from '@nats-io/transport-node';
import { makeNatsOperator, signNatsJwt } from '../../test/helpers/nats-operator.js';
import { CredsFileError, parseCreds, parseSeedFile } from './creds.js';

const operator = makeNatsOperator();
const user = operator.account.user('parse');
const nowS = Math.floor(Date.now() / 1000);

/** parseCreds' error message for `text` (fails the test if it parses). */
function refusal(text: string, nowMs?: number): string {
  try {
    parseCreds(text, nowMs);
  } catch (err) {
    expect(err).toBeInstanceOf(CredsFileError);
    const message = (err as Error).message;
    expect(message).not.toContain(user.seed);
    expect(message).not.toContain(user.jwt.slice(user.jwt.lastIndexOf('.') + 1));
    return message;
  }
  throw new Error('parsed');
}

describe('a NATS creds file', () => {
  it('gives the user JWT and seed, as nsc writes it, with CRLF line ends, and with nothing after the seed block', () => {
    const bare = `-----BEGIN NATS USER JWT-----\n${user.jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${user.seed}\n------END USER NKEY SEED------`;
    for (const text of [user.creds, user.creds.replace(/\n/g, '\r\n'), bare, `  ${bare.replace(/\n/g, '\n  ')}  `]) {
      const creds = parseCreds(text);
      expect(creds.jwt).toBe(user.jwt);
      expect(new TextDecoder().decode(creds.seed)).toBe(user.seed);
      expect(creds.expiresAtMs).toBeUndefined();
    }
  });

  it('says what is missing or wrong, never what the file holds', () => {
    const [jwtBlock] = user.creds.split('\n\n');
    expect(refusal(`${jwtBlock!}\n`)).toMatch(/^it holds a user JWT but no NKey seed block/);
    expect(refusal(user.seed)).toMatch(/^it holds no user JWT block .*a bare NKey seed file goes in nkey_seed_file/);
    expect(refusal('')).toMatch(/^it holds no user JWT block/);
    expect(refusal(user.creds.replace(user.jwt, 'not-a-jwt'))).toMatch(/^it holds an NKey seed but no user JWT block/);
    expect(refusal(`-----BEGIN USER NKEY SEED-----\n${user.seed}\n------END USER NKEY SEED------\n`)).toMatch(
      /^it holds an NKey seed but no user JWT block .*nkey_seed_file instead/,
    );
    expect(refusal(user.creds.replace(user.jwt, 'a.b.c'))).toMatch(/^its user JWT block does not decode to JSON claims/);
    expect(refusal(user.creds.replace(user.jwt, operator.account.jwt))).toMatch(/^its JWT is an account JWT, not a user's/);
    const untyped = signNatsJwt(operator.account.keys, { sub: user.publicKey, name: 'untyped', nats: {} as never });
    expect(refusal(user.creds.replace(user.jwt, untyped))).toMatch(/^its JWT names no claim type \(nats\.type\), not a user's/);
    expect(refusal(user.creds.replace(user.seed, 'SUNOTASEED'))).toMatch(/^its NKey seed block does not hold a valid NKey seed/);
    const accountSeed = new TextDecoder().decode(nkeys.createAccount().getSeed());
    expect(refusal(user.creds.replace(user.seed, accountSeed))).toMatch(/^its NKey seed block is not a user's NKey seed \(a user seed starts with SU\)/);
    expect(refusal(user.creds.replace(user.seed, operator.account.user('other').seed))).toMatch(/^its NKey seed is not the key of its JWT's user/);
  });

  it('refuses a user JWT that expired, saying when', () => {
    const keys = nkeys.createUser();
    const jwt = signNatsJwt(operator.account.keys, { sub: keys.getPublicKey(), name: 'short', iat: nowS - 20, exp: nowS - 10, nats: { type: 'user' } });
    const text = user.creds.replace(user.jwt, jwt).replace(user.seed, new TextDecoder().decode(keys.getSeed()));
    expect(refusal(text)).toBe(
      `its user JWT expired at ${new Date((nowS - 10) * 1000).toISOString()}; get a new creds file for the user (nsc generate creds, or your NATS provider)`,
    );
    // Before then it is good, and says when it ends.
    expect(parseCreds(text, (nowS - 11) * 1000).expiresAtMs).toBe((nowS - 10) * 1000);
  });
});

describe('an NKey seed file', () => {
  const user = nkeys.createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  const problem = (text: string): string => {
    try {
      parseSeedFile(text);
    } catch (err) {
      expect(err).toBeInstanceOf(CredsFileError);
      expect((err as Error).message).not.toContain(seed);
      return (err as Error).message;
    }
    throw new Error('parsed');
  };

  it('gives the seed, alone on a line or in a seed block', () => {
    for (const text of [seed, `${seed}\n`, `\r\n${seed}\r\n`, `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`])
      expect(new TextDecoder().decode(parseSeedFile(text))).toBe(seed);
  });

  it('says what is wrong, never what the file holds', () => {
    expect(problem('')).toMatch(/^it holds no NKey seed \(a line starting with SU/);
    expect(problem(`${seed.slice(0, -2)}AA`)).toBe('its seed line does not hold a valid NKey seed');
    expect(problem(new TextDecoder().decode(nkeys.createAccount().getSeed()))).toMatch(/^its seed line is not a user's NKey seed/);
    expect(problem(operator.account.user('creds').creds)).toMatch(/^it holds a user JWT too: that is a creds file, set it as creds_file instead/);
  });
});
