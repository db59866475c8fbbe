/**
 * The nats exporter and receiver with a NATS creds file (`creds_file`: a user JWT and its NKey seed), the
 * decentralized authentication of operator-mode deployments and NGS/Synadia Cloud, against a real
 * nats-server in operator mode: an operator, a system account, a JetStream account and its users made at
 * test time (test/helpers/nats-operator.ts), the accounts preloaded in a memory resolver.
 *
 * - A gateway exporting with a creds file publishes to a stream, and a second gateway consuming with one
 *   delivers every acknowledged record to a sink (zero loss, counted there).
 * - A creds file written with CRLF line ends, or ending right after the seed's END line, works (the NATS
 *   client's own parser refused both).
 * - Refused at start, each with a message naming the component, the key and the file, and what to do: a
 *   user of an account the server does not trust or know, a revoked user, an expired user JWT, a missing or
 *   unreadable file, a file with no seed, a bare seed file, creds_file together with nkey_seed_file.
 * - An exporter started while no server was up, then refused by the one that comes up, says so once.
 * - A user JWT that expires while the gateways run: they keep reconnecting (the client would give up after
 *   two refusals), say why in their log, and resume once the file is renewed, with no restart.
 * - Neither the seed nor the JWT ever appears in an error or a log line.
 * - An account whose JWT gives it no JetStream: the start (or each publish, when the exporter does not
 *   create the stream) says so and how to give it JetStream.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, credsAuthenticator, nkeys, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { requestFromJson } from '../src/pdata/codec.js';
import type { Service } from '../src/service/service.js';
import { Logger } from '../src/telemetry/logger.js';
import { runLoadgen } from '../src/tools/loadgen/index.js';
import { startSink, type Sink } from '../src/tools/sink/index.js';
import { gatewayYaml } from './helpers/configs.js';
import { receiverAddress, startGateway, startRefused } from './helpers/gateway.js';
import { foreignAccount, makeNatsOperator, type NatsOperator, type NatsUser } from './helpers/nats-operator.js';
import { freePort, hasNatsServer, natsConsumerConfig, spawnNatsServer } from './helpers/nats-server.js';
import { until } from './helpers/until.js';

const run = hasNatsServer('the NATS creds file (operator mode) tests');

let dir: string;
let server: ChildProcess | undefined;
let url: string;
let operator: NatsOperator;
let sink: Sink;
/** A user the account revoked (its JWTs issued before the revocation). */
let revoked: NatsUser;
const nowS = (): number => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  if (!run) return;
  dir = await mkdtemp(join(tmpdir(), 'gs-nats-operator-'));
  const revokedKeys = nkeys.createUser();
  operator = makeNatsOperator({ revocations: { [revokedKeys.getPublicKey()]: nowS() } });
  revoked = operator.account.user('revoked', { keys: revokedKeys, iat: nowS() - 60 });
  const operatorFile = join(dir, 'operator.jwt');
  await writeFile(operatorFile, operator.jwt);
  const started = await spawnNatsServer(dir, 'operator-mode', [...operator.serverConf(operatorFile), `jetstream { store_dir: "${join(dir, 'store')}" }`]);
  server = started.process;
  url = started.hostPort;
  sink = await startSink({ grpc: false });
});
afterAll(async () => {
  server?.kill('SIGKILL');
  await sink?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

let files = 0;
/** Writes `text` to a new creds file; resolves with its path. */
async function credsFile(text: string): Promise<string> {
  const file = join(dir, `user-${++files}.creds`);
  await writeFile(file, text);
  return file;
}

/** Log lines of a gateway, kept to check what they say and that no credential is among them. */
function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new Logger('debug', {}, { write: (line: string) => void lines.push(line) }), lines };
}

/** Neither `user`'s seed nor its JWT (nor the JWT's signature alone) appears in `texts`. */
function expectNoSecret(user: Pick<NatsUser, 'seed' | 'jwt'>, texts: readonly string[]): void {
  const signature = user.jwt.slice(user.jwt.lastIndexOf('.') + 1);
  for (const t of texts) {
    expect(t).not.toContain(user.seed);
    expect(t).not.toContain(signature);
  }
}

/** A connection to the server as a user of the account, to read the streams. */
async function accountConnection(): Promise<NatsConnection> {
  const u = operator.account.user('reader');
  return connect({ servers: [url], authenticator: credsAuthenticator(new TextEncoder().encode(u.creds)) });
}

async function storedMessages(stream: string): Promise<number> {
  const nc = await accountConnection();
  try {
    return await (await jetstreamManager(nc)).streams.info(stream).then(
      (i) => i.state.messages,
      () => 0,
    );
  } finally {
    await nc.close();
  }
}

