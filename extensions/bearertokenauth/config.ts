import { s, type ConfigOf } from '../../src/core/schema.js';

export const bearerTokenAuthConfig = s.refine(
  s.object({
    header: s
      .string(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'an HTTP header name')
      .default('Authorization')
      .describe('Header (gRPC metadata key) that carries the token.'),
    scheme: s.string().default('Bearer').describe('Auth scheme before the token (`Bearer <token>`); empty sends and expects the bare token.'),
    token: s.string().default('').opaque().describe('The token (client: sent; server: accepted). Masked in print-config.'),
    tokens: s
      .array(s.string().opaque())
      .default([])
      .describe('Several accepted tokens (server; a client sends the first), e.g. during a rotation. Masked in print-config.'),
    filename: s.string().default('').describe('File holding the token(s), one per line; re-read when it changes. Takes precedence over token and tokens.'),
    file_retry: s.notYet('retries reading filename at start until it exists; the gateway fails to start on a missing file', { enabled: false }),
  }),
  (v, path, issues) => {
    if (!v.token && v.tokens.length === 0 && !v.filename) issues.push({ path, message: 'no bearer token: set token, tokens or filename' });
    if (v.token && v.tokens.length > 0) issues.push({ path: [...path, 'tokens'], message: 'set either token or tokens, not both' });
    if (v.tokens.some((t) => t === '')) issues.push({ path: [...path, 'tokens'], message: 'an empty token would accept a request with no token' });
  },
);

export type BearerTokenAuthConfig = ConfigOf<typeof bearerTokenAuthConfig>;
