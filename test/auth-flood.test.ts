/**
 * Issue 18: a flood of wrong passwords must not starve the gateway. bcrypt and SHA-crypt are slow on
 * purpose (~70 ms and ~9 ms a check here); checked on the event loop, every wrong guess for a real user
 * held it for that long, so an attacker on the network stalled every other client: other tenants on other
 * receivers, the metrics scrape, and the valid users of the same receiver. The gateway runs as its own
 * process; while many connections send wrong passwords (each guess a new one, as a brute force does), a
 * client whose credential already passed, a client whose credential is checked for the first time, a
 * client of a receiver without auth and the metrics scrape must all be answered in well under ANSWER_MS.
 * The flood's requests get 401 or an honest 503 with Retry-After, the gateway lives on, and no password
 * appears in its log.
 */
import { execFileSync, fork } from 'node:child_process';
import { on } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_PATH } from '../src/core/signal.js';
import { GrpcStatus } from '../src/grpc/status.js';
import { killGatewayChild, startGatewayChild, type GatewayChild } from './helpers/gateway-child.js';
import { makeLogsRequest } from './helpers/otlp-test-servers.js';
import { authBy, gatewayYaml, otlpReceiver, SELF_METRICS } from './helpers/configs.js';

/**
 * The longest a well-behaved client may wait while the flood runs. Measured on this 2-core machine under
 * the other helpers' load (load average ~8): with the checks on the event loop, the clients waited 2-10 s
 * and several got no answer within GIVE_UP_MS (20 s), for both floods; with the checks on a worker thread,
 * at most 220 ms, except the first-time bcrypt credential, which waits for the thread: 0.6-1.7 s (the
 * latter with 15 other test files running). 4 s leaves a wide margin on both sides.
 */
const ANSWER_MS = 4000;
/**
 * Wrong passwords a second, and at most unanswered: well past what the hashes allow (~14 bcrypt and ~110
 * SHA-crypt checks a second on one core), so that on the event loop a backlog of seconds builds up;
 * refused cheaply, the same rates cost the event loop little.
 */
const BCRYPT_FLOOD = { perSecond: 150, maxOutstanding: 300 };
/** Over several connections, as many clients would open (one connection's streams share its flow-control window). */
const SHA_CRYPT_FLOOD = { perSecond: 400, maxOutstanding: 1000, connections: 8 };
const FLOOD_WARMUP_MS = 1500;

const USERS = { alice: 'alice-pass-1f9c', bob: 'bob-pass-77ae', carol: 'carol-pass-3b1d', dave: 'dave-pass-90c4' };
const body = makeLogsRequest(1, 5);

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir: string;
let gw: GatewayChild;
/** host:port of the authenticated receiver's OTLP/HTTP and OTLP/gRPC, and of the open receiver's OTLP/HTTP. */
let basicHttp: string;
let basicGrpc: string;
let openHttp: string;

/** The addresses of the `OTLP receiver listening` line of receiver `id`. */
function listening(id: string): { http?: string; grpc?: string } {
  const line = gw
    .stderr()
    .split('\n')
    .find((l) => l.includes('"OTLP receiver listening"') && l.includes(`"id":"${id}"`));
  if (!line) throw new Error(`no listening line for ${id}:\n${gw.stderr()}`);
  const parsed = JSON.parse(line) as { http?: string; grpc?: string };
  return { http: parsed.http, grpc: parsed.grpc };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-auth-flood-'));
  // Realistic costs: bcrypt at cost 10 (htpasswd -B's default is 5; 10 is what guides recommend) and
  // SHA-crypt as `openssl passwd -6` writes it (5000 rounds).
  const shaCrypt = (password: string): string => execFileSync('openssl', ['passwd', '-6', password], { encoding: 'utf8' }).trim();
  const htpasswd = [
    `alice:${bcrypt.hashSync(USERS.alice, 10)}`,
    `bob:${bcrypt.hashSync(USERS.bob, 10)}`,
    `carol:${shaCrypt(USERS.carol)}`,
    `dave:${shaCrypt(USERS.dave)}`,
  ].join('\n');
  gw = await startGatewayChild(
    gatewayYaml({
      extensions: { 'basicauth/in': { htpasswd: { inline: htpasswd } } },
      receivers: { 'otlp/basic': otlpReceiver(['grpc', 'http'], authBy('basicauth/in')), 'otlp/open': otlpReceiver(['http']) },
      exporters: { debug: { sampling_initial: 1, sampling_thereafter: 100_000 } },
      pipelines: { logs: { receivers: ['otlp/basic', 'otlp/open'], exporters: ['debug'] } },
      service: SELF_METRICS,
    }),
    join(dir, 'gateway.yaml'),
  );
  ({ http: basicHttp, grpc: basicGrpc } = listening('otlp/basic') as { http: string; grpc: string });
  openHttp = listening('otlp/open').http!;
}, 60_000);

