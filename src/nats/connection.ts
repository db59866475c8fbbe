/**
 * What the `nats` exporter and receiver share: the connection keys (servers, credentials, TLS), turned
 * into the official client's options, and the headers a request travels with on a JetStream subject.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect, jwtAuthenticator, nkeyAuthenticator, type Authenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { CodedError, messageOf } from '../core/errors.js';
import { maskUrlCredentials, s, type ConfigIssue, type ConfigOf } from '../core/schema.js';
import type { Signal } from '../core/signal.js';
import type { Logger } from '../telemetry/logger.js';
import { CredsFileError, parseCreds, parseSeedFile, type NatsCreds } from './creds.js';

/** Header naming the signal of a message's Export request (the subject may be anything the user chose). */
export const SIGNAL_HEADER = 'Otlp-Signal';
/** Header naming the body's encoding; always protobuf (the gateway's internal form). */
export const CONTENT_TYPE_HEADER = 'Content-Type';
export const PROTOBUF = 'application/x-protobuf';

export function natsConnectionShape() {
  return {
    servers: s
      .array(s.string(/^(nats|tls|wss?):\/\/\S+$|^[^\s:/]+:\d+$/, 'nats://host:port or host:port'))
      .default(['nats://localhost:4222'])
      .describe('NATS servers to connect to (any member of a cluster; the client learns the others)'),
    connection_name: s.string().default('gophership').describe('Client name shown by the server (connz)'),
    username: s.string().default('').describe('User for user/password authentication'),
    password: s.string().default('').opaque().describe('Password for user/password authentication; masked by print-config'),
    token: s.string().default('').opaque().describe('Token authentication; masked by print-config'),
    nkey_seed_file: s.string().default('').describe('File holding an NKey seed (SU...) for NKey authentication'),
    creds_file: s
      .string()
      .default('')
      .describe(
        'Credentials file (user JWT and NKey seed) for decentralized (operator mode) authentication; read again at every reconnect, so a renewed file needs no restart',
      ),
    tls: s.object({
      ca_file: s.string().default('').describe('PEM CA certificates to verify the server (TLS is used when any tls key is set or a server URL is tls://)'),
      cert_file: s.string().default('').describe('PEM client certificate (mutual TLS, with key_file)'),
      key_file: s.string().default('').describe('PEM client key (mutual TLS, with cert_file)'),
    }),
    reconnect_wait: s.duration().default(1000).describe('Wait between reconnect attempts to a server'),
  };
}

const _sample = s.object(natsConnectionShape());
export type NatsConnectionConfig = ConfigOf<typeof _sample>;

/** The cross-key rule of the connection keys (refine the component's config with it). */
export function checkNatsCredentials(v: NatsConnectionConfig, path: string[], issues: ConfigIssue[]): void {
  if (v.creds_file && v.nkey_seed_file)
    issues.push({ path: [...path, 'nkey_seed_file'], message: 'set either creds_file or nkey_seed_file, not both (a creds file holds its own NKey seed)' });
}

/**
 * Connects with the configured servers and credentials; the client reconnects forever on its own. A
 * first connection that fails is a start error of the component `label` names (componentLabel), whose
 * cause isUnreachable tells apart from a refusal of the credentials or certificates.
 */
export async function connectNats(c: NatsConnectionConfig, label: string, logger?: Logger): Promise<NatsConnection> {
  const opts = await connectionOptions(c, label, logger);
  try {
    return await connect(opts);
  } catch (err) {
    const hint = isUnreachable(err) ? 'check servers and that NATS is up' : isAuthRefusal(err) ? refusalHint(c) : 'check servers and credentials';
    throw new CodedError(
      'GS_COMPONENT_START_FAILED',
      // A server URL may carry user:password@; the error (and the log line it becomes) must not.
      `${label}: cannot connect to NATS at ${c.servers.map(maskUrlCredentials).join(', ')}: ${messageOf(err)} (${hint})`,
      { cause: err },
    );
  }
}

/** Whether the server refused the credentials (as opposed to the connection failing). */
function isAuthRefusal(err: unknown): boolean {
  const name = (err as { name?: string } | undefined)?.name;
  return name === 'AuthorizationError' || name === 'UserAuthenticationExpiredError';
}

