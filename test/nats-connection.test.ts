/**
 * How the nats exporter and receiver connect. They authenticate and encrypt as NATS clients do:
 * user/password, token, an NKey seed file, TLS verified against a CA (mutual TLS with a client
 * certificate). Each against a real nats-server on 127.0.0.1 configured to require it: a request sent to
 * the exporter is stored in the stream and the receiver delivers it to a sink; wrong credentials stop the
 * gateway from starting with a message that names the component and what to check, an unreadable file
 * names its key. With no NATS server up at all, the exporter starts anyway and its queue holds the data
 * until one comes up.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, nkeyAuthenticator, nkeys, type ConnectionOptions } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { requestFromJson } from '../src/pdata/codec.js';
import { startSink, type Sink } from '../src/tools/sink/index.js';
import { receiverAddress, startGateway, startRefused } from './helpers/gateway.js';
import { freePort, hasNatsServer, natsConsumerConfig, spawnNatsServer } from './helpers/nats-server.js';
import { gatewayYaml } from './helpers/configs.js';
import { hasOpenssl, makeCertSet, type CertSet } from './helpers/certs.js';

const run = hasNatsServer('the NATS credentials and TLS tests') && hasOpenssl('the NATS TLS test');

let dir: string;
let certs: CertSet;
let sink: Sink;
const servers: ChildProcess[] = [];

beforeAll(async () => {
  if (!run) return;
  dir = await mkdtemp(join(tmpdir(), 'gs-nats-creds-'));
  certs = makeCertSet();
  sink = await startSink({ grpc: false });
});
afterAll(async () => {
  for (const s of servers) s.kill('SIGKILL');
  await sink?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Starts a JetStream nats-server on 127.0.0.1 (`port`, default ephemeral) with `conf` lines; resolves with its host:port once it listens. */
async function natsServer(name: string, conf: string[], port = -1): Promise<string> {
  const { hostPort, process } = await spawnNatsServer(dir, name, [`jetstream { store_dir: "${join(dir, name)}" }`, ...conf], port);
  servers.push(process);
  return hostPort;
}

function logsRequest(body: string): Uint8Array {
  return requestFromJson('logs', JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: body } }] }] }] }));
}

/**
 * Sends one request through a gateway exporting with `auth` (nats exporter keys) to `url`, then consumes it
 * with a gateway whose receiver has the same keys; `client` lets the test read the stream itself.
 */