afterAll(async () => {
  await killGatewayChild(gw);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A well-behaved request still unanswered after this long is given up (status 0): the event loop is starved. */
const GIVE_UP_MS = 20_000;

/** One OTLP/HTTP export: its status (0: no answer within GIVE_UP_MS), Retry-After and how long the answer took. */
async function httpExport(address: string, authorization?: string): Promise<{ status: number; retryAfter: string | null; ms: number }> {
  const t0 = performance.now();
  try {
    const res = await fetch(`http://${address}${HTTP_PATH.logs}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', ...(authorization ? { authorization } : {}) },
      body,
      signal: AbortSignal.timeout(GIVE_UP_MS),
    });
    await res.arrayBuffer();
    return { status: res.status, retryAfter: res.headers.get('retry-after'), ms: performance.now() - t0 };
  } catch (err) {
    if ((err as Error).name !== 'TimeoutError') throw err;
    return { status: 0, retryAfter: null, ms: performance.now() - t0 };
  }
}

/** What the flood's requests got back, by answer (test/helpers/password-flood.mjs). */
type Answers = Map<string, number>;

interface FloodOptions {
  protocol: 'http' | 'grpc';
  address: string;
  user: string;
  perSecond: number;
  maxOutstanding: number;
  connections?: number;
}

/** Runs `probe` while an attacker process floods (after it got going), then stops the flood. */
async function whileFlooding<T>(opts: FloodOptions, probe: () => Promise<T>): Promise<{ probed: T; answers: Answers }> {
  const attacker = fork(join(import.meta.dirname, 'helpers', 'password-flood.mjs'), [JSON.stringify({ ...opts, body: Buffer.from(body).toString('base64') })], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages = on(attacker, 'message') as AsyncIterableIterator<[{ started?: true; answers?: [string, number][] }]>;
  try {
    await messages.next();
    await sleep(FLOOD_WARMUP_MS);
    const probed = await probe();
    attacker.send('stop');
    for await (const [m] of messages) if (m.answers) return { probed, answers: new Map(m.answers) };
    throw new Error('the attacker process ended without its answers');
  } finally {
    attacker.kill('SIGKILL');
  }
}

/** The well-behaved clients, one after the other, each timed. */
async function wellBehaved(remembered: string, fresh: string): Promise<Record<string, { status: number; ms: number }>> {
  const out: Record<string, { status: number; ms: number }> = {};
  for (let i = 0; i < 3; i++) out[`remembered #${i + 1}`] = await httpExport(basicHttp, remembered);
  out['fresh credential'] = await httpExport(basicHttp, fresh);
  out['other receiver (no auth)'] = await httpExport(openHttp);
  const t0 = performance.now();
  const scrape = await fetch(`http://${gw.metrics}/metrics`, { signal: AbortSignal.timeout(GIVE_UP_MS) }).then(
    async (res) => (await res.text(), res.status),
    () => 0,
  );
  out['metrics scrape'] = { status: scrape, ms: performance.now() - t0 };
  return out;
}

function expectServedPromptly(what: string, results: Record<string, { status: number; ms: number }>, answers: Answers): void {
  // The measured margin, for whoever reads the run.
  console.log(
    `${what}: ${Object.entries(results)
      .map(([who, r]) => `${who} ${r.status} in ${Math.round(r.ms)} ms`)
      .join(', ')}; flood answers ${JSON.stringify([...answers])}`,
  );
  for (const [who, r] of Object.entries(results)) {
    expect(r.status, `${who}: ${JSON.stringify(results)}`).toBe(200);
    expect(r.ms, `${who} waited ${Math.round(r.ms)} ms: ${JSON.stringify(results)}`).toBeLessThan(ANSWER_MS);
  }
}

describe('a flood of wrong passwords (issue 18)', () => {
  it('bcrypt over OTLP/HTTP: other clients are served at once; the flood gets 401 or 503 with Retry-After', async () => {
    // alice's credential passes once before the flood: remembered.
    expect((await httpExport(basicHttp, basic('alice', USERS.alice))).status).toBe(200);
    const { probed, answers } = await whileFlooding({ protocol: 'http', address: basicHttp, user: 'alice', ...BCRYPT_FLOOD }, () =>
      wellBehaved(basic('alice', USERS.alice), basic('bob', USERS.bob)),
    );
    expectServedPromptly('bcrypt flood', probed, answers);
    for (const answer of answers.keys()) expect(['401', '503 retry-after 1'], JSON.stringify([...answers])).toContain(answer);
    expect(answers.get('401')).toBeGreaterThan(0);
    expect(gw.child.exitCode).toBeNull();
  }, 120_000);

  it('SHA-crypt over OTLP/gRPC: other clients are served at once; the flood gets UNAUTHENTICATED or UNAVAILABLE with RetryInfo', async () => {
    expect((await httpExport(basicHttp, basic('carol', USERS.carol))).status).toBe(200);
    const { probed, answers } = await whileFlooding({ protocol: 'grpc', address: basicGrpc, user: 'carol', ...SHA_CRYPT_FLOOD }, () =>
      wellBehaved(basic('carol', USERS.carol), basic('dave', USERS.dave)),
    );
    expectServedPromptly('SHA-crypt flood', probed, answers);
    for (const answer of answers.keys())
      expect([String(GrpcStatus.UNAUTHENTICATED), 'UNAVAILABLE retry-info true'], JSON.stringify([...answers])).toContain(answer);
    expect(answers.get(String(GrpcStatus.UNAUTHENTICATED))).toBeGreaterThan(0);
    expect(gw.child.exitCode).toBeNull();
  }, 120_000);

  it('no password of the floods or of the clients appears in the log', () => {
    const log = gw.stderr();
    for (const password of Object.values(USERS)) expect(log).not.toContain(password);
    expect(log).not.toMatch(/guess-\d+/);
  });
});
