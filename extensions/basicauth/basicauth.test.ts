import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testHost } from '../../test/helpers/host.js';
import { hasOpenssl } from '../../test/helpers/certs.js';
import { AuthenticationError, isClientAuthenticator, isServerAuthenticator, type ServerAuthenticator } from '../../src/core/auth.js';
import { testSettings } from '../../test/helpers/otlp-test-servers.js';
import { BasicAuthServer, createBasicAuth, parseBasicHeader } from './basicauth.js';
import { parseShaCrypt, shaCrypt } from './sha-crypt.js';
import { basicAuthConfig } from './config.js';

const run = promisify(execFile);
// apr1 and MD5-crypt hashes come from Debian's openssl, an implementation independent of apache-md5.
const HAVE_OPENSSL = hasOpenssl('the htpasswd apr1 and MD5-crypt cases');
const KINDS = ['bcrypt', 'sha', 'ssha', ...(HAVE_OPENSSL ? ['apr', 'md5', 'sha256crypt', 'sha512crypt'] : [])];

function basic(user: string, password: string): { authorization: string } {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

function create(raw: Record<string, unknown>) {
  const issues: { path: string[]; message: string }[] = [];
  const config = basicAuthConfig.parse(raw, [], issues);
  expect(issues).toEqual([]);
  return createBasicAuth(testSettings('basicauth', 'extension'), config);
}

async function refused(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthenticationError);
  return (err as Error).message;
}

/** Waits (up to 5 s) until `headers` pass: the file watcher has re-read the entries. */
async function passesSoon(ext: ServerAuthenticator, headers: { authorization: string }): Promise<void> {
  await expect
    .poll(
      async () =>
        Promise.resolve(ext.authenticate(headers)).then(
          () => true,
          () => false,
        ),
      { timeout: 5000 },
    )
    .toBe(true);
}

