/**
 * The receiver reads every compression the collector's does (gzip, deflate/zlib, zstd, snappy in both
 * shapes) over HTTP and gRPC, with the same decompressed-size limit, and refuses the ones a config leaves
 * out of compression_algorithms.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseComponentId } from '../../src/core/component.js';
import type { Consumer } from '../../src/core/consumer.js';
import type { Payload } from '../../src/pdata/payload.js';
import { compress } from '../../src/compression/index.js';
import { snappyFramedCompress } from '../../src/compression/snappy.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { Telemetry } from '../../src/telemetry/telemetry.js';
import { grpcExport } from '../../test/helpers/grpc-call.js';
import { makeLogsRequest, serviceCapabilities } from '../../test/helpers/otlp-test-servers.js';
import { otlpReceiverConfig } from './config.js';
import { OtlpReceiver, otlpReceiverFactory } from './factory.js';
import { testHost } from '../../test/helpers/host.js';

class Keep implements Consumer {
  got: Payload[] = [];
  consume(p: Payload): Promise<void> {
    this.got.push(p);
    return Promise.resolve();
  }
}

const running: Array<{ receiver: OtlpReceiver; telemetry: Telemetry }> = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.receiver.shutdown();
    r.telemetry.close();
  }
});

async function start(protocols: Record<string, unknown>) {
  const issues: { path: string[]; message: string }[] = [];
  const cfg = otlpReceiverConfig.parse({ protocols }, [], issues);
  expect(issues).toEqual([]);
  const telemetry = new Telemetry();
  const keep = new Keep();
  const receiver = otlpReceiverFactory.create(
    { id: parseComponentId('otlp')!, kind: 'receiver', logger: silentLogger, ...serviceCapabilities(telemetry) },
    cfg,
    { logs: keep },
  ) as OtlpReceiver;
  await receiver.start(testHost());
  running.push({ receiver, telemetry });
  return { receiver, keep };
}

const body = Buffer.from(makeLogsRequest(2, 200));

describe('otlp receiver compression', () => {
  it('HTTP: gzip, deflate, zlib, zstd, snappy (block and framed) and x-snappy-framed bodies arrive intact', async () => {
    const all = ['', 'gzip', 'zstd', 'zlib', 'snappy', 'deflate', 'x-snappy-framed'];
    const { receiver, keep } = await start({ http: { endpoint: '127.0.0.1:0', compression_algorithms: all } });
    const url = `http://127.0.0.1:${receiver.httpAddress!.port}/v1/logs`;
    const cases: Array<[string, Buffer]> = [
      ['gzip', await compress('gzip', body)],
      ['deflate', await compress('deflate', body)],
      ['zlib', await compress('zlib', body)],
      ['zstd', await compress('zstd', body)],
      ['snappy', await compress('snappy', body, { transport: 'http' })],
      ['snappy', snappyFramedCompress(body)],
      ['x-snappy-framed', snappyFramedCompress(body)],
    ];
    for (const [encoding, data] of cases) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': encoding }, body: data });
      expect(res.status, encoding).toBe(200);
      await res.arrayBuffer();
    }
    expect(keep.got.map((p) => Buffer.from(p.bytes).equals(body))).toEqual(cases.map(() => true));
  });

  it('HTTP: a zstd or snappy bomb gets 413 at max_request_body_size; a bad stream gets 400', async () => {
    const { receiver, keep } = await start({ http: { endpoint: '127.0.0.1:0', max_request_body_size: 1024 * 1024 } });
    const url = `http://127.0.0.1:${receiver.httpAddress!.port}/v1/logs`;
    const zeros = Buffer.alloc(16 * 1024 * 1024);
    for (const [encoding, data] of [
      ['zstd', await compress('zstd', zeros)],
      ['snappy', await compress('snappy', zeros, { transport: 'http' })],
      ['snappy', snappyFramedCompress(zeros)],
    ] as const) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': encoding }, body: data });
      expect(res.status, encoding).toBe(413);
      await res.arrayBuffer();
    }
    const bad = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'zstd' },
      body: Buffer.from('not zstd at all'),
    });
    expect(bad.status).toBe(400);
    await bad.arrayBuffer();
    expect(keep.got).toHaveLength(0);
  });

  it('HTTP: compression_algorithms limits what is accepted (415 names the list); response_headers are sent', async () => {
    const { receiver } = await start({ http: { endpoint: '127.0.0.1:0', compression_algorithms: ['', 'gzip'], response_headers: { 'x-gateway': 'gs' } } });
    const url = `http://127.0.0.1:${receiver.httpAddress!.port}/v1/logs`;
    const refused = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'zstd' },
      body: await compress('zstd', Buffer.from('{}')),
    });
    expect(refused.status).toBe(415);
    expect(JSON.parse(await refused.text()).message).toMatch(/use one of none, gzip/);
    const ok = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: await compress('gzip', Buffer.from('{}')),
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-gateway')).toBe('gs');
    await ok.arrayBuffer();
  });

  it('gRPC: zstd, snappy and deflate messages; a bomb gets RESOURCE_EXHAUSTED', async () => {
    const { receiver, keep } = await start({ grpc: { endpoint: '127.0.0.1:0', max_recv_msg_size_mib: 1 } });
    const address = `127.0.0.1:${receiver.grpcAddress!.port}`;
    for (const encoding of ['zstd', 'snappy', 'deflate', 'gzip'] as const) {
      const r = await grpcExport(address, await compress(encoding, body, { transport: 'grpc' }), { encoding });
      expect(r.status, encoding).toBe(0);
    }
    expect(keep.got).toHaveLength(4);
    const bomb = await grpcExport(address, await compress('zstd', Buffer.alloc(8 * 1024 * 1024)), { encoding: 'zstd' });
    expect(bomb.status).toBe(8);
    const unknown = await grpcExport(address, body, { encoding: 'br' });
    expect(unknown.status).toBe(12);
    expect(unknown.message).toMatch(/zstd,snappy/);
  });
});
