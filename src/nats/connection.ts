/**
 * What the `nats` exporter and receiver share: the connection keys (servers, credentials, TLS), turned
 * into the official client's options, and the headers a request travels with on a JetStream subject.
 */
import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { CodedError, messageOf } from '../core/errors.js';
import { s, type ConfigOf } from '../core/schema.js';
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
 * first connection that fails is a start error of the component `label` names (componentLabel).
 */
export async function connectNats(c: NatsConnectionConfig, label: string): Promise<NatsConnection> {
  try {
    return await connect(await connectionOptions(c));
  } catch (err) {
    throw new CodedError(
      'GS_COMPONENT_START_FAILED',
      // A server URL may carry user:password@; the error (and the log line it becomes) must not.
      `${label}: cannot connect to NATS at ${c.servers.map((u) => u.replace(/\/\/[^@/]*@/, '//[REDACTED]@')).join(', ')}: ${messageOf(err)} (check servers and credentials)`,
      {
        cause: err,
      },
    );
  }
}

/** The official client's options for the configured servers and credentials (files read here). */
async function connectionOptions(c: NatsConnectionConfig): Promise<ConnectionOptions> {
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
  if (c.creds_file) opts.authenticator = credsAuthenticator(await readFile(c.creds_file));
  else if (c.nkey_seed_file) opts.authenticator = nkeyAuthenticator(new TextEncoder().encode((await readFile(c.nkey_seed_file, 'utf8')).trim()));
  if (c.tls.ca_file || c.tls.cert_file || c.tls.key_file || c.servers.some((u) => u.startsWith('tls://'))) {
    opts.tls = {
      ...(c.tls.ca_file ? { caFile: c.tls.ca_file } : {}),
      ...(c.tls.cert_file ? { certFile: c.tls.cert_file } : {}),
      ...(c.tls.key_file ? { keyFile: c.tls.key_file } : {}),
    };
  }
  return opts;
}

/** The subject a signal's requests are published on: `<prefix>.<signal>`. */
export function subjectFor(prefix: string, signal: Signal): string {
  return `${prefix}.${signal}`;
}
