/**
 * Issue 17 item 4: one client's bytes must never sink other clients' acknowledged records. With the
 * receiver's UTF-8 check off (check_utf8: false), a request holding an invalid UTF-8 string is accepted,
 * joined by the batch processor with two other clients' requests, and the strict downstream refuses the
 * whole batch (400). The exporter narrows the refusal: it resends the batch's resource entries in halves,
 * so every good record arrives and only the bad client's records fail, into the dead-letter file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_PATH } from '../src/core/signal.js';
import { encodeStatus } from '../src/pdata/codec.js';
import { validateRequest } from '../src/pdata/validate.js';
import { countItems } from '../src/pdata/wire.js';
import { readDeadLetterFile } from '../src/exporterhelper/index.js';
import type { Service } from '../src/service/service.js';
import { makeLogsRequest, startHttpServer, type TestHttpServer } from './helpers/otlp-test-servers.js';
import { receiverAddress, startGateway } from './helpers/gateway.js';
import { gatewayYaml, otlpReceiver } from './helpers/configs.js';
import { until } from './helpers/until.js';

/** A logs request whose every string holding "BADX" has the X replaced by 0xff (never valid UTF-8). */
function invalidUtf8Request(records: number): Uint8Array {
  const b = Buffer.from(makeLogsRequest(1, records, 'BADX'));
  for (let i = b.indexOf('BADX'); i >= 0; i = b.indexOf('BADX', i + 4)) b[i + 3] = 0xff;
  return b;
}

describe('a batch poisoned by one client', () => {
  let dir: string;
  let sink: TestHttpServer;
  let gateway: Service;
  let url: string;
  /** Records the strict sink accepted, and the bodies it refused. */
  const accepted: Buffer[] = [];
  let refused = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gs-poison-'));
    sink = await startHttpServer();
    // A strict backend: it refuses (400, permanent) any request holding a string that is not UTF-8.
    sink.reply = (req) => {
      try {
        validateRequest('logs', req.body);
      } catch (err) {
        refused++;
        return { status: 400, headers: { 'content-type': 'application/x-protobuf' }, body: encodeStatus('proto', 3, (err as Error).message) };
      }
      accepted.push(req.body);
      return { status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(0) };
    };
    gateway = await startGateway(
      gatewayYaml({
        receivers: { otlp: { check_utf8: false, ...otlpReceiver() } },
        processors: { batch: { timeout: '300ms', flush_when_idle: false } },
        exporters: {
          otlphttp: {
            endpoint: sink.url,
            compression: 'none',
            retry_on_failure: { initial_interval: '50ms' },
            dead_letter: { path: join(dir, 'dead-letter.pb') },
          },
        },
        pipelines: { logs: { processors: ['batch'], exporters: ['otlphttp'] } },
      }),
    );
    url = `http://${receiverAddress(gateway, 'otlp', 'http')}${HTTP_PATH.logs}`;
  });
  afterAll(async () => {
    await gateway?.shutdown();
    await sink?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('costs only the bad request its records: every good record arrives, the bad ones go to the dead-letter file', async () => {
    const post = (body: Uint8Array) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
    const goodA = makeLogsRequest(3, 40, 'goodA');
    const goodC = makeLogsRequest(2, 30, 'goodC');
    const bad = invalidUtf8Request(25);
    const answers = await Promise.all([post(goodA), post(bad), post(goodC)]);
    // All three were acknowledged (the receiver's check is off), so all three are the gateway's to keep.
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    const deadFile = join(dir, 'dead-letter.pb');
    await until(
      async () => accepted.reduce((n, b) => n + countItems('logs', b), 0) === 120 + 60 && (await readDeadLetterFile(deadFile).catch(() => [])).length > 0,
      15_000,
    );
    // The joined batch was refused once, then narrowed; nothing of the bad client reached the sink.
    expect(refused).toBeGreaterThanOrEqual(2);
    for (const b of accepted) expect(b.includes(Buffer.from('BAD'))).toBe(false);
    const dead = await readDeadLetterFile(deadFile);
    expect(dead.reduce((n, d) => n + countItems('logs', d.bytes), 0)).toBe(25);
    expect(Buffer.concat(dead.map((d) => d.bytes)).equals(Buffer.from(bad))).toBe(true);
  });
});
