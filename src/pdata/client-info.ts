/**
 * The client information a receiver attaches to a Payload (`Payload.meta`), as the collector's
 * client.Info: the peer address, the authenticator's findings and, with `include_metadata`, the request's
 * headers. One flat map so it crosses to worker threads as is; its keys say where a value came from:
 *   `client.address`      the peer's IP address
 *   `auth.<attribute>`    what the authenticator found (subject, username, membership)
 *   `metadata.<header>`   a request header (lower-case name; repeated values joined with `;`)
 * A header can therefore never pose as `auth.*` or `client.address`.
 */
import type { AuthData, RequestHeaders, RequestMeta } from '../core/auth.js';

export const CLIENT_ADDRESS = 'client.address';
const METADATA = 'metadata.';
const AUTH = 'auth.';

export interface ClientInfoParts {
  address?: string | undefined;
  auth?: AuthData | undefined;
  /** The request's headers, when the receiver includes metadata. */
  headers?: RequestHeaders | undefined;
  /** A header never copied (the credential's). */
  omitHeader?: string | undefined;
}

/** Headers that describe the transport, not the client: never copied into metadata. */
function transportHeader(name: string): boolean {
  return name.charCodeAt(0) === 58 /* ':' pseudo-header */ || name === 'content-length' || name === 'transfer-encoding' || name === 'connection';
}

export function clientInfo(parts: ClientInfoParts): RequestMeta {
  const meta: Record<string, string> = {};
  if (parts.address) meta[CLIENT_ADDRESS] = parts.address;
  if (parts.auth) for (const [k, v] of Object.entries(parts.auth.attributes)) meta[AUTH + k] = v;
  if (parts.headers) {
    for (const [name, value] of Object.entries(parts.headers)) {
      if (value === undefined || transportHeader(name) || name === 'authorization' || name === parts.omitHeader) continue;
      meta[METADATA + name] = Array.isArray(value) ? value.join(';') : value;
    }
  }
  return meta;
}

/**
 * Looks up a `from_context` key as the collector's processors do: `client.address`, `auth.<name>`,
 * `metadata.<header>`, or a bare header name (matched case-insensitively, as gRPC metadata and HTTP
 * header names are).
 */
export function clientInfoValue(meta: RequestMeta | undefined, key: string): string | undefined {
  if (!meta) return undefined;
  if (key === CLIENT_ADDRESS || key.startsWith(AUTH)) return meta[key];
  const name = key.startsWith(METADATA) ? key.slice(METADATA.length) : key;
  return meta[METADATA + name.toLowerCase()];
}

/** The client info's entries for `keys` (metadata keys, as batch metadata_keys names them). */
export function pickClientInfo(meta: RequestMeta | undefined, keys: readonly string[]): RequestMeta {
  const out: Record<string, string> = {};
  for (const key of keys) {
    const v = clientInfoValue(meta, key);
    if (v !== undefined) out[METADATA + (key.startsWith(METADATA) ? key.slice(METADATA.length) : key).toLowerCase()] = v;
  }
  return out;
}

/** A string that tells apart the value combinations of `keys` (absent and empty differ). */
export function batchKey(meta: RequestMeta | undefined, keys: readonly string[]): string {
  let out = '';
  for (const key of keys) {
    const v = clientInfoValue(meta, key);
    out += v === undefined ? '\u0001' : `\u0002${v}`;
    out += '\u0000';
  }
  return out;
}
