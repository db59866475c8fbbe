/**
 * The nats exporter when NATS is not there to take a publish, on real nats-servers on 127.0.0.1:
 * - a gateway started while its JetStream cluster is still forming (one server of three up: no meta leader,
 *   then two: no room for an R3 stream; or started on two of three) starts, holds what it acknowledged in
 *   its sending queue, creates the stream once the cluster can place it, and every acknowledged record is
 *   then in the stream;
 * - a server stopped and restarted mid-load: a publish made while the connection is down fails at once and
 *   is retried at the backoff's pace, instead of waiting out `timeout` for an answer that cannot come (the
 *   client throws away what it buffered while reconnecting), so the queue drains soon after the restart.
 * Each check of "nothing lost" reads the whole stream back as a consumer would (NatsCluster.verifyStream).
 * The nats receiver likewise starts while NATS is not ready:
 * - a processing gateway started while its only server is down serves its OTLP pipeline, and once the server
 *   is back consumes every record, none twice (the durable consumer kept what it acknowledged before);
 * - one started on one server of three (no meta leader) consumes all the edge stored once the cluster forms;
 * - a creds file it cannot use still refuses the start, with NATS down.
 * Those checks read the sink the processing gateway exports to.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Service } from '../src/service/service.js';
import { Logger } from '../src/telemetry/logger.js';
import { runLoadgen } from '../src/tools/loadgen/index.js';
import { startSink, type Sink } from '../src/tools/sink/index.js';
import { receiverAddress, startGateway, startRefused } from './helpers/gateway.js';
import { gatewayYaml, otlpReceiver } from './helpers/configs.js';
import { counterValue } from './helpers/otlp-test-servers.js';
import { NatsCluster, freePort, hasNatsServer } from './helpers/nats-server.js';
import { until } from './helpers/until.js';

const run = hasNatsServer('the NATS resilience tests');

/** OTLP/HTTP into the nats exporter creating `stream` over `<prefix>.>`; `keys`: more exporter keys. */
function exporterConfig(dir: string, servers: readonly string[], prefix: string, stream: Record<string, unknown>, keys: Record<string, unknown> = {}): string {
  return gatewayYaml({
    exporters: {
      nats: {
        servers,
        subject_prefix: prefix,
        reconnect_wait: '200ms',
        stream: { create: true, ...stream },
        // Where a shutdown keeps what it could not deliver: this test's own, not ./data of the next run.
        sending_queue: { queue_size: 10_000, directory: join(dir, 'queue') },
        retry_on_failure: { initial_interval: '100ms', max_interval: '500ms', max_elapsed_time: '0s' },
        ...keys,
      },
    },
    pipelines: { logs: { exporters: ['nats'] } },
  });
}

