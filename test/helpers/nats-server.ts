/**
 * Real nats-server processes on 127.0.0.1 for tests: one JetStream server, or a cluster of them routed
 * to each other, each with its own store directory. Servers can be killed (SIGKILL) and started again
 * with the same identity and store, as a crashed and restarted machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import type { AckedFile } from '../../src/tools/loadgen/common.js';
import { SeqTracker, type VerifyReport } from '../../src/tools/sink/tracker.js';
import { scanProto } from '../../src/tools/sink/walk.js';
import { isSignal } from '../../src/core/signal.js';
import { systemProgram } from './system-package.js';
import { gatewayYaml } from './configs.js';

export const NATS_SERVER = '/usr/sbin/nats-server';

/**
 * A consuming gateway's config: the `nats` receiver with `receiver` (its keys) into an otlphttp exporter
 * to `sinkUrl` that sends synchronously (no queue), so a message is acknowledged to JetStream only once
 * the sink took it; with `retry` false it does not retry either.
 */
export function natsConsumerConfig(servers: readonly string[], receiver: Record<string, unknown>, sinkUrl: string, retry = true): string {
  return gatewayYaml({
    receivers: { nats: { servers, ...receiver } },
    exporters: {
      otlphttp: {
        endpoint: sinkUrl,
        compression: 'none',
        sending_queue: { enabled: false },
        ...(retry ? {} : { retry_on_failure: { enabled: false } }),
      },
    },
    pipelines: { logs: { receivers: ['nats'], exporters: ['otlphttp'] } },
  });
}

export interface NatsScene {
  /** One JetStream server, its store under a temp directory. */
  nats: NatsCluster;
  /** A client connection to it. */
  nc: NatsConnection;
  /** Run (last first) after the tests, before the server stops: gateways and sinks the tests started. */
  cleanups: (() => Promise<unknown>)[];
}

/**
 * Before the tests of the enclosing describe: one JetStream server (store in a temp directory named from
 * `prefix`) and a connection to it; after them: the cleanups, the connection, the server, the directory.
 */
export function natsScene(prefix: string): NatsScene {
  const scene = { cleanups: [] } as unknown as NatsScene & { dir?: string };
  beforeAll(async () => {
    scene.dir = await mkdtemp(join(tmpdir(), prefix));
    scene.nats = await NatsCluster.start(scene.dir, 1);
    scene.nc = await connect({ servers: scene.nats.urls });
  });
  afterAll(async () => {
    for (const c of scene.cleanups.reverse()) await c().catch(() => {});
    await scene.nc?.close();
    await scene.nats?.stop();
    if (scene.dir) await rm(scene.dir, { recursive: true, force: true });
  });
  return scene;
}

/** Whether nats-server can run here (mandatory under CI=true; otherwise a printed skip line). */
export function hasNatsServer(what: string): boolean {
  return systemProgram(NATS_SERVER, 'nats-server', what);
}

/**
 * Starts one nats-server on 127.0.0.1 (`port`, default ephemeral) from the config `lines` written to
 * `<dir>/<name>.conf`; resolves with its `host:port` once it is ready (the port read from its log). The
 * caller kills `process` when done.
 */
