/**
 * The health endpoint over HTTPS (the shared TLS server settings): a client trusting the CA gets the
 * status; a plaintext client does not; a certificate rotated on disk is served after reload_interval.
 */
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigIssue } from '../../src/core/schema.js';
import { hasOpenssl, makeCertSet, rotatableServerCert, rotateAndAwaitNewSerial, type CertSet } from '../../test/helpers/certs.js';
import { testSettings } from '../../test/helpers/otlp-test-servers.js';
import { healthCheckConfig } from './config.js';
import { HealthCheckExtension } from './health-check.js';

const openssl = hasOpenssl('the health_check TLS test (certificates made at test time)');
let certs: CertSet;
beforeAll(() => {
  if (openssl) certs = makeCertSet();
});
afterAll(() => certs?.factory.cleanup());

function get(port: number, ca: Buffer): Promise<{ status: number; serial: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/', ca, agent: false }, (res) => {
      const serial = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().serialNumber;
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, serial, body }));
    });
    req.on('error', reject);
  });
}

describe.runIf(openssl)('health_check over TLS', () => {
  it('answers HTTPS clients that trust the CA, refuses plaintext, and picks up a rotated certificate', async () => {
    const files = rotatableServerCert(certs, 'health');
    const issues: ConfigIssue[] = [];
    const cfg = healthCheckConfig.parse(
      { endpoint: '127.0.0.1:0', tls: { cert_file: files.certFile, key_file: files.keyFile, reload_interval: '100ms' } },
      [],
      issues,
    );
    expect(issues).toEqual([]);
    const settings = testSettings('health_check', 'extension');
    const ext = new HealthCheckExtension(settings, cfg);
    await ext.start();
    try {
      const first = await get(ext.port!, certs.ca.cert);
      expect(first.status).toBe(503); // the telemetry's health is still 'starting'
      expect(JSON.parse(first.body).status).toBe('Server starting');
      const plain = await fetch(`http://127.0.0.1:${ext.port}/`).then(
        (r) => r.status,
        (e: Error) => e.message,
      );
      expect(plain).not.toBe(503);
      const { before, after } = await rotateAndAwaitNewSerial(certs, files, async () => (await get(ext.port!, certs.ca.cert)).serial);
      expect(before).toBe(first.serial);
      expect(after).not.toBe(before);
    } finally {
      await ext.shutdown();
    }
  });
});
