import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from './logger.js';
import { telemetrySchema } from './config.js';
import { createRegistry } from '../components.js';
import { loadConfigFiles } from '../config/load.js';
import { validateConfig } from '../config/validate.js';
import { Service } from '../service/service.js';
import { logsToDebug } from '../../test/helpers/configs.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-logger-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function capture(level: 'debug' | 'info' = 'debug', options = {}) {
  const lines: string[] = [];
  const logger = new Logger(level, { base: 'b' }, { write: (l) => void lines.push(l) }, options);
  return { logger, lines, json: () => lines.map((l) => JSON.parse(l) as Record<string, any>) };
}

describe('logger (pino)', () => {
  it("writes one JSON object per line with ts, level, msg, the bound fields and the call's fields", () => {
    const { logger, json } = capture();
    logger.child({ kind: 'exporter', id: 'otlp' }).warn('slow', { ms: 12 });
    expect(json()).toEqual([{ ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), level: 'warn', msg: 'slow', base: 'b', kind: 'exporter', id: 'otlp', ms: 12 }]);
  });

  it("keeps an error's stack and its cause chain", () => {
    const { logger, json } = capture();
    const root = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    logger.error('export failed', { error: new Error('exporter otlp/2: send failed', { cause: root }) });
    const [line] = json();
    expect(line!.error).toMatchObject({
      type: 'Error',
      message: 'exporter otlp/2: send failed',
      stack: expect.stringContaining('logger.test.ts'),
      cause: { message: 'connect ECONNREFUSED', code: 'ECONNREFUSED', stack: expect.any(String) },
    });
  });

  it('leaves stacks out with disable_stacktrace', () => {
    const { logger, json } = capture('debug', { disableStacktrace: true });
    logger.error('x', { error: new Error('boom') });
    expect(json()[0]!.error).toEqual({ type: 'Error', message: 'boom' });
  });

  it('redacts secret fields at the top of a line and one level down', () => {
    const { logger, lines } = capture();
    logger.info('request', { authorization: 'Bearer abc', headers: { Authorization: 'Basic xyz', 'x-api-key': 'k1', accept: '*/*' }, password: 'hunter2' });
    expect(lines[0]).not.toMatch(/abc|xyz|k1|hunter2/);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      authorization: '[REDACTED]',
      headers: { Authorization: '[REDACTED]', 'x-api-key': '[REDACTED]', accept: '*/*' },
      password: '[REDACTED]',
    });
  });

  it('console encoding: time, level, message and the fields, tab-separated', () => {
    const { logger, lines } = capture('info', { encoding: 'console' });
    logger.info('gateway started', { pipelines: ['logs'] });
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT[^\t]+\tinfo\tgateway started\t\{"base":"b","pipelines":\["logs"\]\}\n$/);
  });

  it('samples per level and message as the collector (zap): the first `initial`, then every `thereafter`th', () => {
    const { logger, json } = capture('info', { sampling: { tick: 60_000, initial: 2, thereafter: 3 } });
    for (let i = 0; i < 10; i++) logger.info('same', { i });
    logger.info('other');
    logger.warn('same');
    expect(json().map((l) => `${l.level}:${l.msg}:${l.i ?? ''}`)).toEqual([
      'info:same:0',
      'info:same:1',
      'info:same:4',
      'info:same:7',
      'info:other:',
      'warn:same:',
    ]);
  });

  it('fromConfig: output_paths (files too), initial_fields and the resource', async () => {
    const file = join(dir, 'logs', 'gw.log');
    const cfg = telemetrySchema.parse({ logs: { level: 'info', output_paths: [file], initial_fields: { deployment: 'eu-1' } } }, [], []);
    const logger = Logger.fromConfig(cfg.logs, { 'service.name': 'gw' });
    logger.debug('hidden');
    logger.info('shown', { n: 1 });
    const lines = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([expect.objectContaining({ msg: 'shown', n: 1, deployment: 'eu-1', resource: { 'service.name': 'gw' } })]);
  });

  it('a gateway logs through service.telemetry.logs and shows its resource as target_info', async () => {
    const file = join(dir, 'gateway.log');
    const yaml = join(dir, 'gateway.yaml');
    await writeFile(
      yaml,
      logsToDebug(`  telemetry:
    resource:
      service.name: edge-gateway
    logs:
      encoding: console
      output_paths: [${file}]
    metrics:
      level: none
`),
    );
    const v = validateConfig(await loadConfigFiles([yaml], []), createRegistry());
    if (!v.ok) throw new Error(v.problems.map((p) => p.message).join('; '));
    const service = new Service(v.config);
    await service.start();
    expect(await service.telemetry.registry.getSingleMetricAsString('target_info')).toContain('target_info{service_name="edge-gateway"} 1');
    await service.shutdown();
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/\tinfo\tgateway started\t\{.*"resource":\{"service.name":"edge-gateway"\}/);
    expect(text).toMatch(/\tinfo\tgateway stopped\t/);
  });
});
