// A paced trace client for bench/tail-sampling.mjs, in its own process. Posts OTLP/HTTP protobuf
// requests of `spans` spans (traces of `spansPerTrace` spans, each trace split over two consecutive
// requests) at `rate` spans/s. A trace ID carries the wall-clock ms its first span was sent (bytes 0-7,
// big-endian float64), so the sink can tell how late a trace's decision came without talking to us.
// argv[2]: JSON {url, rate, spans, spansPerTrace, errorPercent, durationMs, connections}.
// Sends one message: {requests, spans, failed, seconds, cpuSeconds}.
import http from 'node:http';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

const o = JSON.parse(process.argv[2]);
const perReq = o.spans;
const half = o.spansPerTrace / 2;
const tracesPerReq = perReq / half; // each request holds the second half of older traces and the first half of new ones
const url = new URL(o.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });

// A template request with marker trace IDs, patched in place per request.
function template() {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).fork();
  w.tag(1, WireType.LengthDelimited).fork();
  w.tag(1, WireType.LengthDelimited)
    .fork()
    .tag(1, WireType.LengthDelimited)
    .string('service.name')
    .tag(2, WireType.LengthDelimited)
    .fork()
    .tag(1, WireType.LengthDelimited)
    .string('checkout')
    .join()
    .join();
  w.join();
  w.tag(2, WireType.LengthDelimited).fork();
  w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string('bench').join();
  for (let i = 0; i < perReq; i++) {
    const slot = Math.floor(i / half);
    const id = new Uint8Array(16).fill(0xee);
    id[14] = slot >> 8;
    id[15] = slot & 255;
    w.tag(2, WireType.LengthDelimited).fork();
    w.tag(1, WireType.LengthDelimited).bytes(id);
    const spanId = new Uint8Array(8);
    new DataView(spanId.buffer).setUint32(4, i + 1);
    w.tag(2, WireType.LengthDelimited).bytes(spanId);
    w.tag(5, WireType.LengthDelimited).string(`GET /api/v1/items/${i % 50}`);
    w.tag(6, WireType.Varint).int32(2);
    w.tag(7, WireType.Bit64).fixed64(1_700_000_000_000_000_000n);
    w.tag(8, WireType.Bit64).fixed64(1_700_000_000_020_000_000n);
    for (const [k, v] of [
      ['http.request.method', 'GET'],
      ['http.route', '/api/v1/items/:id'],
    ]) {
      w.tag(9, WireType.LengthDelimited)
        .fork()
        .tag(1, WireType.LengthDelimited)
        .string(k)
        .tag(2, WireType.LengthDelimited)
        .fork()
        .tag(1, WireType.LengthDelimited)
        .string(v)
        .join()
        .join();
    }
    w.tag(15, WireType.LengthDelimited).fork().tag(3, WireType.Varint).int32(1).join(); // status: patched to 2 for error traces
    w.join();
  }
  w.join();
  w.join();
  return Buffer.from(w.finish());
}

const body = template();
// Offsets of each span's trace ID and status code value, in span order.
const idAt = [];
const statusAt = [];
const MARKER = Buffer.alloc(14, 0xee);
for (let p = body.indexOf(MARKER); p >= 0; p = body.indexOf(MARKER, p + 16)) {
  idAt.push(p);
  statusAt.push(body.indexOf(Buffer.from([0x7a, 0x02, 0x18, 0x01]), p) + 3);
}
if (idAt.length !== perReq) throw new Error(`template: found ${idAt.length} trace IDs, expected ${perReq}`);

let serial = 0;
/** Trace slots: [first-send ms, serial, error] of the traces whose second half goes in the next request. */
let carry = [];
function nextBody(now) {
  const fresh = [];
  for (let k = 0; k < tracesPerReq / 2; k++) fresh.push([now, ++serial, Math.random() * 100 < o.errorPercent]);
  // First half of the slots: older traces' second halves (or new ones at the start); then new traces.
  const slots = [...(carry.length ? carry : fresh.map((t) => [now, ++serial, t[2]])), ...fresh];
  carry = fresh;
  for (let i = 0; i < perReq; i++) {
    const [ms, id, err] = slots[Math.floor(i / half)];
    const p = idAt[i];
    body.writeDoubleBE(ms, p);
    // Bytes 8-15: the serial mixed (FNV-1a, which the probabilistic policy hashes with, spreads the last
    // bytes weakly; sequential IDs would be sampled in clumps).
    body.writeUInt32BE(Math.imul(id, 0x9e3779b1) >>> 0, p + 8);
    body.writeUInt32BE(Math.imul(id ^ (id >>> 15), 0x85ebca6b) >>> 0, p + 12);
    body[statusAt[i]] = err ? 2 : 1;
  }
  return Buffer.from(body);
}

const headers = { 'content-type': 'application/x-protobuf', 'content-length': String(body.length) };
let requests = 0;
let failed = 0;
let inflight = 0;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const interval = (perReq / o.rate) * 1000;
const post = (buf) =>
  new Promise((resolve) => {
    const req = http.request({ host: url.hostname, port: url.port, path: '/v1/traces', method: 'POST', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) failed++;
        resolve();
      });
    });
    req.on('error', () => {
      failed++;
      resolve();
    });
    req.end(buf);
  });

for (let i = 0; ; i++) {
  const due = t0 + i * interval;
  const elapsed = performance.now() - t0;
  if (elapsed >= o.durationMs) break;
  if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
  // At most `connections` requests in flight: a slow gateway makes the client fall behind, not pile up.
  while (inflight >= o.connections) await new Promise((r) => setTimeout(r, 1));
  inflight++;
  requests++;
  void post(nextBody(Date.now())).then(() => inflight--);
}
while (inflight > 0) await new Promise((r) => setTimeout(r, 5));
const cpu = process.cpuUsage(cpu0);
process.send({ requests, spans: requests * perReq, failed, seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
agent.destroy();
process.disconnect();
