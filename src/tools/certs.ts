/**
 * Certificates made on demand with Debian's `openssl` CLI, for tests and benchmarks: a CA, leaf
 * certificates it signs (server ones with IP/DNS SANs, client ones for mTLS), expired ones. EC P-256 keys
 * keep generation fast (a few ms each). test/helpers/certs.ts builds the standard test set on it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  /** PEM file paths. */
  certFile: string;
  keyFile: string;
  /** The same PEM contents. */
  cert: Buffer;
  key: Buffer;
}

export interface LeafOptions {
  /** Subject common name. */
  cn: string;
  /** Subject alternative names, e.g. ['IP:127.0.0.1', 'DNS:localhost']. */
  san?: string[];
  /** Validity in days; negative makes a certificate that has already expired. */
  days?: number;
  /** Extended key usage: serverAuth (default) or clientAuth. */
  usage?: 'server' | 'client';
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function read(dir: string, base: string): CertFiles {
  const certFile = join(dir, `${base}.crt`);
  const keyFile = join(dir, `${base}.key`);
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

/** A directory of certificates; `cleanup()` removes it. */
export class CertFactory {
  readonly dir: string;
  private serial = 1;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'gophership-certs-'));
  }

  /** A self-signed CA certificate (valid for 2 days). */
  ca(name: string): CertFiles {
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      this.dir,
    );
    return read(this.dir, name);
  }

  /** A leaf certificate named `name`, signed by `ca`. */
  leaf(name: string, ca: CertFiles, opts: LeafOptions): CertFiles {
    openssl(
      ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${opts.cn}`],
      this.dir,
    );
    const ext = [`extendedKeyUsage=${opts.usage === 'client' ? 'clientAuth' : 'serverAuth'}`, 'basicConstraints=CA:FALSE'];
    if (opts.san && opts.san.length > 0) ext.push(`subjectAltName=${opts.san.join(',')}`);
    writeFileSync(join(this.dir, `${name}.ext`), ext.join('\n') + '\n');
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        ca.certFile,
        '-CAkey',
        ca.keyFile,
        '-set_serial',
        String(this.serial++),
        '-out',
        `${name}.crt`,
        '-days',
        String(opts.days ?? 2),
        '-extfile',
        `${name}.ext`,
      ],
      this.dir,
    );
    return read(this.dir, name);
  }

  /** A server certificate for 127.0.0.1 and localhost. */
  server(name: string, ca: CertFiles, opts: Partial<LeafOptions> = {}): CertFiles {
    return this.leaf(name, ca, { cn: opts.cn ?? 'localhost', san: opts.san ?? ['IP:127.0.0.1', 'DNS:localhost'], days: opts.days, usage: 'server' });
  }

  /** A client certificate for mTLS. */
  client(name: string, ca: CertFiles, opts: Partial<LeafOptions> = {}): CertFiles {
    return this.leaf(name, ca, { cn: opts.cn ?? name, san: opts.san, days: opts.days, usage: 'client' });
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
