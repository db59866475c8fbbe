/**
 * Turns the TLS settings into Node's TLS options: the server's secure context (re-read on an interval, so
 * certificates rotated on disk are served from the next handshake on), the client's connection options,
 * and errors that say which certificate check failed and what to do.
 */
import { X509Certificate, constants as cryptoConstants } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import { CodedError, messageOf } from '../core/errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { TlsClientConfig, TlsServerConfig, TlsVersionName } from './tls-config.js';

const NODE_VERSION: Record<TlsVersionName, tls.SecureVersion> = { '1.0': 'TLSv1', '1.1': 'TLSv1.1', '1.2': 'TLSv1.2', '1.3': 'TLSv1.3' };

/** How often the client CA file is checked when `client_ca_file_reload` is set without a reload_interval. */
const CLIENT_CA_RELOAD_MS = 10_000;

async function pemOf(file: string, inline: string, key: string): Promise<Buffer | undefined> {
  if (inline) return Buffer.from(inline);
  if (!file) return undefined;
  try {
    return await readFile(file);
  } catch (err) {
    throw new CodedError(
      'GS_FILE_UNREADABLE',
      `${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}; check the path and that the gateway may read it`,
      {
        cause: err,
      },
    );
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * Checks that a CA file holds certificates: Node silently skips what it cannot parse in `ca`, so a wrong
 * file (a key, a DER file, an empty one) would leave nothing trusted and every handshake failing with
 * "unknown CA" long after start. The collector refuses such a file at start; so does the gateway.
 */
export function checkCaPem(pem: Buffer | undefined, key: string, source: string): void {
  if (pem === undefined) return;
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0)
    throw new CodedError('GS_TLS_INVALID', `${key}: ${source} holds no PEM certificate (-----BEGIN CERTIFICATE-----); give the CA certificate(s) in PEM`);
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new CodedError('GS_TLS_INVALID', `${key}: certificate ${i + 1} of ${source} cannot be read: ${messageOf(err)}; give the CA certificate(s) in PEM`, {
        cause: err,
      });
    }
  });
}

function versions(cfg: { min_version: string; max_version: string }): Pick<tls.SecureContextOptions, 'minVersion' | 'maxVersion'> {
  return {
    minVersion: NODE_VERSION[(cfg.min_version || '1.2') as TlsVersionName],
    ...(cfg.max_version ? { maxVersion: NODE_VERSION[cfg.max_version as TlsVersionName] } : {}),
  };
}

function withSystemRoots(ca: Buffer | undefined, include: boolean): (string | Buffer)[] | Buffer | undefined {
  if (!ca || !include) return ca;
  return [ca, ...tls.rootCertificates];
}

/**
 * TLS 1.3's suites in the collector's order (Go's crypto/tls on hardware with AES): AES-128-GCM, then
 * AES-256-GCM, then ChaCha20-Poly1305. Node's own order puts AES-256-GCM first; AES-128-GCM runs 10
 * rounds to its 14, ~10 % less CPU per byte with Node's OpenSSL here, and every byte in and out of a TLS
 * gateway pays it (bench/RESULTS.md, issue 18). The TLS 1.2 list stays Node's default (which already puts
 * the AES-128-GCM suites first); Node's --tls-cipher-list, when given, is reordered the same way, not widened.
 */
const TLS13_ORDER = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

/** Node's default cipher list with TLS 1.3's suites in the collector's order (those the default has). */
export function collectorCipherOrder(defaults: string = tls.DEFAULT_CIPHERS): string {
  const names = defaults.split(':');
  return [...TLS13_ORDER.filter((n) => names.includes(n)), ...names.filter((n) => !TLS13_ORDER.includes(n))].join(':');
}

/**
 * The server picks the suite, in that order, as the collector's Go server does; except that a client
 * listing ChaCha20-Poly1305 first (one without AES hardware) gets it (OpenSSL's PRIORITIZE_CHACHA, Go's rule too).
 */
function serverSuiteOptions(): Pick<tls.SecureContextOptions, 'ciphers' | 'honorCipherOrder' | 'secureOptions'> {
  return { ciphers: collectorCipherOrder(), honorCipherOrder: true, secureOptions: cryptoConstants.SSL_OP_PRIORITIZE_CHACHA };
}