let dir: string;
let htpasswd: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-basic-'));
  // Each hash format htpasswd writes, made at test time: bcrypt by bcryptjs (as htpasswd -B), apr1 and
  // MD5-crypt by Debian's openssl (as htpasswd -m), SHA1 and salted SHA1 as htpasswd -s and slappasswd, and
  // SHA-crypt by openssl passwd -5 / -6 (as mkpasswd), the last with its rounds spelt out.
  const apr1 = HAVE_OPENSSL ? (await run('/usr/bin/openssl', ['passwd', '-apr1', 'apr-pass'])).stdout.trim() : undefined;
  const md5crypt = HAVE_OPENSSL ? (await run('/usr/bin/openssl', ['passwd', '-1', 'md5-pass'])).stdout.trim() : undefined;
  const sha256crypt = HAVE_OPENSSL ? (await run('/usr/bin/openssl', ['passwd', '-5', 'sha256crypt-pass'])).stdout.trim() : undefined;
  const sha512crypt = HAVE_OPENSSL
    ? (await run('/usr/bin/openssl', ['passwd', '-6', '-salt', `rounds=6000$${randomBytes(6).toString('hex')}`, 'sha512crypt-pass'])).stdout.trim()
    : undefined;
  const salt = randomBytes(4);
  const ssha = Buffer.concat([createHash('sha1').update('ssha-pass').update(salt).digest(), salt]).toString('base64');
  htpasswd = [
    '# users of the gateway',
    `bcrypt-user:${bcrypt.hashSync('bcrypt-pass', 8).replace(/^\$2b\$/, '$2y$')}`,
    ...(apr1 ? [`apr-user:${apr1}`] : []),
    ...(md5crypt ? [`md5-user:${md5crypt}`] : []),
    ...(sha256crypt ? [`sha256crypt-user:${sha256crypt}`] : []),
    ...(sha512crypt ? [`sha512crypt-user:${sha512crypt}`] : []),
    `sha-user:{SHA}${createHash('sha1').update('sha-pass').digest('base64')}`,
    `ssha-user:{SSHA}${ssha}`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'htpasswd'), htpasswd);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('basicauth server', () => {
  it('accepts each htpasswd hash format with the right password and refuses a wrong one', async () => {
    const ext = create({ htpasswd: { file: join(dir, 'htpasswd') } }) as ServerAuthenticator;
    await ext.start(testHost());
    for (const kind of KINDS) {
      expect(await ext.authenticate(basic(`${kind}-user`, `${kind}-pass`)), kind).toEqual({ attributes: { username: `${kind}-user` } });
      // Again: a remembered credential passes without the hash.
      expect(await ext.authenticate(basic(`${kind}-user`, `${kind}-pass`))).toEqual({ attributes: { username: `${kind}-user` } });
      const msg = await refused(Promise.resolve().then(() => ext.authenticate(basic(`${kind}-user`, `${kind}-pasS`))));
      expect(msg).toBe('wrong user name or password');
      expect(msg).not.toContain(`${kind}-pasS`);
    }
    await ext.shutdown();
  });

  it('refuses an unknown user like a wrong password, and a missing or malformed header', async () => {
    const ext = create({ htpasswd: { file: join(dir, 'htpasswd') } }) as ServerAuthenticator;
    await ext.start(testHost());
    expect(await refused(Promise.resolve(ext.authenticate(basic('nobody', 'bcrypt-pass'))))).toBe('wrong user name or password');
    expect(await refused(Promise.resolve(ext.authenticate({})))).toMatch(/no Authorization header/);
    expect(await refused(Promise.resolve(ext.authenticate({ authorization: 'Bearer x' })))).toMatch(/not Basic credentials/);
    expect(await refused(Promise.resolve(ext.authenticate({ authorization: 'Basic !!!' })))).toMatch(/not Basic credentials/);
    await ext.shutdown();
  });

  it("inline entries override the file's for the same user", async () => {
    const inline = `sha-user:{SHA}${createHash('sha1').update('inline-pass').digest('base64')}`;
    const ext = create({ htpasswd: { file: join(dir, 'htpasswd'), inline } }) as ServerAuthenticator;
    await ext.start(testHost());
    expect(await ext.authenticate(basic('sha-user', 'inline-pass'))).toEqual({ attributes: { username: 'sha-user' } });
    await refused(Promise.resolve(ext.authenticate(basic('sha-user', 'sha-pass'))));
    await ext.shutdown();
  });

  it('refuses to start on entries it cannot check, naming the line but not the hash', async () => {
    const ext = create({ htpasswd: { inline: 'ok:{SHA}x\nempty:\nsha512:$6$rounds=many$salt$abc' } }) as ServerAuthenticator;
    const err = await ext.start(testHost()).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/inline line 2 \(user empty\): an empty password/);
    expect(err?.message).toMatch(/inline line 3 \(user sha512\): a SHA-crypt hash that cannot be read/);
    expect(err?.message).not.toContain('$salt$abc');
  });

  it("takes a plain-text password as the collector's htpasswd library does, and warns naming the line but not the password", async () => {
    // The contrib README's own example: inline `${BASIC_AUTH_USERNAME}:${BASIC_AUTH_PASSWORD}`.
    const settings = testSettings('basicauth', 'extension');
    const issues: { path: string[]; message: string }[] = [];
    const config = basicAuthConfig.parse(
      { htpasswd: { inline: `hashed:{SHA}${createHash('sha1').update('h').digest('base64')}\nagent:s3cret-Plain` } },
      [],
      issues,
    );
    expect(issues).toEqual([]);
    const ext = createBasicAuth(settings, config) as ServerAuthenticator;
    await ext.start(testHost());
    expect(await ext.authenticate(basic('agent', 's3cret-Plain'))).toEqual({ attributes: { username: 'agent' } });
    await refused(Promise.resolve(ext.authenticate(basic('agent', 's3cret-plain'))));
    await refused(Promise.resolve(ext.authenticate(basic('agent', ''))));
    expect(await ext.authenticate(basic('hashed', 'h'))).toEqual({ attributes: { username: 'hashed' } });
    const warnings = settings.logs.filter((l) => l.level === 'warn').map((l) => String(l.msg));
    expect(warnings).toEqual([expect.stringMatching(/inline line 2 \(user agent\): password in plain text/)]);
    expect(JSON.stringify(settings.logs)).not.toContain('s3cret-Plain');
    await ext.shutdown();
  });

  it('re-reads the file when it changes', async () => {
    const file = join(dir, 'rotating');
    await writeFile(file, `u:{SHA}${createHash('sha1').update('one').digest('base64')}\n`);
    const ext = create({ htpasswd: { file } }) as ServerAuthenticator;
    await ext.start(testHost());
    expect(await ext.authenticate(basic('u', 'one'))).toEqual({ attributes: { username: 'u' } });
    await writeFile(file, `u:{SHA}${createHash('sha1').update('two').digest('base64')}\n`);
    await passesSoon(ext, basic('u', 'two'));
    // The remembered credential is forgotten with the old entries.
    await refused(Promise.resolve(ext.authenticate(basic('u', 'one'))));
    await ext.shutdown();
  });

  it('refuses a SHA-crypt password past 1024 bytes without a check (its cost grows with the length), and takes a long one below', async () => {
    // openssl passwd truncates at 256 characters: this entry is made by sha-crypt.ts (checked against openssl).
    const longest = 'p'.repeat(1000);
    const hash = shaCrypt(longest, parseShaCrypt(`$6$${randomBytes(6).toString('hex')}`)!);
    const ext = create({ htpasswd: { inline: `u:${hash}` } }) as BasicAuthServer;
    await ext.start();
    // 60 KB took 8-17 s of SHA-512-crypt (under the 64 KiB header limit): refused at once, no hash computed.
    expect(await refused(Promise.resolve(ext.authenticate(basic('u', 'p'.repeat(60_000)))))).toBe('wrong user name or password');
    expect(await refused(Promise.resolve(ext.authenticate(basic('u', 'p'.repeat(1025)))))).toBe('wrong user name or password');
    expect(ext.hashesComputed).toBe(0);
    expect(await ext.authenticate(basic('u', longest))).toEqual({ attributes: { username: 'u' } });
    expect(ext.hashesComputed).toBe(1);
    await ext.shutdown();
  });

  it('remembers a verdict on a slow hash: a replayed or simultaneous guess computes no hash, and a re-read forgets', async () => {
    // A misconfigured fleet retrying a stale password costs one bcrypt check, not one per request.
    const file = join(dir, 'slow');
    await writeFile(file, `u:${bcrypt.hashSync('one', 6)}\n`);
    const ext = create({ htpasswd: { file } }) as BasicAuthServer;
    await ext.start();
    const together = await Promise.all(Array.from({ length: 20 }, () => refused(Promise.resolve(ext.authenticate(basic('u', 'two'))))));
    expect(new Set(together)).toEqual(new Set(['wrong user name or password']));
    expect(ext.hashesComputed).toBe(1);
    for (let i = 0; i < 20; i++) await refused(Promise.resolve(ext.authenticate(basic('u', 'two'))));
    expect(await ext.authenticate(basic('u', 'one'))).toEqual({ attributes: { username: 'u' } });
    expect(await ext.authenticate(basic('u', 'one'))).toEqual({ attributes: { username: 'u' } });
    expect(ext.hashesComputed).toBe(2);
    // The password becomes the guess that was remembered as wrong: it passes once the file is re-read.
    await writeFile(file, `u:${bcrypt.hashSync('two', 6)}\n`);
    await passesSoon(ext, basic('u', 'two'));
    await ext.shutdown();
  });
});

