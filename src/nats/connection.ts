/**
 * What the `nats` exporter and receiver share: the connection keys (servers, credentials, TLS), turned
 * into the official client's options, and the headers a request travels with on a JetStream subject.
 */
import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { CodedError, messageOf } from '../core/errors.js';
import { maskUrlCredentials, s, type ConfigOf } from '../core/schema.js';
import type { Signal } from '../core/signal.js';

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
    creds_file: s.string().default('').describe('Credentials file (JWT and NKey seed) for decentralized authentication'),
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

/**
 * Connects with the configured servers and credentials; the client reconnects forever on its own. A
 * first connection that fails is a start error of the component `label` names (componentLabel), whose
 * cause isUnreachable tells apart from a refusal of the credentials or certificates.
 */
export async function connectNats(c: NatsConnectionConfig, label: string): Promise<NatsConnection> {
  const opts = await connectionOptions(c, label);
  try {
    return await connect(opts);
  } catch (err) {
    throw new CodedError(
      'GS_COMPONENT_START_FAILED',
      // A server URL may carry user:password@; the error (and the log line it becomes) must not.
      `${label}: cannot connect to NATS at ${c.servers.map(maskUrlCredentials).join(', ')}: ${messageOf(err)} (${isUnreachable(err) ? 'check servers and that NATS is up' : 'check servers and credentials'})`,
      { cause: err },
    );
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
async function connectionOptions(c: NatsConnectionConfig, label: string): Promise<ConnectionOptions> {
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
  };
  if (c.username) {
    opts.user = c.username;
    opts.pass = c.password;
  }
  if (c.token) opts.token = c.token;
  if (c.creds_file) opts.authenticator = credsAuthenticator(await read('creds_file', c.creds_file));
  else if (c.nkey_seed_file)
    opts.authenticator = nkeyAuthenticator(new TextEncoder().encode((await read('nkey_seed_file', c.nkey_seed_file)).toString('utf8').trim()));
  if (c.tls.ca_file || c.tls.cert_file || c.tls.key_file || c.servers.some((u) => u.startsWith('tls://'))) {
    opts.tls = {
      ...(c.tls.ca_file ? { ca: (await read('tls.ca_file', c.tls.ca_file)).toString('utf8') } : {}),
      ...(c.tls.cert_file ? { cert: (await read('tls.cert_file', c.tls.cert_file)).toString('utf8') } : {}),
      ...(c.tls.key_file ? { key: (await read('tls.key_file', c.tls.key_file)).toString('utf8') } : {}),
    };
  }
  return opts;
}

/** The subject a signal's requests are published on: `<prefix>.<signal>`. */
export function subjectFor(prefix: string, signal: Signal): string {
  return `${prefix}.${signal}`;
}
