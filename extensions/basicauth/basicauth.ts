/**
 * HTTP Basic authentication, as the collector's basicauth: a server checks `Authorization: Basic ...`
 * against htpasswd entries (a file re-read when it changes, and/or inline entries); a client sends its
 * `client_auth` credentials on every export.
 *
 * bcrypt and SHA-crypt are slow on purpose (~70 ms and ~9 ms a check in JavaScript): they run on worker
 * threads (hash-pool.ts), never on the event loop, with a bound on the checks waiting. A verdict is
 * remembered, as an HMAC of user and password under a key made at start (so memory never holds the
 * password or a plain hash of it): a credential that passed, or failed, costs one HMAC the next time, and
 * the same credential arriving again while it is checked waits for that check. The memory is cleared
 * whenever the entries are re-read.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  AuthenticationError,
  headerValue,
  type AuthData,
  type ClientAuthenticator,
  type RequestHeaders,
  type ServerAuthenticator,
} from '../../src/core/auth.js';
import type { CreateSettings, Extension } from '../../src/core/component.js';
import { CodedError, componentLabel, messageOf } from '../../src/core/errors.js';
import { watchFile } from '../../src/core/watch-file.js';
import type { BasicAuthConfig } from './config.js';
import { SlowHashPool } from './hash-pool.js';
import { parseHtpasswd, type HashEntry } from './htpasswd.js';

/** Credentials remembered as passed, and as failed; beyond this a memory starts over (a bound, not an LRU). */
const MAX_REMEMBERED = 10_000;

/** The verdicts on slow hashes, by HMAC of user and password; replaced when the entries are re-read. */
class Verdicts {
  readonly passed = new Set<string>();
  readonly failed = new Set<string>();
  /** Checks running: the same credential arriving meanwhile waits for the same verdict. */
  readonly checking = new Map<string, Promise<boolean>>();

  remember(key: string, matches: boolean): void {
    const set = matches ? this.passed : this.failed;
    if (set.size >= MAX_REMEMBERED) set.clear();
    set.add(key);
  }
}