function exporterGateway(credsPath: string, stream: string, extra: Record<string, unknown> = {}, logger?: Logger): Promise<Service> {
  return startGateway(
    gatewayYaml({
      exporters: {
        nats: {
          servers: [url],
          creds_file: credsPath,
          subject_prefix: stream.toLowerCase(),
          stream: { name: stream, create: true },
          ...extra,
          // Requests still queued at shutdown are kept here, not in ./data where a later run would resend them.
          sending_queue: { directory: join(dir, 'queue', stream), ...(extra.sending_queue as object | undefined) },
        },
      },
      pipelines: { logs: { exporters: ['nats'] } },
    }),
    process.env,
    logger,
  );
}

async function postLogs(gw: Service, body: string): Promise<number> {
  return (await postLogsResponse(gw, body)).status;
}

async function postLogsResponse(gw: Service, body: string): Promise<Response> {
  const request = requestFromJson('logs', JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: body } }] }] }] }));
  return fetch(`http://${receiverAddress(gw, 'otlp', 'http')}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: Buffer.from(request),
  });
}

const exporterYaml = (nats: Record<string, unknown>): string =>
  gatewayYaml({ exporters: { nats: { servers: [url], reconnect_wait: '100ms', ...nats } }, pipelines: { logs: { exporters: ['nats'] } } });

describe.skipIf(!run)('NATS creds file against a nats-server in operator mode', () => {
  it('a gateway exports to JetStream and another consumes, both signed in with creds files: zero loss at the sink', async () => {
    // Each user may do only what docs/deployment.md says its component needs.
    const edgeUser = operator.account.user('edge', { permissions: { pub: { allow: ['creds.>', '$JS.API.>'] }, sub: { allow: ['_INBOX.>'] } } });
    const tierUser = operator.account.user('tier', {
      permissions: { pub: { allow: ['$JS.API.INFO', '$JS.API.CONSUMER.>', '$JS.ACK.CREDS.>'] }, sub: { allow: ['_INBOX.>'] } },
    });
    const logs = capturingLogger();
    const edge = await exporterGateway(
      await credsFile(edgeUser.creds),
      'CREDS',
      { retry_on_failure: { initial_interval: '100ms', max_interval: '1s', max_elapsed_time: '0s' } },
      logs.logger,
    );
    const tier = await startGateway(
      natsConsumerConfig([url], { creds_file: await credsFile(tierUser.creds), stream: 'CREDS', durable: 'creds-tier' }, sink.httpUrl),
      process.env,
      logs.logger,
    );
    try {
      const result = await runLoadgen({
        endpoint: `http://${receiverAddress(edge, 'otlp', 'http')}`,
        rate: 2000,
        batch: 50,
        workers: 2,
        durationMs: 2000,
        timeoutMs: 10_000,
        maxAttempts: 20,
        maxElapsedMs: 20_000,
      });
      expect(result.failed, JSON.stringify(result.failures)).toBe(0);
      expect(result.acked).toBeGreaterThan(1000);
      await until(() => sink.verify([result]).ok, 30_000).catch(() => {});
      const report = sink.verify([result]);
      expect(report.lost, JSON.stringify(report.runs[0]?.lostRanges)).toBe(0);
      expect(report.ok).toBe(true);
      expect(await storedMessages('CREDS')).toBeGreaterThan(0);
    } finally {
      await edge.shutdown(5000);
      await tier.shutdown(5000);
    }
    expectNoSecret(edgeUser, logs.lines);
    expectNoSecret(tierUser, logs.lines);
  }, 60_000);

  it('takes a creds file with CRLF line ends, or one that ends right after the seed block', async () => {
    const user = operator.account.user('layouts');
    const crlf = user.creds.replace(/\n/g, '\r\n');
    const bare = `-----BEGIN NATS USER JWT-----\n${user.jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${user.seed}\n------END USER NKEY SEED------`;
    for (const [i, text] of [crlf, bare].entries()) {
      const gw = await exporterGateway(await credsFile(text), 'LAYOUTS', { sending_queue: { enabled: false } });
      try {
        expect(await postLogs(gw, `layout ${i}`)).toBe(200);
      } finally {
        await gw.shutdown(5000);
      }
    }
    expect(await storedMessages('LAYOUTS')).toBe(2);
  }, 30_000);

  it('refuses to start with credentials the server refuses, naming creds_file and what to check', async () => {
    const foreign = foreignAccount().user('stranger');
    for (const [what, user] of [
      ['a user of an account the operator did not sign', foreign],
      ['a user of an account the server does not know', operator.unlistedAccount().user('unlisted')],
      ['a revoked user', revoked],
    ] as const) {
      const path = await credsFile(user.creds);
      const logs = capturingLogger();
      const messages = [
        await startRefused(exporterYaml({ creds_file: path }), logs.logger),
        await startRefused(natsConsumerConfig([url], { creds_file: path, stream: 'CREDS', durable: 'refused' }, sink.httpUrl), logs.logger),
      ];
      for (const [i, component] of ['exporter nats', 'receiver nats'].entries()) {
        expect(messages[i], what).toMatch(new RegExp(`^${component}: cannot connect to NATS at .*Authorization Violation`));
        expect(messages[i], what).toContain(`the server refused the user of creds_file ${path}`);
      }
      expectNoSecret(user, [...messages, ...logs.lines]);
    }
  }, 30_000);

  it('started while no server was up, then refused by one: says so once, not at every attempt', async () => {
    const user = foreignAccount().user('late');
    const port = await freePort();
    const logs = capturingLogger();
    const gw = await startGateway(
      gatewayYaml({
        exporters: { nats: { servers: [`127.0.0.1:${port}`], creds_file: await credsFile(user.creds), reconnect_wait: '100ms' } },
        pipelines: { logs: { exporters: ['nats'] } },
      }),
      process.env,
      logs.logger,
    );
    const late = await spawnNatsServer(dir, 'late-operator', [...operator.serverConf(join(dir, 'operator.jwt'))], port);
    try {
      const refusals = (): string[] => logs.lines.filter((l) => l.includes('cannot connect to NATS; trying again'));
      await until(() => refusals().length > 0);
      await sleep(1500); // ~15 more refused attempts
      expect(refusals()).toHaveLength(1);
      expect(refusals()[0]).toContain(`the server refused the user of creds_file`);
    } finally {
      await gw.shutdown(5000);
      late.process.kill('SIGKILL');
    }
    expectNoSecret(user, logs.lines);
  });

  it('refuses a creds file it cannot use before connecting, naming creds_file, the file and what to do', async () => {
    const user = operator.account.user('broken');
    const expired = operator.account.user('expired', { iat: nowS() - 120, exp: nowS() - 60 });
    const [jwtBlock] = user.creds.split('\n\n');
    const unreadable = join(dir, 'creds-dir.creds');
    await mkdir(unreadable);
    const missing = join(dir, 'missing.creds');
    const cases: Array<[string, string, RegExp]> = [
      [missing, 'missing', /: cannot read .*: ENOENT; check the path and that the gateway may read it$/],
      [unreadable, 'a directory', /: cannot read .*: EISDIR; check the path and that the gateway may read it$/],
      [await credsFile(`${jwtBlock!}\n`), 'no seed', /: cannot use .*: it holds a user JWT but no NKey seed block .*use the complete creds file/],
      [await credsFile(`${user.seed}\n`), 'a bare seed', /: cannot use .*: it holds no user JWT block .*nkey_seed_file instead/],
      [await credsFile(expired.creds), 'expired', /: cannot use .*: its user JWT expired at \d{4}-\d\d-\d\dT[\d:.]+Z; get a new creds file/],
      [
        await credsFile(user.creds.replace(user.seed, operator.account.user('other').seed)),
        'a seed of another user',
        /: cannot use .*: its NKey seed is not the key of its JWT's user/,
      ],
    ];
    for (const [path, what, expected] of cases) {
      const logs = capturingLogger();
      const message = await startRefused(exporterYaml({ creds_file: path }), logs.logger);
      expect(message, what).toMatch(/^exporter nats: creds_file: /);
      expect(message, what).toContain(path);
      expect(message, what).toMatch(expected);
      expectNoSecret(user, [message, ...logs.lines]);
      expectNoSecret(expired, [message, ...logs.lines]);
    }
  }, 30_000);

  it('refuses creds_file together with nkey_seed_file in the config', async () => {
    const message = await startRefused(exporterYaml({ creds_file: join(dir, 'a.creds'), nkey_seed_file: join(dir, 'a.nk') }));
    expect(message).toMatch(/exporters\.nats\.nkey_seed_file.*set either creds_file or nkey_seed_file, not both/s);
  });

  it('keeps reconnecting when its user JWT expires, and resumes once the creds file is renewed, with no restart', async () => {
    const keys = nkeys.createUser();
    const shortLived = operator.account.user('rotating', { keys, exp: nowS() + 3 });
    const path = await credsFile(shortLived.creds);
    const logs = capturingLogger();
    const edge = await exporterGateway(
      path,
      'ROTATE',
      { reconnect_wait: '100ms', retry_on_failure: { initial_interval: '100ms', max_interval: '500ms', max_elapsed_time: '0s' } },
      logs.logger,
    );
    const before = sink.stats().totals.records;
    const tier = await startGateway(
      natsConsumerConfig([url], { creds_file: path, reconnect_wait: '100ms', stream: 'ROTATE', durable: 'rotate-tier' }, sink.httpUrl),
      process.env,
      logs.logger,
    );
    let renewed: NatsUser | undefined;
    try {
      expect(await postLogs(edge, 'before expiry')).toBe(200);
      // The server disconnects both at the JWT's expiry; every reconnect is refused until the file is renewed,
      // and the client must not give up meanwhile (it did after two refusals).
      await sleep(shortLived.expiresAtMs! + 2000 - Date.now());
      expect(await postLogs(edge, 'after expiry')).toBe(200); // held in the sending queue
      renewed = operator.account.user('rotating', { keys });
      // Replaced whole, as a Kubernetes secret volume or `mv` does: a reconnect never reads half a file.
      await writeFile(`${path}.new`, renewed.creds);
      await rename(`${path}.new`, path);
      const deadline = Date.now() + 15_000;
      while ((await storedMessages('ROTATE')) < 2 && Date.now() < deadline) await sleep(200);
      expect(await storedMessages('ROTATE')).toBe(2);
      while (sink.stats().totals.records < before + 2 && Date.now() < deadline) await sleep(100);
      expect(sink.stats().totals.records).toBe(before + 2);
    } finally {
      await edge.shutdown(5000);
      await tier.shutdown(5000);
    }
    // Each says why it waits, and what to do.
    for (const component of ['exporter', 'receiver']) {
      const said = logs.lines.filter((l) => l.includes(`"kind":"${component}"`));
      expect(
        said.some((l) => l.includes(`creds_file: cannot use ${path} to reconnect: its user JWT expired at`)),
        said.join('\n'),
      ).toBe(true);
      expect(
        said.some((l) => /NATS server refused the credentials: (User Authentication Expired|Authorization Violation)/.test(l)),
        said.join('\n'),
      ).toBe(true);
    }
    expectNoSecret(shortLived, logs.lines);
    if (renewed) expectNoSecret(renewed, logs.lines);
  }, 40_000);
});

