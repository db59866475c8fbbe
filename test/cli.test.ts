/**
 * The `gophership` command as a user runs it: `node bin/gophership.js` (the compiled dist/, built by
 * `npm test` before vitest runs): validate, components, print-config, and a gateway that drains its
 * in-flight work on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestFromJson } from '../src/pdata/codec.js';
import { EXAMPLES_DIR } from './helpers/examples.js';
import { missingCaConfig } from './helpers/configs.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'gophership.js');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const BROKEN = `receivers:
  otlp:
    protocols:
      http:
        endpoint: nowhere
exporters:
  debug:
    verbosity: loud
  kafka:
service:
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [debug, otlp/backend]
`;

describe('gophership validate', () => {
  it('exits non-zero and lists every problem with file:line and key path', async () => {
    const file = join(dir, 'broken.yaml');
    await writeFile(file, BROKEN);
    const r = await run(['validate', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('invalid configuration (4 problems)');
    expect(r.stderr).toContain(`${file}:5: receivers.otlp.protocols.http.endpoint: "nowhere" is not an endpoint host:port`);
    expect(r.stderr).toContain(`${file}:8: exporters.debug.verbosity: must be one of basic, normal, detailed`);
    expect(r.stderr).toContain(`${file}:9: exporters.kafka: exporter type "kafka": not supported yet by GopherShip`);
    expect(r.stderr).toContain(`${file}:14: service.pipelines.logs.exporters.1: exporter "otlp/backend" is not defined under exporters:`);
  });

  it('takes the options before the command too, as the collector (`otelcol --config x validate`)', async () => {
    const file = join(dir, 'broken-order.yaml');
    await writeFile(file, BROKEN);
    const after = await run(['validate', '--config', file]);
    const before = await run(['--config', file, 'validate']);
    const inline = await run([`--config=${file}`, 'validate']);
    for (const r of [before, inline]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(after.stderr);
    }
    // Options on both sides of the command count; a file named like a command (./validate) is the option's value.
    const named = join(dir, 'validate');
    await writeFile(
      named,
      BROKEN.replace('endpoint: nowhere', 'endpoint: 127.0.0.1:0').replace('    verbosity: loud\n  kafka:\n', '').replace(', otlp/backend', ''),
    );
    const split = await run(['--config', 'validate', 'print-config', '--set', 'exporters.debug.verbosity=detailed']);
    expect(split.stderr).toBe('');
    expect(split.code).toBe(0);
    expect(split.stdout).toContain('verbosity: detailed');
  });

  it("reads --config in the collector's URI forms: file:, env: and yaml:", async () => {
    const file = join(dir, 'uri.yaml');
    await writeFile(
      file,
      'receivers:\n  otlp:\n    protocols:\n      http:\n        endpoint: 127.0.0.1:0\nservice:\n  pipelines:\n    logs:\n      receivers: otlp\n      exporters: [debug]\n',
    );
    const r = await run(['print-config', '--config', `file:${file}`, '--config', 'env:GS_EXPORTERS', '--config', 'yaml:exporters::debug::verbosity: normal'], {
      GS_EXPORTERS: 'exporters:\n  debug:\n    sampling_initial: 3\n',
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('verbosity: normal');
    expect(r.stdout).toContain('sampling_initial: 3');
  });

  it('accepts the built-in default config', async () => {
    const r = await run(['validate']);
    expect(r.stdout).toContain('configuration is valid');
    expect(r.code).toBe(0);
  });

  it('names a missing config file', async () => {
    const r = await run(['validate', '--config', join(dir, 'missing.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing\.yaml: cannot read config file: ENOENT/);
  });
});

describe('gophership components and print-config', () => {
  it('lists every built-in component', async () => {
    const r = await run(['components']);
    expect(r.code).toBe(0);
    for (const name of ['otlp', 'batch', 'otlphttp (alias otlp_http)', 'otlp (alias otlp_grpc)', 'debug', 'file', 'health_check'])
      expect(r.stdout).toContain(name);
    // Each line from the component's metadata: type, stability, signals and (processors) the Yellow rule.
    const { builtinFactories } = await import('../src/components.js');
    for (const f of builtinFactories) expect(r.stdout).toMatch(new RegExp(`^  ${f.type}( \\(alias [^)]*\\))? \\(${f.stability}\\)`, 'm'));
    expect(r.stdout).toMatch(/^ {2}somatic \(alpha\) \[logs, traces, metrics\] \{always runs\}: /m);
  });

  it('prints the merged config with --set and env expanded', async () => {
    const a = join(dir, 'a.yaml');
    await writeFile(
      a,
      'receivers:\n  otlp:\n    protocols:\n      http:\n        endpoint: ${env:GS_TEST_EP}\nexporters:\n  debug:\nservice:\n  pipelines:\n    logs:\n      receivers: [otlp]\n      exporters: [debug]\n',
    );
    const r = await run(['print-config', '--config', a, '--set', 'exporters.debug.verbosity=detailed'], { GS_TEST_EP: '127.0.0.1:4999' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('endpoint: 127.0.0.1:4999');
    expect(r.stdout).toContain('verbosity: detailed');
  });

  it('rejects an unknown command with usage', async () => {
    const r = await run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[GS_CLI_USAGE] unknown command "frobnicate"');
  });

  it('rejects an unknown option or a missing value with a coded usage error that says where to look', async () => {
    const unknown = await run(['validate', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("gophership validate: [GS_CLI_USAGE] Unknown option '--bogus'; `gophership --help` lists the commands and options\n");
    const missing = await run(['validate', '--config']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^gophership validate: \[GS_CLI_USAGE\] Option '--config <value>' argument missing; `gophership --help` lists/);
  });
});

/** `--set`s moving every listener of the default config to an ephemeral port (tests run side by side). */
const EPHEMERAL_PORTS = [
  '--set',
  'receivers.otlp.protocols.http.endpoint=127.0.0.1:0',
  '--set',
  'receivers.otlp.protocols.grpc.endpoint=127.0.0.1:0',
  '--set',
  'extensions.health_check.endpoint=127.0.0.1:0',
  '--set',
  'service.telemetry.metrics.address=127.0.0.1:0',
];

