import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { decompress as fzstdDecompress } from 'fzstd';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RetryableError } from '../../src/core/errors.js';
import { Payload } from '../../src/pdata/payload.js';
import { countItems } from '../../src/pdata/wire.js';
import { requestFromJson, requestToJson } from '../../src/pdata/codec.js';
import { counterValue, makeLogsRequest, makeMetricsRequest, makeTracesRequest, testSettings } from '../../test/helpers/otlp-test-servers.js';
import { fileExporterFactory } from './factory.js';
import type { FileExporter } from './file-exporter.js';
import { backupStamp } from './file-writer.js';
import { testHost } from '../../test/helpers/host.js';
import { parseConfig, validConfig } from '../../test/helpers/component-config.js';

/** Splits a proto-format file into its length-prefixed records. */
function readFrames(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    out.push(buf.subarray(pos + 4, pos + 4 + len));
    pos += 4 + len;
  }
  expect(pos).toBe(buf.length);
  return out;
}

describe('file exporter', () => {
  let dir: string;
  let settings: ReturnType<typeof testSettings>;
  let exporter: FileExporter | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gophership-file-exp-'));
    settings = testSettings('file/test');
  });
  afterEach(async () => {
    await exporter?.shutdown();
    exporter = undefined;
    settings.telemetry.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function make(raw: Record<string, unknown>): Promise<FileExporter> {
    exporter = fileExporterFactory.create(settings, validConfig(fileExporterFactory, raw)) as FileExporter;
    await exporter.start(testHost({ onFatal: () => {} }));
    return exporter;
  }

  it('writes one OTLP/JSON request per line (json format), creating parent directories', async () => {
    const file = path.join(dir, 'a', 'b', 'out.json');
    const exp = await make({ path: file });
    const logs = makeLogsRequest(1, 3);
    const traces = makeTracesRequest(2);
    const metrics = makeMetricsRequest(4);
    await Promise.all([exp.consume(new Payload('logs', logs)), exp.consume(new Payload('traces', traces))]);
    await exp.consume(new Payload('metrics', metrics));
    await exp.shutdown();
    exporter = undefined;
    const lines = (await readFile(file, 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(requestToJson('logs', logs));
    expect(JSON.parse(lines[1]!).resourceSpans[0].scopeSpans[0].spans).toHaveLength(2);
    // Each line reads back as the request it came from.
    expect(countItems('logs', requestFromJson('logs', lines[0]!))).toBe(3);
    expect(countItems('traces', requestFromJson('traces', lines[1]!))).toBe(2);
    expect(countItems('metrics', requestFromJson('metrics', lines[2]!))).toBe(4);
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_sent_log_records', { exporter: 'file/test' })).toBe(3);
    expect(await counterValue(settings.telemetry, 'otelcol_exporter_sent_metric_points', { exporter: 'file/test' })).toBe(4);
  });

  it('writes length-prefixed protobuf (proto format) with the request bytes unchanged, appending to an existing file with append: true', async () => {
    const file = path.join(dir, 'out.pb');
    let exp = await make({ path: file, format: 'proto' });
    const reqs = [makeLogsRequest(1, 2, 'x'), makeLogsRequest(2, 1, 'y'), makeLogsRequest(1, 5, 'z')];
    await Promise.all(reqs.slice(0, 2).map((r) => exp.consume(new Payload('logs', r))));
    await exp.shutdown();
    exp = await make({ path: file, format: 'proto', append: true });
    await exp.consume(new Payload('logs', reqs[2]!));
    await exp.shutdown();
    exporter = undefined;
    const frames = readFrames(await readFile(file));
    expect(frames).toHaveLength(3);
    frames.forEach((f, i) => expect(Buffer.compare(f, Buffer.from(reqs[i]!))).toBe(0));
  });

  it('gathers requests for flush_interval and writes them together', async () => {
    const file = path.join(dir, 'out.pb');
    const exp = await make({ path: file, format: 'proto', flush_interval: '80ms' });
    const t0 = Date.now();
    const ps = [1, 2, 3].map((n) => exp.consume(new Payload('logs', makeLogsRequest(1, n))));
    expect((await stat(file)).size).toBe(0);
    await Promise.all(ps);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(70);
    expect(readFrames(await readFile(file)).map((f) => countItems('logs', f))).toEqual([1, 2, 3]);
  });

  it("rotates before the file would exceed max_megabytes, keeping max_backups, named by time as the collector's", async () => {
    const file = path.join(dir, 'rot.pb');
    const exp = await make({ path: file, format: 'proto', rotation: { max_megabytes: 1, max_backups: 2 } });
    // ~400 KiB requests: two fit in 1 MiB, the third starts a new file.
    const big = (tag: string) => makeLogsRequest(1, 9000, tag);
    const size = big('r0').length + 4;
    expect(size).toBeGreaterThan(300 * 1024);
    expect(size).toBeLessThan(512 * 1024);
    const before = new Date();
    for (let i = 0; i < 7; i++) await exp.consume(new Payload('logs', big(`r${i}`)));
    await exp.shutdown();
    exporter = undefined;
    const names = (await readdir(dir)).sort();
    expect(names).toHaveLength(3);
    expect(names[2]).toBe('rot.pb');
    // rot-2026-12-06T15-40-01.123.pb, in UTC (localtime: false)
    const stamp = (d: Date) => d.toISOString().slice(0, 10);
    for (const n of names.slice(0, 2)) expect(n).toMatch(new RegExp(`^rot-${stamp(before)}T\\d\\d-\\d\\d-\\d\\d\\.\\d{3}\\.pb$`));
    const tagsOf = async (name: string) => {
      expect((await stat(path.join(dir, name))).size).toBeLessThanOrEqual(1024 * 1024);
      const frames = readFrames(await readFile(path.join(dir, name)));
      return frames.map((f) => /r\d/.exec(f.toString('latin1'))![0]);
    };
    // r0,r1 -> rotated away (dropped, beyond 2 backups); r2,r3 -> older backup; r4,r5 -> newer; r6 current.
    expect(await tagsOf(names[0]!)).toEqual(['r2', 'r3']);
    expect(await tagsOf(names[1]!)).toEqual(['r4', 'r5']);
    expect(await tagsOf('rot.pb')).toEqual(['r6']);
  });

  it('rotation: localtime names backups by local time; max_days deletes backups older than that', async () => {
    const file = path.join(dir, 'aged.json');
    // A backup from 3 days ago, as a previous run would have left it.
    const old = `aged-${backupStamp(new Date(Date.now() - 3 * 24 * 3600 * 1000), true)}.json`;
    await writeFile(path.join(dir, old), 'old\n');
    const exp = await make({ path: file, format: 'proto', append: true, rotation: { max_megabytes: 1, max_days: 2, localtime: true } });
    const big = makeLogsRequest(1, 9000, 'x');
    const before = new Date();
    for (let i = 0; i < 3; i++) await exp.consume(new Payload('logs', big));
    await exp.shutdown();
    exporter = undefined;
    const names = (await readdir(dir)).sort();
    expect(names).not.toContain(old);
    // Three ~400 KiB requests in 1 MiB files: one rotation, named by the local date.
    expect(names).toEqual([expect.stringMatching(new RegExp(`^aged-${backupStamp(before, true).slice(0, 10)}T`)), 'aged.json']);
  });

  it('truncates an existing file at start unless append: true, as the collector', async () => {
    const file = path.join(dir, 'trunc.json');
    await writeFile(file, 'left over\n');
    const exp = await make({ path: file });
    await exp.consume(new Payload('logs', makeLogsRequest(1, 1)));
    await exp.shutdown();
    exporter = undefined;
    expect((await readFile(file, 'utf8')).split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('compression: zstd writes each request compressed and length-prefixed, in either format', async () => {
    for (const format of ['json', 'proto'] as const) {
      const file = path.join(dir, `z.${format}`);
      const exp = await make({ path: file, format, compression: 'zstd' });
      const reqs = [makeLogsRequest(1, 50, 'a'), makeLogsRequest(2, 50, 'b')];
      for (const r of reqs) await exp.consume(new Payload('logs', r));
      await exp.shutdown();
      exporter = undefined;
      const frames = readFrames(await readFile(file)).map((f) => Buffer.from(fzstdDecompress(f)));
      expect(frames).toHaveLength(2);
      if (format === 'proto') frames.forEach((f, i) => expect(Buffer.compare(f, Buffer.from(reqs[i]!))).toBe(0));
      else frames.forEach((f, i) => expect(f.toString()).toBe(requestToJson('logs', reqs[i]!)));
    }
  });

  it('group_by writes each resource to the file its attribute names; resources without it are left out', async () => {
    const file = path.join(dir, 'tenants', '*.json');
    const exp = await make({ path: file, group_by: { enabled: true, max_open_files: 1 } });
    const tagged = (tenant: string | undefined, tag: string) => {
      const json = JSON.parse(requestToJson('logs', makeLogsRequest(1, 1, tag))) as { resourceLogs: Array<{ resource: { attributes: unknown[] } }> };
      if (tenant) json.resourceLogs[0]!.resource.attributes.push({ key: 'fileexporter.path_segment', value: { stringValue: tenant } });
      return requestFromJson('logs', JSON.stringify(json));
    };
    const joined = (parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));
    await exp.consume(new Payload('logs', joined([tagged('acme', 'a1'), tagged('globex', 'g1'), tagged(undefined, 'n1'), tagged('acme', 'a2')])));
    await exp.consume(new Payload('logs', tagged('globex', 'g2')));
    await exp.shutdown();
    exporter = undefined;
    expect((await readdir(path.join(dir, 'tenants'))).sort()).toEqual(['acme.json', 'globex.json']);
    const tags = async (name: string) => (await readFile(path.join(dir, 'tenants', name), 'utf8')).match(/[agn]\d-svc/g);
    expect(await tags('acme.json')).toEqual(['a1-svc', 'a2-svc']);
    expect(await tags('globex.json')).toEqual(['g1-svc', 'g2-svc']);
  });

  it('refuses what the collector refuses: append with compression, group_by without one * in path', () => {
    const problems = (raw: unknown) => parseConfig(fileExporterFactory, raw).issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(problems({ path: 'x', append: true, compression: 'zstd' })).toEqual(['append: cannot be combined with compression (the collector refuses it too)']);
    expect(problems({ path: 'x', group_by: { enabled: true } })).toEqual([
      expect.stringMatching(/^path: with group_by enabled the path must hold exactly one \*/),
    ]);
    expect(problems({ path: 'x', rotaton: {} })).toEqual(['rotaton: unknown key; did you mean "rotation"?']);
  });

  it('rejects requests after shutdown with a RetryableError', async () => {
    const exp = await make({ path: path.join(dir, 'x.json') });
    await exp.shutdown();
    exporter = undefined;
    await expect(exp.consume(new Payload('logs', makeLogsRequest(1, 1)))).rejects.toBeInstanceOf(RetryableError);
  });

  it('fails start naming the path when it cannot be opened', async () => {
    const blocker = path.join(dir, 'blocker');
    const exp1 = await make({ path: blocker });
    await exp1.shutdown();
    exporter = undefined;
    const exp = fileExporterFactory.create(settings, validConfig(fileExporterFactory, { path: path.join(blocker, 'child.json') }));
    await expect(exp.start(testHost({ onFatal: () => {} }))).rejects.toThrow(/blocker/);
  });

  it('requires path and has the documented defaults', () => {
    expect(parseConfig(fileExporterFactory, {}).issues.map((i) => i.path.join('.'))).toEqual(['path']);
    expect(validConfig(fileExporterFactory, { path: 'x' })).toMatchObject({
      path: 'x',
      format: 'json',
      append: false,
      compression: '',
      rotation: undefined,
      flush_interval: 0,
      group_by: { enabled: false, resource_attribute: 'fileexporter.path_segment', max_open_files: 100 },
    });
    expect(validConfig(fileExporterFactory, { path: 'x', rotation: null })).toMatchObject({
      rotation: { max_megabytes: 100, max_days: 0, max_backups: 100, localtime: false },
    });
    // The shared exporterhelper keys: a local write needs no queue or retries unless asked for.
    expect(validConfig(fileExporterFactory, { path: 'x' })).toMatchObject({
      sending_queue: { enabled: false },
      retry_on_failure: { enabled: false },
      dead_letter: { path: '' },
    });
  });
});
