/**
 * headers_setter, as the collector's: a client authenticator that sets headers on each export, from a
 * fixed value or from the client info of the request that brought the data in (e.g. a tenant header
 * passed on to a multi-tenant backend). The receiver must keep that info (`include_metadata: true`), and
 * it travels with the data through memory queues and batches of one client (not through a WAL queue).
 */
import type { ClientAuthenticator, RequestMeta } from '../../src/core/auth.js';
import { clientInfoValue } from '../../src/pdata/client-info.js';
import type { HeadersSetterConfig } from './config.js';

interface Rule {
  name: string;
  action: 'insert' | 'update' | 'upsert' | 'delete';
  value: string | undefined;
  fromContext: string | undefined;
  fallback: string | undefined;
}

export class HeadersSetterExtension implements ClientAuthenticator {
  private readonly rules: Rule[];

  constructor(config: HeadersSetterConfig) {
    this.rules = config.headers.map((h) => ({
      name: h.key.toLowerCase(),
      action: h.action,
      value: h.value || undefined,
      // from_attribute names an authenticator's attribute, which the client info holds as auth.<name>.
      fromContext: h.from_context || (h.from_attribute ? `auth.${h.from_attribute}` : undefined),
      fallback: h.default_value || undefined,
    }));
  }

  async start(): Promise<void> {}
  async shutdown(): Promise<void> {}

  applyHeaders(headers: Record<string, string>, meta: RequestMeta | undefined): void {
    for (const r of this.rules) {
      if (r.action === 'delete') {
        delete headers[r.name];
        continue;
      }
      const value = r.value ?? clientInfoValue(meta, r.fromContext!) ?? r.fallback;
      if (value === undefined) continue;
      const present = r.name in headers;
      if ((r.action === 'insert' && present) || (r.action === 'update' && !present)) continue;
      headers[r.name] = value;
    }
  }
}
