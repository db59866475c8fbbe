/**
 * Authenticator contracts, after the collector's extension/extensionauth: an extension may be a server
 * authenticator (a receiver asks it about each request before reading the body) and/or a client
 * authenticator (an exporter asks it for the headers of each request it sends). A component names one
 * with `auth: { authenticator: <extension id> }` and finds it through Host.getExtension at start.
 */
import type { Extension, Host } from './component.js';
import { CodedError } from './errors.js';
import { REDACTED, s } from './schema.js';

/** HTTP request headers or gRPC metadata as Node hands them over: names lower-case. */
export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** Request metadata carried on a Payload (see src/pdata/client-info.ts for its keys). */
export type RequestMeta = Readonly<Record<string, string>>;

/**
 * Who a server authenticator found the caller to be. Its attributes reach the pipeline as `auth.<name>`
 * (e.g. `auth.subject`, `auth.username`); an authenticator never puts the credential itself here.
 */
export interface AuthData {
  readonly attributes: Readonly<Record<string, string>>;
}

/**
 * A refused credential. The message says what was wrong in words a client can act on ("no bearer token",
 * "the token does not match") and never contains the credential or any part of it.
 */
export class AuthenticationError extends CodedError {
  override readonly name = 'AuthenticationError';
  constructor(message: string) {
    super('GS_UNAUTHENTICATED', message);
  }
}

export interface ServerAuthenticator extends Extension {
  /** Checks one request; resolves to the caller's AuthData or rejects with an AuthenticationError. */
  authenticate(headers: RequestHeaders): AuthData | Promise<AuthData>;
  /** The header (lower-case) that carries the credential: kept out of the request metadata a pipeline sees. */
  readonly credentialHeader: string;
}

export interface ClientAuthenticator extends Extension {
  /**
   * Sets the headers of one outgoing request: adds, changes or removes entries of `headers` (lower-case
   * names). `meta` is the metadata of the request that brought the data in, when the receiver kept it.
   */
  applyHeaders(headers: Record<string, string>, meta: RequestMeta | undefined): void;
  /**
   * True when the headers carry a secret (a token, a password): the collector's gRPC client then refuses a
   * plaintext connection (RequireTransportSecurity), and the gateway warns of one.
   */
  readonly sendsSecret?: boolean;
}

export function isServerAuthenticator(ext: Extension | undefined): ext is ServerAuthenticator {
  return typeof (ext as Partial<ServerAuthenticator> | undefined)?.authenticate === 'function';
}

export function isClientAuthenticator(ext: Extension | undefined): ext is ClientAuthenticator {
  return typeof (ext as Partial<ClientAuthenticator> | undefined)?.applyHeaders === 'function';
}

const authenticatorSchema = () =>
  s
    .string(/^[a-z][a-z0-9_]*(\/[^/\s]+)?$/, 'an extension ID such as bearertokenauth or basicauth/tenants')
    .mustBeSet()
    .describe('ID of the authenticator extension (listed in service.extensions).');
const AUTH_DESCRIPTION = 'Authentication: the ID of an authenticator extension (bearertokenauth, basicauth, oidc, headers_setter, oauth2client).';

/** The `auth` key of a gRPC receiver protocol or an exporter, as the collector's configauth. */
export const authSchema = s.presence(s.object({ authenticator: authenticatorSchema() })).describe(AUTH_DESCRIPTION);

/** The `auth` key of an HTTP server: confighttp's adds `request_params` to configauth's. */
export const httpServerAuthSchema = s
  .presence(
    s.object({
      authenticator: authenticatorSchema(),
      request_params: s.notYet('copies these query parameters or headers of each request into the client context the authenticator reads', []),
    }),
  )
  .describe(AUTH_DESCRIPTION);

export type AuthConfig = { authenticator: string } | undefined;

