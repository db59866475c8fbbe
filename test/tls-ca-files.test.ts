/**
 * A CA file that holds no certificate (a key, a DER file, an empty or truncated file). Node skips what it
 * cannot parse in `ca`, so such a file used to leave nothing trusted: the receiver started and then
 * refused every mTLS client as "not signed by tls.client_ca_file", and an exporter failed every send with
 * "unknown CA; add its CA to tls.ca_file" although the CA was the file configured. The collector refuses
 * such a file at start; so does the gateway, naming the key and the file.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodedError } from '../src/core/errors.js';
import type { ConfigIssue } from '../src/core/schema.js';
import { otlpReceiverConfig } from '../receivers/otlp/config.js';
import { OtlpReceiver, otlpReceiverFactory } from '../receivers/otlp/factory.js';
import { otlpExporterConfig } from '../exporters/otlp/config.js';
import { otlpExporterFactory } from '../exporters/otlp/factory.js';
import { otlphttpExporterConfig } from '../exporters/otlphttp/config.js';
import { otlphttpExporterFactory } from '../exporters/otlphttp/factory.js';
import type { Exporter } from '../src/core/component.js';
import { testHost } from './helpers/host.js';
import { hasOpenssl, makeCertSet, type CertSet } from './helpers/certs.js';
import { RecordingConsumer, testSettings } from './helpers/otlp-test-servers.js';

const openssl = hasOpenssl('the CA file checks (certificates made at test time)');
let certs: CertSet;
let notPem: string;
let badBlock: string;

beforeAll(() => {
  if (!openssl) return;
  certs = makeCertSet();
  notPem = join(certs.factory.dir, 'not-a-ca.pem');
  writeFileSync(notPem, 'this is not a certificate\n');
  badBlock = join(certs.factory.dir, 'bad-block.pem');
  writeFileSync(badBlock, `${certs.ca.cert.toString()}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`);
});
afterAll(() => certs?.factory.cleanup());

function parse<T>(schema: { parse(v: unknown, p: string[], i: ConfigIssue[]): T }, raw: unknown): T {
  const issues: ConfigIssue[] = [];
  const cfg = schema.parse(raw, [], issues);
  expect(issues).toEqual([]);
  return cfg;
}

async function failureOf(start: Promise<void>): Promise<CodedError | undefined> {
  return start.then(
    () => undefined,
    (err: unknown) => err as CodedError,
  );
}

describe.runIf(openssl)('a CA file without a usable certificate fails the start, naming the key and the file', () => {
  it('receiver: client_ca_file that is not PEM, or holds a certificate that cannot be read', async () => {
    for (const [file, reason] of [
      [() => notPem, /holds no PEM certificate/],
      [() => badBlock, /certificate 2 of .*bad-block\.pem cannot be read/],
    ] as const) {
      const cfg = parse(otlpReceiverConfig, {
        protocols: { grpc: { endpoint: '127.0.0.1:0', tls: { cert_file: certs.server.certFile, key_file: certs.server.keyFile, client_ca_file: file() } } },
      });
      const receiver = otlpReceiverFactory.create(testSettings('otlp', 'receiver'), cfg, { logs: new RecordingConsumer() }) as OtlpReceiver;
      const failure = await failureOf(receiver.start(testHost({ onFatal: () => {} })));
      await receiver.shutdown();
      expect(failure?.message).toMatch(/protocols\.grpc\.tls\.client_ca_file: /);
      expect(failure?.message).toContain(file());
      expect(failure?.message).toMatch(reason);
      expect(failure?.code).toBe('GS_TLS_INVALID');
    }
  });

  it('otlp and otlphttp exporters: ca_file that is not PEM; ca_pem likewise; a good CA still starts', async () => {
    const cases: [string, Record<string, unknown>, RegExp | undefined][] = [
      ['otlp', { ca_file: notPem }, /tls\.ca_file: .*not-a-ca\.pem holds no PEM certificate/],
      ['otlphttp', { ca_file: notPem }, /tls\.ca_file: .*not-a-ca\.pem holds no PEM certificate/],
      ['otlphttp', { ca_pem: 'not a certificate' }, /tls\.ca_pem: the inline PEM holds no PEM certificate/],
      ['otlp', { ca_file: certs.ca.certFile }, undefined],
    ];
    for (const [kind, tlsSection, reason] of cases) {
      const exporter = (
        kind === 'otlp'
          ? otlpExporterFactory.create(testSettings('otlp'), parse(otlpExporterConfig, { endpoint: '127.0.0.1:1', tls: tlsSection }))
          : otlphttpExporterFactory.create(testSettings('otlphttp'), parse(otlphttpExporterConfig, { endpoint: 'https://127.0.0.1:1', tls: tlsSection }))
      ) as Exporter;
      const failure = await failureOf(exporter.start(testHost()));
      await exporter.shutdown();
      if (reason === undefined) expect(failure).toBeUndefined();
      else {
        expect(failure?.message).toMatch(reason);
        expect(failure?.code).toBe('GS_TLS_INVALID');
      }
    }
  });
});
