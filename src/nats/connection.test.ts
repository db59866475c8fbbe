import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { JetStreamApiError } from '@nats-io/jetstream';
import { TimeoutError } from '@nats-io/transport-node';
import { CodedError } from '../core/errors.js';
import { s, type ConfigIssue } from '../core/schema.js';
import { connectNats, jetStreamNotReady, natsConnectionShape } from './connection.js';

describe('NATS connection errors', () => {
  it('do not repeat the user:password of a server URL', async () => {
    // A port nothing listens on: taken, then freed.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const issues: ConfigIssue[] = [];
    const cfg = s.object(natsConnectionShape()).parse({ servers: [`nats://gateway:nats-url-pass-999@127.0.0.1:${port}`] }, [], issues);
    expect(issues).toEqual([]);
    const err = await connectNats(cfg, 'exporter nats').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/cannot connect to NATS at nats:\/\/gateway:\[REDACTED\]@127\.0\.0\.1:\d+/);
    expect(err?.message).not.toContain('nats-url-pass-999');
  });
});

describe('jetStreamNotReady', () => {
  const api = (code: number, err_code: number, description: string) => new JetStreamApiError({ code, err_code, description });

  it('names what a forming or recovering JetStream waits for, through the causes the gateway wraps it in', () => {
    const wrapped = (cause: Error) => new CodedError('GS_COMPONENT_START_FAILED', 'exporter nats: stream OTLP: ...', { cause });
    expect(jetStreamNotReady(wrapped(new TimeoutError()))).toMatch(/^JetStream does not answer yet: a cluster still electing its meta leader/);
    expect(jetStreamNotReady(wrapped(api(400, 10005, 'no suitable peers for placement')))).toBe(
      'the cluster cannot place the stream yet: fewer JetStream servers are up and joined than the stream has replicas (no suitable peers for placement)',
    );
    expect(jetStreamNotReady(api(503, 10008, 'JetStream system temporarily unavailable'))).toMatch(
      /^JetStream is temporarily unavailable: the cluster has no meta leader yet/,
    );
  });

  it('leaves out the refusals that stay, which must stop the start', () => {
    expect(jetStreamNotReady(api(400, 10065, 'subjects overlap with an existing stream'))).toBeUndefined();
    expect(jetStreamNotReady(api(500, 10074, 'replicas > 1 not supported in non-clustered mode'))).toBeUndefined();
    expect(jetStreamNotReady(api(503, 10039, 'jetstream not enabled for account'))).toBeUndefined();
    expect(jetStreamNotReady(new Error('jetstream is not enabled'))).toBeUndefined();
  });
});