/** The server's TLS options: its certificate and key, and for mutual TLS the client CAs (clients without a certificate they signed are refused). */
export async function loadServerTls(cfg: TlsServerConfig, keyPath: string): Promise<tls.SecureContextOptions & tls.TlsOptions> {
  const [cert, key, clientCa] = await Promise.all([
    pemOf(cfg.cert_file, cfg.cert_pem, `${keyPath}.cert_file`),
    pemOf(cfg.key_file, cfg.key_pem, `${keyPath}.key_file`),
    pemOf(cfg.client_ca_file, '', `${keyPath}.client_ca_file`),
  ]);
  checkCaPem(clientCa, `${keyPath}.client_ca_file`, cfg.client_ca_file);
  const opts: tls.SecureContextOptions & tls.TlsOptions = { cert, key, ...versions(cfg), ...serverSuiteOptions() };
  if (clientCa) {
    opts.ca = withSystemRoots(clientCa, cfg.include_system_ca_certs_pool);
    opts.requestCert = true;
    opts.rejectUnauthorized = true;
  }
  try {
    // Fails here (at start) on a key that does not match its certificate, or PEM that is not PEM.
    tls.createSecureContext(opts);
  } catch (err) {
    throw new CodedError(
      'GS_TLS_INVALID',
      `${keyPath}: the certificate (${cfg.cert_file || 'cert_pem'}) or its key (${cfg.key_file || 'key_pem'}) cannot be used: ${messageOf(err)}; check that key_file is the private key of cert_file, both PEM`,
      {
        cause: err,
      },
    );
  }
  return opts;
}

/**
 * Re-reads a TLS server's files every `reload_interval` and, when they changed, serves the new ones from
 * the next handshake on (connections already open keep theirs). A file that cannot be read or used is
 * logged and the current certificate kept.
 */
export class ServerTlsReloader {
  private timer: NodeJS.Timeout | undefined;
  private last: string;

  constructor(
    private readonly cfg: TlsServerConfig,
    private readonly keyPath: string,
    private readonly servers: () => readonly tls.Server[],
    private readonly logger: Logger,
    current: tls.SecureContextOptions,
  ) {
    this.last = fingerprint(current);
  }

  start(): void {
    const interval = this.cfg.reload_interval || (this.cfg.client_ca_file_reload && this.cfg.client_ca_file ? CLIENT_CA_RELOAD_MS : 0);
    if (interval <= 0) return;
    this.timer = setInterval(() => void this.check(), interval);
    this.timer.unref();
  }

