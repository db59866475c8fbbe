/**
 * The nats receiver against a real JetStream server (Debian's nats-server) on 127.0.0.1, fed by publishing
 * to the stream directly: the signal comes from the Otlp-Signal header, else from the subject's last token;
 * a message no pipeline takes, or whose body is not an OTLP request of its signal, is terminated (never
 * redelivered) and the receiver goes on with the next. (exporters/nats/nats.test.ts runs it behind the
 * nats exporter: acknowledgement only of what the pipeline accepted, redelivery after a refusal.)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { headers } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { requestFromJson } from '../../src/pdata/codec.js';
import { startSink, type Sink } from '../../src/tools/sink/index.js';
import { startGateway } from '../../test/helpers/gateway.js';
import { hasNatsServer, natsConsumerConfig, natsScene } from '../../test/helpers/nats-server.js';

const run = hasNatsServer('the nats receiver tests');
const logsRequest = (...bodies: string[]): Uint8Array =>
  requestFromJson('logs', JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: bodies.map((b) => ({ body: { stringValue: b } })) }] }] }));
const spansRequest = (name: string): Uint8Array =>
  requestFromJson(
    'traces',
    JSON.stringify({
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '0102030405060708', name }] }] }],
    }),
  );

describe.skipIf(!run)('nats receiver on a real JetStream server', () => {
  const scene = natsScene('gs-nats-receiver-');

  /** A sink and a gateway consuming `stream` into its logs pipeline; resolves once the sink holds `records` records. */
  async function consume(stream: string, records: number): Promise<Sink> {
    const sink = await startSink({ grpc: false });
    scene.cleanups.push(() => sink.close());
    const gateway = await startGateway(natsConsumerConfig(scene.nats.urls, { stream }, sink.httpUrl));
    scene.cleanups.push(() => gateway.shutdown(5000));
    const deadline = Date.now() + 5000;
    while (sink.stats().totals.records < records && Date.now() < deadline) await sleep(100);
    // Time for a wrongly redelivered or wrongly delivered message to show.
    await sleep(300);
    return sink;
  }

  /** Messages of `stream`'s default durable consumer not yet acknowledged or terminated. */
  async function unsettled(stream: string): Promise<number> {
    const ci = await (await jetstreamManager(scene.nc)).consumers.info(stream, 'gophership');
    return ci.num_pending + ci.num_ack_pending;
  }

  it('terminates a message that is not an OTLP request and goes on with the next', async () => {
    await (await jetstreamManager(scene.nc)).streams.add({ name: 'BAD1', subjects: ['bad1.>'] });
    const js = jetstream(scene.nc);
    await js.publish('bad1.logs', new Uint8Array([0xff, 0xff, 0xff]));
    await js.publish('bad1.logs', logsRequest('good'));
    const sink = await consume('BAD1', 1);
    expect(sink.stats().totals.records).toBe(1);
    expect(await unsettled('BAD1')).toBe(0);
  });

  it('takes the signal from the Otlp-Signal header over the subject, and terminates what no pipeline takes', async () => {
    await (await jetstreamManager(scene.nc)).streams.add({ name: 'SIG1', subjects: ['sig1.>'] });
    const js = jetstream(scene.nc);
    const asLogs = headers();
    asLogs.set('Otlp-Signal', 'logs');
    // A logs request on a subject that says traces: the header decides, the logs pipeline takes it.
    await js.publish('sig1.traces', logsRequest('by header a', 'by header b'), { headers: asLogs });
    // By the subject's last token.
    await js.publish('sig1.logs', logsRequest('by subject'));
    // Traces: the consuming gateway has no traces pipeline; a subject naming no signal at all.
    await js.publish('sig1.traces', spansRequest('nobody takes me'));
    await js.publish('sig1.other', logsRequest('no signal'));
    const sink = await consume('SIG1', 3);
    expect(sink.stats().totals.records).toBe(3);
    expect(sink.stats().totals.requests).toBe(2);
    expect(await unsettled('SIG1')).toBe(0);
  });

  it('gateways naming one durable consumer share its messages: each delivered once, by one of them', async () => {
    await (await jetstreamManager(scene.nc)).streams.add({ name: 'SHARE1', subjects: ['share1.>'] });
    const js = jetstream(scene.nc);
    const sink = await startSink({ grpc: false });
    scene.cleanups.push(() => sink.close());
    // Started at once: both find no consumer and create it; the second creation must find the first's and go on.
    const config = natsConsumerConfig(scene.nats.urls, { stream: 'SHARE1', durable: 'tier', max_in_flight: 2 }, sink.httpUrl);
    const gateways = await Promise.all([startGateway(config), startGateway(config)]);
    for (const g of gateways) scene.cleanups.push(() => g.shutdown(5000));
    for (let i = 0; i < 200; i++) await js.publish('share1.logs', logsRequest(`m${i}`));
    const deadline = Date.now() + 10_000;
    while (sink.stats().totals.records < 200 && Date.now() < deadline) await sleep(100);
    await sleep(300);
    expect(sink.stats().totals.records).toBe(200);
    const accepted = async (g: (typeof gateways)[number]) =>
      ((await g.telemetry.registry.getSingleMetric('otelcol_receiver_accepted_log_records')?.get())?.values ?? []).reduce((a, v) => a + v.value, 0);
    const each = await Promise.all(gateways.map(accepted));
    expect(each[0]! + each[1]!).toBe(200);
    expect(Math.min(...each)).toBeGreaterThan(0);
    const ci = await (await jetstreamManager(scene.nc)).consumers.info('SHARE1', 'tier');
    expect(ci.num_pending + ci.num_ack_pending).toBe(0);
  });

  it('refuses to start on a durable consumer created with other settings, or on a stream that does not exist', async () => {
    const jsm = await jetstreamManager(scene.nc);
    await jsm.streams.add({ name: 'KEEP1', subjects: ['keep1.>'] });
    // Created for traces only (by an earlier config, or by hand); this config wants logs.
    await jsm.consumers.add('KEEP1', { durable_name: 'split', ack_policy: AckPolicy.Explicit, filter_subject: 'keep1.traces' });
    await jsm.consumers.add('KEEP1', { durable_name: 'acknone', ack_policy: AckPolicy.None });
    const startError = (receiver: Record<string, unknown>) =>
      startGateway(natsConsumerConfig(scene.nats.urls, receiver, 'http://127.0.0.1:1')).then(
        async (g) => {
          await g.shutdown(2000);
          return 'started';
        },
        (e: Error) => e.message,
      );
    expect(await startError({ stream: 'KEEP1', durable: 'split', filter_subject: 'keep1.logs' })).toContain(
      'receiver nats: durable consumer "split" of stream KEEP1 exists with filter_subject "keep1.traces", but filter_subject is "keep1.logs" here; a consumer keeps the settings it was created with: delete it (nats consumer rm KEEP1 split) or set another durable',
    );
    expect(await startError({ stream: 'KEEP1', durable: 'acknone' })).toContain(
      'receiver nats: durable consumer "acknone" of stream KEEP1 exists with ack_policy none; the receiver acknowledges each message once its pipeline accepted it, which needs ack_policy explicit',
    );
    expect(await startError({ stream: 'NOSUCH', durable: 'x' })).toContain(
      'receiver nats: cannot create durable consumer "x" on stream NOSUCH: stream not found (create the stream',
    );
    // The same settings: it starts.
    expect(await startError({ stream: 'KEEP1', durable: 'split', filter_subject: 'keep1.traces' })).toBe('started');
  });

  it('keeps a message it is still delivering from being redelivered when delivery outlasts ack_wait', async () => {
    await (await jetstreamManager(scene.nc)).streams.add({ name: 'SLOW1', subjects: ['slow1.>'] });
    const js = jetstream(scene.nc);
    // A downstream slower than ack_wait: each request takes 2.5 s to be accepted, the consumer waits 1 s.
    const sink = await startSink({ grpc: false, replyDelayMs: 2500 });
    scene.cleanups.push(() => sink.close());
    const gateway = await startGateway(natsConsumerConfig(scene.nats.urls, { stream: 'SLOW1', durable: 'slow', ack_wait: '1s' }, sink.httpUrl));
    scene.cleanups.push(() => gateway.shutdown(5000));
    for (let i = 0; i < 5; i++) await js.publish('slow1.logs', logsRequest(`slow ${i}`));
    const deadline = Date.now() + 10_000;
    while (sink.stats().totals.records < 5 && Date.now() < deadline) await sleep(100);
    // Long enough for redeliveries of the first ones to have been delivered too.
    await sleep(3500);
    expect(sink.stats().totals.records).toBe(5);
    const ci = await (await jetstreamManager(scene.nc)).consumers.info('SLOW1', 'slow');
    expect(ci.num_redelivered).toBe(0);
  }, 20_000);

  it('pulls no more messages than it has free slots, so a slow pipeline causes no redelivery', async () => {
    await (await jetstreamManager(scene.nc)).streams.add({ name: 'AHEAD1', subjects: ['ahead1.>'] });
    const js = jetstream(scene.nc);
    // Two slots, each request 1.2 s at the sink, ack_wait 1 s: the last of 8 messages waits ~4 s for a slot.
    // Pulled while both slots were busy, it used to sit in the client unacknowledged past ack_wait, and
    // JetStream handed it out again (delivered twice).
    const sink = await startSink({ grpc: false, replyDelayMs: 1200 });
    scene.cleanups.push(() => sink.close());
    const gateway = await startGateway(
      natsConsumerConfig(scene.nats.urls, { stream: 'AHEAD1', durable: 'ahead', ack_wait: '1s', max_in_flight: 2 }, sink.httpUrl),
    );
    scene.cleanups.push(() => gateway.shutdown(5000));
    for (let i = 0; i < 8; i++) await js.publish('ahead1.logs', logsRequest(`queued ${i}`));
    const deadline = Date.now() + 15_000;
    while (sink.stats().totals.records < 8 && Date.now() < deadline) await sleep(100);
    // Long enough for a redelivered copy to reach the sink too.
    await sleep(1500);
    const ci = await (await jetstreamManager(scene.nc)).consumers.info('AHEAD1', 'ahead');
    expect(ci.num_redelivered).toBe(0);
    expect(sink.stats().totals.records).toBe(8);
    expect(ci.num_pending + ci.num_ack_pending).toBe(0);
  }, 25_000);
});
