/**
 * The narrowing stage: a permanently refused request of several resource entries is resent in halves so
 * that only the entries the downstream refuses fail; the attempts it spends are bounded.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PermanentError } from '../core/errors.js';
import { Payload } from '../pdata/payload.js';
import { s } from '../core/schema.js';
import { countItems } from '../pdata/wire.js';
import { makeLogsRequest, testSettings } from '../../test/helpers/otlp-test-servers.js';
import { ExporterHelper, exporterHelperShape, readDeadLetterFile, topLevelEntries, type SendFn } from './index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function helper(raw: Record<string, unknown>, send: SendFn) {
  const issues: { path: string[]; message: string }[] = [];
  const cfg = s.object(exporterHelperShape()).parse(raw, [], issues);
  expect(issues).toEqual([]);
  const settings = testSettings('otlphttp/narrow');
  const h = new ExporterHelper(settings, cfg, send);
  await h.start();
  cleanups.push(async () => {
    await h.shutdown();
    settings.telemetry.close();
  });
  return { h, settings };
}

async function deadLetterPath(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gs-narrow-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return path.join(dir, 'dl.pb');
}

/** n requests of one resource each (tags t0..), joined as a batch is. */
function batchOf(n: number, bad: number[] = []): Payload {
  const parts = Array.from({ length: n }, (_, i) => makeLogsRequest(1, 2, bad.includes(i) ? `BAD${i}` : `t${i}`));
  return Payload.fromParts('logs', parts, { requests: n });
}

describe('narrowing a permanent refusal', () => {
  it('splits a request into its top-level entries exactly (views, no copy)', () => {
    const one = makeLogsRequest(1, 3, 'a');
    const joined = Buffer.concat([one, makeLogsRequest(2, 1, 'b')]);
    const ends = topLevelEntries(joined);
    expect(ends).toEqual([one.length, one.length + (joined.length - one.length) / 2, joined.length]);
    expect(topLevelEntries(Uint8Array.of(0x0a, 0x7f))).toEqual([]);
  });

  it('delivers every entry the downstream takes and dead-letters only the refused ones (memory queue)', async () => {
    const file = await deadLetterPath();
    const accepted: Uint8Array[] = [];
    let attempts = 0;
    const { h } = await helper({ dead_letter: { path: file } }, async (p) => {
      attempts++;
      if (Buffer.from(p.bytes).includes(Buffer.from('BAD'))) throw new PermanentError('HTTP 400: bad string');
      accepted.push(p.bytes);
    });
    await h.consume(batchOf(16, [5, 11]));
    await h.shutdown();
    expect(accepted.reduce((n, b) => n + countItems('logs', b), 0)).toBe(28);
    const dead = await readDeadLetterFile(file);
    expect(
      dead.map(
        (d) =>
          Buffer.from(d.bytes)
            .toString('latin1')
            .match(/BAD\d+/)?.[0],
      ),
    ).toEqual(['BAD5', 'BAD11']);
    // Bisection, not one attempt per entry and not one per pair of halves everywhere.
    expect(attempts).toBeLessThanOrEqual(1 + 2 * 2 * Math.log2(16));
  });

  it('bounds the attempts when the downstream refuses everything; nothing is lost (all in the dead-letter file)', async () => {
    const file = await deadLetterPath();
    let attempts = 0;
    const { h } = await helper({ dead_letter: { path: file } }, async () => {
      attempts++;
      throw new PermanentError('HTTP 401: unauthorised');
    });
    const batch = batchOf(200);
    await h.consume(batch);
    await h.shutdown();
    expect(attempts).toBeLessThanOrEqual(1 + 64);
    const dead = await readDeadLetterFile(file);
    expect(Buffer.concat(dead.map((d) => d.bytes)).equals(Buffer.from(batch.bytes))).toBe(true);
  });

  it('sync mode: the good entries are delivered and the caller gets the permanent error', async () => {
    const accepted: Uint8Array[] = [];
    const { h } = await helper({ sending_queue: { enabled: false } }, async (p) => {
      if (Buffer.from(p.bytes).includes(Buffer.from('BAD'))) throw new PermanentError('HTTP 400: bad string');
      accepted.push(p.bytes);
    });
    await expect(h.consume(batchOf(4, [2]))).rejects.toBeInstanceOf(PermanentError);
    expect(accepted.reduce((n, b) => n + countItems('logs', b), 0)).toBe(6);
  });
});
