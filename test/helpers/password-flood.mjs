// An attacker for test/auth-flood.test.ts, in its own process (as it would be on another host, so the
// test's own measurements do not share its event loop): sends OTLP exports with wrong Basic passwords for
// one user, each guess new, `perSecond` a second without waiting for answers (at most `maxOutstanding`
// unanswered), over OTLP/HTTP (fetch) or OTLP/gRPC (`connections` HTTP/2 connections). Forked with
// argv[2] = JSON {protocol, address, user, perSecond, maxOutstanding, connections, body (base64)}.
// Sends {started: true} once running; on the message 'stop' it waits for the answers outstanding and
// sends {answers: [[answer, count], ...]}: HTTP status (503 with its Retry-After) or grpc-status
// (UNAVAILABLE with whether RetryInfo came).
import http2 from 'node:http2';

const o = JSON.parse(process.argv[2]);
const body = Buffer.from(o.body, 'base64');
const OTLP_HTTP_LOGS = '/v1/logs';
const OTLP_GRPC_LOGS = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const UNAVAILABLE = 14;
const basic = (password) => `Basic ${Buffer.from(`${o.user}:${password}`).toString('base64')}`;

async function viaHttp(guess) {
  const res = await fetch(`http://${o.address}${OTLP_HTTP_LOGS}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', authorization: basic(`guess-${guess}`) },
    body,
    signal: AbortSignal.timeout(60_000),
  });
  await res.arrayBuffer();
  return res.status === 503 ? `503 retry-after ${res.headers.get('retry-after')}` : String(res.status);
}

const frame = Buffer.alloc(5 + body.length);
frame.writeUInt32BE(body.length, 1);
body.copy(frame, 5);
const sessions = o.protocol === 'grpc' ? Array.from({ length: o.connections }, () => http2.connect(`http://${o.address}`).on('error', () => {})) : [];

function viaGrpc(guess) {
  return new Promise((resolve, reject) => {
    const req = sessions[guess % sessions.length].request({
      ':method': 'POST',
      ':path': OTLP_GRPC_LOGS,
      'content-type': 'application/grpc',
      te: 'trailers',
      authorization: basic(`guess-${guess}`),
    });
    let headers = {};
    req.on('response', (h) => (headers = h));
    req.on('trailers', (t) => (headers = { ...headers, ...t }));
    req.on('data', () => {});
    req.on('end', () => {
      const status = Number(headers['grpc-status']);
      resolve(status === UNAVAILABLE ? `UNAVAILABLE retry-info ${headers['grpc-status-details-bin'] !== undefined}` : String(status));
    });
    req.on('close', () => reject(new Error(`stream closed (code ${req.rstCode})`)));
    req.on('error', reject);
    req.end(frame);
  });
}

const send = o.protocol === 'grpc' ? viaGrpc : viaHttp;
const answers = new Map();
const count = (answer) => answers.set(answer, (answers.get(answer) ?? 0) + 1);
const outstanding = new Set();
let stopped = false;
process.on('message', (m) => {
  if (m === 'stop') stopped = true;
});

let guess = 0;
const started = performance.now();
process.send({ started: true });
while (!stopped) {
  const due = Math.floor(((performance.now() - started) / 1000) * o.perSecond);
  while (guess < due && outstanding.size < o.maxOutstanding) {
    const p = send(guess++)
      .then(count, (err) => count(`error ${err.message}`))
      .finally(() => outstanding.delete(p));
    outstanding.add(p);
  }
  await new Promise((r) => setTimeout(r, 10));
}
await Promise.all(outstanding);
for (const s of sessions) s.close();
process.send({ answers: [...answers] }, () => process.exit(0));
