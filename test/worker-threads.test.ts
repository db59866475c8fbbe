/**
 * A gateway whose attributes processor edits on worker threads (service.processing.worker_threads), fed
 * by the official SDK's OTLP/HTTP protobuf log exporter, concurrently: every record reaches the
 * downstream server edited as the config says (inserted, hashed, deleted), the edits ran
 * on the workers (the gateway's own metric says so), and the gateway shuts down with its workers.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { ExportResultCode } from '@opentelemetry/core';
import type { Service } from '../src/service/service.js';
import { decodeRequest } from '../src/pdata/codec.js';
import { countItems } from '../src/pdata/wire.js';
import { startGateway, receiverAddress } from './helpers/gateway.js';
import { makeLogs } from './helpers/sdk-data.js';
import { startHttpServer, type TestHttpServer } from './helpers/otlp-test-servers.js';
import { gatewayYaml, SELF_METRICS } from './helpers/configs.js';

let downstream: TestHttpServer;
let gateway: Service;

beforeAll(async () => {
  downstream = await startHttpServer();
  gateway = await startGateway(
    gatewayYaml({
      processors: {
        attributes: {
          actions: [
            { key: 'env', value: 'production', action: 'insert' },
            { key: 'e2e.tag', action: 'hash' },
            { key: 'e2e.flag', action: 'delete' },
          ],
        },
        batch: { timeout: '10ms' },
      },
      exporters: { otlphttp: { endpoint: downstream.url } },
      pipelines: { logs: { processors: ['attributes', 'batch'], exporters: ['otlphttp'] } },
      // The test scrapes the workers' metrics from the gateway's /metrics.
      service: { processing: { worker_threads: 2 }, ...SELF_METRICS },
    }),
  );
});

afterAll(async () => {
  await gateway?.shutdown(5000);
  await downstream?.close();
});

describe('attributes edits on worker threads, end to end', () => {
  it('every record arrives edited, the edits ran on the workers, and shutdown stops them', async () => {
    const url = `http://${receiverAddress(gateway, 'otlp', 'http')}/v1/logs`;
    const exporter = new OTLPLogExporter({ url });
    const tags = Array.from({ length: 12 }, (_, i) => `batch-${i}`);
    // 12 requests in flight at once: more than the 2 workers, so they queue and spread.
    await Promise.all(
      tags.map(async (tag) => {
        const logs = await makeLogs(tag, 20);
        await new Promise<void>((resolve, reject) =>
          exporter.export(logs, (r) => (r.code === ExportResultCode.SUCCESS ? resolve() : reject(r.error ?? new Error('export failed')))),
        );
      }),
    );
    await exporter.shutdown();
    // The otlphttp exporter's memory queue answers on enqueue (the collector's default): wait for delivery.
    const records = () => downstream.requests.reduce((n, r) => n + countItems('logs', r.body), 0);
    for (let i = 0; i < 200 && records() < tags.length * 20; i++) await new Promise((r) => setTimeout(r, 25));

    const seen = new Map<string, number>();
    for (const req of downstream.requests) {
      const msg = decodeRequest('logs', req.body);
      if (!('resourceLogs' in msg)) continue;
      for (const rl of msg.resourceLogs)
        for (const sl of rl.scopeLogs)
          for (const lr of sl.logRecords) {
            const attrs = new Map(lr.attributes.map((kv) => [kv.key, kv.value?.value.value]));
            expect(attrs.get('env')).toBe('production');
            expect(attrs.has('e2e.flag')).toBe(false);
            expect(attrs.has('e2e.i')).toBe(true);
            const hashed = attrs.get('e2e.tag') as string;
            seen.set(hashed, (seen.get(hashed) ?? 0) + 1);
          }
    }
    // Each tag arrives hashed (SHA-256 hex, as the collector's hash action), once per record.
    const want = new Map(tags.map((t) => [createHash('sha256').update(t).digest('hex'), 20]));
    expect(seen).toEqual(want);

    const metrics = await fetch(`http://${gateway.metricsAddress}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/^gophership_processing_worker_threads 2$/m);
    const edits = Number(/^gophership_processing_worker_edits_total (\d+)$/m.exec(metrics)?.[1]);
    expect(edits).toBe(tags.length);

    await gateway.shutdown(5000);
    const after = await fetch(`http://${gateway.metricsAddress}/metrics`).catch((e: unknown) => e);
    expect(after).toBeInstanceOf(Error); // the telemetry server closed with the rest
    expect((gateway as unknown as { offload: { running: number } }).offload.running).toBe(0);
  });
});