async function roundTrip(name: string, url: string, auth: Record<string, unknown>, client: Partial<ConnectionOptions>): Promise<void> {
  const stream = name.toUpperCase();
  const producer = await startGateway(
    gatewayYaml({
      exporters: { nats: { servers: [url], subject_prefix: name, stream: { name: stream, create: true }, sending_queue: { enabled: false }, ...auth } },
      pipelines: { logs: { exporters: ['nats'] } },
    }),
  );
  try {
    const res = await fetch(`http://${receiverAddress(producer, 'otlp', 'http')}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.from(logsRequest(`via ${name}`)),
    });
    expect(res.status).toBe(200);
  } finally {
    await producer.shutdown(5000);
  }
  const nc = await connect({ servers: [url], ...client });
  try {
    expect((await (await jetstreamManager(nc)).streams.info(stream)).state.messages).toBe(1);
  } finally {
    await nc.close();
  }
  const before = sink.stats().totals.records;
  const consumer = await startGateway(natsConsumerConfig([url], { stream, durable: name, ...auth }, sink.httpUrl));
  try {
    const deadline = Date.now() + 10_000;
    while (sink.stats().totals.records === before && Date.now() < deadline) await sleep(50);
    expect(sink.stats().totals.records).toBe(before + 1);
  } finally {
    await consumer.shutdown(5000);
  }
}

/** A gateway exporting to `url` with `auth` must not start; resolves with the error's message. */
function refusedStart(url: string, auth: Record<string, unknown>): Promise<string> {
  return startRefused(gatewayYaml({ exporters: { nats: { servers: [url], reconnect_wait: '100ms', ...auth } }, pipelines: { logs: { exporters: ['nats'] } } }));
}

describe.skipIf(!run)('NATS credentials and TLS (nats exporter and receiver)', () => {
  it('user and password', async () => {
    const url = await natsServer('userpass', ['authorization { user: gs, password: "s3cret-pw" }']);
    await roundTrip('userpass', url, { username: 'gs', password: 's3cret-pw' }, { user: 'gs', pass: 's3cret-pw' });
    const message = await refusedStart(url, { username: 'gs', password: 'wrong' });
    expect(message).toMatch(/exporter "?nats"?.*cannot connect to NATS.*check servers and credentials/is);
  });

  it('token', async () => {
    const url = await natsServer('token', ['authorization { token: "t0ken-value" }']);
    await roundTrip('token', url, { token: 't0ken-value' }, { token: 't0ken-value' });
    expect(await refusedStart(url, { token: 'other' })).toMatch(/cannot connect to NATS/);
  });

  it('NKey seed file', async () => {
    const user = nkeys.createUser();
    const seed = new TextDecoder().decode(user.getSeed());
    const seedFile = join(dir, 'user.nk');
    await writeFile(seedFile, `${seed}\n`);
    const url = await natsServer('nkey', [`authorization { users: [ { nkey: ${user.getPublicKey()} } ] }`]);
    await roundTrip('nkey', url, { nkey_seed_file: seedFile }, { authenticator: nkeyAuthenticator(user.getSeed()) });
    const other = join(dir, 'other.nk');
    await writeFile(other, new TextDecoder().decode(nkeys.createUser().getSeed()));
    expect(await refusedStart(url, { nkey_seed_file: other })).toMatch(/cannot connect to NATS/);
  });

  it('TLS verified against a CA, and mutual TLS', async () => {
    const url = await natsServer('tls', [
      `tls { cert_file: "${certs.server.certFile}", key_file: "${certs.server.keyFile}", ca_file: "${certs.ca.certFile}", verify: true }`,
    ]);
    const tls = { ca_file: certs.ca.certFile, cert_file: certs.client.certFile, key_file: certs.client.keyFile };
    await roundTrip('tls', `tls://${url}`, { tls }, { tls: { caFile: tls.ca_file, certFile: tls.cert_file, keyFile: tls.key_file } });
    // A server certificate the CA did not sign.
    expect(await refusedStart(`tls://${url}`, { tls: { ...tls, ca_file: certs.otherCa.certFile } })).toMatch(/cannot connect to NATS/);
  });

  it('names nkey_seed_file when it holds no valid user seed, before connecting', async () => {
    const account = new TextDecoder().decode(nkeys.createAccount().getSeed());
    for (const [text, why] of [
      ['not a seed\n', 'it holds no NKey seed'],
      [`${account}\n`, "its seed line is not a user's NKey seed"],
    ]) {
      const file = join(dir, 'bad.nk');
      await writeFile(file, text);
      const message = await refusedStart('127.0.0.1:1', { nkey_seed_file: file });
      expect(message).toMatch(new RegExp(`^exporter nats: nkey_seed_file: cannot use ${file}: ${why}`));
      expect(message).not.toContain(account);
    }
  });

  it('names the key of a credentials or TLS file it cannot read', async () => {
    for (const key of ['nkey_seed_file', 'creds_file', 'tls.ca_file', 'tls.cert_file', 'tls.key_file']) {
      const missing = join(dir, `missing-${key}`);
      const [k, sub] = key.split('.') as [string, string | undefined];
      const message = await refusedStart('127.0.0.1:1', sub ? { [k]: { [sub]: missing } } : { [k]: missing });
      expect(message).toBe(`exporter nats: ${key}: cannot read ${missing}: ENOENT; check the path and that the gateway may read it`);
    }
  });
});

describe.skipIf(!run)('the nats exporter with no NATS server up', () => {
  it('starts anyway, holds what it acknowledged in its queue, and delivers it once a server comes up', async () => {
    const port = await freePort();
    const url = `127.0.0.1:${port}`;
    const gw = await startGateway(
      gatewayYaml({
        exporters: { nats: { servers: [url], reconnect_wait: '100ms', subject_prefix: 'late', stream: { name: 'LATE', create: true } } },
        pipelines: { logs: { exporters: ['nats'] } },
      }),
    );
    try {
      const res = await fetch(`http://${receiverAddress(gw, 'otlp', 'http')}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: Buffer.from(logsRequest('before NATS')),
      });
      expect(res.status).toBe(200);
      await natsServer('late', [], port);
      const nc = await connect({ servers: [url] });
      try {
        const jsm = await jetstreamManager(nc);
        const deadline = Date.now() + 15_000;
        let stored = 0;
        while (stored === 0 && Date.now() < deadline) {
          await sleep(100);
          stored = await jsm.streams.info('LATE').then(
            (i) => i.state.messages,
            () => 0,
          );
        }
        expect(stored).toBe(1);
      } finally {
        await nc.close();
      }
    } finally {
      await gw.shutdown(5000);
    }
  });
});
