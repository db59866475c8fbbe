/**
 * Certificates made at test time with Debian's `openssl` (src/tools/certs.ts): the standard set TLS tests
 * need, including the bad cases (expired, wrong name, another CA).
 */
import { CertFactory, type CertFiles } from '../../src/tools/certs.js';

export { CertFactory, type CertFiles, type LeafOptions } from '../../src/tools/certs.js';

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
