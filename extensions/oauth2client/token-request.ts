/**
 * One OAuth2 client-credentials token request (RFC 6749 section 4.4), as Go's x/oauth2 clientcredentials
 * makes it for the collector's oauth2client: a form POST of grant_type, scope (space-separated) and the
 * endpoint params, the client authenticated by HTTP Basic (`header`: id and secret form-encoded) or by
 * client_id and client_secret in the form (`params`); the answer is JSON (or form-encoded) with
 * access_token, token_type and expires_in.
 */
import http from 'node:http';
import https from 'node:https';
import { messageOf } from '../../src/core/errors.js';

export type ClientAuthStyle = 'header' | 'params';

export interface TokenRequest {
  url: URL;
  clientId: string;
  clientSecret: string;
  scopes: readonly string[];
  params: Readonly<Record<string, readonly string[]>>;
  style: ClientAuthStyle;
  agent: https.Agent | undefined;
  /** 0: none. */
  timeoutMs: number;
  /** Ends the request (the extension is shutting down). */
  signal?: AbortSignal;
}

export interface Token {
  /** The Authorization header's value: `Bearer <access_token>`. */
  authorization: string;
  /** Epoch ms; Infinity when the server gave no expires_in. */
  expiresAt: number;
}

/** The server refused the request (an HTTP status): worth trying the other client auth style. */
export class TokenRefusal extends Error {}

/** The answer is read up to this size: a token endpoint sends a few hundred bytes. */
const MAX_ANSWER = 1 << 20;

const formEscape = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');

export function tokenRequestBody(r: TokenRequest): string {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (r.scopes.length > 0) form.set('scope', r.scopes.join(' '));
  for (const [k, values] of Object.entries(r.params)) for (const v of values) form.append(k, v);
  if (r.style === 'params') {
    form.set('client_id', r.clientId);
    form.set('client_secret', r.clientSecret);
  }
  return form.toString();
}

export function requestToken(r: TokenRequest): Promise<Token> {
  const body = Buffer.from(tokenRequestBody(r));
  const headers: http.OutgoingHttpHeaders = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
    'content-length': body.length,
  };
  if (r.style === 'header') headers.authorization = `Basic ${Buffer.from(`${formEscape(r.clientId)}:${formEscape(r.clientSecret)}`).toString('base64')}`;
  const lib = r.url.protocol === 'https:' ? https : http;
  return new Promise<Token>((resolve, reject) => {
    const req = lib.request(r.url, { method: 'POST', headers, agent: r.agent, timeout: r.timeoutMs || undefined, signal: r.signal }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_ANSWER) chunks.push(c);
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        const fields = answerFields(text, String(res.headers['content-type'] ?? ''));
        if (status < 200 || status > 299) {
          const why = [fields.error, fields.error_description].filter(Boolean).join(': ');
          reject(new TokenRefusal(`token endpoint answered ${status}${why ? ` (${why})` : ''}`));
          return;
        }
        const access = fields.access_token;
        if (!access) {
          reject(new Error('the token endpoint answered without an access_token'));
          return;
        }
        // x/oauth2's Type(): "bearer" in any case is sent as "Bearer", and no type means Bearer.
        const type = !fields.token_type || fields.token_type.toLowerCase() === 'bearer' ? 'Bearer' : fields.token_type;
        const seconds = Number(fields.expires_in ?? 0);
        resolve({ authorization: `${type} ${access}`, expiresAt: seconds > 0 ? Date.now() + seconds * 1000 : Infinity });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within timeout (${r.timeoutMs} ms)`)));
    req.on('error', (err) => reject(err instanceof TokenRefusal ? err : new Error(messageOf(err), { cause: err })));
    req.end(body);
  });
}

/** The answer's fields, from JSON or (as some servers send) a form-encoded body. */
function answerFields(text: string, contentType: string): Record<string, string | undefined> {
  if (!/json/i.test(contentType) && /^[^{]/.test(text.trim())) return Object.fromEntries(new URLSearchParams(text));
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    const out: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(o)) if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
    return out;
  } catch {
    return {};
  }
}