describe('basicauth client', () => {
  it('sends client_auth as Basic credentials, and is only what is configured', () => {
    const client = create({ client_auth: { username: 'exp', password: 'p:w' } });
    expect(isServerAuthenticator(client)).toBe(false);
    expect(isClientAuthenticator(client)).toBe(true);
    const headers: Record<string, string> = {};
    if (isClientAuthenticator(client)) client.applyHeaders(headers, undefined);
    expect(parseBasicHeader(headers.authorization!)).toEqual({ username: 'exp', password: 'p:w' });
    const server = create({ htpasswd: { inline: 'a:{SHA}x' } });
    expect(isClientAuthenticator(server)).toBe(false);
    const both = create({ htpasswd: { inline: 'a:{SHA}x' }, client_auth: { username: 'a' } });
    expect(isClientAuthenticator(both) && isServerAuthenticator(both)).toBe(true);
  });

  it("username_file and password_file (the collector's keys) are read at start, re-read when they change, and a missing one fails start naming it", async () => {
    const userFile = join(dir, 'client-user');
    const passFile = join(dir, 'client-pass');
    await writeFile(userFile, 'exporter-eu\n');
    await writeFile(passFile, 'first secret\n');
    const client = create({ client_auth: { username_file: userFile, password_file: passFile, password: 'ignored' } });
    await client.start(testHost());
    try {
      const sent = (): ReturnType<typeof parseBasicHeader> => {
        const headers: Record<string, string> = {};
        if (isClientAuthenticator(client)) client.applyHeaders(headers, undefined);
        return parseBasicHeader(headers.authorization!);
      };
      expect(sent()).toEqual({ username: 'exporter-eu', password: 'first secret' });
      await writeFile(join(dir, 'client-pass.tmp'), 'second secret');
      await rename(join(dir, 'client-pass.tmp'), passFile);
      const deadline = Date.now() + 5000;
      while (sent()?.password !== 'second secret' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(sent()).toEqual({ username: 'exporter-eu', password: 'second secret' });
    } finally {
      await client.shutdown();
    }
    const missing = create({ client_auth: { username: 'u', password_file: join(dir, 'no-such-file') } });
    await expect(missing.start(testHost())).rejects.toThrow(/client_auth\.password_file: cannot read .*no-such-file/);
  });

  it('config refuses a user name with a colon, and an empty extension', () => {
    const issues: { path: string[]; message: string }[] = [];
    basicAuthConfig.parse({ client_auth: { username: 'a:b' } }, [], issues);
    expect(issues[0]).toMatchObject({ path: ['client_auth', 'username'] });
    const none: typeof issues = [];
    basicAuthConfig.parse({}, [], none);
    expect(none[0]!.message).toMatch(/htpasswd .* or client_auth/);
    const noUser: typeof issues = [];
    basicAuthConfig.parse({ client_auth: { password: 'p' } }, [], noUser);
    expect(noUser).toEqual([{ path: ['client_auth', 'username'], message: 'is required (or set username_file)' }]);
  });
});