/** Splits `Basic base64(user:password)`; undefined when the header is not that. */
export function parseBasicHeader(value: string): { username: string; password: string } | undefined {
  if (value.length < 7 || value.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  const encoded = value.slice(6).trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export class BasicAuthServer implements ServerAuthenticator {
  readonly credentialHeader = 'authorization';
  private users = new Map<string, HashEntry>();
  private readonly hmacKey = randomBytes(32);
  private verdicts = new Verdicts();
  private readonly pool: SlowHashPool;
  private stopWatching: (() => void) | undefined;

  constructor(
    private readonly settings: CreateSettings,
    private readonly htpasswd: NonNullable<BasicAuthConfig['htpasswd']>,
  ) {
    this.pool = new SlowHashPool(settings.logger);
  }

  /** Slow hashes computed so far (a remembered or joined verdict computes none). */
  get hashesComputed(): number {
    return this.pool.checks;
  }

  async start(): Promise<void> {
    this.users = await this.load();
    const file = this.htpasswd.file;
    if (!file) return;
    this.stopWatching = watchFile(file, () => {
      this.load().then(
        (users) => {
          this.users = users;
          this.verdicts = new Verdicts();
          this.settings.logger.info('htpasswd file re-read', { file, users: users.size });
        },
        (err: unknown) => this.settings.logger.warn('could not re-read the htpasswd file; keeping the entries in use', { file, error: messageOf(err) }),
      );
    });
  }

  private async load(): Promise<Map<string, HashEntry>> {
    const users = new Map<string, HashEntry>();
    const problems: string[] = [];
    const plain: string[] = [];
    const { file, inline } = this.htpasswd;
    const where = `${componentLabel(this.settings)}: htpasswd`;
    if (file) {
      const text = await readFile(file, 'utf8').catch((err: unknown) => {
        throw new CodedError('GS_FILE_UNREADABLE', `${where}.file: cannot read ${file}: ${messageOf(err)}`, { cause: err });
      });
      parseHtpasswd(text, file, users, problems, plain);
    }
    // Inline entries come last, so they override the file's for the same user (as the collector does).
    if (inline) parseHtpasswd(inline, 'inline', users, problems, plain);
    if (problems.length > 0) throw new CodedError('GS_CONFIG_INVALID', `${where}: ${problems.join('; ')}`);
    if (users.size === 0) throw new CodedError('GS_CONFIG_INVALID', `${where}: no user entries`);
    if (plain.length > 0)
      this.settings.logger.warn(
        `${where}: ${plain.join(', ')}: password in plain text, accepted as the collector accepts it; anyone who can read the config or file can use it. Store a hash instead (htpasswd -B, bcrypt)`,
      );
    return users;
  }

  async shutdown(): Promise<void> {
    this.stopWatching?.();
    await this.pool.close();
  }

  async authenticate(headers: RequestHeaders): Promise<AuthData> {
    const value = headerValue(headers, 'authorization');
    if (value === undefined || value === '') throw new AuthenticationError('no Authorization header');
    const creds = parseBasicHeader(value);
    if (!creds) throw new AuthenticationError('the Authorization header is not Basic credentials (Basic base64(user:password))');
    const entry = this.users.get(creds.username);
    const ok = { attributes: { username: creds.username } };
    // An unknown user and a wrong password get the same answer.
    if (entry === undefined) throw wrongCredentials();
    if (!entry.slow) {
      if (entry.matches(creds.password)) return ok;
      throw wrongCredentials();
    }
    // A password too long for the hash's cost to stay bounded is wrong without a check (htpasswd.ts).
    if (Buffer.byteLength(creds.password) > entry.longestPassword) throw wrongCredentials();
    const verdicts = this.verdicts;
    const key = createHmac('sha256', this.hmacKey).update(creds.username).update('\0').update(creds.password).digest('base64');
    if (verdicts.passed.has(key)) return ok;
    if (verdicts.failed.has(key)) throw wrongCredentials();
    let verdict = verdicts.checking.get(key);
    if (verdict === undefined) {
      // Rejects (retryably) when too many checks wait: the receiver answers 503 / UNAVAILABLE.
      verdict = this.pool.check(creds.username, entry.hash, creds.password);
      verdicts.checking.set(key, verdict);
      verdict
        .then(
          (matches) => verdicts.remember(key, matches),
          () => {},
        )
        .finally(() => verdicts.checking.delete(key));
    }
    if (await verdict) return ok;
    throw wrongCredentials();
  }
}

function wrongCredentials(): AuthenticationError {
  return new AuthenticationError('wrong user name or password');
}

/** A credential file's content without its final line break (editors and `echo` add one). */
async function readCredentialFile(file: string): Promise<string> {
  return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
}

export class BasicAuthClient implements ClientAuthenticator {
  readonly sendsSecret = true;
  private value: string;
  private readonly stopWatching: (() => void)[] = [];

  constructor(
    private readonly settings: CreateSettings,
    private readonly clientAuth: NonNullable<BasicAuthConfig['client_auth']>,
  ) {
    this.value = basicValue(clientAuth.username, clientAuth.password);
  }

  /** Reads username_file / password_file (the collector's keys), and re-reads them when they change. */
  async start(): Promise<void> {
    const files = [this.clientAuth.username_file, this.clientAuth.password_file].filter((f) => f !== '');
    if (files.length === 0) return;
    this.value = await this.load();
    for (const file of files) {
      this.stopWatching.push(
        watchFile(file, () => {
          this.load().then(
            (value) => {
              this.value = value;
              this.settings.logger.info('basic auth credential file re-read', { file });
            },
            // A file being replaced may be briefly absent: keep the credentials in use.
            (err: unknown) =>
              this.settings.logger.warn('could not re-read a basic auth credential file; keeping the credentials in use', { error: messageOf(err) }),
          );
        }),
      );
    }
  }

  private async load(): Promise<string> {
    const where = `${componentLabel(this.settings)}: client_auth`;
    const read = async (file: string, key: string, fallback: string): Promise<string> => {
      if (!file) return fallback;
      return readCredentialFile(file).catch((err: unknown) => {
        throw new CodedError('GS_FILE_UNREADABLE', `${where}.${key}: cannot read ${file}: ${messageOf(err)}`, { cause: err });
      });
    };
    const username = await read(this.clientAuth.username_file, 'username_file', this.clientAuth.username);
    const password = await read(this.clientAuth.password_file, 'password_file', this.clientAuth.password);
    if (username === '' || username.includes(':'))
      throw new CodedError('GS_CONFIG_INVALID', `${where}.username_file: the user name is empty or holds ":" (${this.clientAuth.username_file})`);
    return basicValue(username, password);
  }

  async shutdown(): Promise<void> {
    for (const stop of this.stopWatching.splice(0)) stop();
  }

  applyHeaders(headers: Record<string, string>): void {
    headers.authorization = this.value;
  }
}

function basicValue(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** One extension, server and/or client as configured: only what is configured can be asked for. */
export function createBasicAuth(settings: CreateSettings, config: BasicAuthConfig): Extension {
  const server = config.htpasswd ? new BasicAuthServer(settings, config.htpasswd) : undefined;
  const client = config.client_auth ? new BasicAuthClient(settings, config.client_auth) : undefined;
  if (server && !client) return server;
  if (client && !server) return client;
  const both: ServerAuthenticator & ClientAuthenticator = {
    credentialHeader: 'authorization',
    sendsSecret: true,
    start: async () => {
      await server!.start();
      await client!.start();
    },
    shutdown: async () => {
      await server!.shutdown();
      await client!.shutdown();
    },
    authenticate: (h: RequestHeaders) => server!.authenticate(h),
    applyHeaders: (h: Record<string, string>) => client!.applyHeaders(h),
  };
  return both;
}
