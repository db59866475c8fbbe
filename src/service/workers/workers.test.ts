import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../telemetry/logger.js';
import { Telemetry } from '../../telemetry/telemetry.js';
import { SomaticRuntime } from '../../somatic/runtime.js';
import { testSomaticSettings } from '../../../test/helpers/somatic.js';
import type { Sensor } from '../../somatic/sensors.js';
import { GREEN, RED, YELLOW } from '../../somatic/zone.js';
import type { ComponentConfig, ValidatedConfig } from '../../config/validate.js';
import { globalViewOf } from './global-view.js';
import type { WorkerReport } from './messages.js';
import { perWorkerConfig } from './per-worker-config.js';
import { MIN_WORKER_MEMORY_MIB, planWorkers } from './count.js';
import { usableCores } from '../../core/cores.js';
import { telemetrySchema } from '../../telemetry/config.js';

const MiB = 2 ** 20;
const report = (over: Partial<WorkerReport>): WorkerReport => ({
  t: 'report',
  index: 0,
  health: 'serving',
  zone: 0,
  rssBytes: 100 * MiB,
  memoryLimitBytes: 512 * MiB,
  walFill: 0,
  ...over,
});

describe('the machine-wide view', () => {
  it.each([
    ['all calm', [report({}), report({ index: 1 })], 0, 'serving'],
    // Worker 0 is at 0.84 of its own share, calm by itself; the machine's 880 of 1024 MiB (0.86) reaches it.
    ['machine memory over 85 % of the limit', [report({ rssBytes: 430 * MiB }), report({ index: 1, rssBytes: 450 * MiB })], 1, 'serving'],
    ['machine memory at the limit', [report({ rssBytes: 600 * MiB }), report({ index: 1, rssBytes: 430 * MiB })], 2, 'serving'],
    ['one worker heavy, the machine fine', [report({ rssBytes: 500 * MiB }), report({ index: 1, rssBytes: 50 * MiB })], 0, 'serving'],
    ['a WAL 85 % full', [report({ walFill: 0.85 }), report({ index: 1 })], 1, 'serving'],
    ['a WAL full', [report({}), report({ index: 1, walFill: 0.99 })], 2, 'serving'],
    ['a worker not reporting (restarting)', [report({}), undefined], 0, 'starting'],
    ['a worker draining', [report({ health: 'draining' }), report({ index: 1 })], 0, 'draining'],
    ['no somatic processor (no limit)', [report({ memoryLimitBytes: 0, rssBytes: 900 * MiB }), report({ index: 1, memoryLimitBytes: 0 })], 0, 'serving'],
  ] as const)('%s', (_name, reports, zone, health) => {
    const v = globalViewOf(reports, 1000);
    expect(v.zone).toBe(zone);
    expect(v.health).toBe(health);
    expect(v.at).toBe(1000);
  });

  it("sums the workers' memory and limits", () => {
    const v = globalViewOf([report({ rssBytes: 100 * MiB }), report({ index: 1, rssBytes: 300 * MiB })], 0);
    expect(v.totalRssBytes).toBe(400 * MiB);
    expect(v.memoryLimitBytes).toBe(1024 * MiB);
  });
});

describe("a worker's somatic runtime under the global view", () => {
  function runtime() {
    const sensor: Sensor = { name: 'inflight', unit: 'ratio', read: () => 0 };
    return new SomaticRuntime(testSomaticSettings(), new Telemetry(), silentLogger, [sensor]);
  }

  it('rises with the global zone though its own sensors are calm, and falls back once it clears', () => {
    const rt = runtime();
    let now = 1_000_000;
    rt.check(now);
    rt.setGlobalZone(RED);
    for (let i = 0; i < 4; i++) rt.check((now += 100));
    expect(rt.zone).toBe(RED);
    rt.setGlobalZone(GREEN);
    // It leaves one zone per min_dwell, as for any other cause.
    for (let i = 0; i < 11; i++) rt.check((now += 100));
    expect(rt.zone).toBe(YELLOW);
    for (let i = 0; i < 11; i++) rt.check((now += 100));
    expect(rt.zone).toBe(GREEN);
  });
});

