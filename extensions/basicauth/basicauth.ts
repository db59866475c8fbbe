/**
 * HTTP Basic authentication, as the collector's basicauth: a server checks `Authorization: Basic ...`
 * against htpasswd entries (a file re-read when it changes, and/or inline entries); a client sends its
 * `client_auth` credentials on every export.
 *
 * bcrypt is slow on purpose (tens of ms a check in pure JS): a credential that passed is remembered, as
 * an HMAC under a key made at start (so memory never holds the password or a plain hash of it), and
 * the next request with it costs one HMAC. The memory is cleared whenever the entries are re-read.
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
import { parseHtpasswd, type HashCheck } from './htpasswd.js';

/** Credentials remembered as passed; beyond this the memory starts over (a bound, not an LRU). */
const MAX_REMEMBERED = 10_000;

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
  private users = new Map<string, HashCheck>();
  private readonly hmacKey = randomBytes(32);
  private passed = new Set<string>();
  private stopWatching: (() => void) | undefined;

  constructor(
    private readonly settings: CreateSettings,
    private readonly htpasswd: NonNullable<BasicAuthConfig['htpasswd']>,
  ) {}

  async start(): Promise<void> {
    this.users = await this.load();
    const file = this.htpasswd.file;
    if (!file) return;
    this.stopWatching = watchFile(file, () => {
      this.load().then(
        (users) => {
          this.users = users;
          this.passed = new Set();
          this.settings.logger.info('htpasswd file re-read', { file, users: users.size });
        },
        (err: unknown) => this.settings.logger.warn('could not re-read the htpasswd file; keeping the entries in use', { file, error: messageOf(err) }),
      );
    });
  }

  private async load(): Promise<Map<string, HashCheck>> {
    const users = new Map<string, HashCheck>();
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
  }

  async authenticate(headers: RequestHeaders): Promise<AuthData> {
    const value = headerValue(headers, 'authorization');
    if (value === undefined || value === '') throw new AuthenticationError('no Authorization header');
    const creds = parseBasicHeader(value);
    if (!creds) throw new AuthenticationError('the Authorization header is not Basic credentials (Basic base64(user:password))');
    const check = this.users.get(creds.username);
    const key = createHmac('sha256', this.hmacKey).update(creds.username).update('\0').update(creds.password).digest('base64');
    if (check !== undefined && this.passed.has(key)) return { attributes: { username: creds.username } };
    // An unknown user and a wrong password get the same answer.
    if (check === undefined || !(await check(creds.password))) throw new AuthenticationError('wrong user name or password');
    if (this.passed.size >= MAX_REMEMBERED) this.passed = new Set();
    this.passed.add(key);
    return { attributes: { username: creds.username } };
  }
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
