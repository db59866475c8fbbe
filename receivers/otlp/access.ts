/**
 * Who may send, and what of the request travels with its data: one per protocol server. With an
 * authenticator, each request is checked before its body is read (a refused client costs no body
 * buffering); `include_metadata` copies its headers into the payload's client info.
 */
import { AuthenticationError, type AuthData, type RequestHeaders, type RequestMeta, type ServerAuthenticator } from '../../src/core/auth.js';
import { messageOf, RetryableError } from '../../src/core/errors.js';
import { clientInfo } from '../../src/pdata/client-info.js';
import type { Logger } from '../../src/telemetry/logger.js';

/** Why the authentication step refused a request (the `reason` of gophership_receiver_unauthenticated_requests). */
export type AuthRefusalReason = 'credentials' | 'busy' | 'unavailable';

/** How long a client refused for a fault of the authenticator is asked to wait, when it did not say. */
const FAULT_RETRY_MS = 1000;

/**
 * A refused request: 401 / UNAUTHENTICATED, or 503 / UNAVAILABLE with a retry delay when the credentials
 * could not be checked now (too many checks waiting, the authenticator failed).
 */
export class AccessRefusal {
  constructor(
    readonly unauthenticated: boolean,
    /** Safe to send: never the credential. */
    readonly message: string,
    readonly retryAfterMs: number | undefined = undefined,
  ) {}
}

export class RequestAccess {
  private lastFaultLog = 0;

  constructor(
    private readonly authenticator: ServerAuthenticator | undefined,
    private readonly includeMetadata: boolean,
    private readonly onRefused: (reason: AuthRefusalReason) => void,
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
        this.onRefused('credentials');
        return new AccessRefusal(true, `authentication failed: ${err.message}`);
      }
      // Not a verdict on the client: the authenticator refused to check now (too many checks waiting, its
      // message written for the client, never the credential) or failed (e.g. the OIDC issuer unreachable).
      // Logged at most every 10 s: a flood must not become a flood of log lines.
      const busy = err instanceof RetryableError;
      this.onRefused(busy ? 'busy' : 'unavailable');
      const now = Date.now();
      if (now - this.lastFaultLog > 10_000) {
        this.lastFaultLog = now;
        this.logger.warn('the authenticator could not check a request; answering it as retryable', { error: messageOf(err) });
      }
      if (busy) return new AccessRefusal(false, `authentication not checked: ${err.message}`, err.retryAfterMs ?? FAULT_RETRY_MS);
      return new AccessRefusal(false, 'the authenticator could not check the credentials now; retry later', FAULT_RETRY_MS);
    }
    return this.metaOf(headers, address, auth);
  }
}