describe('per-worker config', () => {
  const comp = (config: unknown): ComponentConfig => ({ id: { type: 't', name: '', id: 't' }, factory: {} as ComponentConfig['factory'], config });
  const base: ValidatedConfig = {
    receivers: new Map([['otlp', comp({ protocols: { http: { endpoint: '127.0.0.1:4318' } } })]]),
    processors: new Map([
      ['somatic', comp({ memory_limit_mib: 1000, wal: { directory: '/var/lib/gs/somatic' }, replay: { dead_letter_path: '/var/lib/gs/replay.dl' } })],
    ]),
    exporters: new Map([
      ['otlphttp', comp({ sending_queue: { storage: 'wal', directory: '/var/lib/gs/queue' }, dead_letter: { path: '/var/lib/gs/dead.bin' } })],
      ['file', comp({ path: '/var/log/otlp.jsonl' })],
    ]),
    extensions: new Map([
      ['pprof', comp({ endpoint: 'localhost:1777', save_to_file: '/tmp/run.cpuprofile' })],
      ['health_check', comp({ endpoint: 'localhost:13133', path: '/' })],
    ]),
    connectors: new Map(),
    service: {
      extensions: [],
      pipelines: [],
      telemetry: telemetrySchema.parse({ metrics: { address: 'localhost:8888' } }, [], []),
      processing: { worker_threads: 'auto' },
      workers: '4',
    },
  };

  it("gives each worker its own WAL directories, files (pprof's save_to_file too) and memory share, and leaves /metrics to the primary", () => {
    const w = perWorkerConfig(base, 2, 4);
    expect(w.processors.get('somatic')!.config).toEqual({
      memory_limit_mib: 250,
      wal: { directory: '/var/lib/gs/somatic/worker-2' },
      replay: { dead_letter_path: '/var/lib/gs/replay.dl.worker-2' },
    });
    expect(w.exporters.get('otlphttp')!.config).toEqual({
      sending_queue: { storage: 'wal', directory: '/var/lib/gs/queue/worker-2' },
      dead_letter: { path: '/var/lib/gs/dead.bin.worker-2' },
    });
    expect(w.exporters.get('file')!.config).toEqual({ path: '/var/log/otlp.jsonl.worker-2' });
    expect(w.extensions.get('pprof')!.config).toEqual({ endpoint: 'localhost:1777', save_to_file: '/tmp/run.cpuprofile.worker-2' });
    expect(w.extensions.get('health_check')!.config).toEqual({ endpoint: 'localhost:13133', path: '/' });
    expect(w.receivers.get('otlp')!.config).toEqual({ protocols: { http: { endpoint: '127.0.0.1:4318' } } });
    expect(w.service.telemetry.metrics.address).toBe('');
    // The original is untouched (the primary keeps serving from it).
    expect(base.extensions.get('pprof')!.config).toEqual({ endpoint: 'localhost:1777', save_to_file: '/tmp/run.cpuprofile' });
    expect(base.processors.get('somatic')!.config).toEqual({
      memory_limit_mib: 1000,
      wal: { directory: '/var/lib/gs/somatic' },
      replay: { dead_letter_path: '/var/lib/gs/replay.dl' },
    });
  });

  it('gives a memory queue that would keep its leftovers in the shared default directory a directory of its own', () => {
    const memoryQueue = { sending_queue: { enabled: true, storage: 'memory', directory: '' }, dead_letter: { path: '' } };
    const withQueues: ValidatedConfig = {
      ...base,
      exporters: new Map([
        ['otlp', comp(memoryQueue)],
        ['otlp/dl', comp({ ...memoryQueue, dead_letter: { path: '/var/lib/gs/dl' } })],
        ['otlp/sync', comp({ ...memoryQueue, sending_queue: { enabled: false, storage: 'memory', directory: '' } })],
      ]),
    };
    const w = perWorkerConfig(withQueues, 2, 4);
    expect(w.exporters.get('otlp')!.config).toEqual({
      ...memoryQueue,
      sending_queue: { ...memoryQueue.sending_queue, directory: 'data/sending_queue/worker-2' },
    });
    // A dead-letter file keeps them instead (per worker); a queue that is off keeps nothing.
    expect(w.exporters.get('otlp/dl')!.config).toEqual({ ...memoryQueue, dead_letter: { path: '/var/lib/gs/dl.worker-2' } });
    expect(w.exporters.get('otlp/sync')!.config).toEqual({ ...memoryQueue, sending_queue: { enabled: false, storage: 'memory', directory: '' } });
  });

  it("gives each worker its share of a memory_limiter's limits and no metrics reader", () => {
    const withLimiter: ValidatedConfig = {
      ...base,
      processors: new Map([
        ['memory_limiter', comp({ check_interval: 1000, limit_mib: 4000, spike_limit_mib: 800, limit_percentage: 0, spike_limit_percentage: 0 })],
      ]),
      service: {
        ...base.service,
        telemetry: telemetrySchema.parse({ metrics: { readers: [{ pull: { exporter: { prometheus: { host: '0.0.0.0', port: 8888 } } } }] } }, [], []),
      },
    };
    const w = perWorkerConfig(withLimiter, 1, 4);
    expect(w.processors.get('memory_limiter')!.config).toEqual({
      check_interval: 1000,
      limit_mib: 1000,
      spike_limit_mib: 200,
      limit_percentage: 0,
      spike_limit_percentage: 0,
    });
    expect(w.service.telemetry.metrics.readers).toEqual([]);
  });
});

