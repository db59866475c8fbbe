/**
 * Secrets in the config: print-config masks every opaque value (tokens, passwords, htpasswd entries,
 * exporter headers), including one that came from an env variable, and no validation error echoes one.
 * An `auth.authenticator` that names no running extension is caught by validate, with its line.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from '../src/cli/main.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-secrets-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(args: string[], text: string): Promise<{ code: number; out: string; err: string }> {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, text);
  let out = '';
  let err = '';
  const code = await main([...args, '--config', file], { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err: err.replaceAll(file, 'FILE') };
}

const CONFIG = `extensions:
  bearertokenauth/in:
    token: \${env:GS_TEST_TOKEN}
  bearertokenauth/rotating:
    tokens: [tok-old-111, tok-new-222]
  basicauth/in:
    htpasswd:
      inline: "alice:{SHA}a-hash-value"
  basicauth/out:
    client_auth:
      username: gateway
      password: pass-333
  headers_setter:
    headers:
      - key: X-Api-Key
        value: key-444
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
        auth:
          authenticator: bearertokenauth/in
exporters:
  otlphttp:
    endpoint: http://backend:4318
    headers:
      authorization: Bearer hdr-555
    auth:
      authenticator: basicauth/out
  otlp:
    endpoint: backend:4317
    headers:
      - name: x-api-key
        value: list-666
service:
  extensions: [bearertokenauth/in, bearertokenauth/rotating, basicauth/in, basicauth/out, headers_setter]
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [otlphttp, otlp]
`;

describe('secrets', () => {
  it('print-config shows [REDACTED] for every opaque value and keeps the rest', async () => {
    process.env.GS_TEST_TOKEN = 'env-tok-000';
    try {
      const { code, out } = await cli(['print-config'], CONFIG);
      expect(code).toBe(0);
      for (const secret of ['env-tok-000', 'tok-old-111', 'tok-new-222', 'a-hash-value', 'pass-333', 'key-444', 'hdr-555', 'list-666'])
        expect(out).not.toContain(secret);
      const printed = parse(out) as Record<string, any>;
      expect(printed.extensions['bearertokenauth/in'].token).toBe('[REDACTED]');
      expect(printed.extensions['bearertokenauth/rotating'].tokens).toEqual(['[REDACTED]', '[REDACTED]']);
      expect(printed.extensions['basicauth/out'].client_auth).toEqual({ username: 'gateway', password: '[REDACTED]' });
      expect(printed.extensions.headers_setter.headers[0]).toEqual({ key: 'X-Api-Key', value: '[REDACTED]' });
      expect(printed.exporters.otlphttp.headers.authorization).toBe('[REDACTED]');
      expect(printed.exporters.otlphttp.endpoint).toBe('http://backend:4318');
      // Headers as a list of name/value pairs (the collector's configopaque.MapList): the values are masked too.
      expect(printed.exporters.otlp.headers).toEqual([{ name: 'x-api-key', value: '[REDACTED]' }]);
      expect(printed.receivers.otlp.protocols.http.auth).toEqual({ authenticator: 'bearertokenauth/in' });
    } finally {
      delete process.env.GS_TEST_TOKEN;
    }
  });

  it("print-config masks the NATS password and token, the receiver's response_headers values (opaque in the collector) and a URL's password", async () => {
    const { code, out } = await cli(
      ['print-config'],
      `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
        response_headers:
          x-edge-key: resp-666
  nats:
    servers: [nats://url-tok-999@127.0.0.1:4222]
    token: nats-tok-777
exporters:
  nats:
    servers: [nats://relay:url-pass-222@127.0.0.1:4222, nats://127.0.0.1:4223]
    username: gateway
    password: nats-pass-888
  otlphttp:
    endpoint: https://gateway-eu:url-pass-111@backend:4318
service:
  pipelines:
    logs:
      receivers: [otlp, nats]
      exporters: [nats, otlphttp]
`,
    );
    expect(code).toBe(0);
    for (const secret of ['resp-666', 'nats-tok-777', 'nats-pass-888', 'url-pass-111', 'url-pass-222', 'url-tok-999']) expect(out).not.toContain(secret);
    const printed = parse(out) as Record<string, any>;
    expect(printed.receivers.otlp.protocols.http.response_headers).toEqual({ 'x-edge-key': '[REDACTED]' });
    expect(printed.exporters.nats.username).toBe('gateway');
    expect(printed.exporters.otlphttp.endpoint).toBe('https://gateway-eu:[REDACTED]@backend:4318');
    expect(printed.exporters.nats.servers).toEqual(['nats://relay:[REDACTED]@127.0.0.1:4222', 'nats://127.0.0.1:4223']);
    // A lone token@ (NATS's token in a server URL) is masked whole.
    expect(printed.receivers.nats.servers).toEqual(['nats://[REDACTED]@127.0.0.1:4222']);
  });

  it('an error about a malformed URL does not repeat its password', async () => {
    const bad = await cli(
      ['validate'],
      `receivers:\n  otlp:\n    protocols:\n      http:\nexporters:\n  nats:\n    servers: ["nats://relay:url-pass-333@host 4222"]\nservice:\n  pipelines:\n    logs:\n      receivers: [otlp]\n      exporters: [nats]\n`,
    );
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/servers\.0: "nats:\/\/relay:\[REDACTED\]@host 4222" is not/);
    expect(bad.err).not.toContain('url-pass-333');
  });

  it('a validation error about an opaque value does not echo it', async () => {
    const { code, err } = await cli(['validate'], CONFIG.replace('tokens: [tok-old-111, tok-new-222]', 'tokens: [tok-old-111, {nested: tok-new-222}]'));
    expect(code).toBe(1);
    expect(err).toMatch(/extensions\.bearertokenauth\/rotating\.tokens\.1: expected a string/);
    expect(err).not.toContain('tok-new-222');
  });

  it('validate catches an authenticator that is not defined or not listed in service.extensions, with its line', async () => {
    const text = CONFIG.replace('authenticator: bearertokenauth/in', 'authenticator: oidc/missing');
    const { code, err } = await cli(['validate'], text);
    expect(code).toBe(1);
    expect(err).toContain('FILE:23: receivers.otlp.protocols.http.auth.authenticator: extension "oidc/missing" is not defined under extensions:');
    const unlisted = await cli(['validate'], CONFIG.replace('service:\n  extensions: [bearertokenauth/in, ', 'service:\n  extensions: ['));
    expect(unlisted.code).toBe(1);
    expect(unlisted.err).toContain('receivers.otlp.protocols.http.auth.authenticator: extension "bearertokenauth/in" is not listed in service.extensions');
  });
});
