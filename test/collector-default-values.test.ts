/**
 * Keys the gateway does not implement, written with the collector's own default (as a config dumped by
 * the collector, or copied from one, has them): they must load, since they ask for nothing the gateway
 * does not do; any other value says "not supported yet". And confignet's dialer on the gRPC receiver.
 */
import { describe, expect, it } from 'vitest';
import type { ConfigIssue } from '../src/core/schema.js';
import { otlphttpExporterConfig } from '../exporters/otlphttp/config.js';
import { otlpExporterConfig } from '../exporters/otlp/config.js';
import { otlpReceiverConfig } from '../receivers/otlp/config.js';

function issuesOf(schema: { parse(v: unknown, p: string[], i: ConfigIssue[]): unknown }, raw: unknown): string[] {
  const issues: ConfigIssue[] = [];
  schema.parse(raw, [], issues);
  return issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe("collector keys written with the collector's defaults", () => {
  it('otlphttp: proxy_url "", cookies.enabled false, max_conns_per_host 0, keepalive.enabled true, tls.reload_interval 0 load', () => {
    // keepalive is implemented (enabled: false is disable_keep_alives: true); the other two still say not supported yet.
    const neutral = {
      endpoint: 'https://backend:4318',
      proxy_url: '',
      cookies: { enabled: false },
      max_conns_per_host: 0,
      keepalive: { enabled: true },
      tls: { reload_interval: '0s' },
    };
    expect(issuesOf(otlphttpExporterConfig, neutral)).toEqual([]);
    const asking = { endpoint: 'https://backend:4318', proxy_url: 'http://proxy:3128', max_conns_per_host: 10, keepalive: { enabled: false } };
    expect(issuesOf(otlphttpExporterConfig, asking)).toEqual([
      expect.stringMatching(/^proxy_url: not supported yet/),
      expect.stringMatching(/^max_conns_per_host: not supported yet/),
    ]);
  });

  it('otlp: tls.reload_interval 0 loads; 1h is not supported yet', () => {
    expect(issuesOf(otlpExporterConfig, { endpoint: 'backend:4317', tls: { reload_interval: 0 } })).toEqual([]);
    expect(issuesOf(otlpExporterConfig, { endpoint: 'backend:4317', tls: { reload_interval: '1h' } })).toEqual([
      expect.stringMatching(/^tls\.reload_interval: not supported yet/),
    ]);
  });

  it("otlp receiver: the gRPC protocol takes confignet's dialer (no effect on a server)", () => {
    expect(issuesOf(otlpReceiverConfig, { protocols: { grpc: { endpoint: '127.0.0.1:0', dialer: { timeout: '5s' } } } })).toEqual([]);
  });
});