describe.skipIf(!run)('the nats exporter while NATS cannot take a publish', () => {
  let dir: string | undefined;
  let nats: NatsCluster | undefined;
  let gateway: Service | undefined;

  afterEach(async () => {
    await gateway?.shutdown(5000).catch(() => {});
    await nats?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    gateway = nats = dir = undefined;
  });

  it('starts while its JetStream cluster is forming, creates the stream once it can, and loses nothing', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gs-nats-forming-'));
    nats = await NatsCluster.start(dir, 3, 1);
    const lines: string[] = [];
    const logger = new Logger('info', {}, { write: (line) => void lines.push(line) });
    // One server of three: JetStream does not answer (no meta leader) until a second joins. The timeout was
    // taken for a server that does not answer: the gateway started, but never created the stream.
    gateway = await startGateway(exporterConfig(dir, nats.urls, 'forming', { name: 'FORMING', replicas: 3 }, { timeout: '1s' }), process.env, logger);
    const endpoint = `http://${receiverAddress(gateway, 'otlp', 'http')}`;
    const first = await runLoadgen({ endpoint, rate: 2000, batch: 100, workers: 2, durationMs: 1000, timeoutMs: 5000 });
    expect(first.failed, JSON.stringify(first.failures)).toBe(0);
    expect(first.acked).toBeGreaterThan(0);
    const waits = lines.filter((l) => l.includes('JetStream cannot take stream FORMING yet'));
    expect(waits, lines.join('\n')).toHaveLength(1);
    // nats-server 2.9 leaves the request unanswered; a newer one may say it has no meta leader yet.
    expect(waits[0]).toMatch(/JetStream does not answer yet: a cluster still electing its meta leader|the cluster has no meta leader yet/);

    // A second server: a meta leader, but no room for three replicas yet.
    nats.restart(nats.nodes[1]!);
    await until(() => lines.some((l) => l.includes('fewer JetStream servers are up and joined than the stream has replicas')), 15_000);
    const second = await runLoadgen({ endpoint, rate: 2000, batch: 100, workers: 2, durationMs: 500, timeoutMs: 5000 });
    expect(second.failed).toBe(0);

    nats.restart(nats.nodes[2]!);
    await nats.waitReady();
    // First that the gateway made the stream, then that it holds everything: a failure says which.
    await until(() => lines.some((l) => l.includes('JetStream stream ready')), 30_000).catch(() => {});
    expect(
      lines.filter((l) => l.includes('JetStream stream ready')),
      lines.join('\n'),
    ).toHaveLength(1);
    const report = await nats.untilStreamHolds('FORMING', [first, second]);
    expect(report.lost, JSON.stringify(report.runs)).toBe(0);
    expect(report.ok).toBe(true);
  }, 90_000);

  it('starts while its cluster has fewer servers than the stream has replicas ("no suitable peers")', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gs-nats-peers-'));
    nats = await NatsCluster.start(dir, 3, 2);
    await nats.waitReady();
    const lines: string[] = [];
    const logger = new Logger('info', {}, { write: (line) => void lines.push(line) });
    // A meta leader, but two servers for three replicas: this refusal failed the start.
    gateway = await startGateway(exporterConfig(dir, nats.urls, 'peers', { name: 'PEERS', replicas: 3 }), process.env, logger);
    expect(lines.filter((l) => l.includes('JetStream cannot take stream PEERS yet')).join('\n')).toContain(
      'fewer JetStream servers are up and joined than the stream has replicas (no suitable peers for placement)',
    );
    const endpoint = `http://${receiverAddress(gateway, 'otlp', 'http')}`;
    const result = await runLoadgen({ endpoint, rate: 2000, batch: 100, workers: 2, durationMs: 1000, timeoutMs: 5000 });
    expect(result.failed, JSON.stringify(result.failures)).toBe(0);
    nats.restart(nats.nodes[2]!);
    await nats.waitReady();
    const report = await nats.untilStreamHolds('PEERS', [result]);
    expect(report.lost, JSON.stringify(report.runs)).toBe(0);
    expect(report.ok).toBe(true);
  }, 90_000);

  it('fails publishes fast while the connection is down, so the queue drains soon after the server is back', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gs-nats-outage-'));
    nats = await NatsCluster.start(dir, 1);
    // A publish made while the client reconnects waited out `timeout` (10 s here, to make the difference
    // plain on a loaded machine) before it failed and was retried: the queue drained that long after the
    // server was back. Failing fast, the backoff (at most 500 ms) and reconnect_wait set the pace.
    gateway = await startGateway(exporterConfig(dir, nats.urls, 'outage', { name: 'OUTAGE' }, { timeout: '10s' }));
    const endpoint = `http://${receiverAddress(gateway, 'otlp', 'http')}`;
    const load = runLoadgen({ endpoint, rate: 4000, batch: 100, workers: 4, durationMs: 3000, timeoutMs: 5000 });
    const server = nats.nodes[0]!;
    await sleep(1000);
    // Stopped, not killed: a single server killed mid-write may lose the last publishes it acknowledged
    // (its store flushes them to the file a moment later), which is the server's loss, not the gateway's.
    await nats.stopNode(server);
    await sleep(2500);
    const result = await load;
    expect(result.failed, JSON.stringify(result.failures)).toBe(0);
    const sent = (): Promise<number> => counterValue(gateway!.telemetry, 'otelcol_exporter_sent_log_records', { exporter: 'nats' });
    expect(await sent()).toBeLessThan(result.acked);

    const restartedAt = Date.now();
    nats.restart(server);
    const report = await nats.untilStreamHolds('OUTAGE', [result], 20_000);
    const drainMs = Date.now() - restartedAt;
    console.log(`NATS outage: acked ${result.acked} records, all in the stream ${drainMs} ms after the restart (lost ${report.lost})`);
    expect(report.lost, JSON.stringify(report.runs)).toBe(0);
    expect(report.ok).toBe(true);
    // Waiting out the 10 s timeout, the last attempts made during the outage ended 7-10 s after the restart.
    expect(drainMs).toBeLessThan(5000);
  }, 45_000);
});

