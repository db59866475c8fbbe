/**
 * The collector's config semantics a drop-in replacement must share: one-item lists from strings,
 * integer durations in nanoseconds, URL paths without a leading '/', --config URIs and ${file:...},
 * one problem per unknown extension or connector, contrib's new component names, not-supported-yet keys.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s } from '../core/schema.js';
import { createRegistry } from '../components.js';
import { formatProblem, indentQuotedContinuations, loadConfigFiles } from './load.js';
import { validateConfig, type ValidatedConfig } from './validate.js';
import { metricsAddress } from '../telemetry/config.js';
import { logsToDebug } from '../../test/helpers/configs.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-semantics-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function validate(configs: string[], env: NodeJS.ProcessEnv = {}): Promise<{ config?: ValidatedConfig; problems: string[] }> {
  const loaded = await loadConfigFiles(configs, [], env);
  const result = validateConfig(loaded, createRegistry());
  return result.ok ? { config: result.config, problems: [] } : { problems: result.problems.map(formatProblem) };
}

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const BASE = logsToDebug();

describe('values as the collector decodes them', () => {
  it('a lone string where a list belongs is a one-item list', async () => {
    const text =
      BASE.replace('receivers: [otlp]', 'receivers: otlp') +
      `processors:
  filter:
    spans:
      include:
        match_type: strict
        services: test
`;
    const { config, problems } = await validate([await file('one-item.yaml', text)]);
    expect(problems).toEqual([]);
    expect(config!.service.pipelines[0]!.receivers).toEqual(['otlp']);
    expect((config!.processors.get('filter')!.config as { spans: { include: { services: string[] } } }).spans.include.services).toEqual(['test']);
  });

  it('a lone string where a list of strings belongs is split at commas, as the collector splits it (one variable, many items)', async () => {
    const text =
      BASE +
      `processors:
  resourcedetection:
    detectors: \${env:DETECTORS}
  redaction:
    allow_all_keys: true
    blocked_values: "4[0-9]{12}"
  filter:
    logs:
      log_record: 'attributes["test"] == "pass"'
`;
    const { config, problems } = await validate([await file('split.yaml', text)], { DETECTORS: 'env,system' });
    expect(problems).toEqual([]);
    expect((config!.processors.get('resourcedetection')!.config as { detectors: string[] }).detectors).toEqual(['env', 'system']);
    expect((config!.processors.get('redaction')!.config as { blocked_values: string[] }).blocked_values).toEqual(['4[0-9]{12}']);
    expect((config!.processors.get('filter')!.config as { logs: { log_record: string[] } }).logs.log_record).toEqual(['attributes["test"] == "pass"']);
    // The split keeps spaces and cuts inside a pattern, as the collector's does: write a YAML list instead.
    const cut = await validate([await file('cut.yaml', BASE + 'processors:\n  resourcedetection:\n    detectors: env, system\n')]);
    expect(cut.problems).toEqual([expect.stringMatching(/resourcedetection\.detectors\.1: .*" system"/)]);
  });

  it("a quoted value continued on lines at its key's indentation reads as Go's YAML reads it (the collector's filter testdata)", async () => {
    const text =
      BASE +
      `processors:
  filter:
    traces:
      span: '
      attributes["test"] == "pass" or
      attributes["test"] == "also pass"'
    logs:
      log_record:
        - "severity_number < SEVERITY_NUMBER_WARN and
        IsMatch(body, \\"^GET /health\\")"
  attributes:
    actions:
      - key: note
        action: upsert
        value: |
          kept: 'as written
          in a block'
`;
    const { config, problems } = await validate([await file('continued.yaml', text)]);
    expect(problems).toEqual([]);
    const filter = config!.processors.get('filter')!.config as { traces: { span: string[] }; logs: { log_record: string[] } };
    expect(filter.traces.span).toEqual([' attributes["test"] == "pass" or attributes["test"] == "also pass"']);
    expect(filter.logs.log_record).toEqual(['severity_number < SEVERITY_NUMBER_WARN and IsMatch(body, "^GET /health")']);
    const attrs = config!.processors.get('attributes')!.config as { actions: { value: string }[] };
    expect(attrs.actions[0]!.value).toBe("kept: 'as written\nin a block'\n");
    // A quote that is never closed is still a syntax error at its line.
    const open = await validate([await file('open.yaml', BASE + "processors:\n  filter:\n    traces:\n      span: 'never closed\n")]);
    expect(open.problems).toEqual([expect.stringMatching(/open\.yaml:\d+: YAML syntax error: /)]);
  });

  it('indentQuotedContinuations leaves text without such a value as it is (quotes in comments, plain and block values)', () => {
    const text = `a: it's plain # and a 'quote in a comment
b: 'one line' # "x
c: ["x, 'y", 'z']
d: |
  'opened in a block
  still the block
e:
  - "two
    lines"
`;
    expect(indentQuotedContinuations(text)).toBe(text);
    expect(indentQuotedContinuations("f:\n  g: 'two\n  lines'\n")).toBe("f:\n  g: 'two\n    lines'\n");
  });

  it('YAML anchors, aliases and merge keys read as the collector reads them', async () => {
    const text = `extensions:
  bearertokenauth/in:
    token: secret-token
receivers:
  otlp:
    protocols:
      http: &http
        endpoint: 127.0.0.1:0
        auth: &auth
          authenticator: bearertokenauth/in
      grpc:
        <<: *http
        endpoint: 127.0.0.1:0
exporters:
  otlphttp/a: &exp
    endpoint: http://127.0.0.1:1
    compression: none
    timeout: 3s
  otlphttp/b:
    <<: [{ endpoint: http://127.0.0.1:2 }, *exp]
    timeout: 7s
service:
  extensions: [bearertokenauth/in]
  pipelines:
    logs: &pipe
      receivers: [otlp]
      exporters: [otlphttp/a, otlphttp/b]
    traces: *pipe
`;
    const { config, problems } = await validate([await file('anchors.yaml', text)]);
    expect(problems).toEqual([]);
    const otlp = config!.receivers.get('otlp')!.config as { protocols: Record<string, { auth?: { authenticator: string } }> };
    expect(otlp.protocols.http!.auth).toEqual({ authenticator: 'bearertokenauth/in' });
    expect(otlp.protocols.grpc!.auth).toEqual({ authenticator: 'bearertokenauth/in' });
    const b = config!.exporters.get('otlphttp/b')!.config as { endpoint: string; compression: string; timeout: number };
    // The first source of a merge list wins over the later ones, and the map's own keys over both.
    expect(b.endpoint).toBe('http://127.0.0.1:2');
    expect(b.compression).toBe('none');
    expect(b.timeout).toBe(7000);
    expect(config!.service.pipelines.map((p) => [p.id, p.exporters])).toEqual([
      ['logs', ['otlphttp/a', 'otlphttp/b']],
      ['traces', ['otlphttp/a', 'otlphttp/b']],
    ]);
  });

  it('an alias without its anchor, or aliases nested past the bound, are refused with the line', async () => {
    const missing = await validate([await file('no-anchor.yaml', BASE + 'extensions: *nowhere\n')]);
    expect(missing.problems.join('\n')).toMatch(/YAML/);
    // Each level doubles the last: expanding all of it would take 2^20 copies.
    let bomb = 'a0: &a0 [x, x]\n';
    for (let i = 1; i <= 20; i++) bomb += `a${i}: &a${i} [*a${i - 1}, *a${i - 1}]\n`;
    const blown = await validate([await file('alias-bomb.yaml', BASE + bomb)]);
    expect(blown.problems.join('\n')).toMatch(/alias-bomb.yaml:\d+.*more than 100 YAML aliases expanded/);
  });

  it('an unquoted 100_000 is the number 100000, as go-yaml reads it (the tail_sampling README writes cache sizes so)', async () => {
    const text = `${BASE}processors:
  tail_sampling:
    decision_cache:
      sampled_cache_size: 100_000
      non_sampled_cache_size: "100_000"
    maximum_trace_size_bytes: 1_048_576
    policies: [{ name: p, type: probabilistic, probabilistic: { sampling_percentage: 1_0.5 } }]
    decision_wait: 1_0s
`;
    const { problems } = await validate([await file('underscores.yaml', text)]);
    // A quoted value stays the string it is; a duration is not a number.
    expect(problems.sort()).toEqual([
      expect.stringMatching(/underscores.yaml:\d+: processors.tail_sampling.decision_cache.non_sampled_cache_size: expected an integer, got string "100_000"/),
      expect.stringMatching(/underscores.yaml:\d+: processors.tail_sampling.decision_wait: expected a duration/),
    ]);
    const fixed = text.replace('"100_000"', '100_000').replace('1_0s', '10s');
    const { config, problems: none } = await validate([await file('underscores-ok.yaml', fixed)]);
    expect(none).toEqual([]);
    const ts = config!.processors.get('tail_sampling')!.config as {
      decision_cache: { sampled_cache_size: number; non_sampled_cache_size: number };
      maximum_trace_size_bytes: number;
      policies: { probabilistic: { sampling_percentage: number } }[];
    };
    expect(ts.decision_cache).toEqual({ sampled_cache_size: 100_000, non_sampled_cache_size: 100_000 });
    expect(ts.maximum_trace_size_bytes).toBe(1_048_576);
    expect(ts.policies[0]!.probabilistic.sampling_percentage).toBe(10.5);
  });
  it('an integer duration is nanoseconds, as confmap decodes an int into time.Duration', () => {
    const issues: { path: string[]; message: string }[] = [];
    const d = s.duration();
    expect(d.parse(5, ['x'], issues)).toBe(5 / 1e6);
    expect(d.parse(2_000_000_000, ['x'], issues)).toBe(2000);
    expect(d.parse('1500000', ['x'], issues)).toBe(1.5);
    expect(d.parse('5s', ['x'], issues)).toBe(5000);
    expect(issues).toEqual([]);
    d.parse(-1, ['x'], issues);
    d.parse(1.5, ['x'], issues);
    expect(issues).toHaveLength(2);
  });

  it('a not-yet key set to the value that leaves it off (the collector default a config copies) is accepted', () => {
    const issues: { path: string[]; message: string }[] = [];
    const key = s.notYet('does something', 0);
    for (const v of ['', [], 0, '0s', '0ms']) key.parse(v, ['k'], issues);
    expect(issues).toEqual([]);
    for (const v of ['1s', ['a'], 5, 'x']) key.parse(v, ['k'], issues);
    expect(issues).toHaveLength(4);
    const tls = { tls: { reload_interval: '0s', cipher_suites: [], curve_preferences: [], tpm: { enabled: false } } };
    const otlp = createRegistry().find('exporter', 'otlp')!.config;
    const exp: { path: string[]; message: string }[] = [];
    otlp.parse({ endpoint: 'collector:4317', ...tls }, [], exp);
    expect(exp).toEqual([]);
    // configtls names the TPM section `tpm` (mapstructure:"tpm").
    const tpm: { path: string[]; message: string }[] = [];
    otlp.parse({ endpoint: 'collector:4317', tls: { tpm: { enabled: true, path: '/dev/tpmrm0' } } }, [], tpm);
    expect(tpm.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      expect.stringMatching(/^tls\.tpm: not supported yet by GopherShip \(reads the private key from a TPM/),
    ]);
  });

  it('a value YAML reads as a number is checked as the text it became (min_version: 1.0 is 1, not a TLS version)', () => {
    const otlp = createRegistry().find('exporter', 'otlp')!.config;
    const ok: { path: string[]; message: string }[] = [];
    expect(
      (otlp.parse({ endpoint: 'collector:4317', tls: { min_version: 1.3, max_version: '1.3' } }, [], ok) as { tls: { min_version: string } }).tls.min_version,
    ).toBe('1.3');
    expect(ok).toEqual([]);
    const bad: { path: string[]; message: string }[] = [];
    otlp.parse({ endpoint: 'collector:4317', tls: { min_version: 1.0 } }, [], bad);
    expect(bad).toEqual([{ path: ['tls', 'min_version'], message: '"1" is not a TLS version: 1.0, 1.1, 1.2 or 1.3' }]);
  });

  it('a URL path without its leading / gets it, as the collector adds it', async () => {
    const text = BASE.replace('endpoint: 127.0.0.1:0', 'endpoint: 127.0.0.1:0\n        traces_url_path: traces\n        logs_url_path: /custom/logs');
    const { config, problems } = await validate([await file('paths.yaml', text)]);
    expect(problems).toEqual([]);
    const http = (config!.receivers.get('otlp')!.config as { protocols: { http: { traces_url_path: string; logs_url_path: string } } }).protocols.http;
    expect(http.traces_url_path).toBe('/traces');
    expect(http.logs_url_path).toBe('/custom/logs');
  });
});

describe('--config URIs and providers', () => {
  it('reads file:, env: and yaml: sources, merged in order', async () => {
    const path = await file('gateway.yaml', BASE);
    const env = { GS_OVERLAY: 'exporters:\n  debug:\n    verbosity: normal\n' };
    const { config, problems } = await validate([`file:${path}`, 'env:GS_OVERLAY', 'yaml:exporters::debug::sampling_initial: 7'], env);
    expect(problems).toEqual([]);
    expect(config!.exporters.get('debug')!.config).toMatchObject({ verbosity: 'normal', sampling_initial: 7 });
  });

  it('names the source at fault: an unset env: variable, a scheme it cannot read', async () => {
    const { problems } = await validate(['env:GS_NOT_SET', 'https://example.invalid/config.yaml']);
    expect(problems).toEqual([
      'env:GS_NOT_SET: environment variable GS_NOT_SET is not set: it should hold the config YAML',
      'https://example.invalid/config.yaml: config URI scheme "https:" is not supported yet by GopherShip (the collector fetches configs from providers such as http and https); use file:, env: or yaml:',
    ]);
  });

  it("${file:path} expands to the file's content beside ${env:...}", async () => {
    const secret = await file('token.txt', 's3cret\n');
    const port = await file('verbosity.txt', 'detailed');
    const text = `${BASE}  telemetry:
    logs:
      initial_fields:
        token: "Bearer \${file:${secret}}"
        who: \${env:WHO}
exporters:
  debug:
    verbosity: \${file:${port}}
`.replace('exporters:\n  debug:\nservice', 'service');
    const { config, problems } = await validate([await file('file-ref.yaml', text)], { WHO: 'gw-1' });
    expect(problems).toEqual([]);
    expect(config!.service.telemetry.logs.initial_fields).toEqual({ token: 'Bearer s3cret', who: 'gw-1' });
    expect(config!.exporters.get('debug')!.config).toMatchObject({ verbosity: 'detailed' });
    const missing = await validate([await file('file-missing.yaml', BASE.replace('endpoint: 127.0.0.1:0', `endpoint: \${file:${join(dir, 'nope')}}`))]);
    expect(missing.problems).toEqual([
      expect.stringMatching(/file-missing\.yaml:5: receivers\.otlp\.protocols\.http\.endpoint: \$\{file:.*nope\}: cannot read the file: ENOENT/),
    ]);
  });
});

describe('one problem per component the gateway lacks', () => {
  it('an extension of an unknown type is one problem, not a second one claiming it is undefined', async () => {
    const text = BASE.replace('service:\n', 'extensions:\n  file_storage:\n  sigv4auth/x:\nservice:\n  extensions: [file_storage, sigv4auth/x]\n');
    const { problems } = await validate([await file('ext.yaml', text)]);
    expect(problems).toEqual([
      expect.stringMatching(
        /^.*ext\.yaml:\d+: extensions\.file_storage: extension type "file_storage": not supported yet by GopherShip \(stores persistent queue data in files \(bbolt\)\)$/,
      ),
      expect.stringMatching(/extensions\.sigv4auth\/x: extension type "sigv4auth": not supported yet by GopherShip/),
    ]);
  });

  it('a connector is one problem, and the pipelines naming it say nothing more', async () => {
    const text = `${BASE}    traces:
      receivers: [otlp]
      exporters: [servicegraph]
    metrics:
      receivers: [servicegraph]
      exporters: [debug]
connectors:
  servicegraph:
`;
    const { problems } = await validate([await file('conn.yaml', text)]);
    expect(problems).toEqual([
      expect.stringMatching(
        /connectors\.servicegraph: connector type "servicegraph": not supported yet by GopherShip \(builds service-graph metrics from spans\)$/,
      ),
    ]);
  });

  it("resource_detection is resourcedetection's name", async () => {
    const text = BASE.replace('exporters:\n  debug:', 'processors:\n  resource_detection:\n    detectors: [env]\nexporters:\n  debug:').replace(
      '      exporters: [debug]',
      '      processors: [resource_detection]\n      exporters: [debug]',
    );
    const { config, problems } = await validate([await file('rd.yaml', text)]);
    expect(problems).toEqual([]);
    expect(config!.processors.get('resource_detection')!.factory.type).toBe('resourcedetection');
  });
});

describe("service.telemetry as the collector's", () => {
  it('metrics.readers: a pull Prometheus reader gives the address; level none gives none', async () => {
    const text = `${BASE}  telemetry:
    resource:
      service.name: gateway
    logs:
      level: debug
      encoding: console
      sampling:
        initial: 5
        thereafter: 50
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: 0
`;
    const { config, problems } = await validate([await file('tel.yaml', text)]);
    expect(problems).toEqual([]);
    const t = config!.service.telemetry;
    expect(metricsAddress(t.metrics)).toBe('127.0.0.1:0');
    expect(metricsAddress({ ...t.metrics, level: 'none' })).toBe('');
    expect(t.logs).toMatchObject({ level: 'debug', encoding: 'console', sampling: { enabled: true, initial: 5, thereafter: 50, tick: 10_000 } });
    expect(t.resource).toEqual({ 'service.name': 'gateway' });
  });

  it('a key the collector has but the gateway lacks is "not supported yet", apart from a typo', async () => {
    const text = `${BASE}  telemetry:
    traces:
      processors: []
    metrics:
      readers:
        - periodic:
            exporter: { otlp: {} }
    logs:
      encodng: json
`;
    const { problems } = await validate([await file('tel-bad.yaml', text)]);
    expect(problems).toEqual([
      expect.stringMatching(/service\.telemetry\.logs\.encodng: unknown key; did you mean "encoding"\?$/),
      expect.stringMatching(
        /service\.telemetry\.metrics\.readers\.0\.periodic: not supported yet by GopherShip \(pushes the collector's own metrics over OTLP on an interval\)$/,
      ),
      expect.stringMatching(/service\.telemetry\.traces: not supported yet by GopherShip \(exports the collector's own traces/),
    ]);
  });
});
