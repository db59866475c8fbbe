import { s, type ConfigOf } from '../../src/core/schema.js';
import { tlsClientSchema } from '../../src/confighelper/tls-config.js';

export const oauth2ClientConfig = s.refine(
  s.object({
    client_id: s.string().default('').describe('The client identifier issued by the authorization server.'),
    client_id_file: s.string().default('').describe('File holding client_id (read at each token request, so a rotated file is used). Takes precedence.'),
    client_secret: s.string().default('').opaque().describe('The client secret. Masked in print-config.'),
    client_secret_file: s.string().default('').describe('File holding client_secret (read at each token request). Takes precedence.'),
    token_url: s
      .string(/^$|^https?:\/\/\S+$/, 'an http:// or https:// URL')
      .default('')
      .describe("The authorization server's token endpoint."),
    scopes: s.array(s.string()).default([]).describe('Scopes asked for (sent space-separated as `scope`).'),
    endpoint_params: s.map(s.array(s.string())).default({}).describe('More form parameters of the token request, such as `audience`.'),
    tls: tlsClientSchema().describe('TLS settings of the connection to token_url (an https:// URL).'),
    timeout: s.duration().default(0).describe('Bound of one token request; 0 is none (as the collector), though a request never blocks an export.'),
    expiry_buffer: s.duration().default(300_000).describe('A token is renewed this long before it expires.'),
  }),
  (v, path, issues) => {
    if (!v.client_id && !v.client_id_file) issues.push({ path: [...path, 'client_id'], message: 'no client_id: set client_id or client_id_file' });
    if (!v.client_secret && !v.client_secret_file)
      issues.push({ path: [...path, 'client_secret'], message: 'no client_secret: set client_secret or client_secret_file' });
    if (!v.token_url) issues.push({ path: [...path, 'token_url'], message: "no token_url: set the authorization server's token endpoint" });
  },
);

export type OAuth2ClientConfig = ConfigOf<typeof oauth2ClientConfig>;
