/**
 * Two gateway tiers with NATS JetStream between them, on a real three-server JetStream cluster on
 * 127.0.0.1: gateway A takes OTLP/HTTP from the load generator and publishes to a stream replicated on
 * all three servers (R3); gateway B consumes the stream with a durable pull consumer and exports to a
 * loss-checking sink. Mid-load the server leading the stream is killed (SIGKILL): the stream elects a new
 * leader, A's retries and B's redeliveries carry on, and every record A acknowledged reaches the sink.
 * The killed server leads the consumer too (moved there first): its pull requests die with it, and the
 * receiver must pull again from the new leader within seconds, not stall the tier (it once stalled 40 s,
 * which a fixed wait misread as 107,200 records lost). Duplicates are possible only where a publish's or a
 * delivery's acknowledgement was lost with the server; they are counted and printed (docs/deployment.md
 * explains them). A loss is located: never stored in the stream, or stored but not delivered.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { Service } from '../src/service/service.js';
import { runLoadgen } from '../src/tools/loadgen/index.js';
import { startSink, type Sink } from '../src/tools/sink/index.js';
import { receiverAddress, startGateway } from './helpers/gateway.js';
import { gatewayYaml } from './helpers/configs.js';
import { NatsCluster, hasNatsServer, natsConsumerConfig } from './helpers/nats-server.js';

const run = hasNatsServer('the JetStream two-tier test');
describe.skipIf(!run)('gateway tiers over a three-server JetStream cluster', () => {
  let dir: string;
  let nats: NatsCluster | undefined;
  let sink: Sink | undefined;
  const gateways: Service[] = [];

  afterAll(async () => {
    for (const g of gateways) await g.shutdown(5000).catch(() => {});
    await sink?.close();
    await nats?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loses nothing acknowledged when the stream leader is killed mid-load', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gs-jetstream-'));
    nats = await NatsCluster.start(dir, 3);
    sink = await startSink({ grpc: false });
    const a = await startGateway(
      gatewayYaml({
        processors: { batch: { timeout: '50ms' } },
        exporters: {
          nats: {
            servers: nats.urls,
            subject_prefix: 'tier',
            timeout: '2s',
            stream: { name: 'TIER', create: true, replicas: 3 },
            sending_queue: { queue_size: 100000 },
            retry_on_failure: { initial_interval: '100ms', max_interval: '1s', max_elapsed_time: '0s' },
          },
        },
        pipelines: { logs: { processors: ['batch'], exporters: ['nats'] } },
      }),
    );
    gateways.push(a);
    const b = await startGateway(natsConsumerConfig(nats.urls, { stream: 'TIER', durable: 'tier-b', ack_wait: '5s', nak_delay: '100ms' }, sink.httpUrl));
    gateways.push(b);

    const load = runLoadgen({
      endpoint: `http://${receiverAddress(a, 'otlp', 'http')}`,
      rate: 20_000,
      batch: 200,
      workers: 4,
      durationMs: 8000,
      timeoutMs: 10_000,
      maxAttempts: 100,
      maxElapsedMs: 30_000,
    });
    await sleep(2500);
    const leader = await nats.streamLeader('TIER');
    await nats.moveConsumerLeader('TIER', 'tier-b', leader);
    // The longest time no record reached the sink, from the kill until all arrived: B's stall.
    const s = sink;
    let lastRecords = s.stats().totals.records;
    let lastProgress = Date.now();
    let longestGapMs = 0;
    const watchProgress = (): void => {
      const now = Date.now();
      const records = s.stats().totals.records;
      if (records !== lastRecords) {
        longestGapMs = Math.max(longestGapMs, now - lastProgress);
        lastRecords = records;
        lastProgress = now;
      }
    };
    const progress = setInterval(watchProgress, 100);
    nats.kill(leader);
    await sleep(3000);
    nats.restart(leader);
    const result = await load;
    expect(result.failed, JSON.stringify(result.failures)).toBe(0);
    expect(result.acked).toBeGreaterThan(50_000);

    // Wait while records still arrive: give up only once nothing reached the sink for 30 s (a stall the
    // receiver must not have, or a loss) or after 150 s in all, never on a fixed clock that load can outrun.
    const giveUpAt = Date.now() + 150_000;
    let report = s.verify([result]);
    while (!report.ok && Date.now() < giveUpAt && Date.now() - lastProgress < 30_000) {
      await sleep(250);
      report = s.verify([result]);
    }
    clearInterval(progress);
    watchProgress();
    if (!report.ok) longestGapMs = Math.max(longestGapMs, Date.now() - lastProgress);
    console.log(
      `JetStream tier: killed ${leader.name} (stream and consumer leader); acked ${result.acked}, delivered ${report.runs[0]?.delivered}, lost ${report.lost}, duplicates ${report.duplicates}, longest delivery stall ${longestGapMs} ms`,
    );
    if (!report.ok) {
      // Where the loss is: never stored (the edge acknowledged too early) or stored but not delivered.
      const stored = await nats.verifyStream('TIER', [result]);
      expect(stored.lost, `acknowledged records never stored in the stream: ${JSON.stringify(stored.runs[0]?.lostRanges)}`).toBe(0);
    }
    expect(report.lost, `acknowledged records stored but not delivered: ${JSON.stringify(report.runs[0]?.lostRanges)}`).toBe(0);
    expect(report.ok).toBe(true);
    // With the client's default 30 s pull the tier stalled 30-45 s after the kill; now a few seconds.
    expect(longestGapMs).toBeLessThan(25_000);
  }, 240_000);
});