/** What to check when the server refused the credentials, naming the key that holds them. */
function refusalHint(c: NatsConnectionConfig): string {
  if (c.creds_file)
    return `check servers and credentials: the server refused the user of creds_file ${c.creds_file}; its account must be signed by the server's operator and known to the server (resolver), and the user neither revoked nor expired`;
  if (c.nkey_seed_file) return `check servers and credentials: the server must list the public key of the seed in nkey_seed_file ${c.nkey_seed_file}`;
  if (c.username) return 'check servers and credentials (username, password)';
  if (c.token) return 'check servers and credentials (token)';
  return 'check servers and credentials: the server requires some (username and password, token, nkey_seed_file or creds_file)';
}

/**
 * Logs the connection's life: losing it and getting it back (the queue or the stream holds the data
 * meanwhile), once each (the client reports every failed attempt as another disconnect), and the
 * server's refusals while reconnecting (credentials that expired or were revoked: the client keeps trying,
 * and a renewed creds file is read at the next attempt), each refusal once until the connection is back.
 * `onChange` hears the same two moments (false: lost, true: back).
 */
export async function logConnectionStatus(nc: NatsConnection, c: NatsConnectionConfig, logger: Logger, onChange?: (up: boolean) => void): Promise<void> {
  let connected = true;
  let lastRefusal = '';
  for await (const st of nc.status()) {
    if (st.type === 'disconnect' && connected) {
      connected = false;
      onChange?.(false);
      logger.warn('NATS disconnect; reconnecting', { server: st.server });
    } else if (st.type === 'reconnect' && !connected) {
      connected = true;
      lastRefusal = '';
      onChange?.(true);
      logger.warn('NATS reconnect', { server: st.server });
    } else if (st.type === 'error' && isAuthRefusal(st.error) && st.error.message !== lastRefusal) {
      lastRefusal = st.error.message;
      logger.error(`NATS server refused the credentials: ${st.error.message} (${refusalHint(c)}); reconnecting every reconnect_wait`);
    }
  }
}

/**
 * Whether a failed connection means that no server answered (refused, a name that does not resolve yet,
 * a timeout): worth trying again later, unlike credentials or a certificate the server refused.
 */
export function isUnreachable(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string } | undefined;
  if (e?.name === 'TimeoutError' || (e?.name === 'ConnectionError' && e.message === 'connection refused')) return true;
  return ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET'].includes(e?.code ?? '');
}

/** The official client's options for the configured servers and credentials; the files are read here, an unreadable one named by its key. */
async function connectionOptions(c: NatsConnectionConfig, label: string, logger?: Logger): Promise<ConnectionOptions> {
  const read = async (key: string, path: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? messageOf(err);
      throw new CodedError('GS_COMPONENT_START_FAILED', `${label}: ${key}: cannot read ${path}: ${why}; check the path and that the gateway may read it`, {
        cause: err,
      });
    }
  };
  const opts: ConnectionOptions = {
    servers: c.servers,
    name: c.connection_name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: c.reconnect_wait,
    waitOnFirstConnect: false,
    // The client gives up for good after two refusals of the credentials in a row: a user JWT that
    // expired or was revoked would leave the gateway disconnected until restarted. It keeps trying
    // instead, and the creds file is read again at each attempt, so renewing the file is enough.
    ignoreAuthErrorAbort: true,
  };
  if (c.username) {
    opts.user = c.username;
    opts.pass = c.password;
  }
  if (c.token) opts.token = c.token;
  if (c.creds_file)
    opts.authenticator = credsFileAuthenticator(c.creds_file, readCreds(label, c.creds_file, await read('creds_file', c.creds_file)), label, logger);
  else if (c.nkey_seed_file) opts.authenticator = nkeyAuthenticator(readSeedFile(label, c.nkey_seed_file, await read('nkey_seed_file', c.nkey_seed_file)));
  if (c.tls.ca_file || c.tls.cert_file || c.tls.key_file || c.servers.some((u) => u.startsWith('tls://'))) {
    opts.tls = {
      ...(c.tls.ca_file ? { ca: (await read('tls.ca_file', c.tls.ca_file)).toString('utf8') } : {}),
      ...(c.tls.cert_file ? { cert: (await read('tls.cert_file', c.tls.cert_file)).toString('utf8') } : {}),
      ...(c.tls.key_file ? { key: (await read('tls.key_file', c.tls.key_file)).toString('utf8') } : {}),
    };
  }
  return opts;
}