/** Starts the gateway as a child and waits for its "listening" log line to learn the bound ports. */
async function startChild(args: string[]): Promise<{ child: ChildProcess; http: string; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const http = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${stderr}`)), 15_000);
    child.stderr!.on('data', () => {
      const m = /"msg":"OTLP receiver listening".*?"http":"([^"]+)"/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', () => reject(new Error(`gateway exited:\n${stderr}`)));
  });
  return { child, http, stderr: () => stderr };
}

describe('gophership (run)', () => {
  it('runs the default config with ports overridden, serves, and drains in-flight work on SIGTERM', async () => {
    const out = join(dir, 'drain.jsonl');
    const { child, http, stderr } = await startChild([
      ...EPHEMERAL_PORTS,
      // A long batch timeout: the request below is still held by the batch when SIGTERM arrives.
      '--set',
      'processors.batch.timeout=10s',
      '--set',
      `exporters.file.path=${out}`,
    ]);
    const bytes = requestFromJson('logs', await readFile(join(EXAMPLES_DIR, 'logs.json'), 'utf8'));
    const reply = fetch(`http://${http}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: bytes });
    await new Promise((r) => setTimeout(r, 300));
    const signalledAt = Date.now();
    child.kill('SIGTERM');
    const res = await reply;
    expect(res.status).toBe(200);
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
    // The drain flushed the batch at once rather than waiting out its 10 s timer.
    expect(Date.now() - signalledAt).toBeLessThan(5000);
    expect(stderr()).toContain('signal received; draining in-flight work');
    const written = (await readFile(out, 'utf8')).trim().split('\n');
    expect(written).toHaveLength(1);
    expect(requestFromJson('logs', written[0]!)).toEqual(bytes);
  });

  it('exits 1 on an invalid config, as validate does (and as the collector does for both)', async () => {
    const file = join(dir, 'broken-run.yaml');
    await writeFile(file, BROKEN);
    const r = await run(['--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('invalid configuration (4 problems)');
    expect(r.stderr).toContain(`${file}:9: exporters.kafka: exporter type "kafka": not supported yet by GopherShip`);
  });

  it('a component that fails to start is named by its config key', async () => {
    const cfg = join(dir, 'bad-tls.yaml');
    await writeFile(cfg, missingCaConfig(join(dir, 'missing-ca.pem')));
    const r = await run(['--config', cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('gateway failed to start');
    expect(r.stderr).toMatch(/exporter otlp\/backend: .*tls\.ca_file/);
  });

  it('exits non-zero with the endpoint named when a port is taken', async () => {
    const { child, http } = await startChild([...EPHEMERAL_PORTS, '--set', `exporters.file.path=${join(dir, 'x.jsonl')}`]);
    try {
      // The later --set wins: the HTTP receiver asks for the port the first child holds.
      const r = await run([
        ...EPHEMERAL_PORTS,
        '--set',
        `receivers.otlp.protocols.http.endpoint=${http}`,
        '--set',
        `exporters.file.path=${join(dir, 'y.jsonl')}`,
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('gateway failed to start');
      expect(r.stderr).toContain(`cannot listen on ${http}`);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});
