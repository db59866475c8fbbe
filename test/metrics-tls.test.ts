/**
 * The self-metrics endpoint and status page over TLS (`service.telemetry.metrics.tls`, the receivers'
 * shared TLS server settings) in both forms of the metrics address: the collector's pull reader
 * (`readers: - pull: exporter: prometheus: host/port`) and `address`. Certificates made at test time with
 * openssl. An HTTPS client with the CA gets /metrics, /status and /status.json; a plaintext client and a
 * client without the CA are refused and the endpoint goes on serving; a rotated certificate is served
 * after reload_interval; with client_ca_file a client without a certificate is refused.
 */
import https from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../src/components.js';
import { formatProblem, loadConfigFiles } from '../src/config/load.js';
import { validateConfig } from '../src/config/validate.js';
import type { Service } from '../src/service/service.js';
import { hasOpenssl, makeCertSet, rotatableServerCert, rotateAndAwaitNewSerial, type CertSet } from './helpers/certs.js';
import { startGateway } from './helpers/gateway.js';
import { gatewayYaml, LOGS_TO_DEBUG } from './helpers/configs.js';

const openssl = hasOpenssl('the self-metrics TLS tests (certificates made at test time)');
let certs: CertSet;
beforeAll(() => {
  if (openssl) certs = makeCertSet();
});
afterAll(() => certs?.factory.cleanup());

interface Reply {
  status: number;
  type: string | undefined;
  body: string;
  serial: string;
}

function get(address: string, path: string, opts: https.RequestOptions = {}): Promise<Reply> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = https.get({ host, port, path, agent: false, ca: certs.ca.cert, ...opts }, (res) => {
      const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body, serial }));
    });
    req.on('error', reject);
  });
}

/** OTLP/HTTP into debug, with `metrics` as service.telemetry.metrics. */
const gatewayConfig = (metrics: Record<string, unknown>): string => gatewayYaml({ ...LOGS_TO_DEBUG, service: { telemetry: { metrics } } });

describe.runIf(openssl)('self-metrics over TLS: the pull reader form', () => {
  let gw: Service;
  let files: { certFile: string; keyFile: string };
  beforeAll(async () => {
    files = rotatableServerCert(certs, 'metrics');
    gw = await startGateway(
      gatewayConfig({
        readers: [{ pull: { exporter: { prometheus: { host: '127.0.0.1', port: 0 } } } }],
        tls: { cert_file: files.certFile, key_file: files.keyFile, reload_interval: '100ms' },
      }),
    );
  });
  afterAll(async () => {
    await gw.shutdown(2000);
  });

  it('serves /metrics, /status and /status.json to an HTTPS client that trusts the CA', async () => {
    const metrics = await get(gw.metricsAddress!, '/metrics');
    expect(metrics.status).toBe(200);
    // A reader given in the config names as the current collector's does: bare (test/metric-names.test.ts).
    expect(metrics.body).toContain('# TYPE otelcol_process_uptime ');
    const page = await get(gw.metricsAddress!, '/status');
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
    // The page polls status.json relatively, so it works over whichever scheme served it.
    expect(page.body).toContain("fetch('status.json");
    const json = await get(gw.metricsAddress!, '/status.json');
    expect(json.status).toBe(200);
    expect(JSON.parse(json.body)).toHaveProperty('zone');
  });

  it('refuses a plaintext client and a client without the CA, and goes on serving', async () => {
    const plain = await fetch(`http://${gw.metricsAddress}/metrics`).then(
      (r) => `HTTP ${r.status}`,
      (e: Error) => `refused: ${e.message}`,
    );
    expect(plain).toMatch(/^refused/);
    const untrusted = await get(gw.metricsAddress!, '/metrics', { ca: certs.otherCa.cert }).then(
      (r) => `HTTP ${r.status}`,
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect(untrusted).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect((await get(gw.metricsAddress!, '/metrics')).status).toBe(200);
  });

  it('serves a certificate rotated on disk after reload_interval, without a restart', async () => {
    const { before, after } = await rotateAndAwaitNewSerial(certs, files, async () => (await get(gw.metricsAddress!, '/metrics')).serial);
    expect(after).not.toBe(before);
    expect((await get(gw.metricsAddress!, '/metrics')).serial).toBe(after);
  });
});

describe.runIf(openssl)('self-metrics over mutual TLS: the address form', () => {
  let gw: Service;
  beforeAll(async () => {
    gw = await startGateway(
      gatewayConfig({
        address: '127.0.0.1:0',
        tls: { cert_file: certs.server.certFile, key_file: certs.server.keyFile, client_ca_file: certs.ca.certFile },
      }),
    );
  });
  afterAll(async () => {
    await gw.shutdown(2000);
  });

  it('answers a client with a certificate the CA signed and refuses one without', async () => {
    const ok = await get(gw.metricsAddress!, '/metrics', { cert: certs.client.cert, key: certs.client.key });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('# TYPE otelcol_process_uptime ');
    const none = await get(gw.metricsAddress!, '/metrics').then(
      (r) => `HTTP ${r.status}`,
      (e: Error) => `refused: ${e.message}`,
    );
    expect(none).toMatch(/^refused: .*certificate required|^refused: socket hang up|^refused: .*ECONNRESET/);
    const other = await get(gw.metricsAddress!, '/metrics', { cert: certs.otherClient.cert, key: certs.otherClient.key }).then(
      (r) => `HTTP ${r.status}`,
      (e: Error) => `refused: ${e.message}`,
    );
    expect(other).toMatch(/^refused/);
  });
});

describe('service.telemetry.metrics.tls config', () => {
  it('a tls section without a certificate is refused with its key path', async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'gs-metrics-tls-'));
    const file = join(dir, 'config.yaml');
    await writeFile(file, gatewayConfig({ address: '127.0.0.1:0', tls: { min_version: '1.3' } }));
    const result = validateConfig(await loadConfigFiles([file], [], {}), createRegistry());
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.problems.map(formatProblem).join('\n')).toMatch(/service\.telemetry\.metrics\.tls\.cert_file.*a TLS server needs a certificate/);
  });
});