  /** Loads the files again and applies them if they changed; resolves true when it applied new ones. */
  async check(): Promise<boolean> {
    let next: tls.SecureContextOptions;
    try {
      next = await loadServerTls(this.cfg, this.keyPath);
    } catch (err) {
      this.logger.warn('TLS certificate reload failed; still serving the previous certificate', { error: messageOf(err) });
      return false;
    }
    const print = fingerprint(next);
    if (print === this.last) return false;
    this.last = print;
    for (const server of this.servers()) server.setSecureContext(next);
    this.logger.info('TLS certificate reloaded', { key: this.keyPath });
    return true;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

function fingerprint(o: tls.SecureContextOptions): string {
  const part = (v: unknown): string => (v === undefined ? '' : Array.isArray(v) ? v.map(part).join('|') : String(v));
  return `${part(o.cert)}\n${part(o.key)}\n${part(o.ca)}`;
}

/** What the server logs for a failed handshake: the client's address and OpenSSL's reason. */
export function describeClientHandshakeError(err: Error & { code?: string }, socket: { remoteAddress?: string }): string {
  const who = socket.remoteAddress ?? 'a client';
  const text = err.message.replace(/^.*routines:/, '').replace(/:.*$/, '');
  if (/peer did not return a certificate|certificate required/i.test(err.message))
    return `${who} presented no client certificate (this endpoint requires one signed by tls.client_ca_file)`;
  if (/certificate verify failed|unknown ca|bad certificate|certificate expired/i.test(err.message))
    return `${who} presented a client certificate that failed verification (${text}): expired, or not signed by tls.client_ca_file`;
  if (/wrong version number|http request/i.test(err.message)) return `${who} did not speak TLS (a plaintext client on a TLS endpoint)`;
  if (err.code === 'ECONNRESET' || /socket hang up/i.test(err.message))
    return `${who} closed the connection during the handshake (does it trust this server's certificate? it needs the CA that signed tls.cert_file)`;
  return `TLS handshake with ${who} failed: ${text || err.code || err.message}`;
}

/** Node's options for a TLS client connection. */
export interface ClientTlsOptions {
  ca?: Buffer | (string | Buffer)[];
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized: boolean;
  minVersion: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
  /** The suites offered, in the collector's order (collectorCipherOrder). */
  ciphers: string;
  /** Checks the server's name against server_name_override instead of the connected host. */
  checkServerIdentity?: (host: string, cert: tls.PeerCertificate) => Error | undefined;
}

export async function loadClientTls(cfg: TlsClientConfig, keyPath: string): Promise<ClientTlsOptions> {
  const [ca, cert, key] = await Promise.all([
    pemOf(cfg.ca_file, cfg.ca_pem, `${keyPath}.ca_file`),
    pemOf(cfg.cert_file, cfg.cert_pem, `${keyPath}.cert_file`),
    pemOf(cfg.key_file, cfg.key_pem, `${keyPath}.key_file`),
  ]);
  checkCaPem(ca, cfg.ca_pem ? `${keyPath}.ca_pem` : `${keyPath}.ca_file`, cfg.ca_pem ? 'the inline PEM' : cfg.ca_file);
  const v = versions(cfg);
  const opts: ClientTlsOptions = {
    ca: withSystemRoots(ca, cfg.include_system_ca_certs_pool),
    cert,
    key,
    rejectUnauthorized: !cfg.insecure_skip_verify,
    minVersion: v.minVersion!,
    ciphers: collectorCipherOrder(),
  };
  if (v.maxVersion) opts.maxVersion = v.maxVersion;
  const override = cfg.server_name_override;
  if (override) {
    // SNI cannot carry an IP address; the name is still checked against the certificate.
    if (!/^[\d.]+$|:/.test(override)) opts.servername = override;
    opts.checkServerIdentity = (_host, cert) => tls.checkServerIdentity(override, cert);
  }
  try {
    tls.createSecureContext({ ca: opts.ca, cert, key });
  } catch (err) {
    throw new CodedError(
      'GS_TLS_INVALID',
      `${keyPath}: the CA, certificate or key cannot be used: ${messageOf(err)}; check that the files are PEM and key_file is the key of cert_file`,
      { cause: err },
    );
  }
  return opts;
}

/** Certificate verification codes (OpenSSL's, as Node reports them) grouped by what the user should fix. */
const UNKNOWN_CA = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/**
 * A client-side TLS failure in words: which check failed (expired, wrong name, unknown CA, our client
 * certificate refused, not TLS at all) and the key to change. Undefined when the error is not TLS's.
 */
export function describeTlsError(err: unknown, keyPath = 'tls'): string | undefined {
  const e = err as (Error & { code?: string; reason?: string; cause?: unknown }) | undefined;
  if (!e || typeof e !== 'object') return undefined;
  const code = e.code ?? '';
  const msg = e.message ?? '';
  if (code === 'CERT_HAS_EXPIRED') return `the server's certificate has expired (CERT_HAS_EXPIRED); the server must renew it`;
  if (code === 'CERT_NOT_YET_VALID') return `the server's certificate is not valid yet (CERT_NOT_YET_VALID); check the clocks`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `the server's certificate is for another name (${e.reason ?? msg}); connect by a name it lists, or set ${keyPath}.server_name_override`;
  if (UNKNOWN_CA.has(code)) return `the server's certificate is signed by an unknown CA (${code}); add its CA to ${keyPath}.ca_file (or ca_pem)`;
  if (
    /certificate required|alert handshake failure|alert bad certificate|alert unknown ca|alert certificate expired|alert certificate unknown/i.test(msg) ||
    /ALERT_(CERTIFICATE|BAD_CERTIFICATE|UNKNOWN_CA|HANDSHAKE)/.test(code)
  ) {
    return `the server refused this client's certificate (${msg.replace(/^.*routines:/, '').replace(/:.*$/, '') || code}); set ${keyPath}.cert_file and key_file to a certificate signed by a CA the server trusts`;
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(msg))
    return `the server does not speak TLS here (${code || msg}); use a plaintext endpoint setting (${keyPath}.insecure: true, or an http:// URL)`;
  if (/protocol version|unsupported protocol|no protocols available/i.test(msg))
    return `no TLS version both sides accept (${msg}); check ${keyPath}.min_version / max_version`;
  if (e.cause !== undefined && e.cause !== err) return describeTlsError(e.cause, keyPath);
  return undefined;
}
