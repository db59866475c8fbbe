/**
 * WALs a changed service.workers would leave unread (stranded.ts), found in real directories laid out as
 * the single-process and worker layouts write them.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComponentConfig, ValidatedConfig } from '../../config/validate.js';
import { telemetrySchema } from '../../telemetry/config.js';
import { strandedMessage, strandedWals } from './stranded.js';

let d: string;
const SEGMENT = '00000000000000000001.wal';
const comp = (config: unknown): ComponentConfig => ({ id: { type: 't', name: '', id: 't' }, factory: {} as ComponentConfig['factory'], config });
const config = (): ValidatedConfig => ({
  receivers: new Map(),
  // The queue's directory holds the somatic WAL's: that one is not a stranded single-process WAL.
  processors: new Map([['somatic', comp({ wal: { directory: join(d, 'somatic') } })]]),
  exporters: new Map([['otlphttp', comp({ sending_queue: { storage: 'wal', directory: d } })]]),
  extensions: new Map(),
  connectors: new Map(),
  service: { extensions: [], pipelines: [], telemetry: telemetrySchema.parse({}, [], []), processing: { worker_threads: 'auto' }, workers: '2' },
});

beforeAll(async () => {
  d = await mkdtemp(join(tmpdir(), 'gs-stranded-'));
  const file = async (path: string, bytes: number) => {
    await mkdir(dirname(join(d, path)), { recursive: true });
    await writeFile(join(d, path), Buffer.alloc(bytes, 1));
  };
  await file(`somatic/worker-0/logs/${SEGMENT}`, 100);
  await file(`somatic/worker-3/logs/${SEGMENT}`, 100);
  await file(`somatic/logs/${SEGMENT}`, 100); // a single process's
  await file(`worker-1/otlphttp/${SEGMENT}`, 0); // nothing in it
  await file('otlphttp/ledger.json', 10); // no segment
});
afterAll(async () => {
  await rm(d, { recursive: true, force: true });
});

describe('WALs another service.workers wrote', () => {
  it('two workers: worker-3 and the single-process WAL are not read', () => {
    expect(strandedWals(config(), 2)).toEqual([
      { dir: join(d, 'somatic', 'logs'), workers: 1 },
      { dir: join(d, 'somatic', 'worker-3'), workers: 4 },
    ]);
    expect(strandedMessage(strandedWals(config(), 2), 2)).toBe(
      `WAL directories written with another service.workers hold requests this gateway (service.workers: 2) will not read, so they are not sent: ` +
        `${join(d, 'somatic', 'logs')}, ${join(d, 'somatic', 'worker-3')}. Start it with service.workers: 1 or service.workers: 4 or more until they are delivered, then remove them`,
    );
  });

  it('four workers read worker-3; one process reads none of the worker directories', () => {
    expect(strandedWals(config(), 4)).toEqual([{ dir: join(d, 'somatic', 'logs'), workers: 1 }]);
    expect(strandedWals(config(), 1)).toEqual([
      { dir: join(d, 'somatic', 'worker-0'), workers: 2 },
      { dir: join(d, 'somatic', 'worker-3'), workers: 4 },
    ]);
  });

  it('nothing to say about directories that do not exist yet', () => {
    const fresh = config();
    fresh.processors = new Map([['somatic', comp({ wal: { directory: join(d, 'none') } })]]);
    fresh.exporters = new Map();
    expect(strandedWals(fresh, 2)).toEqual([]);
    expect(strandedMessage([], 2)).toBeUndefined();
  });
});
