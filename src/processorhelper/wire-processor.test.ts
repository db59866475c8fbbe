import { describe, expect, it } from 'vitest';
import type { Consumer } from '../core/consumer.js';
import { PermanentError } from '../core/errors.js';
import { Payload } from '../pdata/payload.js';
import { counterValue, testSettings } from '../../test/helpers/otlp-test-servers.js';
import { requestFromJson } from '../pdata/codec.js';
import { editAndForward, type WireProcessorContext } from './wire-processor.js';

const logs = (...bodies: string[]) =>
  requestFromJson('logs', JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: bodies.map((b) => ({ body: { stringValue: b } })) }] }] }));

function context(): WireProcessorContext & { got: Payload[] } {
  const got: Payload[] = [];
  const next: Consumer = { consume: (p) => (got.push(p), Promise.resolve()) };
  const settings = testSettings('attributes/x', 'processor');
  return { settings, signal: 'logs', labels: { processor: 'attributes/x', otel_signal: 'logs' }, next, got };
}

describe('editAndForward', () => {
  it('forwards an untouched request as the same bytes and counts it in and out', async () => {
    const ctx = context();
    const bytes = logs('a', 'b');
    await editAndForward(ctx, new Payload('logs', bytes), { edit: (b) => ({ bytes: b, changed: false, items: 2 }) });
    expect(ctx.got[0]!.bytes).toBe(bytes);
    expect(await counterValue(ctx.settings.telemetry, 'otelcol_processor_incoming_items', ctx.labels)).toBe(2);
    expect(await counterValue(ctx.settings.telemetry, 'otelcol_processor_outgoing_items', ctx.labels)).toBe(2);
  });

  it('swaps in edited bytes with the new item count', async () => {
    const ctx = context();
    const edited = logs('a');
    await editAndForward(ctx, new Payload('logs', logs('a', 'b')), { edit: () => ({ bytes: edited, changed: true, items: 1 }) });
    expect(ctx.got[0]!.bytes).toBe(edited);
    expect(ctx.got[0]!.itemCount).toBe(1);
    expect(await counterValue(ctx.settings.telemetry, 'otelcol_processor_outgoing_items', ctx.labels)).toBe(1);
  });

  it('resolves without passing on a request left with nothing', async () => {
    const ctx = context();
    await editAndForward(ctx, new Payload('logs', logs('a')), { edit: () => ({ bytes: new Uint8Array(0), changed: true, items: 0 }) });
    expect(ctx.got).toHaveLength(0);
  });

  it('turns a request it cannot read into a PermanentError naming the processor', async () => {
    const ctx = context();
    const err = await editAndForward(ctx, new Payload('logs', logs('a')), {
      edit: () => {
        throw new Error('attribute list overruns its record');
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toBe('processor attributes/x: cannot read the logs request: attribute list overruns its record');
    expect(ctx.got).toHaveLength(0);
  });
});
