/**
 * Bearer token authentication, as the collector's bearertokenauth: as a server authenticator it accepts
 * a request whose header (Authorization by default) is `<scheme> <token>` for one of the configured
 * tokens; as a client authenticator it sets that header on every export. Tokens from `filename` are
 * re-read when the file changes, so a rotation needs no restart.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  AuthenticationError,
  headerValue,
  type AuthData,
  type ClientAuthenticator,
  type RequestHeaders,
  type ServerAuthenticator,
} from '../../src/core/auth.js';
import type { CreateSettings } from '../../src/core/component.js';
import { CodedError, componentLabel, messageOf } from '../../src/core/errors.js';
import { watchFile } from '../../src/core/watch-file.js';
import type { BearerTokenAuthConfig } from './config.js';

const NO_ATTRIBUTES: AuthData = { attributes: {} };

/** Digest compared in constant time, whatever the lengths of the two tokens. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export class BearerTokenAuthExtension implements ServerAuthenticator, ClientAuthenticator {
  readonly credentialHeader: string;
  readonly sendsSecret = true;
  private tokens: string[];
  private digests: Buffer[];
  private stopWatching: (() => void) | undefined;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: BearerTokenAuthConfig,
  ) {
    this.credentialHeader = config.header.toLowerCase();
    this.tokens = config.tokens.length > 0 ? [...config.tokens] : config.token ? [config.token] : [];
    this.digests = this.tokens.map(digest);
  }

  async start(): Promise<void> {
    const file = this.config.filename;
    if (!file) return;
    // As the collector: the file wins. Said, so a token written in the config is not believed to be in use.
    if (this.config.token || this.config.tokens.length > 0)
      this.settings.logger.warn('filename is set, so the token / tokens of this extension are ignored; put the tokens in the file', { filename: file });
    const tokens = await this.readTokens(file).catch((err: unknown) => {
      throw new CodedError('GS_FILE_UNREADABLE', `${componentLabel(this.settings)}: cannot read filename ${file}: ${messageOf(err)}`, { cause: err });
    });
    this.use(tokens);
    this.stopWatching = watchFile(file, () => {
      this.readTokens(file).then(
        (next) => {
          this.use(next);
          this.settings.logger.info('bearer token file re-read', { filename: file, tokens: next.length });
        },
        // A file being replaced may be briefly absent or empty: keep the tokens in use.
        (err: unknown) =>
          this.settings.logger.warn('could not re-read the bearer token file; keeping the tokens in use', { filename: file, error: messageOf(err) }),
      );
    });
  }

  private async readTokens(file: string): Promise<string[]> {
    const tokens = (await readFile(file, 'utf8'))
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '');
    if (tokens.length === 0) throw new Error('the file holds no token');
    return tokens;
  }

  private use(tokens: string[]): void {
    this.tokens = tokens;
    this.digests = tokens.map(digest);
  }

  async shutdown(): Promise<void> {
    this.stopWatching?.();
  }

  authenticate(headers: RequestHeaders): AuthData {
    const value = headerValue(headers, this.credentialHeader);
    if (value === undefined || value === '') throw new AuthenticationError(`no ${this.config.header} header`);
    const scheme = this.config.scheme;
    let token = value;
    if (scheme) {
      // The scheme is case-insensitive (RFC 9110); the token is not.
      if (value.length <= scheme.length + 1 || value[scheme.length] !== ' ' || value.slice(0, scheme.length).toLowerCase() !== scheme.toLowerCase()) {
        throw new AuthenticationError(`the ${this.config.header} header does not use the ${scheme} scheme`);
      }
      token = value.slice(scheme.length + 1).trim();
    }
    const d = digest(token);
    let ok = false;
    // Every token is compared, so the time taken does not tell which one nearly matched.
    for (const expected of this.digests) ok = timingSafeEqual(d, expected) || ok;
    if (!ok) throw new AuthenticationError('the bearer token is not accepted');
    return NO_ATTRIBUTES;
  }

  applyHeaders(headers: Record<string, string>): void {
    const token = this.tokens[0];
    if (token === undefined) return;
    headers[this.credentialHeader] = this.config.scheme ? `${this.config.scheme} ${token}` : token;
  }
}
