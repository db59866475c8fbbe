import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { s } from '../core/schema.js';
import { Payload } from '../pdata/payload.js';
import { silentLogger } from '../telemetry/logger.js';
import { makeTracesRequest } from '../../test/helpers/otlp-test-servers.js';
import { OtlpGrpcClient, otlpGrpcClientShape } from './otlp-client.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

describe('OtlpGrpcClient', () => {
  it('treats a connection that closes before any response as retryable (a killed server, a proxy reset), not as a permanent UNKNOWN', async () => {
    const server = http2.createServer();
    // Reads the request, then drops the connection without a response.
    server.on('stream', (stream) => stream.on('data', () => stream.session?.destroy()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => server.close());
    const cfg = s.object(otlpGrpcClientShape()).parse({ tls: { insecure: true }, compression: 'none' }, [], []);
    const client = new OtlpGrpcClient('exporter test', '', `127.0.0.1:${(server.address() as AddressInfo).port}`, cfg, silentLogger);
    await client.start();
    closers.push(() => client.close());
    await expect(client.send(new Payload('traces', makeTracesRequest(3)))).rejects.toMatchObject({ name: 'RetryableError' });
  });
});
