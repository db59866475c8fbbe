import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { toBinary } from '@bufbuild/protobuf';
import { Payload } from '../pdata/payload.js';
import { PermanentError, RetryableError } from '../core/errors.js';
import type { Signal } from '../core/signal.js';
import { REQUEST_SCHEMA } from '../pdata/codec.js';
import { WireOffloadPool, workerThreadsFor } from './offload.js';
import { attributesProcessorFactory } from '../../processors/attributes/factory.js';
import { filterProcessorFactory } from '../../processors/filter/factory.js';
import { redactionProcessorFactory } from '../../processors/redaction/factory.js';
import type { ProcessorFactory } from '../core/component.js';
import { counterValue, makeLogsRequest, testSettings, RecordingConsumer } from '../../test/helpers/otlp-test-servers.js';
import { arbRequest } from '../../test/helpers/otlp-arbitraries.js';
import { validConfig } from '../../test/helpers/component-config.js';
import { availableParallelism, tmpdir } from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const pools: WireOffloadPool[] = [];
const settingsList: ReturnType<typeof testSettings>[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
  for (const s of settingsList.splice(0)) s.telemetry.close();
});

const ACTIONS = {
  actions: [
    { key: 'env', value: 'production', action: 'insert' },
    { key: 'k1', action: 'hash' },
    { key: 'k2', action: 'delete' },
    { key: 'client', from_context: 'client.address', action: 'upsert' },
    { key: 'k3', value: 7, action: 'update' },
  ],
};

