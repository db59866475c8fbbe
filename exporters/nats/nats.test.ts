/**
 * The nats exporter and receiver against a real JetStream server (Debian's nats-server) on 127.0.0.1:
 * requests arrive on the stream as the bytes sent, with their signal and a content-derived message id
 * (a resent request is stored once); a gateway consuming the stream delivers them to a real sink and
 * acknowledges only what its pipeline accepted; a retryable refusal leaves the message for redelivery.
 * The receiver's own cases (bad bytes, the signal of a message) are in receivers/nats/nats-receiver.test.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { requestFromJson } from '../../src/pdata/codec.js';
import type { Service } from '../../src/service/service.js';
import { startSink } from '../../src/tools/sink/index.js';
import { receiverAddress, startGateway, startRefused } from '../../test/helpers/gateway.js';
import { hasNatsServer, natsConsumerConfig, natsScene } from '../../test/helpers/nats-server.js';
import { gatewayYaml } from '../../test/helpers/configs.js';
import { messageIdOf } from './nats-exporter.js';

const run = hasNatsServer('the nats exporter and receiver tests');
function logsRequest(...bodies: string[]): Uint8Array {
  return requestFromJson('logs', JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: bodies.map((b) => ({ body: { stringValue: b } })) }] }] }));
}

async function post(gw: Service, body: Uint8Array): Promise<number> {
  const res = await fetch(`http://${receiverAddress(gw, 'otlp', 'http')}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: Buffer.from(body),
  });
  await res.arrayBuffer();
  return res.status;
}

describe.skipIf(!run)('nats exporter and receiver on a real JetStream server', () => {
  const scene = natsScene('gs-nats-');

  /** OTLP/HTTP into the nats exporter creating `stream` on subjects under `prefix`; `settings`: more exporter keys. */
  const exporterGateway = (stream: string, prefix: string, settings: Record<string, unknown> = {}): string =>
    gatewayYaml({
      exporters: { nats: { servers: scene.nats.urls, subject_prefix: prefix, stream: { name: stream, create: true }, ...settings } },
      pipelines: { logs: { exporters: ['nats'] } },
    });

  it('publishes each request as its bytes with the signal header, once per message id', async () => {
    const gw = await startGateway(exporterGateway('EXP1', 'exp1', { sending_queue: { enabled: false } }));
    scene.cleanups.push(() => gw.shutdown(5000));
    const body = logsRequest('one', 'two');
    expect(await post(gw, body)).toBe(200);
    // The same bytes again (a client's retry): JetStream keeps one copy.
    expect(await post(gw, body)).toBe(200);
    expect(await post(gw, logsRequest('three'))).toBe(200);

    const jsm = await jetstreamManager(scene.nc);
    const info = await jsm.streams.info('EXP1');
    expect(info.config.subjects).toEqual(['exp1.>']);
    expect(info.state.messages).toBe(2);
    const first = await jsm.streams.getMessage('EXP1', { seq: 1 });
    expect(first!.subject).toBe('exp1.logs');
    expect(Buffer.from(first!.data).equals(Buffer.from(body))).toBe(true);
    expect(first!.header.get('Otlp-Signal')).toBe('logs');
    expect(first!.header.get('Nats-Msg-Id')).toBe(messageIdOf(body));
  });

  it('refuses retryably while the stream cannot store (no stream), so the client resends', async () => {
    const gw = await startGateway(
      gatewayYaml({
        exporters: {
          nats: {
            servers: scene.nats.urls,
            subject_prefix: 'nostream',
            timeout: '500ms',
            sending_queue: { enabled: false },
            retry_on_failure: { enabled: false },
          },
        },
        pipelines: { logs: { exporters: ['nats'] } },
      }),
    );
    scene.cleanups.push(() => gw.shutdown(5000));
    const res = await fetch(`http://${receiverAddress(gw, 'otlp', 'http')}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.from(logsRequest('nowhere')),
    });
    expect(res.status).toBe(503);
    // Not "JetStream is off" (the client's words for nobody answering), which misled during a leader election.
    expect(await res.text()).toMatch(
      /no JetStream stream answered on nostream\.logs: its stream may be electing a leader or its server starting \(retried\), no stream may hold the subject/,
    );
  });

  it('still refuses to start on a stream config JetStream refuses for good, naming the stream and why', async () => {
    // Only a JetStream that is not ready yet (a cluster forming) lets the exporter start and create its
    // stream in the background (test/nats-resilience.test.ts); a refusal that stays is the start's error.
    await (await jetstreamManager(scene.nc)).streams.add({ name: 'CLAIMS', subjects: ['clash.>'] });
    expect(await startRefused(exporterGateway('CLASH', 'clash'))).toMatch(
      /^exporter nats: cannot create stream CLASH: subjects overlap with an existing stream/,
    );
    const threeOnOne = gatewayYaml({
      exporters: { nats: { servers: scene.nats.urls, subject_prefix: 'rthree', stream: { name: 'RTHREE', create: true, replicas: 3 } } },
      pipelines: { logs: { exporters: ['nats'] } },
    });
    expect(await startRefused(threeOnOne)).toMatch(/^exporter nats: cannot create stream RTHREE: replicas > 1 not supported in non-clustered mode/);
  });

  it('leaves a stream already as configured alone at start, and updates one that differs', async () => {
    // Every update is a replicated write; one per start of every gateway of a tier, for nothing, made a
    // start in a cluster still settling wait on it. JetStream announces each update as an advisory.
    const updates: string[] = [];
    const sub = scene.nc.subscribe('$JS.EVENT.ADVISORY.STREAM.UPDATED.KEEP', { callback: (_err, m) => void updates.push(m.subject) });
    const keep = (settings: Record<string, unknown> = {}): string =>
      gatewayYaml({
        exporters: { nats: { servers: scene.nats.urls, subject_prefix: 'keep', stream: { name: 'KEEP', create: true, ...settings } } },
        pipelines: { logs: { exporters: ['nats'] } },
      });
    try {
      const first = await startGateway(keep());
      await first.shutdown(5000);
      const again = await startGateway(keep());
      await again.shutdown(5000);
      const changed = await startGateway(keep({ max_age: '1h' }));
      scene.cleanups.push(() => changed.shutdown(5000));
      const info = await (await jetstreamManager(scene.nc)).streams.info('KEEP');
      expect(info.config.max_age).toBe(3600 * 1e9);
      // Advisories come in the order JetStream made the changes: once the changed start's has come, an
      // update by the second start would have come before it.
      const deadline = Date.now() + 5000;
      while (updates.length === 0 && Date.now() < deadline) await sleep(20);
      await scene.nc.flush();
      expect(updates).toEqual(['$JS.EVENT.ADVISORY.STREAM.UPDATED.KEEP']);
    } finally {
      sub.unsubscribe();
    }
  });

  it('a consuming gateway delivers every message to its pipeline and acks only what was accepted', async () => {
    const sink = await startSink({ grpc: false });
    scene.cleanups.push(() => sink.close());
    const producer = await startGateway(exporterGateway('CONS1', 'cons1'));
    scene.cleanups.push(() => producer.shutdown(5000));
    // The sink refuses at first: the consumer must nak, not drop, and deliver once the sink is back.
    sink.setDown(true);
    const consumer = await startGateway(natsConsumerConfig(scene.nats.urls, { stream: 'CONS1', durable: 'gw', nak_delay: '200ms' }, sink.httpUrl, false));
    scene.cleanups.push(() => consumer.shutdown(5000));
    for (let i = 0; i < 20; i++) expect(await post(producer, logsRequest(`r${i}a`, `r${i}b`))).toBe(200);
    await sleep(800);
    expect(sink.stats().totals.refused).toBeGreaterThan(0);
    expect(sink.stats().totals.records).toBe(0);
    sink.setDown(false);
    const deadline = Date.now() + 10_000;
    while (sink.stats().totals.records < 40 && Date.now() < deadline) await sleep(100);
    expect(sink.stats().totals.records).toBe(40);
    // Everything acknowledged: nothing left pending on the durable consumer.
    const ci = await (await jetstreamManager(scene.nc)).consumers.info('CONS1', 'gw');
    expect(ci.num_pending + ci.num_ack_pending).toBe(0);
  });
});
