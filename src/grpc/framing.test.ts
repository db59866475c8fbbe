import { describe, expect, it } from 'vitest';
import { decodeStatus } from '../pdata/codec.js';
import {
  GRPC_PREFIX_BYTES,
  encodeGrpcPrefix,
  frameGrpcMessage,
  grpcPrefixFlag,
  grpcPrefixLength,
  grpcStatusHeaders,
  readGrpcStatus,
  unframeGrpcMessage,
} from './framing.js';
import { GrpcStatus } from './status.js';

describe('gRPC framing', () => {
  it('frames a message as flag, big-endian u32 length and bytes, and reads it back', () => {
    const msg = Buffer.from('hello');
    const framed = frameGrpcMessage(msg);
    expect([...framed]).toEqual([0, 0, 0, 0, 5, ...msg]);
    expect(unframeGrpcMessage(framed)).toEqual({ compressed: false, message: msg });
    const prefix = encodeGrpcPrefix(0x01020304, true);
    expect([...prefix]).toEqual([1, 1, 2, 3, 4]);
    expect(grpcPrefixFlag(prefix)).toBe(1);
    expect(grpcPrefixLength(prefix)).toBe(0x01020304);
    // The largest length a prefix holds reads back unsigned.
    expect(grpcPrefixLength(encodeGrpcPrefix(0xffffffff, false))).toBe(0xffffffff);
    expect(frameGrpcMessage(new Uint8Array(0))).toHaveLength(GRPC_PREFIX_BYTES);
  });

  it('takes a body only when it is exactly one framed message', () => {
    const framed = frameGrpcMessage(Buffer.from('abc'), true);
    expect(unframeGrpcMessage(framed)?.compressed).toBe(true);
    expect(unframeGrpcMessage(framed.subarray(0, 4))).toBeUndefined(); // shorter than a prefix
    expect(unframeGrpcMessage(framed.subarray(0, 7))).toBeUndefined(); // cut short
    expect(unframeGrpcMessage(Buffer.concat([framed, Buffer.from([0])]))).toBeUndefined(); // bytes after it
    const badFlag = Buffer.from(framed);
    badFlag[0] = 2;
    expect(unframeGrpcMessage(badFlag)).toBeUndefined();
  });

  it('a status written as trailers-only headers reads back the same: code, percent-encoded message, RetryInfo details', () => {
    const text = 'queue full: 100% of 5 MiB — retry';
    const headers = grpcStatusHeaders(GrpcStatus.RESOURCE_EXHAUSTED, text, 1500);
    expect(headers['grpc-message']).toMatch(/^queue full: 100%25 of 5 MiB %E2%80%94 retry$/);
    expect(String(headers['grpc-status-details-bin'])).not.toMatch(/=$/);
    const incoming = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)]));
    const st = readGrpcStatus(incoming, {});
    expect(st).toMatchObject({ code: GrpcStatus.RESOURCE_EXHAUSTED, message: text });
    expect(decodeStatus('proto', st!.details!)).toEqual({ code: GrpcStatus.RESOURCE_EXHAUSTED, message: text, retryDelayMs: 1500 });
    // Trailers win over headers; without grpc-status anywhere there is no status to read.
    expect(readGrpcStatus({ 'grpc-status': '14' }, { 'grpc-status': '0' })?.code).toBe(0);
    expect(readGrpcStatus({ ':status': 503 } as never, {})).toBeUndefined();
    expect(grpcStatusHeaders(GrpcStatus.UNAVAILABLE, 'x')['grpc-status-details-bin']).toBeUndefined();
  });
});