/** The parsed content of the credentials file at `key`, or a start error naming the key and the file (never the content). */
function parsed<T>(label: string, key: string, path: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof CredsFileError)) throw err;
    throw new CodedError('GS_COMPONENT_START_FAILED', `${label}: ${key}: cannot use ${path}: ${err.message}`);
  }
}

const readCreds = (label: string, path: string, content: Buffer): NatsCreds => parsed(label, 'creds_file', path, () => parseCreds(content.toString('utf8')));
const readSeedFile = (label: string, path: string, content: Buffer): Uint8Array =>
  parsed(label, 'nkey_seed_file', path, () => parseSeedFile(content.toString('utf8')));

/**
 * Signs in with the creds file, read again at every (re)connect as the Go client does: a renewed file
 * (a user JWT that expires, rotated credentials) is used without a restart. A file that became unreadable
 * or invalid leaves the last good credentials in use, and says so once per problem.
 */
function credsFileAuthenticator(path: string, first: NatsCreds, label: string, logger: Logger | undefined): Authenticator {
  let current = first;
  let lastProblem = '';
  return (nonce?: string) => {
    try {
      current = parseCreds(readFileSync(path, 'utf8'));
      lastProblem = '';
    } catch (err) {
      const why = err instanceof CredsFileError ? err.message : `cannot read it: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`;
      if (why !== lastProblem) logger?.error(`${label}: creds_file: cannot use ${path} to reconnect: ${why}; signing in with the credentials read before`);
      lastProblem = why;
    }
    return jwtAuthenticator(current.jwt, current.seed)(nonce);
  };
}

/**
 * JetStream API error codes that a forming or recovering cluster answers with and that heal by themselves:
 * no suitable peers for placement (fewer JetStream servers up and joined than the stream's replicas),
 * JetStream temporarily unavailable (no meta leader yet), the cluster cannot handle the request (a leader
 * election).
 */
const NOT_READY_CODES: ReadonlyMap<number, string> = new Map([
  [10005, 'the cluster cannot place the stream yet: fewer JetStream servers are up and joined than the stream has replicas'],
  [10008, 'JetStream is temporarily unavailable: the cluster has no meta leader yet'],
  [10009, 'the JetStream cluster cannot handle requests yet: a leader election is under way'],
]);

/**
 * What JetStream is waiting for when `err` (or its cause) says it is not ready yet and will be without
 * anyone's help: a request nobody answered in time (a cluster still electing its meta leader, a server still
 * starting), a connection lost meanwhile, or one of NOT_READY_CODES; else undefined (a refusal that stays:
 * a stream config that conflicts with another stream, JetStream off for the account, R3 on one server).
 */
export function jetStreamNotReady(err: unknown): string | undefined {
  for (let e = err as { name?: string; code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.name === 'TimeoutError') return 'JetStream does not answer yet: a cluster still electing its meta leader, or a server still starting';
    if (e.name === 'RequestError' && /disconnect/i.test(messageOf(e))) return 'the connection to NATS was lost; reconnecting';
    if (typeof e.code === 'number' && NOT_READY_CODES.has(e.code)) return `${NOT_READY_CODES.get(e.code)} (${messageOf(e)})`;
  }
  return undefined;
}

const JETSTREAM_ON =
  "in operator mode give the account JWT JetStream limits, e.g. nsc edit account NAME --js-mem-storage 1G --js-disk-storage 10G; without operator mode add a jetstream block to the server's config";

/**
 * ` (what to do)` when `err` says JetStream is off for the account (the common miss of operator mode: an
 * account JWT without JetStream limits), else ''.
 */
export function jetStreamOffHint(err: unknown): string {
  return /jetstream (is )?not enabled/i.test(messageOf(err)) ? ` (JetStream is off for this NATS account: ${JETSTREAM_ON})` : '';
}

/**
 * Why nobody answered a JetStream publish on `subject` (the client reports it as "jetstream is not
 * enabled"): in an outage it is mostly a stream electing a leader or a server still loading its streams,
 * which a retry outlives; else no stream holds the subject, or JetStream is off for the account.
 */
export function noStreamAnswered(subject: string): string {
  return `no JetStream stream answered on ${subject}: its stream may be electing a leader or its server starting (retried), no stream may hold the subject (create one, or set stream.create: true), or JetStream may be off for this NATS account (${JETSTREAM_ON})`;
}

/** The subject a signal's requests are published on: `<prefix>.<signal>`. */
export function subjectFor(prefix: string, signal: Signal): string {
  return `${prefix}.${signal}`;
}
