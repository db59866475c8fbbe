import { notYetKeys, s, type ConfigIssue, type ConfigOf } from '../../src/core/schema.js';

const providerShape = {
  issuer_url: s
    .string(/^https?:\/\/\S+$/, 'an http(s):// URL')
    .default('')
    .describe('The issuer: tokens must carry it as `iss`; its keys come from <issuer_url>/.well-known/openid-configuration.'),
  audience: s.string().default('').describe('The `aud` a token must carry (required unless ignore_audience).'),
  ignore_audience: s.bool().default(false).describe('Accept tokens for any audience.'),
  issuer_ca_path: s.string().default('').describe("PEM CA file to verify the issuer's TLS certificate (default: system roots)."),
  username_claim: s.string().default('').describe('Claim naming the caller (auth.subject), instead of `sub`.'),
  groups_claim: s.string().default('').describe("Claim holding the caller's groups (auth.membership, joined with `;`)."),
};

const providerSchema = s.object({
  ...providerShape,
  ...notYetKeys({
    ignore_issuer: 'skips checking the iss claim against issuer_url',
    public_keys_file: "verifies tokens with a local JWKS file instead of the issuer's published keys",
  }),
});

function checkProvider(p: { issuer_url: string; audience: string; ignore_audience: boolean }, path: string[], issues: ConfigIssue[]): void {
  if (!p.issuer_url) issues.push({ path: [...path, 'issuer_url'], message: 'is required' });
  if (!p.audience && !p.ignore_audience) issues.push({ path: [...path, 'audience'], message: 'is required (or set ignore_audience: true)' });
}

export const oidcConfig = s.refine(
  s.object({
    attribute: s.string().default('authorization').describe('Header (gRPC metadata key) carrying `Bearer <JWT>`.'),
    ...providerShape,
    providers: s.array(providerSchema).default([]).describe('Several issuers, each with the keys above; a token is checked against the one its `iss` names.'),
  }),
  (v, path, issues) => {
    const legacy = v.issuer_url || v.audience || v.issuer_ca_path || v.username_claim || v.groups_claim;
    if (legacy || v.providers.length === 0) checkProvider(v, path, issues);
    v.providers.forEach((p, i) => checkProvider(p, [...path, 'providers', String(i)], issues));
    const issuers = [...(legacy ? [v.issuer_url] : []), ...v.providers.map((p) => p.issuer_url)];
    if (new Set(issuers).size !== issuers.length) issues.push({ path: [...path, 'providers'], message: 'an issuer_url is listed twice' });
  },
);

export type OidcConfig = ConfigOf<typeof oidcConfig>;
export type OidcProviderConfig = ConfigOf<typeof providerSchema>;

/** The providers of a config: the top-level keys (when set) first, then `providers`. */
export function providersOf(c: OidcConfig): OidcProviderConfig[] {
  const legacy = c.issuer_url
    ? [
        {
          issuer_url: c.issuer_url,
          audience: c.audience,
          ignore_audience: c.ignore_audience,
          issuer_ca_path: c.issuer_ca_path,
          username_claim: c.username_claim,
          groups_claim: c.groups_claim,
          ignore_issuer: undefined,
          public_keys_file: undefined,
        },
      ]
    : [];
  return [...legacy, ...c.providers];
}