/** The key `auth.authenticator` of the section at `where` (a key path in the component's config; '' = its top). */
function authKey(where: string): string {
  return where === '' ? 'auth.authenticator' : `${where}.auth.authenticator`;
}

function find(host: Host, id: string, where: string): Extension {
  const ext = host.getExtension(id);
  if (!ext)
    throw new CodedError(
      'GS_EXTENSION_MISSING',
      `${authKey(where)}: extension "${id}" is not running; define it under extensions: and list it in service.extensions`,
    );
  return ext;
}

/**
 * The server authenticator a receiver's `auth` names; `where` is the key path, within the receiver's
 * config, of the section holding `auth` (the service prefixes the receiver's label to a start error).
 */
export function serverAuthenticatorOf(host: Host, auth: AuthConfig, where: string): ServerAuthenticator | undefined {
  if (!auth) return undefined;
  const ext = find(host, auth.authenticator, where);
  if (!isServerAuthenticator(ext))
    throw new CodedError(
      'GS_EXTENSION_MISSING',
      `${authKey(where)}: extension "${auth.authenticator}" cannot authenticate incoming requests; use bearertokenauth, basicauth (with htpasswd) or oidc`,
    );
  return ext;
}

/** The client authenticator an exporter's `auth` names (`where` as for serverAuthenticatorOf). */
export function clientAuthenticatorOf(host: Host | undefined, auth: AuthConfig, where: string): ClientAuthenticator | undefined {
  if (!auth) return undefined;
  if (!host) throw new CodedError('GS_EXTENSION_MISSING', `${authKey(where)}: no host to find extension "${auth.authenticator}"`);
  const ext = find(host, auth.authenticator, where);
  if (!isClientAuthenticator(ext))
    throw new CodedError(
      'GS_EXTENSION_MISSING',
      `${authKey(where)}: extension "${auth.authenticator}" cannot authenticate outgoing requests; use bearertokenauth, basicauth (with client_auth) or headers_setter`,
    );
  return ext;
}

/** The first value of a header (Node joins most repeated headers; authorization is single-valued). */
export function headerValue(headers: RequestHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Headers of an export that carry no credential (the transport's own), left out of credentialValues. */
const NOT_CREDENTIALS = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'accept-encoding',
  'user-agent',
  'te',
  'grpc-encoding',
  'grpc-accept-encoding',
  'grpc-timeout',
]);
/** Shorter values are left in messages: too short to be a secret worth hiding, too common to replace safely. */
const MIN_CREDENTIAL_LENGTH = 6;

/**
 * The header values an export carried that may be credentials (its configured headers and what its
 * authenticator set, each whole and without its scheme): what a downstream's error message must not
 * repeat. `headers` is a map or Node's flat [name, value, ...] list.
 */
export function credentialValues(headers: Readonly<Record<string, unknown>> | readonly string[]): string[] {
  const pairs: [string, unknown][] = [];
  if (Array.isArray(headers)) for (let i = 0; i + 1 < headers.length; i += 2) pairs.push([headers[i] as string, headers[i + 1]]);
  else pairs.push(...Object.entries(headers));
  const out: string[] = [];
  for (const [name, value] of pairs) {
    if (typeof value !== 'string' || NOT_CREDENTIALS.has(name.toLowerCase())) continue;
    out.push(value);
    const space = value.indexOf(' ');
    if (space > 0) out.push(value.slice(space + 1).trim());
  }
  return out.filter((v) => v.length >= MIN_CREDENTIAL_LENGTH).sort((a, b) => b.length - a.length);
}

/**
 * `text` (a downstream's error message) with every credential the request carried replaced by
 * [REDACTED]: some servers echo the credential they refused (the collector's bearertokenauth does), and
 * the gateway passes a refusal on to its own client and its logs.
 */
export function withoutCredentials(text: string, credentials: readonly string[]): string {
  let out = text;
  for (const c of credentials) if (out.includes(c)) out = out.split(c).join(REDACTED);
  return out;
}
