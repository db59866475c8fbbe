import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDuration } from '../core/schema.js';
import { expandEnv, formatProblem, loadConfigFiles } from './load.js';
import { validateConfig } from './validate.js';
import { createRegistry } from '../components.js';
import { logsToDebug, OTLP_HTTP_AND_DEBUG } from '../../test/helpers/configs.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

async function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const file = await write(`c${Math.random().toString(36).slice(2)}.yaml`, text);
  const loaded = await loadConfigFiles([file], [], env);
  const result = validateConfig(loaded, createRegistry());
  return result.ok ? [] : result.problems.map((p) => formatProblem(p).replace(file, 'FILE'));
}

const GOOD = logsToDebug();

describe('durations', () => {
  it.each([
    ['200ms', 200],
    ['5s', 5000],
    ['1m', 60000],
    ['1m30s', 90000],
    ['1.5s', 1500],
    ['0', 0],
  ])('%s = %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));
  it.each(['5', 'fast', '1x', ''])('rejects %j', (text) => expect(parseDuration(text)).toBeUndefined());
});

describe('env expansion', () => {
  const env = { PORT: '4318', HOST: 'example', EMPTY: '' };
  it.each([
    ['${env:PORT}', 4318],
    ['${PORT}', 4318],
    ['${env:MISSING:-fallback}', 'fallback'],
    ['${env:HOST}:${env:PORT}', 'example:4318'],
    ['cost $$5', 'cost $5'],
    ['${env:MISSING:-}', ''],
    ['x${env:MISSING}y', 'xy'],
    ['x${env:EMPTY}y', 'xy'],
    // The collector's env provider reads the variable as YAML: unset (no default) or empty is no value.
    ['${env:MISSING}', null],
    ['${MISSING}', null],
    ['${env:EMPTY}', null],
    ['${env:EMPTY:-fallback}', null],
  ])('%s', (text, want) => expect(expandEnv(text, env)).toEqual(want));

  it('keeps a value as written when a YAML reading would change or drop it (tokens, ids, secrets)', () => {
    const vars = { Z: '0123', E: '1e3', H: '0x1F', D: '1.50', S: '#secret', N: 'null', T: 'true', I: '42', F: '1.5' };
    const out = Object.fromEntries(Object.keys(vars).map((k) => [k, expandEnv(`\${env:${k}}`, vars)]));
    expect(out).toEqual({ Z: '0123', E: '1e3', H: '0x1F', D: '1.50', S: '#secret', N: 'null', T: true, I: 42, F: 1.5 });
  });

  it('warns, with file:line, of a referenced variable that is not set (empty inside a string, as in the collector)', async () => {
    const file = await write(
      'unset.yaml',
      GOOD.replace('endpoint: 127.0.0.1:0', 'endpoint: 127.0.0.1:${env:PORT_UNSET:-0}') + 'x: a-${env:NOT_SET}\ny: ${env:NOT_SET_EITHER:-fine}\n',
    );
    const loaded = await loadConfigFiles([file], ['exporters.debug.sampling_initial=x${env:ALSO_UNSET}'], {});
    expect(loaded.warnings.map(formatProblem)).toEqual([
      expect.stringMatching(
        /unset\.yaml:\d+: x: environment variable NOT_SET is not set: the value is empty \(give a default with \$\{env:NOT_SET:-default\}\)$/,
      ),
      '--set: exporters.debug.sampling_initial: environment variable ALSO_UNSET is not set: the value is empty (give a default with ${env:ALSO_UNSET:-default})',
    ]);
    expect(loaded.raw.x).toBe('a-');
  });

  it('a whole value that is one unset or empty variable is no value, so the key keeps its default (the collector reads it as null)', async () => {
    // Refused before: "" is no endpoint, and no verbosity.
    const text = GOOD.replace('endpoint: 127.0.0.1:0', 'endpoint: ${env:GS_TEST_ENDPOINT}');
    const file = await write('whole-unset.yaml', text);
    const loaded = await loadConfigFiles([file], ['exporters.debug.verbosity=${env:GS_TEST_VERBOSITY}'], { GS_TEST_VERBOSITY: '' });
    expect(loaded.warnings.map(formatProblem)).toEqual([
      expect.stringMatching(
        /whole-unset\.yaml:\d+: receivers\.otlp\.protocols\.(http|grpc)\.endpoint: environment variable GS_TEST_ENDPOINT is not set: the key takes its default, as if it were not written \(give a value with \$\{env:GS_TEST_ENDPOINT:-value\}\)$/,
      ),
      '--set: exporters.debug.verbosity: environment variable GS_TEST_VERBOSITY is set but empty: the key takes its default, as if it were not written (give a value with ${env:GS_TEST_VERBOSITY:-value})',
    ]);
    const result = validateConfig(loaded, createRegistry());
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    const receiver = result.config.receivers.get('otlp')!.config as { protocols: { http?: { endpoint: string } } };
    expect(receiver.protocols.http?.endpoint).toBe('localhost:4318');
    expect((result.config.exporters.get('debug')!.config as { verbosity: string }).verbosity).toBe('basic');
  });

  it('reports a ${...} the collector refuses instead of passing it on as text, with what to write', () => {
    const problems: string[] = [];
    const refused = ['https://trace.agent.${DD_SITE:datadoghq.com}', '${env:HOST:example}', '${ENV:HOST}', 'x-${1}', '${env:1X}'];
    for (const text of refused) expect(expandEnv(text, env, (m) => problems.push(m))).toBe(text);
    expect(problems).toEqual([
      '"${DD_SITE:datadoghq.com}" is not a reference the collector expands: it reads "DD_SITE" as a config provider and refuses it; for an environment variable with a default write ${env:DD_SITE:-datadoghq.com}',
      '"${env:HOST:example}" is not a reference the collector expands: a default follows ":-", as in ${env:HOST:-example}',
      '"${ENV:HOST}" is not a reference the collector expands: the provider is env, in lower case (${env:HOST})',
      '"${1}" is not a reference the collector expands: "1" is not an environment variable name (write $$ for a literal $)',
      '"${env:1X}" is not a reference the collector expands: "1X" is not an environment variable name',
    ]);
    // Escaped, each is the text itself.
    expect(expandEnv('$${DD_SITE:datadoghq.com} $${1}', env, (m) => problems.push(m))).toBe('${DD_SITE:datadoghq.com} ${1}');
    expect(problems).toHaveLength(5);
  });

  it('a refused ${...} in a config file is a problem at its file:line and key (the Datadog example form)', async () => {
    const text = logsToDebug().replace(
      'exporters:\n  debug:\n',
      'exporters:\n  debug:\n  otlphttp:\n    endpoint: https://trace.agent.${DD_SITE:datadoghq.com}\n',
    );
    const problems = await problemsOf(text);
    expect(problems).toEqual([
      expect.stringMatching(/^FILE:9: exporters\.otlphttp\.endpoint: "\$\{DD_SITE:datadoghq\.com\}" is not a reference the collector expands/),
    ]);
  });

  it('warns of a bare $VAR naming a set variable: the collector leaves it as text (since v0.107.0)', () => {
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    expect(expandEnv('$PORT', env, undefined, warn)).toBe('$PORT');
    expect(expandEnv('Bearer $UNSET_TOKEN; ^a$; x_total$; $$PORT', env, undefined, warn)).toBe('Bearer $UNSET_TOKEN; ^a$; x_total$; $PORT');
    expect(warnings).toEqual([
      '"$PORT" stays text, not the environment variable PORT (which is set): the collector stopped expanding $VAR in v0.107.0; write ${env:PORT} to read it, or $$PORT for the text',
    ]);
  });

  it('reports references it cannot expand instead of passing them on as text', () => {
    const problems: string[] = [];
    expect(expandEnv('${http:example.com/x}', {}, (m) => problems.push(m))).toBe('${http:example.com/x}');
    expect(expandEnv('x-${env:A:-${env:B}}', { B: 'b' }, (m) => problems.push(m))).toBe('x-${env:B}');
    expect(problems).toEqual([
      '"${http:...}" is not supported yet by GopherShip: only ${env:VAR}, ${env:VAR:-default}, ${VAR} and ${file:path} are expanded (write $$ for a literal $)',
      'the default of ${A} holds another reference, which is not expanded: ${env:A:-${env:B}',
    ]);
  });
});

describe('env values and --set in typed keys', () => {
  it('a string key gets the text as written; number and bool keys still read it', async () => {
    const file = await write(
      'env-typed.yaml',
      `receivers:\n  otlp:\n    protocols:\n      http:\n        endpoint: \${env:EP}\n        max_request_body_size: \${env:MAX}\nexporters:\n  otlphttp:\n    endpoint: http://127.0.0.1:9\n    headers:\n      x-token: \${env:TOKEN}\n      x-id: \${env:ID}\n    compression: none\nservice:\n  pipelines:\n    logs:\n      receivers: [otlp]\n      exporters: [otlphttp]\n`,
    );
    const loaded = await loadConfigFiles([file], ['exporters.otlphttp.headers.x-set=0x1F', 'exporters.otlphttp.timeout=5s'], {
      EP: '127.0.0.1:0',
      MAX: '1e6',
      TOKEN: '#abc',
      ID: '007',
    });
    expect(loaded.problems).toEqual([]);
    const result = validateConfig(loaded, createRegistry());
    expect(result.ok, result.ok ? '' : result.problems.map(formatProblem).join('\n')).toBe(true);
    if (!result.ok) return;
    const exp = result.config.exporters.get('otlphttp')!.config as { headers: Record<string, string> };
    expect(exp.headers).toEqual({ 'x-token': '#abc', 'x-id': '007', 'x-set': '0x1F' });
    const rcv = result.config.receivers.get('otlp')!.config as { protocols: { http: { max_request_body_size: number } } };
    expect(rcv.protocols.http.max_request_body_size).toBe(1_000_000);
  });
});

describe('loading', () => {
  it('merges several files in order: maps merge, lists replace', async () => {
    const a = await write('a.yaml', GOOD);
    const b = await write(
      'b.yaml',
      `exporters:\n  debug:\n    verbosity: detailed\nservice:\n  pipelines:\n    logs:\n      receivers: [otlp]\n      exporters: [debug]\n`,
    );
    const loaded = await loadConfigFiles([a, b], ['exporters.debug.verbosity=normal', 'receivers::otlp::protocols::http::endpoint=127.0.0.1:9'], {});
    expect(loaded.problems).toEqual([]);
    const raw = loaded.raw as any;
    expect(raw.exporters.debug.verbosity).toBe('normal');
    expect(raw.receivers.otlp.protocols.http.endpoint).toBe('127.0.0.1:9');
    expect(raw.service.pipelines.logs.exporters).toEqual(['debug']);
  });

  it('--set splits the key path on dots as the collector does; written with ::, dots stay inside key names', async () => {
    const a = await write('set-sep.yaml', GOOD);
    const loaded = await loadConfigFiles([a], ['processors.batch.timeout=2s', 'exporters::otlphttp::headers::x.tenant=acme'], {});
    expect(loaded.problems).toEqual([]);
    const raw = loaded.raw as any;
    expect(raw.processors).toEqual({ batch: { timeout: '2s' } });
    expect(raw.exporters.otlphttp).toEqual({ headers: { 'x.tenant': 'acme' } });
  });

  it('expands env in values, typed when the whole value is a reference', async () => {
    const f = await write('env.yaml', GOOD.replace('127.0.0.1:0', '${env:EP}').replace('  debug:\n', '  debug:\n    verbosity: ${env:V:-detailed}\n'));
    const loaded = await loadConfigFiles([f], [], { EP: '127.0.0.1:7' });
    const result = validateConfig(loaded, createRegistry());
    expect(result.ok).toBe(true);
    expect((loaded.raw as any).receivers.otlp.protocols.http.endpoint).toBe('127.0.0.1:7');
    expect((loaded.raw as any).exporters.debug.verbosity).toBe('detailed');
  });

  it('accepts a good config', async () => {
    expect(await problemsOf(GOOD)).toEqual([]);
  });
});

describe('validate lists every problem with file, line and key path', () => {
  const cases: Array<[string, string, string[]]> = [
    [
      'unknown component type',
      GOOD.replace('  debug:\n', '  debug:\n  zork:\n'),
      ['FILE:8: exporters.zork: unknown exporter type "zork"; known exporter types:', 'otlp (or otlp_grpc)', 'otlphttp (or otlp_http)'],
    ],
    [
      'misspelled component type',
      GOOD.replace('  debug:\n', '  debug:\n  otlphtp:\n'),
      ['FILE:8: exporters.otlphtp: unknown exporter type "otlphtp"; did you mean "otlphttp"?'],
    ],
    [
      'collector component not built in',
      GOOD.replace('  debug:\n', '  debug:\n  kafka:\n'),
      ['FILE:8: exporters.kafka: exporter type "kafka": not supported yet by GopherShip (publishes telemetry to Kafka topics)'],
    ],
    [
      'misspelled key',
      GOOD.replace('  debug:\n', '  debug:\n    verbosty: basic\n'),
      ['FILE:8: exporters.debug.verbosty: unknown key; did you mean "verbosity"?'],
    ],
    ['unknown key', GOOD.replace('  debug:\n', '  debug:\n    colour: blue\n'), ['FILE:8: exporters.debug.colour: unknown key; valid keys here:']],
    [
      'mistyped value',
      GOOD.replace('  debug:\n', '  debug:\n    verbosity: loud\n'),
      ['FILE:8: exporters.debug.verbosity: must be one of basic, normal, detailed; got string "loud"'],
    ],
    [
      'undefined component in a pipeline',
      GOOD.replace('exporters: [debug]', 'exporters: [debug, otlp/missing]'),
      ['FILE:12: service.pipelines.logs.exporters.1: exporter "otlp/missing" is not defined under exporters:'],
    ],
    ['bad pipeline id', GOOD.replace('    logs:', '    events:'), ['FILE:10: service.pipelines.events: "events" is not a pipeline ID']],
    [
      'pipeline without exporters',
      GOOD.replace('      exporters: [debug]\n', ''),
      ['service.pipelines.logs.exporters: a pipeline needs at least one exporter'],
    ],
    ['unknown top-level key', GOOD + 'servce: {}\n', ['FILE:13: servce: unknown top-level key']],
    ['YAML syntax error', 'receivers: [\n', ['FILE:']],
    ['no pipelines', 'exporters:\n  debug:\n', ['service.pipelines: no pipelines']],
    [
      'worker threads out of range',
      GOOD + '  processing:\n    worker_threads: 100\n',
      ['FILE:14: service.processing.worker_threads: "100" is not auto or a number of threads from 0 to 64'],
    ],
    [
      'worker threads not a number',
      GOOD + '  processing:\n    worker_threads: many\n',
      ['FILE:14: service.processing.worker_threads: "many" is not auto or a number of threads from 0 to 64'],
    ],
  ];
  it.each(cases)('%s', async (_name, text, wants) => {
    const problems = await problemsOf(text);
    expect(problems.length).toBeGreaterThan(0);
    for (const want of wants)
      expect(
        problems.some((p) => p.includes(want)),
        `${JSON.stringify(problems)} should include ${want}`,
      ).toBe(true);
  });

  it('names a repeated key at its second occurrence, with its key path and the line of the first', async () => {
    const text = GOOD.replace('  debug:\n', '  debug:\n    verbosity: basic\n    verbosity: detailed\n') + 'receivers:\n  otlp:\n';
    expect(await problemsOf(text)).toEqual([
      'FILE:9: exporters.debug.verbosity: key given twice in the same map (first at line 8): remove one of them (YAML keys must be unique)',
      'FILE:15: receivers: key given twice in the same map (first at line 1): remove one of them (YAML keys must be unique)',
    ]);
    // In a flow map, inside a list.
    expect(await problemsOf(GOOD.replace('receivers: [otlp]', 'receivers: [otlp, {a: 1, a: 2}]'))).toEqual([
      'FILE:11: service.pipelines.logs.receivers.1.a: key given twice in the same map (first at line 11): remove one of them (YAML keys must be unique)',
    ]);
  });

  it('catches at validation what would only fail at start or when data arrives', async () => {
    const text = `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
processors:
  attributes/x:
    actions: [{ key: a, value: b, action: insert }]
    include: { match_type: strict, services: [svc] }
exporters:
  otlphttp/split:
    logs_endpoint: http://127.0.0.1:9/v1/logs
  otlp:
    endpoint: \${env:UNSET}
extensions:
  health_check:
    endpoint: nonsense
service:
  extensions: [health_check]
  telemetry:
    metrics:
      address: localhost
  pipelines:
    logs:
      receivers: [otlp]
      processors: [attributes/x]
      exporters: [otlphttp/split, otlp]
    metrics:
      receivers: [otlp]
      exporters: [otlphttp/split]
`;
    const problems = await problemsOf(text);
    expect(problems).toEqual([
      // An unset variable is no value (as in the collector): the key a gRPC exporter needs is missing.
      expect.stringMatching(/^FILE:14: exporters\.otlp\.endpoint: is required/),
      expect.stringMatching(/^FILE:17: extensions\.health_check\.endpoint: "nonsense" is not an endpoint host:port/),
      expect.stringMatching(/^FILE:22: service\.telemetry\.metrics\.address: "localhost" is not an endpoint host:port/),
      'FILE:26: service.pipelines.logs.processors.0: processor "attributes/x" cannot serve here: include: services cannot be used in a logs pipeline (allowed: attributes, resources, libraries, log_bodies, log_severity_texts, log_severity_number)',
      'FILE:30: service.pipelines.metrics.exporters.0: exporter "otlphttp/split" cannot serve here: no URL for metrics: set endpoint or metrics_endpoint',
    ]);
  });

  it('a problem in a list or map that --set replaced points at the --set, not at the file it replaced', async () => {
    const file = await write('set-loc.yaml', GOOD);
    const loaded = await loadConfigFiles([file], ['service.pipelines.logs.exporters=[nope]'], {});
    const result = validateConfig(loaded, createRegistry());
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map(formatProblem)).toEqual(['--set: service.pipelines.logs.exporters.0: exporter "nope" is not defined under exporters:']);
  });

  it('reports one problem, not two, for an unreadable file and for a map where a list belongs', async () => {
    const loaded = await loadConfigFiles([join(dir, 'does-not-exist.yaml')], [], {});
    const result = validateConfig(loaded, createRegistry());
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([expect.stringMatching(/does-not-exist\.yaml: cannot read config file: ENOENT/)]);
    const map = await problemsOf(GOOD.replace('receivers: [otlp]', 'receivers: { otlp: 1 }'));
    expect(map).toEqual([expect.stringMatching(/service\.pipelines\.logs\.receivers: expected a list of component IDs/)]);
  });

  it('somatic must come first in its pipeline', async () => {
    const text = GOOD.replace(
      'receivers:\n  otlp:',
      'processors:\n  batch:\n  somatic:\n    wal:\n      directory: ./data/somatic\nreceivers:\n  otlp:',
    ).replace('      exporters: [debug]', '      processors: [batch, somatic]\n      exporters: [debug]');
    expect(await problemsOf(text)).toEqual([
      expect.stringMatching(
        /service\.pipelines\.logs\.processors\.1: processor "somatic" cannot serve here: somatic must be the first processor of its pipeline/,
      ),
    ]);
    expect(await problemsOf(text.replace('[batch, somatic]', '[somatic, batch]'))).toEqual([]);
  });

  it('tail_sampling refuses several worker processes (each would decide on part of a trace)', async () => {
    const text = GOOD.replace(
      'receivers:\n  otlp:',
      'processors:\n  tail_sampling:\n    policies:\n      - name: all\n        type: always_sample\nreceivers:\n  otlp:',
    )
      .replace('    logs:\n', '    traces:\n')
      .replace('      exporters: [debug]', '      processors: [tail_sampling]\n      exporters: [debug]');
    expect(await problemsOf(text)).toEqual([]);
    for (const workers of ['2', 'auto'])
      expect(await problemsOf(text.replace('service:\n', `service:\n  workers: ${workers}\n`))).toEqual([
        expect.stringMatching(
          new RegExp(
            `service\\.pipelines\\.traces\\.processors\\.0: processor "tail_sampling" cannot serve here: tail_sampling needs every span of a trace in one process, but service\\.workers is ${workers}: set service\\.workers: 1`,
          ),
        ),
      ]);
  });

  it('spanmetrics with cumulative series and collector.instance.id excluded refuses several worker processes (each would report the same series)', async () => {
    const text = `${OTLP_HTTP_AND_DEBUG}connectors:
  spanmetrics:
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [spanmetrics]
    metrics:
      receivers: [spanmetrics]
      exporters: [debug]
`;
    expect(await problemsOf(text)).toEqual([]);
    const excluded = text.replace('  spanmetrics:\nservice', '  spanmetrics:\n    exclude_dimensions: [collector.instance.id]\nservice');
    const delta = excluded.replace('  spanmetrics:\n', '  spanmetrics:\n    aggregation_temporality: AGGREGATION_TEMPORALITY_DELTA\n');
    for (const workers of ['2', 'auto']) {
      const withWorkers = (t: string) => t.replace('service:\n', `service:\n  workers: ${workers}\n`);
      // The collector's default: every worker's series carry its own collector.instance.id.
      expect(await problemsOf(withWorkers(text))).toEqual([]);
      expect(await problemsOf(withWorkers(excluded))).toEqual([
        `FILE:16: service.pipelines.traces.exporters.0: connector "spanmetrics" cannot serve here: with service.workers ${workers} and collector.instance.id excluded, every worker process reports the same cumulative series, each with only its own spans counted: keep collector.instance.id (each worker's series are then its own), set aggregation_temporality: AGGREGATION_TEMPORALITY_DELTA (the backend adds the workers' increments) or service.workers: 1`,
      ]);
      expect(await problemsOf(withWorkers(delta))).toEqual([]);
    }
  });

  it('reports all problems at once, not just the first', async () => {
    const text = GOOD.replace('  debug:\n', '  debug:\n    verbosity: loud\n  kafka:\n').replace('exporters: [debug]', 'exporters: [debug, nope]');
    const problems = await problemsOf(text);
    expect(problems.length).toBe(3);
  });
});
