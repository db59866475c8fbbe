/**
 * One client's malformed request must not fail another client's good one. The receiver acknowledges
 * bytes it never decodes and the batch processor joins requests byte for byte, so a request broken inside
 * a record (framing fine) used to be accepted, joined, and then fail the whole batch permanently in the
 * first stage that decoded it: every client in the batch got 400 and the good data was dropped.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_PATH } from '../src/core/signal.js';
import { decodeStatus } from '../src/pdata/codec.js';
import type { Service } from '../src/service/service.js';
import { EXAMPLES_DIR } from './helpers/examples.js';
import { receiverAddress, startGateway } from './helpers/gateway.js';
import { gatewayYaml } from './helpers/configs.js';

describe('a malformed request in a batch', () => {
  let dir: string;
  let gateway: Service;
  let url: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gs-badinput-'));
    // The batch waits (no idle flush) so both requests land in one batch; the file exporter writes
    // OTLP/JSON, so it decodes every request it gets.
    gateway = await startGateway(
      gatewayYaml({
        processors: { batch: { timeout: '400ms', flush_when_idle: false } },
        exporters: { file: { path: join(dir, 'out.jsonl') } },
        pipelines: { logs: { processors: ['batch'], exporters: ['file'] } },
      }),
    );
    url = `http://${receiverAddress(gateway, 'otlp', 'http')}${HTTP_PATH.logs}`;
  });
  afterAll(async () => {
    await gateway?.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it('is refused alone (400 naming the field); the good request sent beside it is delivered', async () => {
    const good = await readFile(join(EXAMPLES_DIR, 'logs.json'), 'utf8');
    // A good record, then one whose attribute key claims 16 bytes and holds 1: well framed down to records.
    const badRecord = [0x32, 0x04, 0x0a, 0x10, 0x61, 0x00];
    const goodRecord = [0x2a, 0x04, 0x0a, 0x02, 0x68, 0x69]; // body "hi"
    const scope = [0x12, goodRecord.length, ...goodRecord, 0x12, badRecord.length, ...badRecord];
    const bad = Uint8Array.of(0x0a, scope.length + 2, 0x12, scope.length, ...scope);
    const [goodRes, badRes] = await Promise.all([
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: good }),
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: bad }),
    ]);
    expect(badRes.status).toBe(400);
    const st = decodeStatus('proto', new Uint8Array(await badRes.arrayBuffer()))!;
    expect(st.message).toContain('resource_logs[0].scope_logs[0].log_records[1].attributes[0]');
    expect(goodRes.status).toBe(200);
    await goodRes.arrayBuffer();
    const lines = (await readFile(join(dir, 'out.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('Example log record');
    expect(lines[0]).not.toContain('"hi"');
  });

  it("invalid UTF-8 in one client's string is refused alone (400 naming the field); the good request beside it is delivered", async () => {
    const good = await readFile(join(EXAMPLES_DIR, 'logs.json'), 'utf8');
    // A record whose body string_value holds 0xff (never valid in UTF-8): framing and wire types are fine.
    const record = [0x2a, 0x05, 0x0a, 0x03, 0x61, 0xff, 0x62];
    const scope = [0x12, record.length, ...record];
    const bad = Uint8Array.of(0x0a, scope.length + 2, 0x12, scope.length, ...scope);
    const before = (await readFile(join(dir, 'out.jsonl'), 'utf8')).trim().split('\n').length;
    const [goodRes, badRes] = await Promise.all([
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: good }),
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: bad }),
    ]);
    expect(badRes.status).toBe(400);
    const st = decodeStatus('proto', new Uint8Array(await badRes.arrayBuffer()))!;
    expect(st.message).toMatch(/string_value \(1\) is not valid UTF-8/);
    expect(st.message).toContain('resource_logs[0].scope_logs[0].log_records[0]');
    expect(goodRes.status).toBe(200);
    await goodRes.arrayBuffer();
    const lines = (await readFile(join(dir, 'out.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(before + 1);
    expect(lines.at(-1)).toContain('Example log record');
  });
});
