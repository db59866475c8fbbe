/**
 * Issue 18: a few compressed bytes must not stall the gateway. The fuzzer found a 7-byte snappy message
 * that held the event loop for a minute (snappyjs walking back over a negative literal length), and zstd
 * frames did the same through fzstd (a declared window shifted for every block, up to 1.9 GiB of it).
 * The gateway runs as its own process: while one client sends such a message over gRPC or HTTP, another
 * client on another connection must be answered at once, and the bad message refused with a status that
 * names the fault.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRPC_METHOD, HTTP_PATH } from '../src/core/signal.js';
import { decodeStatus } from '../src/pdata/codec.js';
import { GrpcStatus } from '../src/grpc/status.js';
import { grpcExport, type GrpcCallResult } from './helpers/grpc-call.js';
import { killGatewayChild, rssOf, startGatewayChild, type GatewayChild } from './helpers/gateway-child.js';
import { makeLogsRequest } from './helpers/otlp-test-servers.js';
import { gatewayYaml, otlpReceiver, SELF_METRICS } from './helpers/configs.js';

/** bench/fuzz.mjs --only grpc-receiver --seed 1611810550 --path 18444: grpc-encoding snappy, these 7 bytes. */
const SNAPPY_HANG = Buffer.from('2cfcc2a8cce6a1', 'hex');

/** A zstd frame (no content size) with window descriptor `wd` and `blocks` raw blocks of one byte each. */
function zstdOneByteBlocks(wd: number, blocks: number): Buffer {
  const block = Buffer.from([0x08, 0x00, 0x00, 0x0a]); // a raw block of one byte
  return Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, wd]), ...Array<Buffer>(blocks).fill(block), Buffer.from([0x01, 0x00, 0x00])]);
}
/** 1 MiB of one-byte blocks under an 8 MiB window: fzstd shifted the window 262,144 times (minutes). */
const ZSTD_MANY_BLOCKS = zstdOneByteBlocks(13 << 3, 262_144);
/** 21 bytes declaring a 1.875 GiB window: fzstd allocated and shifted all of it per block. */
const ZSTD_HUGE_WINDOW = zstdOneByteBlocks((20 << 3) | 7, 3);

const good = makeLogsRequest(1, 20);
/** How long the other client may wait: far above an answer's milliseconds, far below the hangs' minutes. */
const ANSWER_MS = 10_000;

function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (the gateway's event loop is blocked)`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir: string;
let gw: GatewayChild;
let client: grpc.Client;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-hostile-'));
  gw = await startGatewayChild(
    gatewayYaml({
      receivers: { otlp: otlpReceiver(['grpc', 'http']) },
      exporters: { debug: { sampling_initial: 1, sampling_thereafter: 1000 } },
      pipelines: { logs: { exporters: ['debug'] } },
      service: SELF_METRICS,
    }),
    join(dir, 'gateway.yaml'),
  );
  client = new grpc.Client(gw.grpc!, grpc.credentials.createInsecure());
}, 30_000);

afterAll(async () => {
  client?.close();
  await killGatewayChild(gw);
  await rm(dir, { recursive: true, force: true });
});

/** Another client's Export over @grpc/grpc-js on its own connection: its status code. */
function otherGrpcClient(): Promise<number> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      GRPC_METHOD.logs,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(good),
      { deadline: Date.now() + ANSWER_MS },
      (err) => resolve(err ? err.code : GrpcStatus.OK),
    );
  });
}

async function otherHttpClient(): Promise<number> {
  const res = await fetch(`http://${gw.http}${HTTP_PATH.logs}`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: good });
  await res.arrayBuffer();
  return res.status;
}

/** Sends `hostile`, and while the gateway handles it, a good request from another client. */
async function sendBeside<T>(hostile: () => Promise<T>, other: () => Promise<number>, what: string): Promise<{ refusal: T; otherStatus: number }> {
  const refusal = within(ANSWER_MS, `${what} itself`, hostile());
  // The hostile bytes reach the gateway first (loopback: well under this), the good request after them.
  await sleep(300);
  const otherStatus = await within(ANSWER_MS, `another client beside ${what}`, other());
  return { refusal: await refusal, otherStatus };
}

describe('hostile compressed messages (issue 18)', () => {
  it("gRPC: the fuzzer's 7-byte snappy message is refused (INTERNAL, naming the fault) while another client is served", async () => {
    const { refusal, otherStatus } = await sendBeside(
      () => grpcExport(gw.grpc!, SNAPPY_HANG, { encoding: 'snappy' }),
      otherGrpcClient,
      'the 7-byte snappy message',
    );
    expect(otherStatus).toBe(GrpcStatus.OK);
    expect(refusal.status).toBe(GrpcStatus.INTERNAL);
    expect(refusal.message).toBe(
      "could not decompress the snappy request message: snappy block: a literal of 3872172227 bytes at byte 6 runs past the block's end",
    );
  });

  it('HTTP: the same bytes as a snappy body get 400 naming the fault while another client is served', async () => {
    const { refusal, otherStatus } = await sendBeside(
      async () => {
        const res = await fetch(`http://${gw.http}${HTTP_PATH.logs}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
          body: SNAPPY_HANG,
        });
        return { status: res.status, body: decodeStatus('proto', new Uint8Array(await res.arrayBuffer())) };
      },
      otherHttpClient,
      'the 7-byte snappy body',
    );
    expect(otherStatus).toBe(200);
    expect(refusal.status).toBe(400);
    expect(refusal.body?.message).toMatch(/not valid snappy data: snappy block: a literal of 3872172227 bytes at byte 6 runs past the block's end/);
  });

  it('gRPC and HTTP: 1 MiB of one-byte zstd blocks is decoded in one pass and refused as the junk it holds', async () => {
    const viaGrpc = await sendBeside(() => grpcExport(gw.grpc!, ZSTD_MANY_BLOCKS, { encoding: 'zstd' }), otherGrpcClient, '262,144 zstd blocks over gRPC');
    expect(viaGrpc.otherStatus).toBe(GrpcStatus.OK);
    expect(viaGrpc.refusal.status).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(viaGrpc.refusal.message).toMatch(/malformed protobuf/);
    const viaHttp = await sendBeside(
      async () => {
        const res = await fetch(`http://${gw.http}${HTTP_PATH.logs}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'zstd' },
          body: ZSTD_MANY_BLOCKS,
        });
        await res.arrayBuffer();
        return res.status;
      },
      otherHttpClient,
      '262,144 zstd blocks over HTTP',
    );
    expect(viaHttp.otherStatus).toBe(200);
    expect(viaHttp.refusal).toBe(400);
  });

  it('a 21-byte zstd frame declaring a 1.875 GiB window costs no window: the gateway stays small and serves others', async () => {
    const results: GrpcCallResult[] = [];
    for (let i = 0; i < 3; i++) {
      const { refusal, otherStatus } = await sendBeside(
        () => grpcExport(gw.grpc!, ZSTD_HUGE_WINDOW, { encoding: 'zstd' }),
        otherGrpcClient,
        'a zstd frame with a 1.875 GiB window',
      );
      expect(otherStatus).toBe(GrpcStatus.OK);
      results.push(refusal);
    }
    // Three bytes 0x0a: a truncated field, refused by validation after decompression.
    expect(results.map((r) => r.status)).toEqual([3, 3, 3]);
    expect(await rssOf(gw.pid)).toBeLessThan(400 * 1024 * 1024);
    expect(gw.child.exitCode).toBeNull();
  });
});