/**
 * A processing gateway: the nats receiver on `stream` (durable `tier`) into the sink, and an OTLP/HTTP
 * receiver into the same sink in a pipeline of its own (what must serve while NATS is not ready).
 */
function consumerConfig(servers: readonly string[], stream: string, sinkUrl: string): string {
  return gatewayYaml({
    receivers: { nats: { servers, stream, durable: 'tier', reconnect_wait: '200ms' }, otlp: otlpReceiver() },
    exporters: { otlphttp: { endpoint: sinkUrl, compression: 'none', sending_queue: { enabled: false } } },
    pipelines: { 'logs/nats': { receivers: ['nats'], exporters: ['otlphttp'] }, 'logs/otlp': { receivers: ['otlp'], exporters: ['otlphttp'] } },
  });
}

describe.skipIf(!run)('the nats receiver while NATS is not ready', () => {
  let dir: string | undefined;
  let nats: NatsCluster | undefined;
  let sink: Sink | undefined;
  const gateways: Service[] = [];

  afterEach(async () => {
    for (const g of gateways.splice(0)) await g.shutdown(5000).catch(() => {});
    await sink?.close();
    await nats?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    sink = nats = dir = undefined;
  });

  /** Until the sink holds every record of `runs` (or 20 s passed), then its report. */
  async function delivered(runs: Parameters<Sink['verify']>[0]): Promise<ReturnType<Sink['verify']>> {
    const s = sink!;
    await until(() => s.verify(runs).ok, 20_000).catch(() => {});
    // Time for a record delivered twice to show.
    await sleep(500);
    return s.verify(runs);
  }

  const receiverWaits = (lines: readonly string[]): string[] =>
    lines.filter((l) => l.includes('"kind":"receiver"') && /no NATS server answers yet|NATS receiver waiting to bind/.test(l));

  it('starts while NATS is down, serves its other pipelines, and consumes once the server is up: the durable keeps what it acknowledged', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gs-nats-late-consumer-'));
    nats = await NatsCluster.start(dir, 1);
    sink = await startSink({ grpc: false });
    const edge = await startGateway(exporterConfig(dir, nats.urls, 'late', { name: 'LATE' }));
    gateways.push(edge);
    const edgeUrl = `http://${receiverAddress(edge, 'otlp', 'http')}`;
    // A first processing gateway acknowledges the first run on the durable consumer, and stops.
    const first = await startGateway(consumerConfig(nats.urls, 'LATE', sink.httpUrl));
    const before = await runLoadgen({ endpoint: edgeUrl, rate: 2000, batch: 100, workers: 2, durationMs: 500, timeoutMs: 5000 });
    expect((await delivered([before])).ok).toBe(true);
    await first.shutdown(5000);
    const server = nats.nodes[0]!;
    await nats.stopNode(server);

    // NATS is down: this start failed ("cannot connect to NATS"), and took the OTLP pipeline down with it.
    const lines: string[] = [];
    const logger = new Logger('info', {}, { write: (line) => void lines.push(line) });
    const second = await startGateway(consumerConfig(nats.urls, 'LATE', sink.httpUrl), process.env, logger);
    gateways.push(second);
    const direct = await runLoadgen({
      endpoint: `http://${receiverAddress(second, 'otlp', 'http')}`,
      rate: 2000,
      batch: 100,
      workers: 2,
      durationMs: 500,
      timeoutMs: 5000,
    });
    expect(direct.failed, JSON.stringify(direct.failures)).toBe(0);
    // The edge's queue holds what it takes meanwhile.
    const during = await runLoadgen({ endpoint: edgeUrl, rate: 2000, batch: 100, workers: 2, durationMs: 500, timeoutMs: 5000 });
    expect(during.failed, JSON.stringify(during.failures)).toBe(0);
    await sleep(1000);

    nats.restart(server);
    const report = await delivered([before, direct, during]);
    expect(report.lost, JSON.stringify(report.runs)).toBe(0);
    // The first run was acknowledged on the durable before the outage: bound again, not recreated, it is not delivered twice.
    expect(report.duplicates, JSON.stringify(report.runs)).toBe(0);
    expect(report.ok).toBe(true);
    // Said once, though it tried every reconnect_wait (200 ms) for about three seconds.
    const waits = receiverWaits(lines);
    expect(waits[0], lines.join('\n')).toContain('no NATS server answers yet; starting anyway and connecting in the background');
    expect(waits.filter((l) => l.includes('no NATS server answers yet'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('NATS receiver consuming'))).toHaveLength(1);
  }, 45_000);

  it('starts before its JetStream cluster has a quorum, and consumes what the edge stored once it has', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gs-nats-forming-consumer-'));
    nats = await NatsCluster.start(dir, 3, 1);
    sink = await startSink({ grpc: false });
    const lines: string[] = [];
    const logger = new Logger('info', {}, { write: (line) => void lines.push(line) });
    // One server of three: JetStream does not answer; the edge is started on it as well, and creates the R3 stream later.
    const consumer = await startGateway(consumerConfig(nats.urls, 'QUORUM', sink.httpUrl), process.env, logger);
    gateways.push(consumer);
    const edge = await startGateway(exporterConfig(dir, nats.urls, 'quorum', { name: 'QUORUM', replicas: 3 }, { timeout: '1s' }));
    gateways.push(edge);
    const load = await runLoadgen({
      endpoint: `http://${receiverAddress(edge, 'otlp', 'http')}`,
      rate: 2000,
      batch: 100,
      workers: 2,
      durationMs: 1000,
      timeoutMs: 5000,
    });
    expect(load.failed, JSON.stringify(load.failures)).toBe(0);
    const waits = receiverWaits(lines);
    expect(waits, lines.join('\n')).toHaveLength(1);
    // nats-server 2.9 leaves the request unanswered; a newer one may say it has no meta leader yet.
    expect(waits[0]).toMatch(/JetStream does not answer yet: a cluster still electing its meta leader|the cluster has no meta leader yet/);

    nats.restart(nats.nodes[1]!);
    nats.restart(nats.nodes[2]!);
    const report = await delivered([load]);
    expect(report.lost, JSON.stringify(report.runs)).toBe(0);
    expect(report.duplicates, JSON.stringify(report.runs)).toBe(0);
    expect(report.ok).toBe(true);
    // What it waited for, each said once: consecutive lines differ.
    const said = receiverWaits(lines).map((l) => (JSON.parse(l) as { waiting_for?: string }).waiting_for);
    expect(
      said.every((w, i) => i === 0 || w !== said[i - 1]),
      said.join('\n'),
    ).toBe(true);
  }, 45_000);

  it('still refuses to start, NATS down or not, on a creds file it cannot use', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gs-nats-bad-creds-'));
    const creds = join(dir, 'tier.creds');
    await writeFile(creds, 'not a creds file\n');
    const port = await freePort();
    const message = await startRefused(
      gatewayYaml({
        receivers: { nats: { servers: [`127.0.0.1:${port}`], creds_file: creds } },
        exporters: { debug: null },
        pipelines: { logs: { receivers: ['nats'], exporters: ['debug'] } },
      }),
    );
    expect(message).toMatch(new RegExp(`^receiver nats: creds_file: cannot use ${creds}: `));
  });
});
