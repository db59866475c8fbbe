import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { floodBody, runFlood } from './flood.js';

describe('runFlood accounting', () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  it('counts every request posted as exactly one of acked, refused or unanswered, with its records', async () => {
    // In turn: taken (200), refused (503, Retry-After 0), and read but never answered (the connection closed).
    let n = 0;
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const turn = n++ % 3;
        if (turn === 0) res.end();
        else if (turn === 1) res.writeHead(503, { 'retry-after': '0' }).end();
        else req.socket.destroy();
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const records = 3;
    const r = await runFlood({ url: `http://127.0.0.1:${port}/v1/logs`, body: floodBody(records), records, connections: 1, durationMs: 300 });
    expect(r.posted).toBe(n);
    expect(r.acked).toBeGreaterThan(0);
    expect(r.refused).toBeGreaterThan(0);
    expect(r.errors).toBeGreaterThan(0);
    expect(r.acked + r.refused + r.errors).toBe(r.posted);
    expect(r.acked).toBe(Math.ceil(n / 3));
    expect(r.refused).toBe(Math.ceil((n - 1) / 3));
    expect(r.postedRecords).toBe(r.posted * records);
    expect(r.ackedRecords).toBe(r.acked * records);
    expect(r.refusedRecords).toBe(r.refused * records);
    expect(r.unansweredRecords).toBe(r.errors * records);
    expect(r.refusedWithoutRetryAfter).toBe(0);
    expect(r.failedByStatus).toEqual({});
  });
});
