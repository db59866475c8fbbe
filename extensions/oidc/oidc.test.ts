import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError } from '../../src/core/auth.js';
import { startIssuer, type TestIssuer } from '../../test/helpers/oidc-issuer.js';
import { testSettings } from '../../test/helpers/otlp-test-servers.js';
import { oidcConfig } from './config.js';
import { OidcExtension } from './oidc.js';

let issuer: TestIssuer;
let other: TestIssuer;
let ext: OidcExtension;

function parse(raw: Record<string, unknown>) {
  const issues: { path: string[]; message: string }[] = [];
  const config = oidcConfig.parse(raw, [], issues);
  return { config, issues };
}

async function refusal(token: string | undefined, header = 'authorization'): Promise<string> {
  const headers = token === undefined ? {} : { [header]: token.includes(' ') ? token : `Bearer ${token}` };
  const err = await Promise.resolve()
    .then(() => ext.authenticate(headers))
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(AuthenticationError);
  const message = (err as Error).message;
  if (token) expect(message).not.toContain(token.slice(-20));
  return message;
}

beforeAll(async () => {
  issuer = await startIssuer();
  other = await startIssuer();
  const { config, issues } = parse({ issuer_url: issuer.url, audience: 'gateway', username_claim: 'email', groups_claim: 'groups' });
  expect(issues).toEqual([]);
  // A short JWKS cooldown so the rotation test need not wait the default 30 s.
  ext = new OidcExtension(testSettings('oidc', 'extension'), config, 200);
  await ext.start();
});
afterAll(async () => {
  await ext?.shutdown();
  await issuer?.close();
  await other?.close();
});

describe('oidc', () => {
  it('accepts a token of the issuer for the audience, naming the caller and groups', async () => {
    const token = await issuer.sign({ sub: 'u1', email: 'ana@example.com', groups: ['ops', 'sre'] }, { audience: 'gateway' });
    expect(await ext.authenticate({ authorization: `Bearer ${token}` })).toEqual({ attributes: { subject: 'ana@example.com', membership: 'ops;sre' } });
  });

  it('refuses a token for another audience', async () => {
    expect(await refusal(await issuer.sign({ email: 'a@b' }, { audience: 'someone-else' }))).toBe('the token is not for this audience');
  });

  it('refuses an expired token', async () => {
    expect(await refusal(await issuer.sign({ email: 'a@b' }, { audience: 'gateway', expiresIn: Math.floor(Date.now() / 1000) - 60 }))).toBe(
      'the token has expired',
    );
  });

  it('refuses a token signed by a key the issuer did not publish', async () => {
    expect(await refusal(await issuer.sign({ email: 'a@b' }, { audience: 'gateway', key: 'foreign' }))).toBe("the token's signature does not verify");
  });

  it('refuses a token of another issuer, and one claiming our issuer but signed by another', async () => {
    expect(await refusal(await other.sign({ email: 'a@b' }, { audience: 'gateway' }))).toBe('the token is not from a configured issuer');
    expect(await refusal(await other.sign({ email: 'a@b' }, { audience: 'gateway', issuer: issuer.url, kid: 'k1' }))).toBe(
      "the token's signature does not verify",
    );
  });

  it('refuses a token without the username claim, a missing header, another scheme and garbage', async () => {
    expect(await refusal(await issuer.sign({ sub: 'x' }, { audience: 'gateway' }))).toBe('the token has no email claim');
    expect(await refusal(undefined)).toBe('no authorization header');
    expect(await refusal('Basic abc')).toBe('the authorization header is not a Bearer token');
    expect(await refusal('not.a.jwt')).toBe('the token is not a valid JWT');
  });

  it('fetches the key set again when a token names a new key (issuer key rotation)', async () => {
    const before = issuer.jwksFetches;
    await issuer.rotate();
    await new Promise((r) => setTimeout(r, 250));
    const token = await issuer.sign({ email: 'rot@example.com' }, { audience: 'gateway' });
    expect((await ext.authenticate({ authorization: `Bearer ${token}` })).attributes.subject).toBe('rot@example.com');
    expect(issuer.jwksFetches).toBeGreaterThan(before);
  });

  it('config: issuer_url and audience are required (or ignore_audience), providers too', () => {
    expect(parse({}).issues.map((i) => i.path.join('.'))).toEqual(['issuer_url', 'audience']);
    expect(parse({ issuer_url: 'https://idp', ignore_audience: true }).issues).toEqual([]);
    expect(parse({ providers: [{ issuer_url: 'https://a', audience: 'x' }, { issuer_url: 'https://b' }] }).issues.map((i) => i.path.join('.'))).toEqual([
      'providers.1.audience',
    ]);
    expect(parse({ issuer_url: 'https://a', audience: 'x', providers: [{ issuer_url: 'https://a', audience: 'y' }] }).issues[0]!.message).toMatch(
      /listed twice/,
    );
  });

  it('starts when the issuer cannot be reached, refuses retryably (not 401) until it can, and says so once', async () => {
    const { config } = parse({ issuer_url: 'http://127.0.0.1:1', audience: 'x' });
    const settings = testSettings('oidc/down', 'extension');
    const down = new OidcExtension(settings, config);
    await down.start();
    expect(JSON.stringify(settings.logs)).toMatch(/cannot read the discovery document http:\/\/127\.0\.0\.1:1\/\.well-known\/openid-configuration/);
    const token = await issuer.sign({ sub: 'x' }, { audience: 'x', issuer: 'http://127.0.0.1:1' });
    const err = await Promise.resolve(down.authenticate({ authorization: `Bearer ${token}` })).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(AuthenticationError);
    settings.telemetry.close();
  });

  it('refuses to start on an issuer_ca_path that holds no certificate (else the issuer would stay untrusted, every request 503)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gs-oidc-'));
    try {
      const file = join(dir, 'issuer-ca.pem');
      await writeFile(file, 'not a certificate\n');
      const { config } = parse({ issuer_url: 'https://127.0.0.1:1', audience: 'x', issuer_ca_path: file });
      const settings = testSettings('oidc/ca', 'extension');
      const err = await new OidcExtension(settings, config).start().then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/issuer https:\/\/127\.0\.0\.1:1: issuer_ca_path: .*issuer-ca\.pem holds no PEM certificate/);
      settings.telemetry.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses to start, naming both and what to set, when issuer_url differs from the issuer's own name (every token would be refused)", async () => {
    const { config } = parse({ issuer_url: `${issuer.url}/`, audience: 'gateway' });
    const settings = testSettings('oidc/slash', 'extension');
    const ext = new OidcExtension(settings, config);
    const err = await ext.start().then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err?.code).toBe('GS_COMPONENT_START_FAILED');
    expect(err?.message).toContain(`issuer_url "${issuer.url}/": the issuer's discovery document names it "${issuer.url}"`);
    expect(err?.message).toContain(`set issuer_url to "${issuer.url}" exactly`);
    settings.telemetry.close();
  });
});
