/**
 * Who may send, and what of the request travels with its data: one per protocol server. With an
 * authenticator, each request is checked before its body is read (a refused client costs no body
 * buffering); `include_metadata` copies its headers into the payload's client info.
 */
import { AuthenticationError, type AuthData, type RequestHeaders, type RequestMeta, type ServerAuthenticator } from '../../src/core/auth.js';
import { messageOf } from '../../src/core/errors.js';
import { clientInfo } from '../../src/pdata/client-info.js';
import type { Logger } from '../../src/telemetry/logger.js';

/** A refused request: 401 / UNAUTHENTICATED, or 503 / UNAVAILABLE when the authenticator itself failed. */
export class AccessRefusal {
  constructor(
    readonly unauthenticated: boolean,
    /** Safe to send: never the credential. */
    readonly message: string,
  ) {}
}

export class RequestAccess {
  private lastFaultLog = 0;

  constructor(
    private readonly authenticator: ServerAuthenticator | undefined,
    private readonly includeMetadata: boolean,
    private readonly onUnauthenticated: () => void,
    private readonly logger: Logger,
  ) {}

  /** True when requests must wait for an authenticator's verdict. */
  get checks(): boolean {
    return this.authenticator !== undefined;
  }

  /** The client info of a request that needs no check (undefined when nothing is to be kept). */
  metaOf(headers: RequestHeaders, address: string | undefined, auth?: AuthData): RequestMeta | undefined {
    if (!this.includeMetadata && auth === undefined) return undefined;
    return clientInfo({ address, auth, headers: this.includeMetadata ? headers : undefined, omitHeader: this.authenticator?.credentialHeader });
  }

  /** Checks a request; resolves to its client info, or to the refusal to answer with. */
  async admit(headers: RequestHeaders, address: string | undefined): Promise<RequestMeta | undefined | AccessRefusal> {
    const authenticator = this.authenticator;
    if (!authenticator) return this.metaOf(headers, address);
    let auth: AuthData;
    try {
      auth = await authenticator.authenticate(headers);
    } catch (err) {
      if (err instanceof AuthenticationError) {
        this.onUnauthenticated();
        return new AccessRefusal(true, `authentication failed: ${err.message}`);
      }
      // A fault of the authenticator (e.g. the OIDC issuer unreachable), not a verdict on the client.
      const now = Date.now();
      if (now - this.lastFaultLog > 10_000) {
        this.lastFaultLog = now;
        this.logger.warn('the authenticator could not check a request; answering it as retryable', { error: messageOf(err) });
      }
      return new AccessRefusal(false, 'the authenticator could not check the credentials now; retry later');
    }
    return this.metaOf(headers, address, auth);
  }
}
