import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { create, toBinary } from '@bufbuild/protobuf';
import { Payload } from '../../src/pdata/payload.js';
import { SIGNALS } from '../../src/core/signal.js';
import { forEachField } from '../../src/pdata/wire.js';
import { decodeRequest } from '../../src/pdata/codec.js';
import { counterValue, makeLogsRequest, makeMetricsRequest, makeTracesRequest, RecordingConsumer } from '../../test/helpers/otlp-test-servers.js';
import { ExportLogsServiceRequestSchema } from '../../proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';
import { resourceProcessorFactory } from './factory.js';
import { validConfig, settingsForTest } from '../../test/helpers/component-config.js';

function make(raw: Record<string, unknown>, signal: (typeof SIGNALS)[number] = 'logs') {
  const cfg = validConfig(resourceProcessorFactory, raw);
  const settings = settingsForTest('resource/test', 'processor');
  const sink = new RecordingConsumer();
  return { proc: resourceProcessorFactory.create(settings, cfg, signal, sink), sink, settings };
}

/** The bytes of every ScopeX of a request, in order: they must be identical before and after. */
function scopeBytes(bytes: Uint8Array): string[] {
  const out: string[] = [];
  forEachField(bytes, 0, bytes.length, 1, (rs, re) => forEachField(bytes, rs, re, 2, (s, e) => out.push(Buffer.from(bytes.subarray(s, e)).toString('hex'))));
  return out;
}

const resAttrs = (bytes: Uint8Array, signal: 'logs' | 'traces' | 'metrics' = 'logs') => {
  const req = decodeRequest(signal, bytes) as unknown as Record<
    string,
    { resource?: { attributes: { key: string; value?: { value: { value: unknown } } }[] } }[]
  >;
  const list = req[signal === 'logs' ? 'resourceLogs' : signal === 'traces' ? 'resourceSpans' : 'resourceMetrics']!;
  return list.map((rx) => Object.fromEntries((rx.resource?.attributes ?? []).map((kv) => [kv.key, kv.value?.value.value])));
};

describe('resource processor', () => {
  it("default_value: the collector README's form, value from a variable that is unset", async () => {
    const { expandEnv } = await import('../../src/config/load.js');
    const { proc, sink } = make({
      attributes: [
        { key: 'deployment.environment', value: expandEnv('${DEPLOYMENT_ENV}', {}), default_value: 'development', action: 'upsert' },
        { key: 'service.namespace', from_attribute: 'namespace', default_value: 'default', action: 'insert' },
      ],
    });
    await proc.consume(new Payload('logs', makeLogsRequest(1, 1)));
    for (const attrs of resAttrs(sink.got[0]!.bytes)) expect(attrs).toMatchObject({ 'deployment.environment': 'development', 'service.namespace': 'default' });
  });

  it('upserts host attributes on every resource of every signal; scopes and records are copied byte for byte', async () => {
    const actions = [
      { key: 'host.name', value: 'gw-1', action: 'upsert' },
      { key: 'os.type', value: 'linux', action: 'upsert' },
      { key: 'service.name', value: 'ignored', action: 'insert' },
    ];
    const reqs = { logs: makeLogsRequest(3, 4), traces: makeTracesRequest(5), metrics: makeMetricsRequest(4) };
    for (const signal of SIGNALS) {
      const { proc, sink, settings } = make({ attributes: actions }, signal);
      const bytes = reqs[signal];
      await proc.consume(new Payload(signal, bytes));
      const out = sink.got[0]!.bytes;
      expect(out).not.toBe(bytes);
      for (const attrs of resAttrs(out, signal)) {
        expect(attrs['host.name']).toBe('gw-1');
        expect(attrs['os.type']).toBe('linux');
        expect(attrs['service.name']).not.toBe('ignored');
      }
      expect(scopeBytes(out)).toEqual(scopeBytes(bytes));
      const labels = { processor: 'resource/test', otel_signal: signal };
      expect(await counterValue(settings.telemetry, 'otelcol_processor_outgoing_items', labels)).toBe(sink.got[0]!.itemCount);
      expect(sink.got[0]!.itemCount).toBe(new Payload(signal, out).itemCount);
    }
  });

  it('inserts a Resource where the request has none', async () => {
    const bytes = toBinary(
      ExportLogsServiceRequestSchema,
      create(ExportLogsServiceRequestSchema, { resourceLogs: [{ scopeLogs: [{ logRecords: [{ severityNumber: 9 }] }] }] }),
    );
    const { proc, sink } = make({ attributes: [{ key: 'env', value: 'prod', action: 'insert' }] });
    await proc.consume(new Payload('logs', bytes));
    expect(resAttrs(sink.got[0]!.bytes)).toEqual([{ env: 'prod' }]);
  });

  it('delete, hash, convert and extract on resource attributes', async () => {
    const { proc, sink } = make({
      attributes: [
        { key: 'service.name', pattern: '^(?P<svc_prefix>[a-z]+)-svc', action: 'extract' },
        { key: 'service.name', action: 'hash' },
        { key: 'missing', action: 'delete' },
      ],
    });
    await proc.consume(new Payload('logs', makeLogsRequest(1, 2, 'abc')));
    expect(resAttrs(sink.got[0]!.bytes)).toEqual([{ 'service.name': createHash('sha256').update('abc-svc-0').digest('hex'), svc_prefix: 'abc' }]);
  });

  it('forwards the same Uint8Array when nothing changes', async () => {
    const { proc, sink } = make({
      attributes: [
        { key: 'service.name', value: 'x', action: 'insert' },
        { key: 'nope', action: 'delete' },
      ],
    });
    const bytes = makeLogsRequest(2, 3);
    await proc.consume(new Payload('logs', bytes));
    expect(sink.got[0]!.bytes).toBe(bytes);
  });

  it('requires at least one action and validates each', () => {
    const issues: { path: string[]; message: string }[] = [];
    resourceProcessorFactory.config.parse({}, [], issues);
    expect(issues.map((i) => i.path.join('.'))).toContain('attributes');
    const more: { path: string[]; message: string }[] = [];
    resourceProcessorFactory.config.parse({ attributes: [{ key: 'a', action: 'upsert' }] }, [], more);
    expect(more[0]!.path.join('.')).toBe('attributes.0');
    expect(resourceProcessorFactory.skippableUnderPressure).toBe(true);
  });
});