/** Writes an editor module outside the processors' folders at test time, runs `fn` with its URL, removes it. */
async function withEditorModule(name: string, source: string, fn: (module: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gophership-offload-'));
  try {
    const file = join(dir, name);
    writeFileSync(file, source);
    await fn(pathToFileURL(file).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The processors whose edits run on workers, each with a config that changes random requests often. */
const OFFLOADED: { id: string; factory: ProcessorFactory<any>; raw: Record<string, unknown>; counters: string[] }[] = [
  { id: 'attributes/test', factory: attributesProcessorFactory, raw: ACTIONS, counters: [] },
  {
    id: 'filter/test',
    factory: filterProcessorFactory,
    raw: {
      logs: { exclude: { match_type: 'regexp', record_attributes: [{ key: 'k1' }] } },
      spans: { exclude: { match_type: 'regexp', attributes: [{ key: 'k2' }] } },
      metrics: { exclude: { match_type: 'regexp', metric_names: ['^m'] } },
    },
    counters: ['gophership_processor_filtered_items'],
  },
  {
    id: 'redaction/test',
    factory: redactionProcessorFactory,
    raw: { allowed_keys: ['a', 'k1', 'k2', 'user.email'], blocked_values: ['[a-f]{2}', '@'], summary: 'info' },
    counters: ['gophership_processor_redacted_items'],
  },
];

/** A processor, on `pool` when given (else editing in-thread), recording what it forwards. */
function processor(signal: Signal, pool: WireOffloadPool | undefined, which = OFFLOADED[0]!) {
  const cfg = validConfig(which.factory, which.raw);
  const settings = { ...testSettings(which.id, 'processor'), offload: pool };
  settingsList.push(settings);
  const sink = new RecordingConsumer();
  return { proc: which.factory.create(settings, cfg, signal, sink), sink, settings };
}

const attributes = (signal: Signal, pool?: WireOffloadPool) => processor(signal, pool);

function newPool(threads: number, logger?: ReturnType<typeof testSettings>['logger']): WireOffloadPool {
  const p = new WireOffloadPool(threads, logger);
  pools.push(p);
  return p;
}

describe('wire edits on worker threads', () => {
  for (const which of OFFLOADED) {
    it(`${which.id.split('/')[0]}: forwards the same bytes and counts as the in-thread edit, for random requests of every signal`, async () => {
      const pool = newPool(2);
      let counted = 0;
      for (const signal of ['logs', 'traces', 'metrics'] as const) {
        const local = processor(signal, undefined, which);
        const remote = processor(signal, pool, which);
        let changed = 0;
        await fc.assert(
          fc.asyncProperty(arbRequest(signal), async (req) => {
            const bytes = toBinary(REQUEST_SCHEMA[signal], req as never);
            const meta = { 'client.address': '10.0.0.7' };
            await local.proc.consume(new Payload(signal, bytes, { meta }));
            await remote.proc.consume(new Payload(signal, bytes, { meta }));
            const a = local.sink.got.pop();
            const b = remote.sink.got.pop();
            expect(b?.itemCount).toBe(a?.itemCount);
            expect(b === undefined ? a : Buffer.from(b.bytes).equals(Buffer.from(a!.bytes))).toBe(a === undefined ? undefined : true);
            if (a === undefined || !Buffer.from(a.bytes).equals(Buffer.from(bytes))) changed++;
          }),
          { numRuns: 60 },
        );
        // The config does something to these requests, or the comparison would prove little.
        expect(changed).toBeGreaterThan(5);
        const labels = { processor: which.id, otel_signal: signal };
        for (const name of ['otelcol_processor_incoming_items', 'otelcol_processor_outgoing_items', ...which.counters]) {
          const want = await counterValue(local.settings.telemetry, name, labels);
          if (name === 'otelcol_processor_incoming_items') expect(want).toBeGreaterThan(0);
          if (which.counters.includes(name)) counted += want;
          expect(await counterValue(remote.settings.telemetry, name, labels)).toBe(want);
        }
      }
      // The processor's own counter (filtered, redacted) moved, so its tally crossed from the workers.
      if (which.counters.length > 0) expect(counted).toBeGreaterThan(0);
      // Every request went to a worker: nothing was edited in the event loop behind the test's back.
      expect(pool.edits).toBe(3 * 60);
    });
  }

  it('spreads concurrent requests over the threads and answers each with its own result', async () => {
    const pool = newPool(3);
    const { proc, sink } = attributes('logs', pool);
    const reqs = fc.sample(arbRequest('logs'), 40).map((r) => toBinary(REQUEST_SCHEMA.logs, r as never));
    const local = attributes('logs');
    await Promise.all(reqs.map((b) => proc.consume(new Payload('logs', b))));
    for (const b of reqs) await local.proc.consume(new Payload('logs', b));
    const key = (p: Payload) => Buffer.from(p.bytes).toString('base64');
    expect(sink.got.map(key).sort()).toEqual(local.sink.got.map(key).sort());
    expect(pool.running).toBe(3);
  });

  it('rejects a request it cannot read as permanent, naming the processor, and keeps working', async () => {
    const pool = newPool(1);
    const { proc, sink } = attributes('logs', pool);
    // ResourceLogs (field 1) whose length runs past the end of the request.
    const bad = Uint8Array.from([0x0a, 0x50, 0x0a, 0x02]);
    const err = await proc.consume(new Payload('logs', bad)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/processor attributes\/test: cannot read the logs request: .*overruns/);
    const good = toBinary(REQUEST_SCHEMA.logs, fc.sample(arbRequest('logs'), 1)[0] as never);
    await proc.consume(new Payload('logs', good));
    expect(sink.got).toHaveLength(1);
  });

  it('a worker that dies fails its requests as retryable, and a new worker with the same editors takes over', async () => {
    const pool = newPool(1);
    const { proc, sink } = attributes('logs', pool);
    const req = toBinary(REQUEST_SCHEMA.logs, fc.sample(arbRequest('logs'), 1)[0] as never);
    await proc.consume(new Payload('logs', req)); // the worker is up and has the editor
    // 400k records: an edit of a few hundred ms, so the worker still holds it when it is killed (in the
    // same turn of the event loop as the request was sent).
    const inFlight = proc.consume(new Payload('logs', makeLogsRequest(4, 100_000)));
    const worker = (pool as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots[0]!.worker;
    await worker.terminate();
    const err = await inFlight.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message).toMatch(/worker thread .* exited .*retry the request/);
    await proc.consume(new Payload('logs', req));
    expect(sink.got).toHaveLength(2);
    expect(pool.running).toBe(1);
  });

  it('threads that keep dying: the pool stops, says so, and the processor edits on the event loop', async () => {
    const log = testSettings('service', 'processor');
    settingsList.push(log);
    const pool = newPool(1, log.logger);
    const { proc, sink } = attributes('logs', pool);
    const local = attributes('logs');
    const req = toBinary(REQUEST_SCHEMA.logs, fc.sample(arbRequest('logs'), 1)[0] as never);
    await proc.consume(new Payload('logs', req));
    const slots = (pool as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots;
    // Each termination is a death; the pool replaces the first five and gives up on the sixth.
    for (let k = 0; k < 6; k++) await slots[0]!.worker.terminate();
    expect(pool.running).toBe(0);
    expect(log.logs.filter((l) => l.msg === 'wire-edit worker thread lost; starting another')).toHaveLength(5);
    expect(log.logs.some((l) => l.msg === 'wire-edit worker threads keep dying; editing on the event loop from now on')).toBe(true);
    const edits = pool.edits;
    await proc.consume(new Payload('logs', req));
    await local.proc.consume(new Payload('logs', req));
    expect(pool.edits).toBe(edits);
    expect(Buffer.from(sink.got[1]!.bytes).equals(Buffer.from(local.sink.got[0]!.bytes))).toBe(true);
  });

  it('runs the editor a processor declares, from any module: the pool has no table of processors', async () => {
    // A module outside the processors' folders, written at test time: its editor reverses the request's bytes.
    const source =
      'export function reverseEditor(config, signal, id) {\n' +
      '  return { tally: [0], edit(bytes) { this.tally[0] = config.n; return { bytes: Uint8Array.from(bytes).reverse(), changed: true, items: signal === "logs" && id === "rev" ? 1 : -1 }; } };\n' +
      '}\n';
    await withEditorModule('reverse-editor.mjs', source, async (module) => {
      const pool = newPool(1);
      const handle = pool.register({ module, exportName: 'reverseEditor' }, 'rev', { n: 42 }, 'logs');
      const out = await handle.edit(Uint8Array.from([1, 2, 3]), undefined)!;
      expect([...out.bytes]).toEqual([3, 2, 1]);
      expect(out).toMatchObject({ changed: true, items: 1, tally: [42] });
      // A declaration naming no function fails each of its edits with a message saying so.
      const wrong = pool.register({ module, exportName: 'noSuchEditor' }, 'rev', {}, 'logs');
      await expect(wrong.edit(Uint8Array.from([1]), undefined)!).rejects.toThrow(
        /worker editor noSuchEditor is not a function exported by .*reverse-editor\.mjs/,
      );
    });
  });

  it('a worker keeps no dead request copies: each goes back with its answer (issue 17: RSS under the limit)', async () => {
    // An editor that changes nothing and reports, in its tally, the external memory of the worker's isolate
    // in KiB at each edit (ArrayBuffers its heap references, dead or alive). Dead copies left in a worker
    // wait for its GC, which V8 starts only ~64 MiB of external memory later (a worker allocates little
    // JS): 48 edits of 1 MiB left 50 MiB there. Only the worker's GC frees them; the event loop's counts
    // them (they were allocated there) but its collections cannot.
    const source =
      'import v8 from "node:v8";\n' +
      'export function memoryEditor() {\n' +
      '  return { tally: [0], edit() { this.tally[0] = Math.round(v8.getHeapStatistics().external_memory / 1024); return { changed: false, items: 1 }; } };\n' +
      '}\n';
    await withEditorModule('memory-editor.mjs', source, async (module) => {
      const pool = newPool(1);
      const handle = pool.register({ module, exportName: 'memoryEditor' }, 'mem', {}, 'logs');
      const request = new Uint8Array(2 ** 20).fill(7);
      let most = 0;
      for (let i = 0; i < 48; i++) {
        const out = await handle.edit(request, undefined)!;
        expect(out.bytes).toBe(request); // unchanged: the caller's own bytes
        most = Math.max(most, out.tally![0]!);
      }
      // The request being edited (1 MiB) and little else.
      expect(most).toBeLessThan(4 * 1024);
    });
  });

  it('worker_threads: a number is taken as given; auto leaves a single core to the event loop', () => {
    expect(workerThreadsFor('0')).toBe(0);
    expect(workerThreadsFor('3')).toBe(3);
    const auto = workerThreadsFor('auto');
    if (availableParallelism() < 2) expect(auto).toBe(0);
    else expect(auto).toBe(Math.min(4, availableParallelism()));
  });
});