describe('how many workers (planWorkers)', () => {
  const withSomatic = (memoryLimitMib: number, workers: string): ValidatedConfig => ({
    receivers: new Map(),
    processors: new Map([
      [
        'somatic',
        { id: { type: 'somatic', name: '', id: 'somatic' }, factory: {} as ComponentConfig['factory'], config: { memory_limit_mib: memoryLimitMib } },
      ],
    ]),
    exporters: new Map(),
    extensions: new Map(),
    connectors: new Map(),
    service: {
      extensions: [],
      pipelines: [],
      telemetry: telemetrySchema.parse({}, [], []),
      processing: { worker_threads: 'auto' },
      workers,
    },
  });

  it('auto: one per core while each gets MIN_WORKER_MEMORY_MIB of the limit, fewer (and says why) when not', () => {
    expect(planWorkers(withSomatic(100 * MIN_WORKER_MEMORY_MIB, 'auto'))).toEqual({ count: usableCores() });
    // Measured: 8 workers sharing 512 MiB each started at 70-74 MiB RSS against a 64 MiB share, all Red, idle.
    const small = planWorkers(withSomatic(MIN_WORKER_MEMORY_MIB + 10, 'auto'));
    expect(small.count).toBe(1);
    if (usableCores() > 1)
      expect(small.note).toEqual({
        level: 'info',
        message: `service.workers: auto runs 1 worker process, not one per core (${usableCores()}): the somatic memory_limit_mib ${MIN_WORKER_MEMORY_MIB + 10} gives each at least ${MIN_WORKER_MEMORY_MIB} MiB only for 1; raise memory_limit_mib to use every core`,
      });
  });

  it('a number: that many, with a warning naming both keys when each worker would get too little', () => {
    expect(planWorkers(withSomatic(512, '2'))).toEqual({ count: 2 });
    expect(planWorkers(withSomatic(512, '8'))).toEqual({
      count: 8,
      note: {
        level: 'warn',
        message: `service.workers: 8 leaves each worker 64 MiB of the somatic memory_limit_mib 512, under the ${MIN_WORKER_MEMORY_MIB} MiB a worker needs (its own resident memory is about 75 MiB): the workers will start in Red and stay there; set service.workers to at most 3 (or auto), or memory_limit_mib to at least ${8 * MIN_WORKER_MEMORY_MIB}`,
      },
    });
  });
});
