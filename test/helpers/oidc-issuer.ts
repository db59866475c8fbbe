/**
 * A real OIDC issuer on 127.0.0.1 for tests: discovery document and JWKS over HTTP, keys generated at
 * test time, and a signer for tokens with whatever claims a test needs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';

export interface TestIssuer {
  url: string;
  /** JWKS fetches served so far. */
  jwksFetches: number;
  sign(claims: JWTPayload, opts?: { audience?: string; expiresIn?: string | number; issuer?: string; key?: 'own' | 'foreign'; kid?: string }): Promise<string>;
  /** Generates a new signing key and publishes it (the old one stays published). */
  rotate(): Promise<void>;
  close(): Promise<void>;
}

export async function startIssuer(): Promise<TestIssuer> {
  const keys: { kid: string; privateKey: CryptoKey; jwk: object }[] = [];
  const addKey = async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const kid = `k${keys.length + 1}`;
    keys.push({ kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } });
  };
  await addKey();
  const foreign = await generateKeyPair('RS256');
  const state = { url: '', jwksFetches: 0 };
  const server = http.createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: state.url, jwks_uri: `${state.url}/jwks` }));
    } else if (req.url === '/jwks') {
      state.jwksFetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    get url() {
      return state.url;
    },
    get jwksFetches() {
      return state.jwksFetches;
    },
    async sign(claims, opts = {}) {
      const key = keys[keys.length - 1]!;
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? key.kid })
        .setIssuedAt()
        .setIssuer(opts.issuer ?? state.url)
        .setExpirationTime(opts.expiresIn ?? '5m');
      if (opts.audience !== undefined) jwt.setAudience(opts.audience);
      return jwt.sign(opts.key === 'foreign' ? foreign.privateKey : key.privateKey);
    },
    rotate: addKey,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  } as TestIssuer;
}
