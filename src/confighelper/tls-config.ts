/**
 * TLS settings with the collector's keys (config/configtls), one schema for every component: the server
 * side (otlp receiver, health_check, self-metrics) and the client side (otlp and otlphttp exporters).
 * Certificates and keys come from files (`*_file`) or inline PEM (`*_pem`).
 */
import { s, type ConfigIssue, type ConfigOf } from '../core/schema.js';

export const TLS_VERSIONS = ['1.0', '1.1', '1.2', '1.3'] as const;
export type TlsVersionName = (typeof TLS_VERSIONS)[number];

const versionKey = (description: string, defaultValue: string) =>
  s
    .string(/^(1\.[0-3])?$/, 'a TLS version: 1.0, 1.1, 1.2 or 1.3')
    .default(defaultValue)
    .describe(description);

/** The keys both sides share (configtls.Config). */
function commonShape() {
  return {
    ca_file: s.string().default('').describe('PEM file of CA certificates to verify the peer (client side: the server; default the system roots).'),
    ca_pem: s.string().default('').describe('CA certificates as inline PEM (instead of ca_file).'),
    cert_file: s.string().default('').describe("PEM file of this side's certificate (server: required; client: for mutual TLS)."),
    cert_pem: s.string().default('').describe("This side's certificate as inline PEM (instead of cert_file)."),
    key_file: s.string().default('').describe('PEM file of the private key of cert_file / cert_pem.'),
    key_pem: s.string().default('').opaque().describe('The private key as inline PEM (instead of key_file); masked by print-config.'),
    min_version: versionKey('Lowest TLS version accepted: 1.0, 1.1, 1.2 or 1.3.', '1.2'),
    max_version: versionKey('Highest TLS version accepted (empty: the newest Node supports, 1.3).', ''),
    include_system_ca_certs_pool: s.bool().default(false).describe('Trust the system roots as well as ca_file / ca_pem.'),
    cipher_suites: s.notYet('restricts the TLS 1.2 cipher suites offered; Node uses its defaults'),
    curve_preferences: s.notYet('orders the elliptic curves offered; Node uses its defaults'),
    tpm: s.notYet('reads the private key from a TPM; give it as key_file or key_pem', { enabled: false }),
  };
}

function checkPairs(
  v: { cert_file: string; cert_pem: string; key_file: string; key_pem: string; ca_file: string; ca_pem: string; min_version: string; max_version: string },
  path: string[],
  issues: ConfigIssue[],
): void {
  if (v.cert_file && v.cert_pem) issues.push({ path: [...path, 'cert_pem'], message: 'set cert_file or cert_pem, not both' });
  if (v.key_file && v.key_pem) issues.push({ path: [...path, 'key_pem'], message: 'set key_file or key_pem, not both' });
  if (v.ca_file && v.ca_pem) issues.push({ path: [...path, 'ca_pem'], message: 'set ca_file or ca_pem, not both' });
  const hasCert = !!(v.cert_file || v.cert_pem);
  const hasKey = !!(v.key_file || v.key_pem);
  if (hasCert !== hasKey) issues.push({ path, message: 'a certificate (cert_file / cert_pem) and its key (key_file / key_pem) must be set together' });
  if (v.min_version && v.max_version && TLS_VERSIONS.indexOf(v.min_version as TlsVersionName) > TLS_VERSIONS.indexOf(v.max_version as TlsVersionName)) {
    issues.push({ path: [...path, 'max_version'], message: `max_version ${v.max_version} is below min_version ${v.min_version}` });
  }
}

/** Server side (configtls.ServerConfig): present means the endpoint serves TLS only. A new schema per use (describe() sets its text). */
export const tlsServerSchema = () =>
  s.refine(
    s.object({
      ...commonShape(),
      client_ca_file: s
        .string()
        .default('')
        .describe(
          'PEM file of the CAs that sign client certificates: set, every client must present a certificate one of them signed (mutual TLS), others are refused in the handshake.',
        ),
      client_ca_file_reload: s
        .bool()
        .default(false)
        .describe('Re-read client_ca_file when it changes (checked every reload_interval, or every 10s when that is unset).'),
      reload_interval: s
        .duration()
        .default(0)
        .describe('Re-read the certificate, key and CA files this often and serve the new ones from the next handshake on, without a restart (0: never).'),
    }),
    (v, path, issues) => {
      checkPairs(v, path, issues);
      if (!v.cert_file && !v.cert_pem)
        issues.push({
          path: [...path, 'cert_file'],
          message: 'a TLS server needs a certificate: set cert_file and key_file (or cert_pem and key_pem), or remove the tls section to serve plaintext',
        });
    },
  );

/** Client side (configtls.ClientConfig), the same keys for every exporter. */
export const tlsClientSchema = () =>
  s.refine(
    s.object({
      ...commonShape(),
      insecure: s
        .bool()
        .default(false)
        .describe(
          "gRPC: connect in plaintext (no TLS), unless ca_file or ca_pem is set (then TLS, as configtls). HTTP: the URL's scheme decides (http:// is plaintext), as in the collector; accepted so one tls section fits both exporters.",
        ),
      insecure_skip_verify: s.bool().default(false).describe('Use TLS but accept any server certificate (testing only: anyone on the path can read the data).'),
      server_name_override: s.string().default('').describe("Name to verify in the server certificate (and to send as SNI) instead of the endpoint's host."),
      reload_interval: s.notYet('re-reads client certificates on an interval; they are read when the exporter starts', 0, '0s'),
    }),
    (v, path, issues) => checkPairs(v, path, issues),
  );

export type TlsServerConfig = ConfigOf<ReturnType<typeof tlsServerSchema>>;
export type TlsClientConfig = ConfigOf<ReturnType<typeof tlsClientSchema>>;
