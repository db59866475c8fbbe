import { describe, expect, it } from 'vitest';
import { traceStateGet, traceStateInsert } from './trace-state.js';

describe('span.trace_state["key"] (W3C tracestate, as OpenTelemetry Go parses it)', () => {
  it('reads a member by key: "" when absent, nil when the header does not parse', () => {
    expect(traceStateGet('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE', 'congo')).toBe('t61rcWkgMzE');
    expect(traceStateGet(' rojo=1 ,\tcongo=2\t', 'congo')).toBe('2');
    expect(traceStateGet('rojo=1,,congo=2', 'congo')).toBe('2');
    expect(traceStateGet('tenant@vendor=x', 'tenant@vendor')).toBe('x');
    expect(traceStateGet('rojo=1', 'congo')).toBe('');
    expect(traceStateGet('', 'congo')).toBe('');
    for (const bad of ['novalue', 'Upper=1', 'a=1,a=2', 'a=has=equals', 'a=', 'a=1, ,b=2', Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')])
      expect(traceStateGet(bad, 'a')).toBeNull();
  });

  it('writes a member first (an update moves it to the front), keeps 32 at most, and writes nothing it may not', () => {
    expect(traceStateInsert('rojo=1,congo=2', 'congo', '3')).toBe('congo=3,rojo=1');
    expect(traceStateInsert('', 'vendor', 'x')).toBe('vendor=x');
    const full = Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(',');
    const after = traceStateInsert(full, 'new', 'x')!.split(',');
    expect(after).toHaveLength(32);
    expect([after[0], after[31]]).toEqual(['new=x', 'k30=v']);
    expect(traceStateInsert('rojo=1', 'Bad', 'x')).toBeUndefined();
    expect(traceStateInsert('rojo=1', 'ok', 'a,b')).toBeUndefined();
    expect(traceStateInsert('not a header', 'ok', 'x')).toBeUndefined();
  });
});
