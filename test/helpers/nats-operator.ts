/**
 * NATS decentralized authentication (operator mode) made at test time, as `nsc` would make it: an
 * operator, a system account, an account with JetStream and its users, each an NKey and a JWT signed by
 * the key above it; a user's creds file; the lines of a nats-server config that trusts the operator and
 * knows the accounts from a preloaded memory resolver.
 *
 * The JWTs follow NATS's JWT v2 (the nats-io/jwt Go library that nats-server decodes with): a header
 * {"typ":"JWT","alg":"ed25519-nkey"}, claims jti, iat, iss, sub, name (and exp) with the type-specific
 * part under `nats` (type, version 2), every part base64url without padding, the signature the issuer's
 * ed25519 NKey over `header.claims`. @nats-io/jwt on npm (0.0.x) calls itself unsupported, and the
 * encoder is a few lines, so it is written here.
 */
import { createHash } from 'node:crypto';
import { nkeys } from '@nats-io/transport-node';

export type NKeyPair = ReturnType<typeof nkeys.createUser>;

/** No limit, in a JWT's limits (the Go library's NoLimit). */
const NO_LIMIT = -1;

const base64url = (data: string | Uint8Array): string => Buffer.from(data).toString('base64url');

/** RFC 4648 base32 without padding: how the Go library spells a JWT's jti. */
function base32(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

export interface NatsClaims {
  sub: string;
  name: string;
  /** Issued at, unix seconds (default now). A revocation covers the user JWTs issued at or before it. */
  iat?: number;
  /** Expires at, unix seconds. */
  exp?: number;
  nats: { type: 'operator' | 'account' | 'user' } & Record<string, unknown>;
}

/** A NATS v2 JWT of `claims`, issued and signed by `issuer`. */
export function signNatsJwt(issuer: NKeyPair, claims: NatsClaims): string {
  const body = { ...claims, iat: claims.iat ?? Math.floor(Date.now() / 1000), iss: issuer.getPublicKey(), nats: { ...claims.nats, version: 2 } };
  // jti: the Go library's hash of the claims (SHA-512/256, base32); a unique id the server does not check.
  const jti = base32(createHash('sha512-256').update(JSON.stringify(body)).digest());
  const signed = `${base64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }))}.${base64url(JSON.stringify({ jti, ...body }))}`;
  return `${signed}.${base64url(issuer.sign(new TextEncoder().encode(signed)))}`;
}

/** A creds file as `nsc generate creds` writes it: the user JWT, then the user's NKey seed. */
export function credsFileText(userJwt: string, seed: string): string {
  return [
    '-----BEGIN NATS USER JWT-----',
    userJwt,
    '------END NATS USER JWT------',
    '',
    '************************* IMPORTANT *************************',
    'NKEY Seed printed below can be used to sign and prove identity.',
    'NKEYs are sensitive and should be treated as secrets.',
    '',
    '-----BEGIN USER NKEY SEED-----',
    seed,
    '------END USER NKEY SEED------',
    '',
    '*************************************************************',
    '',
  ].join('\n');
}

export interface NatsUser {
  publicKey: string;
  seed: string;
  jwt: string;
  /** When the JWT expires (ms since the epoch), if it does. */
  expiresAtMs: number | undefined;
  /** The creds file's text. */
  creds: string;
}

export interface UserOptions {
  /** Unix seconds the JWT expires at. */
  exp?: number;
  /** Unix seconds it was issued at (default now). */
  iat?: number;
  /** The user's NKey (default a new one): made first, it can be named in the account's revocations. */
  keys?: NKeyPair;
  /** Subjects the user may publish and subscribe to (default all). */
  permissions?: { pub?: { allow?: string[]; deny?: string[] }; sub?: { allow?: string[]; deny?: string[] } };
}

export interface NatsAccount {
  publicKey: string;
  keys: NKeyPair;
  jwt: string;
  /** A new user of this account (its own NKey, a JWT the account signed). */
  user(name: string, options?: UserOptions): NatsUser;
}

function makeUser(account: NKeyPair, name: string, options: UserOptions = {}): NatsUser {
  const keys = options.keys ?? nkeys.createUser();
  const seed = new TextDecoder().decode(keys.getSeed());
  const jwt = signNatsJwt(account, {
    sub: keys.getPublicKey(),
    name,
    ...(options.iat !== undefined ? { iat: options.iat } : {}),
    ...(options.exp !== undefined ? { exp: options.exp } : {}),
    // Empty pub/sub permissions allow every subject; the limits are the Go library's "no limit".
    nats: { type: 'user', pub: options.permissions?.pub ?? {}, sub: options.permissions?.sub ?? {}, subs: NO_LIMIT, data: NO_LIMIT, payload: NO_LIMIT },
  });
  return {
    publicKey: keys.getPublicKey(),
    seed,
    jwt,
    expiresAtMs: options.exp === undefined ? undefined : options.exp * 1000,
    creds: credsFileText(jwt, seed),
  };
}

export interface AccountOptions {
  /** JetStream limits in the account JWT (without them the account has no JetStream). */
  jetstream?: boolean;
  /** User public keys revoked, each with the unix second up to which its JWTs are revoked. */
  revocations?: Record<string, number>;
}

/** An account whose JWT `signer` (an operator) issued. */
function makeAccount(signer: NKeyPair, name: string, options: AccountOptions = {}): NatsAccount {
  const keys = nkeys.createAccount();
  const limits = {
    subs: NO_LIMIT,
    data: NO_LIMIT,
    payload: NO_LIMIT,
    imports: NO_LIMIT,
    exports: NO_LIMIT,
    wildcards: true,
    conn: NO_LIMIT,
    leaf: NO_LIMIT,
    ...(options.jetstream ? { mem_storage: 64 * 1024 * 1024, disk_storage: 1024 * 1024 * 1024, streams: NO_LIMIT, consumer: NO_LIMIT } : {}),
  };
  const jwt = signNatsJwt(signer, {
    sub: keys.getPublicKey(),
    name,
    nats: { type: 'account', limits, ...(options.revocations ? { revocations: options.revocations } : {}) },
  });
  return { publicKey: keys.getPublicKey(), keys, jwt, user: (userName, o) => makeUser(keys, userName, o) };
}

export interface NatsOperator {
  jwt: string;
  system: NatsAccount;
  /** The account the tests' users belong to, with JetStream. */
  account: NatsAccount;
  /**
   * The nats-server config lines of operator mode: the operator (the JWT in `operatorFile`, written by
   * the caller), the system account, a memory resolver preloaded with both accounts.
   */
  serverConf(operatorFile: string): string[];
  /** Another account this operator signs, which the server's resolver does not hold. */
  unlistedAccount(): NatsAccount;
}

/**
 * An operator with a system account and one account, with JetStream unless `accountOptions` says
 * otherwise; they shape that account, e.g. its revocations (a memory resolver takes account JWTs only at
 * start, so they are fixed here).
 */
export function makeNatsOperator(accountOptions: AccountOptions = {}): NatsOperator {
  const keys = nkeys.createOperator();
  const system = makeAccount(keys, 'SYS');
  const account = makeAccount(keys, 'GATEWAY', { jetstream: true, ...accountOptions });
  const jwt = signNatsJwt(keys, { sub: keys.getPublicKey(), name: 'gophership-test', nats: { type: 'operator', system_account: system.publicKey } });
  return {
    jwt,
    system,
    account,
    unlistedAccount: () => makeAccount(keys, 'UNLISTED', { jetstream: true }),
    serverConf: (operatorFile) => [
      `operator: "${operatorFile}"`,
      `system_account: ${system.publicKey}`,
      'resolver: MEMORY',
      `resolver_preload: { ${system.publicKey}: "${system.jwt}", ${account.publicKey}: "${account.jwt}" }`,
    ],
  };
}

/** An account of another operator: its users' JWTs are signed by a key the server does not trust. */
export function foreignAccount(): NatsAccount {
  return makeAccount(nkeys.createOperator(), 'FOREIGN', { jetstream: true });
}
