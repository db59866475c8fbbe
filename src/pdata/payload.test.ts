import { describe, expect, it } from 'vitest';
import type { ExportLogsServiceRequest } from '../../proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';
import { requestFromJson } from './codec.js';
import { Payload } from './payload.js';

const logs = (...bodies: string[]) =>
  requestFromJson('logs', JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: bodies.map((b) => ({ body: { stringValue: b } })) }] }] }));

describe('Payload', () => {
  it('forwards the received bytes untouched until a stage changes the structure', () => {
    const bytes = logs('a', 'b');
    const p = new Payload('logs', bytes);
    expect(p.itemCount).toBe(2);
    p.decode();
    expect(p.bytes).toBe(bytes);
    (p.decode() as ExportLogsServiceRequest).resourceLogs[0]!.scopeLogs[0]!.logRecords.pop();
    p.changed();
    expect(p.bytes).not.toBe(bytes);
    expect(p.itemCount).toBe(1);
  });

  it('keeps a batch as parts: chunks() without copying, bytes joined once on demand', () => {
    const a = logs('a');
    const b = logs('b', 'c');
    const p = Payload.fromParts('logs', [a, b], { itemCount: 3 });
    expect(p.byteLength).toBe(a.length + b.length);
    expect(p.chunks()).toEqual([a, b]);
    expect(p.chunks()[0]).toBe(a);
    // A clone for another pipeline shares the parts, not a copy.
    expect(p.clone().chunks()[1]).toBe(b);
    const joined = p.bytes;
    expect(Buffer.from(joined).equals(Buffer.concat([a, b]))).toBe(true);
    expect(p.chunks()).toEqual([joined]);
    expect((p.decode() as ExportLogsServiceRequest).resourceLogs).toHaveLength(2);
    expect(new Payload('logs', joined).itemCount).toBe(3);
  });

  it('a single part is just the request', () => {
    const a = logs('a');
    expect(Payload.fromParts('logs', [a]).bytes).toBe(a);
  });
});