describe.skipIf(!run)('NATS operator mode: an account without JetStream', () => {
  let noJs: ChildProcess | undefined;
  let noJsUrl: string;
  let creds: string;
  beforeAll(async () => {
    const op = makeNatsOperator({ jetstream: false });
    const operatorFile = join(dir, 'no-js-operator.jwt');
    await writeFile(operatorFile, op.jwt);
    const started = await spawnNatsServer(dir, 'no-js', [...op.serverConf(operatorFile), `jetstream { store_dir: "${join(dir, 'no-js-store')}" }`]);
    noJs = started.process;
    noJsUrl = started.hostPort;
    creds = await credsFile(op.account.user('no-js').creds);
  });
  afterAll(() => void noJs?.kill('SIGKILL'));

  it('says how to give the account JetStream: at start, and on each publish when the stream is not created', async () => {
    const hint = /\(JetStream is off for this NATS account: in operator mode give the account JWT JetStream limits, e\.g\. nsc edit account/;
    const logs = capturingLogger();
    const exporterMessage = await startRefused(
      gatewayYaml({
        exporters: { nats: { servers: [noJsUrl], creds_file: creds, stream: { name: 'NOJS', create: true } } },
        pipelines: { logs: { exporters: ['nats'] } },
      }),
      logs.logger,
    );
    expect(exporterMessage).toMatch(/^exporter nats: stream NOJS: JetStream not enabled/);
    expect(exporterMessage).toMatch(hint);
    const receiverMessage = await startRefused(natsConsumerConfig([noJsUrl], { creds_file: creds, stream: 'NOJS' }, sink.httpUrl), logs.logger);
    expect(receiverMessage).toMatch(/^receiver nats: stream NOJS: JetStream not enabled/);
    expect(receiverMessage).toMatch(hint);

    const gw = await startGateway(
      gatewayYaml({
        exporters: {
          nats: { servers: [noJsUrl], creds_file: creds, timeout: '2s', sending_queue: { enabled: false }, retry_on_failure: { enabled: false } },
        },
        pipelines: { logs: { exporters: ['nats'] } },
      }),
      process.env,
      logs.logger,
    );
    try {
      const res = await postLogsResponse(gw, 'no JetStream');
      expect(res.status).toBe(503);
      // Nobody answered the publish: JetStream off is one of the causes the refusal names, with its fix.
      expect(await res.text()).toMatch(
        /no JetStream stream answered on otlp\.logs: .*or JetStream may be off for this NATS account \(in operator mode give the account JWT JetStream limits, e\.g\. nsc edit account/,
      );
    } finally {
      await gw.shutdown(5000);
    }
  });
});
