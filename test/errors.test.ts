/**
 * Coded errors with one prefix style (BRIEF: fastify/pino style, coded errors): every code the source uses
 * is listed in src/core/error-codes.ts and docs/errors.md (and every listed code is used); an error about a
 * component starts with `<kind> <type>[/<name>]: `, made by componentLabel, never by one of the retired
 * styles; and errors that reach a user from a real gateway carry both.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, isErrorCode } from '../src/core/error-codes.js';
import { codeOf, componentError, componentLabel, PermanentError, RetryableError } from '../src/core/errors.js';
import { renderErrors } from '../src/cli/errors-doc.js';
import { Logger } from '../src/telemetry/logger.js';
import { expectFreshDoc } from './helpers/docs.js';
import { receiverAddress, startGateway } from './helpers/gateway.js';
import { authBy, gatewayYaml, missingCaConfig, otlpReceiver } from './helpers/configs.js';
import { makeLogsRequest } from './helpers/otlp-test-servers.js';

const ROOT = join(import.meta.dirname, '..');
const SOURCE_DIRS = ['src', 'receivers', 'processors', 'exporters', 'extensions', 'connectors'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

const files = SOURCE_DIRS.flatMap((d) => sources(join(ROOT, d))).map((f) => ({ rel: relative(ROOT, f), text: readFileSync(f, 'utf8') }));

/** Error prefixes the code base used before one style was chosen; each names a component another way. */
const RETIRED_PREFIXES: Array<[RegExp, string]> = [
  [/`(receivers|processors|exporters|extensions|connectors)::\$\{/, 'the config-key style `exporters::${id}: ...`'],
  [/`[a-z_]+ (receiver|processor|exporter|extension|connector) \$\{/, 'the type-first style `debug exporter ${id}: ...`'],
  [/`\$\{[^`}]*\.type\} (receiver|processor|exporter|extension|connector) /, 'the type-first style `${id.type} processor ${id.id}: ...`'],
  [/`[^`]*\b(of|for) (receiver|processor|exporter|extension|connector) \$\{/, 'a label inside the message (`queue of exporter ${id} is full`)'],
];

