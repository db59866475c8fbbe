/**
 * Issue 17 item 5: at shutdown, what a memory sending queue cannot deliver before the deadline is kept
 * durably and delivered at the next start. A gateway child with an otlphttp exporter on the default
 * memory queue (with sending_queue.directory set, and with nothing set: the default keep directory)
 * acknowledges requests while its downstream (the sink) refuses everything; SIGTERM with
 * --shutdown-timeout 3s; the log says how much was kept and where; the sink comes back, the gateway
 * restarts on the same directory, and every acknowledged record arrives.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runLoadgen } from '../src/tools/loadgen/index.js';
import { childScene, startGatewayChild } from './helpers/gateway-child.js';
import { walQueueGatewayConfig } from './helpers/configs.js';

const scene = childScene('gs-shutdown-');

const config = (queueDir: string): string => walQueueGatewayConfig(scene.sink.httpUrl, queueDir, { storage: 'memory' });

/** The otlphttp exporter's memory queue with neither sending_queue.directory nor dead_letter.path. */
const defaultsConfig = (): string => walQueueGatewayConfig(scene.sink.httpUrl, '', { storage: 'memory' });

/**
 * Acknowledges 20k records while the sink refuses, SIGTERMs the gateway (--shutdown-timeout 3s), checks the
 * log names what was kept in `keptDir`, brings the sink back, restarts on the same config and directory,
 * and checks every acknowledged record arrives.
 */
async function keepAndResume(yaml: string, file: string, keptDir: string, cwd?: string): Promise<void> {
  const { sink } = scene;
  sink.setDown(true);
  const before = sink.stats().totals;
  let gateway = (scene.gateway = await startGatewayChild(yaml, file, [], ['--shutdown-timeout', '3s'], cwd));
  const result = await runLoadgen({ endpoint: `http://${gateway.http}`, count: 20_000, batch: 500, workers: 4, maxAttempts: 1, bodySize: 200 });
  expect(result.failed).toBe(0);
  expect(result.acked).toBe(20_000);
  // Acknowledged from memory; the sink has refused every attempt so far.
  await sleep(300);
  expect(sink.stats().totals.records).toBe(before.records);
  expect(sink.stats().totals.refused).toBeGreaterThan(before.refused);

  const t0 = Date.now();
  gateway.child.kill('SIGTERM');
  const [code] = await gateway.exited;
  expect(code).toBe(0);
  expect(Date.now() - t0).toBeLessThan(3500);
  const log = gateway.stderr();
  expect(log).not.toContain('abandoning component');
  expect(log).not.toContain('are lost');
  const kept = log.split('\n').find((l) => l.includes('they are sent at the next start'));
  expect(kept, log.slice(-3000)).toBeDefined();
  expect(JSON.parse(kept!)).toMatchObject({ directory: keptDir, kept: { logs: { requests: 40, items: 20_000 } } });

  sink.setDown(false);
  gateway = scene.gateway = await startGatewayChild(yaml, file, [], [], cwd);
  const deadline = Date.now() + 20_000;
  let report = sink.verify([result]);
  while (!report.ok && Date.now() < deadline) {
    await sleep(100);
    report = sink.verify([result]);
  }
  expect(report.lost, JSON.stringify(report.runs[0]?.lostRanges)).toBe(0);
  expect(report.runs[0]!.delivered).toBe(20_000);
  expect(gateway.stderr()).toContain('resending requests left in the WAL by the previous run');
  gateway.child.kill('SIGTERM');
  expect((await gateway.exited)[0]).toBe(0);
}

describe('shutdown with a memory queue the downstream does not drain', () => {
  it('keeps the undelivered requests in the queue directory, says how much and where, and delivers them at the next start', async () => {
    const queueDir = join(scene.dir, 'queue');
    await keepAndResume(config(queueDir), join(scene.dir, 'gateway.yaml'), join(queueDir, 'otlphttp'));
  }, 45_000);

  it('with neither sending_queue.directory nor dead_letter.path: keeps them in ./data/sending_queue under the working directory, and the next start delivers them and removes it', async () => {
    const cwd = join(scene.dir, 'workdir');
    await mkdir(cwd);
    const keptDir = join(cwd, 'data', 'sending_queue', 'otlphttp');
    await keepAndResume(defaultsConfig(), join(scene.dir, 'defaults.yaml'), keptDir, cwd);
    // Everything was delivered before the second stop: nothing is left to open at a later start.
    expect(existsSync(keptDir)).toBe(false);
  }, 45_000);
});