export async function spawnNatsServer(dir: string, name: string, lines: readonly string[], port = -1): Promise<{ hostPort: string; process: ChildProcess }> {
  const file = join(dir, `${name}.conf`);
  await writeFile(file, [`server_name: ${name}`, `listen: 127.0.0.1:${port}`, ...lines].join('\n'));
  const child = spawn(NATS_SERVER, ['-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => {
      child.kill('SIGKILL');
      reject(new Error(`nats-server ${name} ${why}:\n${log}`));
    };
    const timer = setTimeout(() => fail('did not start in 10 s'), 10_000);
    child.stderr!.on('data', (d: string) => {
      log += d;
      const listening = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(log);
      if (listening && /Server is ready/.test(log)) {
        clearTimeout(timer);
        child.stderr!.removeAllListeners('data');
        child.stderr!.resume();
        resolve({ hostPort: `127.0.0.1:${listening[1]}`, process: child });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server ${name} exited (${code}):\n${log}`));
    });
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface NatsNode {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  process: ChildProcess | undefined;
}

export class NatsCluster {
  private constructor(
    readonly nodes: NatsNode[],
    private readonly dir: string,
  ) {}

  /** Client URLs of every member. */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /**
   * Starts `size` JetStream servers (a cluster when size > 1) and waits until JetStream answers. With
   * `running` below `size` only the first `running` are launched, and only until they take client
   * connections: a cluster still forming (restart() launches the others, waitReady() waits for JetStream).
   */
  static async start(dir: string, size: number, running = size): Promise<NatsCluster> {
    const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freePort(), route: await freePort() })));
    const nodes: NatsNode[] = [];
    for (let i = 0; i < size; i++) {
      const name = `n${i + 1}`;
      const own = ports[i]!;
      const store = join(dir, name);
      await mkdir(store, { recursive: true });
      const routes = ports.filter((_, j) => j !== i).map((p) => `nats-route://127.0.0.1:${p.route}`);
      const conf = [
        `server_name: ${name}`,
        `listen: 127.0.0.1:${own.client}`,
        `jetstream { store_dir: "${store}", max_memory_store: 64MB, max_file_store: 1GB }`,
        ...(size > 1 ? [`cluster { name: gs-test, listen: 127.0.0.1:${own.route}, routes: [${routes.join(', ')}] }`] : []),
      ].join('\n');
      await writeFile(join(dir, `${name}.conf`), conf);
      nodes.push({ name, port: own.client, url: `nats://127.0.0.1:${own.client}`, process: undefined });
    }
    const cluster = new NatsCluster(nodes, dir);
    for (const n of nodes.slice(0, running)) cluster.launch(n);
    if (running < size) await cluster.waitListening(Date.now() + 20_000);
    else await cluster.waitReady();
    return cluster;
  }

  /** Until every running member takes client connections (JetStream may not answer yet). */
  private async waitListening(deadline: number): Promise<void> {
    for (const n of this.nodes.filter((x) => x.process)) {
      for (;;) {
        try {
          await (await connect({ servers: n.url, reconnect: false, timeout: 1000 })).close();
          break;
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`nats-server ${n.name} does not listen: ${(err as Error).message}`, { cause: err });
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  }

  private launch(n: NatsNode): void {
    const child = spawn(NATS_SERVER, ['-c', join(this.dir, `${n.name}.conf`)], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.resume();
    n.process = child;
  }

  /**
   * Waits until JetStream answers through every running member (a cluster has elected its meta leader)
   * and, for a cluster, can place a stream on all of them: every member answering is not enough, as the
   * meta leader may not know all peers yet ("no suitable peers for placement", seen in a loaded full run).
   */
  async waitReady(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await this.waitAnswering(deadline);
    const live = this.nodes.filter((n) => n.process).length;
    if (live > 1) await this.waitPlacement(live, deadline);
  }

  /** Until a memory stream with `replicas` replicas can be made (and is removed again). */
  private async waitPlacement(replicas: number, deadline: number): Promise<void> {
    for (;;) {
      try {
        const nc = await this.connectLive();
        try {
          const jsm = await jetstreamManager(nc, { timeout: 2000 });
          await jsm.streams.add({ name: 'READY_PROBE', subjects: ['gs-ready-probe'], num_replicas: replicas, storage: StorageType.Memory });
          await jsm.streams.delete('READY_PROBE');
          return;
        } finally {
          await nc.close();
        }
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`nats cluster cannot place an R${replicas} stream: ${(err as Error).message}`, { cause: err });
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  private async waitAnswering(deadline: number): Promise<void> {
    for (const n of this.nodes.filter((x) => x.process)) {
      for (;;) {
        try {
          const nc = await connect({ servers: n.url, reconnect: false, timeout: 1000 });
          try {
            await (await jetstreamManager(nc, { timeout: 2000 })).getAccountInfo();
            break;
          } finally {
            await nc.close();
          }
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`nats-server ${n.name} not ready: ${(err as Error).message}`, { cause: err });
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
  }

  /** A client connection to the members running now. */
  private connectLive(): ReturnType<typeof connect> {
    return connect({ servers: this.nodes.filter((n) => n.process).map((n) => n.url), timeout: 2000 });
  }

  /** The member currently leading `stream` (its Raft group's leader). */
  async streamLeader(stream: string): Promise<NatsNode> {
    const nc = await this.connectLive();
    try {
      const info = await (await jetstreamManager(nc)).streams.info(stream);
      const leader = this.nodes.find((n) => n.name === info.cluster?.leader);
      if (!leader) throw new Error(`stream ${stream} has no known leader (${info.cluster?.leader ?? 'none'})`);
      return leader;
    } finally {
      await nc.close();
    }
  }

  /** The member currently leading consumer `durable` of `stream`. */
  async consumerLeader(stream: string, durable: string): Promise<string | undefined> {
    const nc = await this.connectLive();
    try {
      return (await (await jetstreamManager(nc)).consumers.info(stream, durable)).cluster?.leader;
    } finally {
      await nc.close();
    }
  }

  /**
   * Steps the consumer's leader down until `target` leads it (each stepdown elects a random peer), so that
   * killing one server takes both the stream's and the consumer's leader, the harder case.
   */
  async moveConsumerLeader(stream: string, durable: string, target: NatsNode, attempts = 20): Promise<void> {
    for (let i = 0; i < attempts; i++) {
      if ((await this.consumerLeader(stream, durable)) === target.name) return;
      const nc = await this.connectLive();
      try {
        await nc.request(`$JS.API.CONSUMER.LEADER.STEPDOWN.${stream}.${durable}`, undefined, { timeout: 5000 }).catch(() => {});
      } finally {
        await nc.close();
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`consumer ${stream}/${durable} never elected ${target.name} as its leader in ${attempts} stepdowns`);
  }

  /**
   * Reads every message of `stream` (an ordered consumer) and checks the runs' acknowledged records against
   * them as the sink does: where a loss at the sink was lost (never stored, or stored but not delivered).
   * `timeoutMs` bounds each JetStream request.
   */
  async verifyStream(
    stream: string,
    runs: ReadonlyArray<Pick<AckedFile, 'runId' | 'ackedRanges'>>,
    timeoutMs = 20_000,
  ): Promise<VerifyReport & { messages: number }> {
    const nc = await this.connectLive();
    try {
      // A cluster just through a kill answers slowly: the client's default 5 s is not enough under load.
      const last = (await (await jetstreamManager(nc, { timeout: timeoutMs })).streams.info(stream)).state.last_seq;
      const tracker = new SeqTracker();
      const visitor = { resource: (id: string) => tracker.setRun(id), record: (seq: number) => seq >= 0 && tracker.mark(seq) };
      let messages = 0;
      if (last > 0) {
        for await (const m of await (await jetstream(nc, { timeout: timeoutMs }).consumers.get(stream)).consume()) {
          messages++;
          const signal = m.subject.slice(m.subject.lastIndexOf('.') + 1);
          if (isSignal(signal)) scanProto(signal, m.data, visitor);
          if (m.info.streamSequence >= last) break;
        }
      }
      return { ...tracker.verify(runs), messages };
    } finally {
      await nc.close();
    }
  }

  /**
   * Reads `stream` back (verifyStream) until it holds every record of `runs`, for at most `ms`. Returns
   * the last report, or throws what the last read failed with (the stream missing, a timeout) so that a
   * failure says which. Each read waits at most 5 s for JetStream: a slow answer is tried again, not
   * allowed to use up the whole window.
   */
  async untilStreamHolds(
    stream: string,
    runs: ReadonlyArray<Pick<AckedFile, 'runId' | 'ackedRanges'>>,
    ms = 40_000,
  ): Promise<VerifyReport & { messages: number }> {
    const deadline = Date.now() + ms;
    for (;;) {
      let report: (VerifyReport & { messages: number }) | undefined;
      let failure: unknown;
      try {
        report = await this.verifyStream(stream, runs, 5000);
      } catch (err) {
        failure = err;
      }
      if (report?.ok) return report;
      if (Date.now() > deadline) {
        if (report) return report;
        throw new Error(`stream ${stream} could not be read back within ${ms} ms: ${(failure as Error).message}`, { cause: failure });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  kill(n: NatsNode): void {
    n.process?.kill('SIGKILL');
    n.process = undefined;
  }

  /** Stops `n` as an operator would (SIGTERM: JetStream flushes its stores) and waits until it exited. */
  async stopNode(n: NatsNode): Promise<void> {
    const p = n.process;
    n.process = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }

  restart(n: NatsNode): void {
    if (!n.process) this.launch(n);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(
        (n) =>
          new Promise<void>((resolve) => {
            const p = n.process;
            n.process = undefined;
            if (!p || p.exitCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.kill('SIGKILL');
          }),
      ),
    );
  }
}
