/**
 * The slow-hash pool's promises: checks run on a worker thread with the right verdicts; what waits is
 * bounded per user and in all, past the bound a check is refused at once and retryably (never with the
 * password in the message); users are served in turn, so a flood against one user leaves the others a
 * turn each; shutting down refuses what waits. (test/auth-flood.test.ts shows the gateway under a flood.)
 */
import { isMainThread } from 'node:worker_threads';
import bcrypt from 'bcryptjs';
import { parseShaCrypt, shaCrypt } from './sha-crypt.js';
import { afterEach, describe, expect, it } from 'vitest';
import { RetryableError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { BUSY_RETRY_AFTER_MS, MAX_WAITING, MAX_WAITING_PER_USER, SlowHashPool } from './hash-pool.js';

/** bcrypt at cost 8 (~20 ms a check): slow enough that checks queue behind a running one. */
const BCRYPT = bcrypt.hashSync('right', 8);
/** SHA-crypt at its fewest rounds (~2 ms): for the many checks of the bound in all. */
const SHA_CRYPT = shaCrypt('right', parseShaCrypt('$5$rounds=1000$saltsalt')!);

let pool: SlowHashPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

/** The rejection of `p` (undefined when it resolved). */
const rejection = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('SlowHashPool', () => {
  it('checks bcrypt and SHA-crypt on a worker thread, not on the event loop', async () => {
    pool = new SlowHashPool(silentLogger, 1);
    expect(isMainThread).toBe(true);
    // The event loop keeps turning while a check runs: a timer fires before the bcrypt verdict.
    const order: string[] = [];
    const verdict = pool.check('u', bcrypt.hashSync('right', 10), 'wrong').then((v) => order.push(`verdict ${v}`));
    setTimeout(() => order.push('timer'), 1);
    await verdict;
    expect(order).toEqual(['timer', 'verdict false']);
    expect(await pool.check('u', BCRYPT, 'right')).toBe(true);
    expect(await pool.check('u', SHA_CRYPT, 'right')).toBe(true);
    expect(await pool.check('u', SHA_CRYPT, 'righT')).toBe(false);
    expect(pool.checks).toBe(4);
  });

  it('refuses, at once and retryably, a check past the bound for one user, while another user still gets a turn', async () => {
    pool = new SlowHashPool(silentLogger, 1);
    const done: string[] = [];
    // One running and MAX_WAITING_PER_USER waiting: the next guess for the same user is refused.
    const flood = Array.from({ length: MAX_WAITING_PER_USER + 1 }, (_, i) => pool!.check('alice', BCRYPT, `guess-${i}`).then(() => done.push('alice')));
    const refused = await rejection(pool.check('alice', BCRYPT, 'guess-x'));
    expect(refused).toBeInstanceOf(RetryableError);
    expect(refused).toMatchObject({
      code: 'GS_AUTH_BUSY',
      retryAfterMs: BUSY_RETRY_AFTER_MS,
      message: 'too many password checks are waiting for this user; retry later',
    });
    // bob is not refused, and waits only for the check running: he is served least recently.
    const bob = pool.check('bob', BCRYPT, 'right').then((v) => done.push(`bob ${v}`));
    await Promise.all([...flood, bob]);
    expect(done.indexOf('bob true')).toBe(1);
  });

  it('bounds the checks waiting in all', async () => {
    pool = new SlowHashPool(silentLogger, 1);
    const users = Math.ceil(MAX_WAITING / MAX_WAITING_PER_USER) + 1;
    const results = await Promise.all(
      Array.from({ length: users * MAX_WAITING_PER_USER }, (_, i) => rejection(pool!.check(`user-${i % users}`, SHA_CRYPT, `guess-${i}`))),
    );
    const busy = results.filter((r) => r instanceof RetryableError);
    // One check was running at once, MAX_WAITING waited; the rest were refused.
    expect(results.length - busy.length).toBe(MAX_WAITING + 1);
    expect(busy[0]).toMatchObject({ message: 'too many password checks are waiting; retry later' });
  });

  it('shutting down refuses what waits, retryably', async () => {
    pool = new SlowHashPool(silentLogger, 1);
    const waiting = Array.from({ length: 3 }, (_, i) => rejection(pool!.check('u', BCRYPT, `guess-${i}`)));
    await pool.close();
    for (const r of await Promise.all(waiting)) expect(r).toMatchObject({ code: 'GS_AUTH_BUSY', message: 'the authenticator is shutting down; retry later' });
    expect(await rejection(pool.check('u', BCRYPT, 'right'))).toBeInstanceOf(RetryableError);
  });
});