describe('error codes', () => {
  it('docs/errors.md lists every code (run `npm run docs` when this fails)', async () => {
    await expectFreshDoc(join(ROOT, 'docs', 'errors.md'), renderErrors());
    const text = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
    for (const code of Object.keys(ERROR_CODES)) expect(text).toContain(`| \`${code}\` |`);
  });

  it('every code the source gives an error is listed, and every listed code is used', () => {
    const used = new Set<string>();
    const unlisted: string[] = [];
    for (const { rel, text } of files) {
      if (rel === join('src', 'core', 'error-codes.ts')) continue;
      for (const m of text.matchAll(/['"`](GS_[A-Z0-9_]+)['"`]/g)) {
        used.add(m[1]!);
        if (!isErrorCode(m[1])) unlisted.push(`${rel}: ${m[1]}`);
      }
    }
    expect(unlisted).toEqual([]);
    expect(Object.keys(ERROR_CODES).filter((c) => !used.has(c))).toEqual([]);
  });

  it('the typed refusals carry a listed code by default and keep the one they are given', () => {
    expect(new RetryableError('x').code).toBe('GS_RETRY_LATER');
    expect(new PermanentError('x').code).toBe('GS_DATA_REFUSED');
    expect(new RetryableError('x', { code: 'GS_WAL_FULL' }).code).toBe('GS_WAL_FULL');
  });
});

describe('component error prefix', () => {
  it('no source file builds a component prefix in a retired style', () => {
    const offenders: string[] = [];
    for (const { rel, text } of files) {
      text.split('\n').forEach((line, i) => {
        for (const [re, what] of RETIRED_PREFIXES) if (re.test(line)) offenders.push(`${rel}:${i + 1}: ${what}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it('componentError prefixes the label once and keeps the kind of refusal, its delay and its code', () => {
    const c = { kind: 'exporter', id: { id: 'otlphttp/2' } };
    expect(componentLabel(c)).toBe('exporter otlphttp/2');
    const wrapped = componentError(
      c,
      new RetryableError('downstream busy', { retryAfterMs: 1500, throttled: true, code: 'GS_EXPORTER_SEND_FAILED' }),
      'GS_RETRY_LATER',
    );
    expect(wrapped).toBeInstanceOf(RetryableError);
    expect(wrapped).toMatchObject({ message: 'exporter otlphttp/2: downstream busy', retryAfterMs: 1500, throttled: true, code: 'GS_EXPORTER_SEND_FAILED' });
    expect(componentError(c, wrapped, 'GS_RETRY_LATER')).toBe(wrapped);
    const plain = componentError(c, new Error('EACCES: permission denied'), 'GS_COMPONENT_START_FAILED');
    expect(plain.message).toBe('exporter otlphttp/2: EACCES: permission denied');
    expect(codeOf(plain)).toBe('GS_COMPONENT_START_FAILED');
    expect(componentError(c, new PermanentError('bad'), 'GS_EXPORTER_REJECTED')).toBeInstanceOf(PermanentError);
  });
});

describe('errors a user meets on a real gateway carry the prefix and a listed code', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gs-errors-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const quiet = (): Logger => new Logger('error', {}, { write: () => true });
  const PREFIXED = /^(receiver|processor|exporter|extension|connector) [a-z][a-z0-9_]*(\/[^:\s]+)?: /;

  async function startFailure(yaml: string): Promise<Error> {
    const err = await startGateway(yaml, process.env, quiet()).then(
      async (s) => {
        await s.shutdown();
        throw new Error('the gateway started');
      },
      (e: unknown) => e as Error,
    );
    expect(err.message).toMatch(PREFIXED);
    expect(isErrorCode(codeOf(err)), `code of: ${err.message}`).toBe(true);
    return err;
  }

  it('an exporter whose TLS file is missing', async () => {
    const err = await startFailure(missingCaConfig(join(dir, 'missing-ca.pem')));
    expect(err.message).toMatch(/^exporter otlp\/backend: tls\.ca_file: cannot read /);
    expect(codeOf(err)).toBe('GS_FILE_UNREADABLE');
  });

  it('an extension whose token file is missing', async () => {
    const err = await startFailure(
      gatewayYaml({
        extensions: { 'bearertokenauth/in': { filename: join(dir, 'missing-token') } },
        receivers: { otlp: otlpReceiver(['http'], authBy('bearertokenauth/in')) },
        exporters: { debug: null },
        pipelines: { logs: { exporters: ['debug'] } },
      }),
    );
    expect(err.message).toMatch(/^extension bearertokenauth\/in: cannot read filename /);
    expect(codeOf(err)).toBe('GS_FILE_UNREADABLE');
  });

  it('a receiver whose port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    try {
      const err = await startFailure(
        gatewayYaml({
          receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${port}` } } } },
          exporters: { debug: null },
          pipelines: { logs: { exporters: ['debug'] } },
        }),
      );
      expect(err.message).toMatch(new RegExp(`^receiver otlp: cannot listen on 127\\.0\\.0\\.1:${port}`));
      expect(codeOf(err)).toBe('GS_LISTEN_FAILED');
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  it("a client's refusal names the exporter that failed", async () => {
    // A port nothing listens on: the synchronous exporter's one attempt fails, and the client is told.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const service = await startGateway(
      gatewayYaml({
        exporters: { 'otlphttp/down': { endpoint: `http://127.0.0.1:${port}`, sending_queue: { enabled: false }, retry_on_failure: { enabled: false } } },
        pipelines: { logs: { exporters: ['otlphttp/down'] } },
      }),
      process.env,
      quiet(),
    );
    try {
      const res = await fetch(`http://${receiverAddress(service, 'otlp', 'http')}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: makeLogsRequest(1, 2),
      });
      expect(res.status).toBe(503);
      const body = Buffer.from(await res.arrayBuffer()).toString('latin1');
      expect(body).toContain(`exporter otlphttp/down: OTLP/HTTP export of logs to http://127.0.0.1:${port}/v1/logs failed`);
    } finally {
      await service.shutdown();
    }
  });
});
