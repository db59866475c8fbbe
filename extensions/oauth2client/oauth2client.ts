/**
 * The collector's oauth2client extension: an exporter's authenticator that sends `Authorization: Bearer`
 * with a token of the OAuth2 client-credentials flow. The token is fetched when the extension starts and
 * renewed expiry_buffer before it expires, in the background: an export never waits on the authorization
 * server. While there is no valid token (the server has not answered yet, or refuses) an export is refused
 * retryably, so retry_on_failure and the sending queue hold the data, and the refusal says why.
 *
 * The client authenticates as Go's x/oauth2 does when not told how: HTTP Basic first, and if the server
 * refuses that, client_id and client_secret in the form; the style that worked is kept.
 */
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { RetryableError, messageOf } from '../../src/core/errors.js';
import type { ClientAuthenticator } from '../../src/core/auth.js';
import type { CreateSettings } from '../../src/core/component.js';
import { loadClientTls } from '../../src/confighelper/tls.js';
import type { OAuth2ClientConfig } from './config.js';
import { requestToken, TokenRefusal, type ClientAuthStyle, type Token } from './token-request.js';

/** Waits after a failed token request: doubling from the first to the last. */
const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 30_000;
/** How long a start waits for the first token. */
const FIRST_TOKEN_WAIT_MS = 1000;

export class OAuth2ClientExtension implements ClientAuthenticator {
  readonly sendsSecret = true;
  private token: Token | undefined;
  private lastError = '';
  private fetching: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryMs = FIRST_RETRY_MS;
  private style: ClientAuthStyle | undefined;
  private agent: https.Agent | undefined;
  private stopped = false;
  /** Ends a token request under way at shutdown (with timeout 0 one may never end by itself). */
  private readonly stopping = new AbortController();
  private readonly url: URL;
  /** Token requests made, for tests and the log. */
  requests = 0;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: OAuth2ClientConfig,
  ) {
    this.url = new URL(config.token_url);
  }

  private get label(): string {
    return `extension ${this.settings.id.id}`;
  }

  async start(): Promise<void> {
    const key = `extensions.${this.settings.id.id}`;
    if (this.url.protocol === 'https:') this.agent = new https.Agent({ keepAlive: true, ...(await loadClientTls(this.config.tls, `${key}.tls`)) });
    // A file that cannot be read is a config error: say so at start, not at every token request.
    await this.credentials().catch((err: unknown) => {
      throw new Error(`${key}: ${messageOf(err)}`, { cause: err });
    });
    this.refresh();
    // The first exports need not be refused for want of a token a healthy server gives in milliseconds;
    // a server that does not answer does not hold the start longer than this.
    await Promise.race([this.fetching, new Promise((r) => setTimeout(r, FIRST_TOKEN_WAIT_MS).unref())]);
  }

  applyHeaders(headers: Record<string, string>): void {
    const t = this.token;
    if (t !== undefined && Date.now() < t.expiresAt) {
      headers.authorization = t.authorization;
      return;
    }
    this.refresh();
    throw new RetryableError(
      `${this.label}: no valid OAuth2 token from ${this.url.origin}${this.url.pathname} yet${this.lastError ? ` (${this.lastError})` : ''}; the export is retried`,
      // Soon while the first request is under way; at the retry pace once the server failed.
      { code: 'GS_AUTH_TOKEN_UNAVAILABLE', retryAfterMs: this.lastError ? this.retryMs : 250 },
    );
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopping.abort();
    await this.fetching;
    this.agent?.destroy();
  }

  /** Starts a token request unless one is under way. */
  private refresh(): void {
    if (this.stopped || this.fetching) return;
    clearTimeout(this.timer);
    this.fetching = this.fetch().finally(() => (this.fetching = undefined));
  }

  private async fetch(): Promise<void> {
    try {
      const { id, secret } = await this.credentials();
      const ask = (style: ClientAuthStyle) => {
        this.requests++;
        return requestToken({
          url: this.url,
          clientId: id,
          clientSecret: secret,
          scopes: this.config.scopes,
          params: this.config.endpoint_params,
          style,
          agent: this.agent,
          timeoutMs: this.config.timeout,
          signal: this.stopping.signal,
        });
      };
      let token: Token;
      if (this.style) token = await ask(this.style);
      else {
        token = await ask('header').then(
          (t) => ((this.style = 'header'), t),
          async (err: unknown) => {
            if (!(err instanceof TokenRefusal)) throw err;
            const t = await ask('params');
            this.style = 'params';
            return t;
          },
        );
      }
      if (this.stopped) return;
      if (this.lastError) this.settings.logger.info('OAuth2 token obtained again', { token_url: this.url.href });
      this.token = token;
      this.lastError = '';
      this.retryMs = FIRST_RETRY_MS;
      // Renewed expiry_buffer before it expires (at once when it lives shorter than that).
      if (Number.isFinite(token.expiresAt)) this.schedule(Math.max(0, token.expiresAt - Date.now() - this.config.expiry_buffer));
    } catch (err) {
      if (this.stopped) return;
      const why = messageOf(err);
      if (why !== this.lastError) this.settings.logger.warn('cannot get an OAuth2 token; retrying', { token_url: this.url.href, error: why });
      this.lastError = why;
      this.schedule(this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, LAST_RETRY_MS);
    }
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), ms);
    this.timer.unref();
  }

  /** client_id and client_secret, the files (read each time, so a rotated secret is used) before the values. */
  private async credentials(): Promise<{ id: string; secret: string }> {
    const c = this.config;
    const read = async (file: string, key: string) => {
      const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new Error(`${key} ${file}: cannot read the file: ${err.code ?? err.message}`, { cause: err });
      });
      return text.trim();
    };
    const id = c.client_id_file ? await read(c.client_id_file, 'client_id_file') : c.client_id;
    const secret = c.client_secret_file ? await read(c.client_secret_file, 'client_secret_file') : c.client_secret;
    return { id, secret };
  }
}
