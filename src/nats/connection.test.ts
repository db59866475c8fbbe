import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { s, type ConfigIssue } from '../core/schema.js';
import { connectNats, natsConnectionShape } from './connection.js';

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
