import { describe, expect, it } from 'vitest';
import { GrpcStatus, grpcStatusFromHttp, grpcStatusName, httpStatusFromGrpc, isRetryableGrpc, isRetryableHttp } from './status.js';

describe('gRPC status codes', () => {
  it('has the 17 standard codes with their numbers', () => {
    expect(Object.values(GrpcStatus)).toEqual([...Array(17).keys()]);
    expect(GrpcStatus.UNAVAILABLE).toBe(14);
    expect(GrpcStatus.UNAUTHENTICATED).toBe(16);
    expect(grpcStatusName(8)).toBe('RESOURCE_EXHAUSTED');
    expect(grpcStatusName(99)).toBe('CODE_99');
  });

  it('maps gRPC -> HTTP as the collector does', () => {
    for (const c of [
      GrpcStatus.UNAVAILABLE,
      GrpcStatus.CANCELLED,
      GrpcStatus.DEADLINE_EXCEEDED,
      GrpcStatus.ABORTED,
      GrpcStatus.OUT_OF_RANGE,
      GrpcStatus.DATA_LOSS,
    ]) {
      expect(httpStatusFromGrpc(c)).toBe(503);
    }
    expect(httpStatusFromGrpc(GrpcStatus.RESOURCE_EXHAUSTED)).toBe(429);
    expect(httpStatusFromGrpc(GrpcStatus.INVALID_ARGUMENT)).toBe(400);
    expect(httpStatusFromGrpc(GrpcStatus.UNAUTHENTICATED)).toBe(401);
    expect(httpStatusFromGrpc(GrpcStatus.PERMISSION_DENIED)).toBe(403);
    expect(httpStatusFromGrpc(GrpcStatus.UNIMPLEMENTED)).toBe(404);
    expect(httpStatusFromGrpc(GrpcStatus.INTERNAL)).toBe(500);
    expect(httpStatusFromGrpc(GrpcStatus.UNKNOWN)).toBe(500);
    expect(httpStatusFromGrpc(GrpcStatus.OK)).toBe(200);
  });

  it('maps HTTP -> gRPC as the collector does', () => {
    expect([400, 401, 403, 404, 429, 502, 503, 504, 500, 413, 200].map(grpcStatusFromHttp)).toEqual([3, 16, 7, 12, 8, 14, 14, 14, 2, 2, 0]);
  });

  it('knows what OTLP clients retry', () => {
    expect(isRetryableGrpc(GrpcStatus.UNAVAILABLE, false)).toBe(true);
    expect(isRetryableGrpc(GrpcStatus.RESOURCE_EXHAUSTED, false)).toBe(false);
    expect(isRetryableGrpc(GrpcStatus.RESOURCE_EXHAUSTED, true)).toBe(true);
    expect(isRetryableGrpc(GrpcStatus.INVALID_ARGUMENT, true)).toBe(false);
    expect([429, 502, 503, 504].every(isRetryableHttp)).toBe(true);
    expect([400, 413, 500, 501].some(isRetryableHttp)).toBe(false);
  });
});
