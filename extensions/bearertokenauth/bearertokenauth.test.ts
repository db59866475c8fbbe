import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthenticationError } from '../../src/core/auth.js';
import { testSettings } from '../../test/helpers/otlp-test-servers.js';
import { BearerTokenAuthExtension } from './bearertokenauth.js';
import { bearerTokenAuthConfig } from './config.js';

function make(raw: Record<string, unknown>) {
  const issues: { path: string[]; message: string }[] = [];
  const config = bearerTokenAuthConfig.parse(raw, [], issues);
  expect(issues).toEqual([]);
  const settings = testSettings('bearertokenauth', 'extension');
  return { ext: new BearerTokenAuthExtension(settings, config), settings };
}

function refusal(fn: () => unknown): AuthenticationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AuthenticationError);
    return err as AuthenticationError;
  }
  throw new Error('expected a refusal');
}

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('bearertokenauth config', () => {
  it('needs a token, tokens or filename, and not token with tokens', () => {
    const issues: { path: string[]; message: string }[] = [];
    bearerTokenAuthConfig.parse({}, ['extensions', 'bearertokenauth'], issues);
    expect(issues[0]!.message).toMatch(/no bearer token/);
    const both: typeof issues = [];
    bearerTokenAuthConfig.parse({ token: 'a', tokens: ['b'] }, [], both);
    expect(both[0]!.message).toMatch(/either token or tokens/);
  });

  it('defaults to the Authorization header and the Bearer scheme', () => {
    expect(bearerTokenAuthConfig.parse({ token: 't' }, [], [])).toMatchObject({ header: 'Authorization', scheme: 'Bearer' });
  });
});

describe('bearertokenauth server', () => {
  it('accepts the token and refuses a wrong one, none, and another scheme, never echoing the credential', () => {
    const { ext } = make({ token: 's3cret-token' });
    expect(ext.authenticate({ authorization: 'Bearer s3cret-token' })).toEqual({ attributes: {} });
    // The scheme is case-insensitive.
    expect(ext.authenticate({ authorization: 'bearer s3cret-token' })).toEqual({ attributes: {} });
    const wrong = refusal(() => ext.authenticate({ authorization: 'Bearer s3cret-tokeX' }));
    expect(wrong.message).toBe('the bearer token is not accepted');
    expect(wrong.message).not.toContain('s3cret');
    expect(refusal(() => ext.authenticate({})).message).toMatch(/no Authorization header/);
    expect(refusal(() => ext.authenticate({ authorization: 'Basic s3cret-token' })).message).toMatch(/does not use the Bearer scheme/);
    expect(refusal(() => ext.authenticate({ authorization: 'Bearer ' })).message).toMatch(/Bearer scheme/);
  });

  it('accepts any of `tokens`, in a custom header and scheme', () => {
    const { ext } = make({ tokens: ['old', 'new'], header: 'X-Api-Key', scheme: 'Token' });
    expect(ext.credentialHeader).toBe('x-api-key');
    expect(ext.authenticate({ 'x-api-key': 'Token old' })).toEqual({ attributes: {} });
    expect(ext.authenticate({ 'x-api-key': 'Token new' })).toEqual({ attributes: {} });
    refusal(() => ext.authenticate({ authorization: 'Token new' }));
  });

  it('with an empty scheme takes the bare token', () => {
    const { ext } = make({ token: 'bare', scheme: '' });
    expect(ext.authenticate({ authorization: 'bare' })).toEqual({ attributes: {} });
    refusal(() => ext.authenticate({ authorization: 'Bearer bare' }));
  });

  it('re-reads filename when it changes (written in place or swapped by rename), and keeps the tokens when it disappears', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gs-bearer-'));
    const file = join(dir, 'token');
    await writeFile(file, 'first\n');
    const { ext, settings } = make({ filename: file, token: 'ignored' });
    await ext.start();
    try {
      expect(ext.authenticate({ authorization: 'Bearer first' })).toEqual({ attributes: {} });
      refusal(() => ext.authenticate({ authorization: 'Bearer ignored' }));

      await writeFile(file, 'second\nthird\n');
      await expect.poll(() => safe(() => ext.authenticate({ authorization: 'Bearer second' })), { timeout: 5000 }).toBe(true);
      expect(safe(() => ext.authenticate({ authorization: 'Bearer third' }))).toBe(true);
      expect(safe(() => ext.authenticate({ authorization: 'Bearer first' }))).toBe(false);

      // As a Kubernetes secret or an atomic writer does: a new file renamed over the old.
      await writeFile(join(dir, 'token.tmp'), 'fourth\n');
      await rename(join(dir, 'token.tmp'), file);
      await expect.poll(() => safe(() => ext.authenticate({ authorization: 'Bearer fourth' })), { timeout: 5000 }).toBe(true);

      await rm(file);
      await new Promise((r) => setTimeout(r, 300));
      expect(safe(() => ext.authenticate({ authorization: 'Bearer fourth' }))).toBe(true);
      expect(JSON.stringify(settings.logs)).not.toMatch(/first|second|third|fourth/);
    } finally {
      await ext.shutdown();
      settings.telemetry.close();
    }
  });

  it('with filename, the configured tokens are ignored, and a warning says so (as the collector)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gs-bearer-'));
    const file = join(dir, 'tokens');
    await writeFile(file, 'from-the-file\n');
    const { ext, settings } = make({ filename: file, tokens: ['from-the-config'] });
    await ext.start();
    try {
      expect(() => ext.authenticate({ authorization: 'Bearer from-the-file' })).not.toThrow();
      expect(refusal(() => ext.authenticate({ authorization: 'Bearer from-the-config' })).message).toBe('the bearer token is not accepted');
      expect(JSON.stringify(settings.logs)).toMatch(/filename is set, so the token \/ tokens of this extension are ignored/);
      expect(JSON.stringify(settings.logs)).not.toContain('from-the-config');
    } finally {
      await ext.shutdown();
      settings.telemetry.close();
    }
  });

  it('fails to start on a missing file, naming the file', async () => {
    const { ext } = make({ filename: '/nonexistent/token' });
    await expect(ext.start()).rejects.toThrow(/cannot read filename \/nonexistent\/token/);
  });
});

describe('bearertokenauth client', () => {
  it('sets `<scheme> <token>` in its header', () => {
    const headers: Record<string, string> = {};
    make({ token: 'abc' }).ext.applyHeaders(headers);
    expect(headers).toEqual({ authorization: 'Bearer abc' });
    const custom: Record<string, string> = {};
    make({ tokens: ['k1', 'k2'], header: 'X-Api-Key', scheme: '' }).ext.applyHeaders(custom);
    expect(custom).toEqual({ 'x-api-key': 'k1' });
  });
});

function safe(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}
