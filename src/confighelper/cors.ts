/**
 * CORS for an HTTP server, as the collector's confighttp does it (rs/cors with credentials allowed):
 * a preflight from an allowed origin is answered 204 with the allowed method and headers; an actual
 * request from an allowed origin gets Access-Control-Allow-Origin. Origins may hold `*` wildcards.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { s, type ConfigOf } from '../core/schema.js';

export const corsSchema = () =>
  s.object({
    allowed_origins: s
      .array(s.string())
      .default([])
      .describe(
        'Origins allowed to send from a browser (e.g. https://*.example.com); `*` matches any run of characters, a lone `*` any origin. Empty: CORS is off.',
      ),
    allowed_headers: s
      .array(s.string())
      .default([])
      .describe(
        'Request headers a browser may send besides Accept, Accept-Language, Content-Type and Content-Language (X-Requested-With too when the list is empty); `*` allows any. Add Content-Encoding for gzip bodies.',
      ),
    exposed_headers: s
      .array(s.string())
      .default([])
      .describe('Response headers a browser script may read (Access-Control-Expose-Headers on answers to an allowed origin).'),
    max_age: s.int(0).default(0).describe('Seconds a browser may cache a preflight answer (Access-Control-Max-Age); 0 sends no header.'),
  });

export type CorsConfig = ConfigOf<ReturnType<typeof corsSchema>>;

/** The methods the collector's CORS handler allows (rs/cors' default). */
const ALLOWED_METHODS = new Set(['GET', 'POST', 'HEAD']);
const IMPLICIT_HEADERS = ['accept', 'accept-language', 'content-type', 'content-language'];

function originPattern(origin: string): RegExp {
  const escaped = origin
    .toLowerCase()
    .split('*')
    .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${escaped}$`);
}

export class CorsPolicy {
  private readonly anyOrigin: boolean;
  private readonly origins: RegExp[];
  private readonly anyHeader: boolean;
  private readonly headers: Set<string>;

  constructor(private readonly cfg: CorsConfig) {
    this.anyOrigin = cfg.allowed_origins.includes('*');
    this.origins = cfg.allowed_origins.map(originPattern);
    this.anyHeader = cfg.allowed_headers.includes('*');
    const configured = cfg.allowed_headers.map((h) => h.toLowerCase());
    this.headers = new Set([...IMPLICIT_HEADERS, ...(configured.length === 0 ? ['x-requested-with'] : configured)]);
  }

  /** CORS is on when some origin is allowed (the collector ignores a section without origins). */
  get enabled(): boolean {
    return this.origins.length > 0;
  }

  private originAllowed(origin: string): boolean {
    if (this.anyOrigin) return true;
    const o = origin.toLowerCase();
    return this.origins.some((re) => re.test(o));
  }

  /**
   * Handles CORS for one request. Returns true when it answered the request itself (a preflight); else it
   * has set the response headers an allowed origin gets, and the request goes on.
   */
  apply(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (preflight) {
      res.setHeader('vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
      const method = String(req.headers['access-control-request-method']).toUpperCase();
      const requested = (req.headers['access-control-request-headers'] ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter((h) => h !== '');
      // A preflight that is not allowed is answered without CORS headers: the browser then refuses.
      if (origin && this.originAllowed(origin) && ALLOWED_METHODS.has(method) && (this.anyHeader || requested.every((h) => this.headers.has(h)))) {
        res.setHeader('access-control-allow-origin', origin);
        res.setHeader('access-control-allow-methods', method);
        if (requested.length > 0) res.setHeader('access-control-allow-headers', requested.join(', '));
        res.setHeader('access-control-allow-credentials', 'true');
        if (this.cfg.max_age > 0) res.setHeader('access-control-max-age', String(this.cfg.max_age));
      }
      res.statusCode = 204;
      res.end();
      return true;
    }
    res.setHeader('vary', 'Origin');
    if (origin && this.originAllowed(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      if (this.cfg.exposed_headers.length > 0) res.setHeader('access-control-expose-headers', this.cfg.exposed_headers.join(', '));
      res.setHeader('access-control-allow-credentials', 'true');
    }
    return false;
  }
}
