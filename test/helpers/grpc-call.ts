/** One raw OTLP/gRPC Export call over node:http2, for tests that need to choose its framing and headers. */
import http2 from 'node:http2';
import type { Signal } from '../../src/core/signal.js';
import { GRPC_METHOD } from '../../src/core/signal.js';

export interface GrpcCallResult {
  status: number;
  message: string;
  /** Whether the status carried details (RetryInfo on a retryable refusal). */
  details: boolean;
}

/** Sends `message` (compressed already when `encoding` is set) and resolves with grpc-status and grpc-message. */
export function grpcExport(address: string, message: Uint8Array, opts: { signal?: Signal; encoding?: string } = {}): Promise<GrpcCallResult> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`http://${address}`);
    client.on('error', reject);
    const frame = Buffer.alloc(5 + message.length);
    frame[0] = opts.encoding ? 1 : 0;
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    const req = client.request({
      ':method': 'POST',
      ':path': GRPC_METHOD[opts.signal ?? 'logs'],
      'content-type': 'application/grpc',
      te: 'trailers',
      ...(opts.encoding ? { 'grpc-encoding': opts.encoding } : {}),
    });
    let headers: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (headers = h));
    req.on('trailers', (t) => (headers = { ...headers, ...t }));
    req.on('data', () => {});
    req.on('end', () => {
      client.close();
      resolve({
        status: Number(headers['grpc-status']),
        message: decodeURIComponent(String(headers['grpc-message'] ?? '')),
        details: headers['grpc-status-details-bin'] !== undefined,
      });
    });
    req.on('error', reject);
    req.end(frame);
  });
}
