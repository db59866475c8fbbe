/**
 * OIDC authentication, as the collector's oidc extension: a request's `Authorization: Bearer <JWT>` is
 * verified with jose against the issuer's JWKS (found through its discovery document at start, fetched
 * again when a token names a key not yet seen), for issuer, audience, expiry and signature. The caller's
 * name (`sub` or username_claim) and groups (groups_claim) become auth.subject and auth.membership.
 */
import http from 'node:http';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import { createRemoteJWKSet, customFetch, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { AuthenticationError, headerValue, type AuthData, type RequestHeaders, type ServerAuthenticator } from '../../src/core/auth.js';
import type { CreateSettings } from '../../src/core/component.js';
import { CodedError, componentLabel, messageOf } from '../../src/core/errors.js';
import { checkCaPem } from '../../src/confighelper/tls.js';
import { providersOf, type OidcConfig, type OidcProviderConfig } from './config.js';

/** Signature algorithms accepted (the collector's: RSA, RSA-PSS, ECDSA, EdDSA); never `none` or HMAC. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const FETCH_TIMEOUT_MS = 5000;
/**
 * A token naming an unknown key fetches the key set again at most this often: a rotated issuer key is
 * picked up, and clients sending made-up key ids cannot make the gateway hammer the issuer.
 */
const JWKS_COOLDOWN_MS = 30_000;

/** GET with node:http(s), so a private CA (issuer_ca_path) can verify the issuer. */
function get(url: string, ca: Buffer | undefined, signal?: AbortSignal): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.get(u, { ...(ca ? { ca } : {}), timeout: FETCH_TIMEOUT_MS, signal }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        // A discovery document or key set is a few KB; more is not one.
        if (size > 1024 * 1024) req.destroy(new Error('response over 1 MiB'));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${FETCH_TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

interface Provider {
  config: OidcProviderConfig;
  ca: Buffer | undefined;
  /** Undefined until the discovery document was read. */
  keys: ReturnType<typeof createRemoteJWKSet> | undefined;
  lastDiscovery: number;
  /** The `issuer` of its discovery document when it differs from issuer_url (every token would be refused). */
  namedAs?: string;
}

/** How often a request may retry the discovery of an issuer that could not be reached. */
const DISCOVERY_RETRY_MS = 5000;

function claimText(payload: JWTPayload, claim: string): string | undefined {
  const v = payload[claim];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The refusal for a jose failure: what was wrong, in words, without the token. */
function refusalOf(err: unknown): Error {
  if (err instanceof errors.JWTExpired) return new AuthenticationError('the token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return new AuthenticationError('the token is not for this audience');
    if (err.claim === 'iss') return new AuthenticationError('the token is not from the configured issuer');
    if (err.claim === 'nbf') return new AuthenticationError('the token is not valid yet');
    return new AuthenticationError(`the token's ${err.claim} claim is not accepted`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return new AuthenticationError("the token's signature does not verify");
  if (err instanceof errors.JWKSNoMatchingKey) return new AuthenticationError('no key of the issuer matches the token');
  if (err instanceof errors.JOSEAlgNotAllowed) return new AuthenticationError("the token's signing algorithm is not accepted");
  if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid || err instanceof errors.JOSENotSupported)
    return new AuthenticationError('the token is not a valid JWT');
  // Fetching the keys failed (issuer down, timeout): not the client's fault.
  return err instanceof Error ? err : new Error(String(err));
}

export class OidcExtension implements ServerAuthenticator {
  readonly credentialHeader: string;
  private readonly providers = new Map<string, Provider>();

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: OidcConfig,
    private readonly jwksCooldownMs = JWKS_COOLDOWN_MS,
  ) {
    this.credentialHeader = config.attribute.toLowerCase();
  }

  /**
   * Reads each issuer's discovery document; one that names the issuer differently from issuer_url fails the
   * start, as in the collector. An issuer that cannot be reached does not stop the gateway
   * (unlike the collector, which fails to start): its requests are answered 503 / UNAVAILABLE, retryable,
   * and the discovery is tried again at most every 5 s, so an identity provider's outage does not turn a
   * gateway restart into an outage of the whole tier.
   */
  async start(): Promise<void> {
    for (const p of providersOf(this.config)) {
      const ca = p.issuer_ca_path
        ? await readFile(p.issuer_ca_path).catch((err: unknown) => {
            throw new CodedError(
              'GS_FILE_UNREADABLE',
              `${componentLabel(this.settings)}: issuer ${p.issuer_url}: cannot read issuer_ca_path ${p.issuer_ca_path}: ${messageOf(err)}`,
              {
                cause: err,
              },
            );
          })
        : undefined;
      // A file without a certificate would leave the issuer untrusted, answered 503 for ever: refuse it now.
      checkCaPem(ca, `${componentLabel(this.settings)}: issuer ${p.issuer_url}: issuer_ca_path`, p.issuer_ca_path);
      const provider: Provider = { config: p, ca, keys: undefined, lastDiscovery: 0 };
      this.providers.set(p.issuer_url, provider);
      await this.discover(provider).catch((err: unknown) => {
        this.settings.logger.warn('OIDC issuer not reachable; its requests are refused as retryable until it is', {
          issuer: p.issuer_url,
          error: messageOf(err),
        });
      });
      if (provider.namedAs !== undefined)
        throw new CodedError(
          'GS_COMPONENT_START_FAILED',
          `${componentLabel(this.settings)}: issuer_url ${JSON.stringify(p.issuer_url)}: the issuer's discovery document names it ${JSON.stringify(provider.namedAs)}, so every token (iss) would be refused; set issuer_url to ${JSON.stringify(provider.namedAs)} exactly (a trailing slash counts)`,
        );
    }
  }

  /** Finds the issuer's key set through its discovery document. */
  private async discover(provider: Provider): Promise<NonNullable<Provider['keys']>> {
    if (provider.keys) return provider.keys;
    const p = provider.config;
    const now = Date.now();
    if (now - provider.lastDiscovery < DISCOVERY_RETRY_MS) throw new Error(`the OIDC issuer ${p.issuer_url} could not be reached recently; retry later`);
    provider.lastDiscovery = now;
    const discovery = `${p.issuer_url.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let jwksUri: string;
    try {
      const res = await get(discovery, provider.ca);
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      const doc = JSON.parse(res.body.toString('utf8')) as { jwks_uri?: unknown; issuer?: unknown };
      if (typeof doc.jwks_uri !== 'string') throw new Error('the document has no jwks_uri');
      jwksUri = doc.jwks_uri;
      // Tokens carry the issuer's own name as iss: a different issuer_url (a trailing slash, http for https)
      // refuses every one of them. start() refuses it, as the collector does; found later (the issuer was
      // unreachable at start), it is said once, as an error.
      if (typeof doc.issuer === 'string' && doc.issuer !== p.issuer_url) {
        provider.namedAs = doc.issuer;
        this.settings.logger.error(
          'the OIDC issuer names itself differently from issuer_url: its tokens (iss) are refused as not from a configured issuer; set issuer_url to its name',
          { issuer_url: p.issuer_url, issuer: doc.issuer },
        );
      }
    } catch (err) {
      throw new CodedError(
        'GS_COMPONENT_START_FAILED',
        `${componentLabel(this.settings)}: issuer ${p.issuer_url}: cannot read the discovery document ${discovery}: ${messageOf(err)}`,
        {
          cause: err,
        },
      );
    }
    const ca = provider.ca;
    provider.keys = createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: FETCH_TIMEOUT_MS,
      cooldownDuration: this.jwksCooldownMs,
      [customFetch]: async (url: string, opts: { signal: AbortSignal }) => {
        const res = await get(url, ca, opts.signal);
        return new Response(new Uint8Array(res.body), { status: res.status, headers: { 'content-type': 'application/json' } });
      },
    });
    return provider.keys;
  }

  async shutdown(): Promise<void> {}

  async authenticate(headers: RequestHeaders): Promise<AuthData> {
    const value = headerValue(headers, this.credentialHeader);
    if (value === undefined || value === '') throw new AuthenticationError(`no ${this.config.attribute} header`);
    if (value.length < 8 || value.slice(0, 7).toLowerCase() !== 'bearer ')
      throw new AuthenticationError(`the ${this.config.attribute} header is not a Bearer token`);
    const token = value.slice(7).trim();
    let provider: Provider | undefined;
    try {
      const iss = decodeJwt(token).iss;
      provider = iss === undefined ? undefined : this.providers.get(iss);
    } catch {
      throw new AuthenticationError('the token is not a valid JWT');
    }
    if (!provider) throw new AuthenticationError('the token is not from a configured issuer');
    const p = provider.config;
    // Not an AuthenticationError when the issuer is unreachable: the receiver answers 503, retryable.
    const keys = await this.discover(provider);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, { issuer: p.issuer_url, algorithms: ALGORITHMS, ...(p.ignore_audience ? {} : { audience: p.audience }) }));
    } catch (err) {
      throw refusalOf(err);
    }
    const subjectClaim = p.username_claim || 'sub';
    const subject = claimText(payload, subjectClaim);
    if (subject === undefined) throw new AuthenticationError(`the token has no ${subjectClaim} claim`);
    const attributes: Record<string, string> = { subject };
    if (p.groups_claim) {
      const g = payload[p.groups_claim];
      const groups = Array.isArray(g) ? g.filter((x): x is string => typeof x === 'string') : typeof g === 'string' ? [g] : [];
      attributes.membership = groups.join(';');
    }
    return { attributes };
  }
}
