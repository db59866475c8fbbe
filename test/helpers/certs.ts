/**
 * Certificates made at test time with Debian's `openssl` (src/tools/certs.ts): the standard set TLS tests
 * need, including the bad cases (expired, wrong name, another CA).
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertFactory, type CertFiles } from '../../src/tools/certs.js';
import { systemProgram } from './system-package.js';

export { CertFactory, type CertFiles, type LeafOptions } from '../../src/tools/certs.js';

/**
 * Whether Debian's openssl can make this test's certificates (test/helpers/system-package.ts: mandatory under
 * CI=true; elsewhere a printed line names the package and the tests needing certificates are skipped).
 */
export function hasOpenssl(what: string): boolean {
  return systemProgram('/usr/bin/openssl', 'openssl', what);
}

/** The standard set most TLS tests need: a CA, a server certificate (127.0.0.1), a client certificate, and the bad cases. */
export interface CertSet {
  factory: CertFactory;
  ca: CertFiles;
  server: CertFiles;
  client: CertFiles;
  /** A server certificate that expired yesterday (same CA). */
  expiredServer: CertFiles;
  /** A server certificate for another name only (same CA). */
  wrongNameServer: CertFiles;
  /** A CA the gateway does not trust, and a server and a client certificate it signed. */
  otherCa: CertFiles;
  otherServer: CertFiles;
  otherClient: CertFiles;
  expiredClient: CertFiles;
}

export function makeCertSet(): CertSet {
  const factory = new CertFactory();
  const ca = factory.ca('ca');
  const otherCa = factory.ca('other-ca');
  return {
    factory,
    ca,
    server: factory.server('server', ca),
    client: factory.client('client', ca),
    expiredServer: factory.server('expired-server', ca, { days: -1 }),
    wrongNameServer: factory.server('wrong-name-server', ca, { cn: 'elsewhere.example', san: ['DNS:elsewhere.example'] }),
    otherCa,
    otherServer: factory.server('other-server', otherCa),
    otherClient: factory.client('other-client', otherCa),
    expiredClient: factory.client('expired-client', ca, { days: -1 }),
  };
}

/** A server's certificate and key copied to files of their own, which a test can later overwrite (rotate). */
export function rotatableServerCert(set: CertSet, name: string): { certFile: string; keyFile: string } {
  const certFile = join(set.factory.dir, `${name}.crt`);
  const keyFile = join(set.factory.dir, `${name}.key`);
  copyFileSync(set.server.certFile, certFile);
  copyFileSync(set.server.keyFile, keyFile);
  return { certFile, keyFile };
}

/**
 * Writes a new certificate from the same CA over `files` (key first, as a renewal would) and polls
 * `serialOf` (the serial a new connection is served) until it changes or 5 s pass; returns both serials.
 */
export async function rotateAndAwaitNewSerial(
  set: CertSet,
  files: { certFile: string; keyFile: string },
  serialOf: () => Promise<string>,
): Promise<{ before: string; after: string }> {
  const before = await serialOf();
  const next = set.factory.server(`${files.certFile.replace(/^.*\//, '')}-next`, set.ca);
  copyFileSync(next.keyFile, files.keyFile);
  copyFileSync(next.certFile, files.certFile);
  const deadline = Date.now() + 5000;
  let after = before;
  while (after === before && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    after = await serialOf();
  }
  return { before, after };
}
