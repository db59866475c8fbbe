import { afterEach, describe, expect, it } from 'vitest';
import type { Consumer } from '../../src/core/consumer.js';
import { RetryableError } from '../../src/core/errors.js';
import { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';
import { countItems } from '../../src/pdata/wire.js';
import { decodeRequest } from '../../src/pdata/codec.js';
import { counterValue, makeLogsRequest, makeMetricsRequest, makeTracesRequest, testSettings } from '../../test/helpers/otlp-test-servers.js';
import type { BatchProcessor } from './batch-processor.js';
import { batchProcessorFactory } from './factory.js';
import { clientInfo } from '../../src/pdata/client-info.js';

/** A downstream stage that records what it got and answers when the test says so. */
class Downstream implements Consumer {
  readonly got: Payload[] = [];
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  auto: 'resolve' | Error | undefined = 'resolve';
  consume(p: Payload): Promise<void> {
    this.got.push(p);
    if (this.auto === 'resolve') return Promise.resolve();
    if (this.auto instanceof Error) return Promise.reject(this.auto);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
  settleAll(err?: Error): void {
    for (const w of this.waiters.splice(0)) {
      if (err) w.reject(err);
      else w.resolve();
    }
  }
}

const settingsList: ReturnType<typeof testSettings>[] = [];
afterEach(() => {
  for (const s of settingsList.splice(0)) s.telemetry.close();
});

function make(raw: Record<string, unknown>, signal: Signal = 'logs') {
  const issues: { path: string[]; message: string }[] = [];
  const cfg = batchProcessorFactory.config.parse(raw, [], issues);
  expect(issues).toEqual([]);
  const settings = testSettings('batch', 'processor');
  settingsList.push(settings);
  const down = new Downstream();
  const proc = batchProcessorFactory.create(settings, cfg, signal, down) as BatchProcessor;
  return { proc, down, settings };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('batch processor', () => {
  it('flushes on size; the batch is the byte concatenation and decodes to the union', async () => {
    const { proc, down, settings } = make({ send_batch_size: 10, timeout: '10s' });
    down.auto = undefined;
    const reqs = [makeLogsRequest(1, 4, 'a'), makeLogsRequest(2, 2, 'b'), makeLogsRequest(1, 4, 'c')];
    const settled: string[] = [];
    const promises = reqs.map((r, i) => proc.consume(new Payload('logs', r)).then(() => void settled.push(`ok${i}`)));
    await tick();
    expect(down.got).toHaveLength(1);
    const out = down.got[0]!;
    expect(out.itemCount).toBe(12);
    expect(Buffer.compare(Buffer.from(out.bytes), Buffer.concat(reqs))).toBe(0);
    expect(countItems('logs', out.bytes)).toBe(12);
    const decoded = decodeRequest('logs', out.bytes);
    expect(decoded.resourceLogs).toHaveLength(4);
    const bodies = decoded.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords.map((lr) => lr.body?.value.value)));
    expect(bodies).toEqual([
      'a log 0.0',
      'a log 0.1',
      'a log 0.2',
      'a log 0.3',
      'b log 0.0',
      'b log 0.1',
      'b log 1.0',
      'b log 1.1',
      'c log 0.0',
      'c log 0.1',
      'c log 0.2',
      'c log 0.3',
    ]);
    // Nobody is answered before downstream accepted the batch.
    expect(settled).toEqual([]);
    down.settleAll();
    await Promise.all(promises);
    expect(settled.sort()).toEqual(['ok0', 'ok1', 'ok2']);
    expect(await counterValue(settings.telemetry, 'otelcol_processor_incoming_items', { processor: 'batch', otel_signal: 'logs' })).toBe(12);
    expect(await counterValue(settings.telemetry, 'otelcol_processor_outgoing_items', { processor: 'batch', otel_signal: 'logs' })).toBe(12);
  });

  it('a batch counts the requests it joins, not their pieces, and keeps the pieces unjoined', async () => {
    const { proc, down } = make({ send_batch_size: 10, timeout: '10s' });
    const a = makeLogsRequest(1, 4, 'a');
    const b = makeLogsRequest(2, 3, 'b');
    // `a` as the HTTP receiver hands it on: the pieces the parser delivered, counted by validation.
    const aPieces = [a.subarray(0, 40), a.subarray(40)];
    await Promise.all([proc.consume(Payload.fromParts('logs', aPieces, { itemCount: 4 })), proc.consume(new Payload('logs', b))]);
    expect(down.got).toHaveLength(1);
    const out = down.got[0]!;
    expect(out.requests).toBe(2);
    expect(out.chunks()).toEqual([aPieces[0], aPieces[1], b]);
    expect(Buffer.compare(Buffer.from(out.bytes), Buffer.concat([a, b]))).toBe(0);
  });

  it('flushes on timeout when the size is not reached (flush_when_idle off)', async () => {
    const { proc, down } = make({ send_batch_size: 1000, timeout: '60ms', flush_when_idle: false }, 'traces');
    const t0 = Date.now();
    const p1 = proc.consume(new Payload('traces', makeTracesRequest(3)));
    const p2 = proc.consume(new Payload('traces', makeTracesRequest(2)));
    await tick();
    expect(down.got).toHaveLength(0);
    await Promise.all([p1, p2]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(50);
    expect(down.got).toHaveLength(1);
    expect(down.got[0]!.itemCount).toBe(5);
    expect(decodeRequest('traces', down.got[0]!.bytes).resourceSpans).toHaveLength(2);
  });

  it('with flush_when_idle, a batch goes once an event-loop turn brings no request, not at the timeout', async () => {
    const { proc, down } = make({ send_batch_size: 1000, timeout: '10s' });
    const t0 = Date.now();
    // Two requests in one turn share a batch; it is sent after the next turn brings nothing new.
    const p1 = proc.consume(new Payload('logs', makeLogsRequest(1, 3, 'a')));
    const p2 = proc.consume(new Payload('logs', makeLogsRequest(1, 2, 'b')));
    await Promise.all([p1, p2]);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(down.got).toHaveLength(1);
    expect(down.got[0]!.itemCount).toBe(5);
  });

  it('with flush_when_idle, requests arriving every turn keep growing the batch until send_batch_size', async () => {
    const { proc, down } = make({ send_batch_size: 20, timeout: '10s' });
    const promises: Promise<void>[] = [];
    // One request per event-loop turn (setImmediate), 4 items each: the batch fills to 20 and goes on size.
    for (let i = 0; i < 5; i++) {
      promises.push(proc.consume(new Payload('logs', makeLogsRequest(1, 4, `t${i}`))));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(promises);
    expect(down.got.map((p) => p.itemCount)).toEqual([20]);
  });

  it('rejects every request of a batch with the downstream error', async () => {
    const { proc, down, settings } = make({ send_batch_size: 6, timeout: '10s' }, 'metrics');
    down.auto = new RetryableError('downstream busy', { retryAfterMs: 1000 });
    const results = await Promise.allSettled([
      proc.consume(new Payload('metrics', makeMetricsRequest(3))),
      proc.consume(new Payload('metrics', makeMetricsRequest(3))),
    ]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const reason = (r as PromiseRejectedResult).reason as RetryableError;
      expect(reason).toBeInstanceOf(RetryableError);
      expect(reason.retryAfterMs).toBe(1000);
    }
    // The next batch is independent of the failed one.
    down.auto = 'resolve';
    await expect(
      Promise.all([proc.consume(new Payload('metrics', makeMetricsRequest(3))), proc.consume(new Payload('metrics', makeMetricsRequest(4)))]),
    ).resolves.toBeDefined();
    expect(down.got).toHaveLength(2);
    expect(down.got[1]!.itemCount).toBe(7);
    expect(await counterValue(settings.telemetry, 'otelcol_processor_outgoing_items', { processor: 'batch', otel_signal: 'metrics' })).toBe(13);
  });

  it('keeps batches within send_batch_max_size and passes an oversized request alone', async () => {
    const { proc, down } = make({ send_batch_size: 10, send_batch_max_size: 10, timeout: '30ms' });
    const p1 = proc.consume(new Payload('logs', makeLogsRequest(1, 6, 'a')));
    const p2 = proc.consume(new Payload('logs', makeLogsRequest(1, 6, 'b'))); // 12 > 10: closes a's batch first
    const p3 = proc.consume(new Payload('logs', makeLogsRequest(1, 25, 'c'))); // closes b's batch, goes alone
    await Promise.all([p1, p2, p3]);
    expect(down.got.map((p) => p.itemCount)).toEqual([6, 6, 25]);
    for (const p of down.got) expect(p.itemCount).toBe(countItems('logs', p.bytes));
  });

  it('send_batch_size 0 is accepted, as by the collector: the size is ignored and every request goes on at once', async () => {
    const { proc, down } = make({ send_batch_size: 0, send_batch_max_size: 10, timeout: '10s', flush_when_idle: false });
    const reqs = [makeLogsRequest(1, 3, 'a'), makeLogsRequest(1, 1, 'b'), makeLogsRequest(1, 25, 'c')];
    const promises = reqs.map((r, i) => {
      const p = proc.consume(new Payload('logs', r));
      // Handed downstream within consume: no timer, no event-loop turn.
      expect(down.got).toHaveLength(i + 1);
      return p;
    });
    await Promise.all(promises);
    expect(down.got.map((p) => Buffer.from(p.bytes))).toEqual(reqs.map((r) => Buffer.from(r)));
  });

  it('flushes what it holds on shutdown and waits for downstream', async () => {
    const { proc, down } = make({ send_batch_size: 1000, timeout: '10s' });
    down.auto = undefined;
    const p = proc.consume(new Payload('logs', makeLogsRequest(1, 3)));
    let shutDown = false;
    const s = proc.shutdown().then(() => {
      shutDown = true;
    });
    await tick();
    expect(down.got).toHaveLength(1);
    expect(shutDown).toBe(false);
    down.settleAll();
    await s;
    await p;
    expect(shutDown).toBe(true);
    // After shutdown requests pass straight through.
    down.auto = 'resolve';
    await proc.consume(new Payload('logs', makeLogsRequest(1, 1)));
    expect(down.got).toHaveLength(2);
  });

  it('rejects a malformed request without disturbing the open batch', async () => {
    const { proc, down } = make({ send_batch_size: 5, timeout: '10s' });
    const good = proc.consume(new Payload('logs', makeLogsRequest(1, 2)));
    await expect(proc.consume(new Payload('logs', new Uint8Array([0x0a, 0x7f, 0x01])))).rejects.toThrow(/overruns/);
    await proc.consume(new Payload('logs', makeLogsRequest(1, 3)));
    await good;
    expect(down.got).toHaveLength(1);
    expect(down.got[0]!.itemCount).toBe(5);
  });

  it('has the collector defaults, validates the bound and is not skippable', () => {
    expect(batchProcessorFactory.config.defaults()).toEqual({
      send_batch_size: 8192,
      timeout: 200,
      flush_when_idle: true,
      send_batch_max_size: 0,
      metadata_keys: [],
      metadata_cardinality_limit: 1000,
    });
    expect(batchProcessorFactory.skippableUnderPressure).toBe(false);
    const issues: { path: string[]; message: string }[] = [];
    batchProcessorFactory.config.parse({ send_batch_size: 100, send_batch_max_size: 50 }, [], issues);
    expect(issues.map((i) => i.path.join('.'))).toEqual(['send_batch_max_size']);
  });

  it('metadata_keys: requests of different tenants never share a batch, and each batch keeps its tenant', async () => {
    const { proc, down } = make({ send_batch_size: 100, timeout: '10s', flush_when_idle: false, metadata_keys: ['X-Tenant'] });
    const from = (tenant: string | undefined, tag: string) =>
      new Payload('logs', makeLogsRequest(1, 2, tag), {
        meta: clientInfo({ address: '10.0.0.1', headers: { ...(tenant ? { 'x-tenant': tenant } : {}), 'user-agent': tag } }),
      });
    const done = Promise.all([
      proc.consume(from('acme', 'a1')),
      proc.consume(from('globex', 'g1')),
      proc.consume(from('acme', 'a2')),
      proc.consume(from(undefined, 'n1')),
    ]);
    await proc.shutdown();
    await done;
    expect(down.got).toHaveLength(3);
    const byTenant = new Map(down.got.map((p) => [p.meta?.['metadata.x-tenant'], p]));
    expect(byTenant.get('acme')!.itemCount).toBe(4);
    expect(byTenant.get('globex')!.itemCount).toBe(2);
    expect(byTenant.get(undefined)!.itemCount).toBe(2);
    // Only the keyed values travel on: not the other headers of the requests that were joined.
    expect(byTenant.get('acme')!.meta).toEqual({ 'metadata.x-tenant': 'acme' });
  });

  it('metadata_cardinality_limit refuses a new combination retryably once the limit of open batches is reached', async () => {
    const { proc } = make({ send_batch_size: 100, timeout: '10s', flush_when_idle: false, metadata_keys: ['x-tenant'], metadata_cardinality_limit: 2 });
    const from = (tenant: string) => new Payload('logs', makeLogsRequest(1, 1), { meta: clientInfo({ headers: { 'x-tenant': tenant } }) });
    const open = [proc.consume(from('a')), proc.consume(from('b')), proc.consume(from('a'))];
    await expect(proc.consume(from('c'))).rejects.toBeInstanceOf(RetryableError);
    await proc.shutdown();
    await Promise.all(open);
  });
});
