import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { ConfigIssue } from '../../src/core/schema.js';
import { otlpReceiverConfig, parseEndpoint } from './config.js';

function load(yaml: string) {
  const issues: ConfigIssue[] = [];
  const config = otlpReceiverConfig.parse(parseYaml(yaml), [], issues);
  return { config, issues };
}

describe('otlp receiver config', () => {
  it('an empty `grpc:` enables gRPC with the defaults and leaves HTTP off', () => {
    const { config, issues } = load('protocols:\n  grpc:\n');
    expect(issues).toEqual([]);
    expect(config.protocols.grpc).toMatchObject({
      endpoint: 'localhost:4317',
      max_recv_msg_size_mib: 4,
      max_concurrent_streams: 0,
      read_buffer_size: 512 * 1024,
      include_metadata: false,
    });
    expect(config.protocols.grpc!.auth).toBeUndefined();
    expect(config.protocols.grpc!.tls).toBeUndefined();
    expect(config.protocols.http).toBeUndefined();
  });

  it('both protocols with the collector defaults', () => {
    const { config, issues } = load('protocols:\n  grpc:\n  http:\n');
    expect(issues).toEqual([]);
    expect(config.protocols.http).toMatchObject({
      endpoint: 'localhost:4318',
      max_request_body_size: 20 * 1024 * 1024,
      logs_url_path: '/v1/logs',
      traces_url_path: '/v1/traces',
      metrics_url_path: '/v1/metrics',
      compression_algorithms: ['', 'gzip', 'zstd', 'zlib', 'snappy', 'deflate'],
      response_headers: {},
      include_metadata: false,
    });
  });

  it('takes collector-style keys', () => {
    const { config, issues } = load(
      'protocols:\n  grpc:\n    endpoint: 0.0.0.0:14317\n    max_recv_msg_size_mib: 16\n  http:\n    endpoint: "[::1]:14318"\n    max_request_body_size: 1048576\n    logs_url_path: /custom/logs\n',
    );
    expect(issues).toEqual([]);
    expect(config.protocols.grpc!.max_recv_msg_size_mib).toBe(16);
    expect(config.protocols.http!.logs_url_path).toBe('/custom/logs');
    expect(parseEndpoint(config.protocols.http!.endpoint)).toEqual({ host: '::1', port: 14318 });
    expect(parseEndpoint(':4318')).toEqual({ host: '', port: 4318 });
  });

  it('no protocol at all is an error naming protocols', () => {
    for (const yaml of ['', 'protocols:\n', 'protocols: {}\n']) {
      const { issues } = load(yaml);
      expect(issues).toHaveLength(1);
      expect(issues[0]!.path).toEqual(['protocols']);
      expect(issues[0]!.message).toMatch(/at least one protocol/);
    }
  });

  it('reports bad values and unknown keys with their paths', () => {
    const { issues } = load(
      'protocols:\n  grpc:\n    endpoint: nope\n    tls: {}\n  http:\n    endpoint: localhost:99999\n    max_request_body_size: -1\n    traces_url_path: v1/traces\n',
    );
    const byPath = Object.fromEntries(issues.map((i) => [i.path.join('.'), i.message]));
    expect(byPath['protocols.grpc.endpoint']).toMatch(/not an endpoint host:port/);
    expect(byPath['protocols.grpc.tls.cert_file']).toMatch(/a TLS server needs a certificate/);
    expect(byPath['protocols.http.max_request_body_size']).toMatch(/at least 1/);
    // The collector adds the leading / itself.
    expect(byPath['protocols.http.traces_url_path']).toBeUndefined();
  });

  it('rejects a port above 65535, one endpoint for both protocols, and one path for two signals', () => {
    expect(load('protocols:\n  http:\n    endpoint: localhost:99999\n').issues[0]).toEqual({
      path: ['protocols', 'http', 'endpoint'],
      message: '"localhost:99999": the port must be at most 65535',
    });
    expect(load('protocols:\n  grpc:\n    endpoint: localhost:4000\n  http:\n    endpoint: localhost:4000\n').issues[0]!.message).toMatch(
      /also the grpc endpoint/,
    );
    expect(load('protocols:\n  http:\n    logs_url_path: /v1/traces\n').issues[0]!.path).toEqual(['protocols', 'http', 'traces_url_path']);
  });

  it('a unix socket (the collector testdata form) answers once, at transport, not again at its path endpoint', () => {
    const { issues } = load('protocols:\n  grpc:\n    transport: unix\n    endpoint: /tmp/grpc_otlp.sock\n  http:\n    endpoint: /tmp/http_otlp.sock\n');
    expect(issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'protocols.grpc.transport: not supported yet by GopherShip (listens on a unix socket or only on IPv4 or IPv6 (tcp4, tcp6, unix))',
      // Without transport: unix a path is no endpoint, as for the collector (tcp, its default, needs host:port).
      expect.stringMatching(/^protocols\.http\.endpoint: "\/tmp\/http_otlp\.sock" is not an endpoint host:port/),
    ]);
  });

  it('documents both sections with their defaults', () => {
    const doc = otlpReceiverConfig.doc();
    expect(doc.fields!['protocols']!.fields!['grpc']!.fields!['endpoint']!.default).toBe('localhost:4317');
    expect(doc.fields!['protocols']!.fields!['http']!.description).toMatch(/enabled when the key is present/);
  });
});
