import { describe, expect, it } from 'vitest';
import { readRecordTag, recordTag } from './record-tag.js';

describe('WAL record tag: signal code and client info', () => {
  it('is the bare code without client info (nothing allocated), and reads back so', () => {
    expect(recordTag(2, undefined)).toBe(2);
    expect(recordTag(2, {})).toBe(2);
    expect(recordTag(1, { 'gophership.somatic': 'replay' })).toBe(1);
    expect(readRecordTag(Uint8Array.of(0, 0, 0, 2))).toEqual({ code: 2, meta: undefined });
  });

  it('keeps client info through a round trip, without the gateway-internal marks', () => {
    const tag = recordTag(3, { 'client.address': '10.0.0.7', 'auth.subject': 'svc-a', 'metadata.x-tenant': 'acme', 'gophership.somatic': 'replay' });
    expect(tag).toBeInstanceOf(Uint8Array);
    expect(readRecordTag(tag as Uint8Array)).toEqual({ code: 3, meta: { 'client.address': '10.0.0.7', 'auth.subject': 'svc-a', 'metadata.x-tenant': 'acme' } });
  });

  it('drops request headers, keeping who the client is, when the headers outgrow a tag', () => {
    const tag = recordTag(1, { 'auth.subject': 'svc-a', 'metadata.x-big': 'x'.repeat(70_000) });
    expect(readRecordTag(tag as Uint8Array)).toEqual({ code: 1, meta: { 'auth.subject': 'svc-a' } });
    expect(recordTag(1, { 'metadata.x-big': 'x'.repeat(70_000) })).toBe(1);
  });

  it('reads a damaged or foreign tag as what it can: no code when too short, no client info when it does not parse', () => {
    expect(readRecordTag(Uint8Array.of(1, 2))).toEqual({ code: undefined, meta: undefined });
    expect(readRecordTag(Uint8Array.of(0, 0, 0, 1, 0x7b, 0x7b))).toEqual({ code: 1, meta: undefined });
    expect(readRecordTag(Buffer.concat([Buffer.of(0, 0, 0, 1), Buffer.from('{"a":1}')]))).toEqual({ code: 1, meta: undefined });
  });
});
