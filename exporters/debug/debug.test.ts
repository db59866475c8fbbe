import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../src/core/errors.js';
import { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';
import { requestFromJson, requestToJson } from '../../src/pdata/codec.js';
import { counterValue, makeLogsRequest, makeMetricsRequest, makeTracesRequest } from '../../test/helpers/otlp-test-servers.js';
import { DebugExporter, summarize } from './debug-exporter.js';
import { debugExporterFactory } from './factory.js';
import { EXAMPLES_DIR } from '../../test/helpers/examples.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testHost } from '../../test/helpers/host.js';
import { validConfig, settingsForTest } from '../../test/helpers/component-config.js';

const EXAMPLES = EXAMPLES_DIR;
function make(raw: Record<string, unknown>) {
  const cfg = validConfig(debugExporterFactory, raw);
  const settings = settingsForTest('debug');
  let text = '';
  const exp = new DebugExporter(settings, cfg, { write: (s: string) => (text += s) });
  return { exp, settings, out: () => text };
}

async function example(signal: Signal, file: string): Promise<Uint8Array> {
  return requestFromJson(signal, await readFile(`${EXAMPLES}/${file}`, 'utf8'));
}

describe('debug exporter', () => {
  it('basic: one structured info line per request with counts, nothing on stdout', async () => {
    const { exp, settings, out } = make({});
    await exp.consume(new Payload('logs', makeLogsRequest(1, 2)));
    await exp.consume(new Payload('traces', makeTracesRequest(3)));
    await exp.consume(new Payload('metrics', makeMetricsRequest(4)));
    expect(settings.logs).toHaveLength(3);
    expect(settings.logs[0]).toMatchObject({ level: 'info', msg: 'LogsExporter', '#resource logs': 1, '#log records': 2 });
    expect(settings.logs[1]).toMatchObject({ msg: 'TracesExporter', '#resource spans': 1, '#spans': 3 });
    expect(settings.logs[2]).toMatchObject({ msg: 'MetricsExporter', '#resource metrics': 1, '#metrics': 1, '#data points': 4 });
    expect(out()).toBe('');
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_sent_spans', { exporter: 'debug' })).toBe(3);
  });

  it('normal: one line per item for the spec examples of every signal', async () => {
    const { exp, out } = make({ verbosity: 'normal' });
    await exp.consume(new Payload('logs', await example('logs', 'logs.json')));
    const logLines = out().trimEnd().split('\n');
    expect(logLines).toHaveLength(1);
    expect(logLines[0]).toMatch(/^2018-12-13T14:51:00\.300Z Information Example log record .*string\.attribute=some string/);

    const { exp: e2, out: o2 } = make({ verbosity: 'normal' });
    await e2.consume(new Payload('traces', await example('traces', 'trace.json')));
    expect(o2()).toMatch(/^I'm a server span 5b8efff798038103d269b633813fc60c eee19b7ec3c1b174 1000ms my.span.attr=some value\n$/);

    const { exp: e3, out: o3 } = make({ verbosity: 'normal' });
    const metrics = await example('metrics', 'metrics.json');
    await e3.consume(new Payload('metrics', metrics));
    const mLines = o3().trimEnd().split('\n');
    expect(mLines.length).toBe(summarize('metrics', metrics)['#data points']);
    expect(mLines[0]).toMatch(/^my\.counter \(sum\)/);
    expect(mLines.some((l) => l.startsWith('my.histogram (histogram)') && l.includes('count='))).toBe(true);
  });

  it('detailed: the whole request as one OTLP/JSON line', async () => {
    const { exp, out } = make({ verbosity: 'detailed' });
    const logs = makeLogsRequest(2, 2);
    await exp.consume(new Payload('logs', logs));
    expect(out()).toBe(requestToJson('logs', logs) + '\n');
    expect(JSON.parse(out()).resourceLogs).toHaveLength(2);
  });

  it('samples: sampling_initial per second, then every sampling_thereafter-th', async () => {
    const { exp, settings } = make({ sampling_initial: 2, sampling_thereafter: 3 });
    // Stay inside one wall-clock second so the window does not reset mid-test.
    while (Date.now() % 1000 > 800) await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 8; i++) await exp.consume(new Payload('logs', makeLogsRequest(1, 1)));
    // 1, 2 (initial), then 5, 8 (every 3rd after).
    expect(settings.logs).toHaveLength(4);
  });

  it('rejects a malformed request as permanent', async () => {
    const { exp } = make({});
    await expect(exp.consume(new Payload('logs', new Uint8Array([0x0a, 0x05, 0x01])))).rejects.toBeInstanceOf(PermanentError);
  });

  it('has the collector defaults', () => {
    expect(debugExporterFactory.config.defaults()).toMatchObject({ verbosity: 'basic', sampling_initial: 2, sampling_thereafter: 1 });
    // Shared exporterhelper keys: printing needs no queue or retries unless asked for.
    expect(debugExporterFactory.config.defaults()).toMatchObject({ sending_queue: { enabled: false }, retry_on_failure: { enabled: false } });
    const issues: { path: string[]; message: string }[] = [];
    debugExporterFactory.config.parse({ verbosity: 'loud' }, [], issues);
    expect(issues.map((i) => i.path.join('.'))).toEqual(['verbosity']);
  });

  it('use_internal_logger: false writes summaries and items to output_paths, unsampled, and not to the log', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gs-debug-'));
    try {
      const file = join(dir, 'out', 'debug.txt');
      const issues: { path: string[]; message: string }[] = [];
      const cfg = debugExporterFactory.config.parse(
        { verbosity: 'normal', use_internal_logger: false, output_paths: [file], sampling_initial: 1, sampling_thereafter: 100 },
        [],
        issues,
      );
      expect(issues).toEqual([]);
      const settings = settingsForTest('debug');
      const exp = debugExporterFactory.create(settings, cfg);
      await exp.start(testHost());
      for (let i = 0; i < 5; i++) await exp.consume(new Payload('logs', makeLogsRequest(1, 2)));
      await exp.shutdown();
      const lines = (await readFile(file, 'utf8')).trim().split('\n');
      expect(lines.filter((l) => /\tinfo\tLogsExporter\t\{"#resource logs":1,"#log records":2\}$/.test(l))).toHaveLength(5);
      expect(lines).toHaveLength(5 * 3);
      expect(settings.logs.filter((l) => l.msg === 'LogsExporter')).toHaveLength(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('output answers not supported yet', () => {
    const issues: { path: string[]; message: string }[] = [];
    debugExporterFactory.config.parse({ output: { record: { include: ['a'] } } }, [], issues);
    expect(issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'output: not supported yet by GopherShip (chooses which record, scope and resource attributes the normal and detailed output prints)',
    ]);
  });
});
