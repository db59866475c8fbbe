// A light load client, in its own process: plain keep-alive node:http, one prepared request body posted
// over and over from C connections, no per-record ids or bookkeeping, so nearly all of the machine's CPU
// is left to the gateway it measures. Loss is checked by counts (records acknowledged here against
// records the sink received). argv[2]: JSON {url, bodyFile, records, connections, durationMs, warmupMs,
// protocol?, grpcPath?}. protocol 'grpc': one node:http2 (h2c) session per connection, the body framed once as a gRPC
// message to LogsService/Export (or `grpcPath`) at `url` (http://host:port), ok when the trailers say grpc-status 0.
// Sends one message: {requests, records, failed, refused, unanswered, cpuSeconds, seconds, latenciesMs: [p50, p99]}:
// `refused` were answered with another status (HTTP not 200, grpc-status not 0), `unanswered` ended in a
// connection error with no answer; `failed` is their sum. The warm-up's are counted too: a refusal is a finding
// whenever it came.
import http from 'node:http';
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';

const o = JSON.parse(process.argv[2]);
const grpc = o.protocol === 'grpc';
const raw = readFileSync(o.bodyFile);
// gRPC length-prefixed message: 0 (not compressed), 4-byte big-endian length, the protobuf bytes.
const body = grpc ? Buffer.concat([Buffer.from([0, raw.length >>> 24, (raw.length >>> 16) & 255, (raw.length >>> 8) & 255, raw.length & 255]), raw]) : raw;
const url = new URL(o.url);
const agent = grpc ? undefined : new http.Agent({ keepAlive: true, maxSockets: o.connections });
const headers = { 'content-type': 'application/x-protobuf', 'content-length': String(body.length) };
const GRPC_PATH = o.grpcPath ?? '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const grpcHeaders = { ':method': 'POST', ':path': GRPC_PATH, 'content-type': 'application/grpc', te: 'trailers' };
const sessions = [];

let measuring = false;
let requests = 0;
let refused = 0;
let unanswered = 0;
let warmRequests = 0;
const lat = [];
let stopAt = 0;

function post() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request({ hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: res.statusCode === 200, answered: true, ms: performance.now() - t0 }));
    });
    req.on('error', () => resolve({ ok: false, answered: false, ms: performance.now() - t0 }));
    req.end(body);
  });
}

function postGrpc(session) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let status;
    const req = session.request(grpcHeaders);
    req.on('response', (h) => (status = h['grpc-status'] ?? status));
    req.on('trailers', (t) => (status = t['grpc-status'] ?? status));
    req.on('data', () => {});
    req.on('end', () => resolve({ ok: status === '0', answered: status !== undefined, ms: performance.now() - t0 }));
    req.on('error', () => resolve({ ok: false, answered: false, ms: performance.now() - t0 }));
    req.end(body);
  });
}

async function connection() {
  const session = grpc ? http2.connect(o.url) : undefined;
  if (session) {
    session.on('error', () => {});
    sessions.push(session);
  }
  while (performance.now() < stopAt) {
    const r = await (session ? postGrpc(session) : post());
    if (!r.ok) {
      if (r.answered) refused++;
      else unanswered++;
    } else if (!measuring) warmRequests++;
    else {
      requests++;
      if (lat.length < 200_000) lat.push(r.ms);
    }
  }
}

const start = performance.now();
stopAt = start + o.warmupMs + o.durationMs;
let cpu0 = process.cpuUsage();
let t0 = start;
setTimeout(() => {
  measuring = true;
  cpu0 = process.cpuUsage();
  t0 = performance.now();
  process.send({ measuring: true });
}, o.warmupMs);
await Promise.all(Array.from({ length: o.connections }, connection));
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
lat.sort((a, b) => a - b);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
process.send({
  requests,
  records: requests * o.records,
  ackedTotal: (requests + warmRequests) * o.records,
  failed: refused + unanswered,
  refused,
  unanswered,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  seconds,
  latenciesMs: [q(0.5), q(0.99)],
});
agent?.destroy();
for (const s of sessions) s.close();
process.disconnect();
