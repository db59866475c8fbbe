// A trace sink for bench/tail-sampling.mjs, in its own process: an OTLP/HTTP endpoint that answers 200,
// counts spans and, for each trace the first time it arrives, how long after (first send + wait) it came
// (the client writes the first send's wall-clock ms into bytes 0-7 of the trace ID).
// First message out: {url}. {cmd:'stats', waitMs} -> {spans, traces, lateMs: [p50, p99, max]}; {cmd:'reset'}.
import http from 'node:http';
import { NEXT, readVarint, skipField } from '../../dist/src/pdata/wire-primitives.js';

let spans = 0;
let seen = new Map(); // trace key -> lateness base (arrival - first send), ms
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const now = Date.now();
    const buf = Buffer.concat(chunks);
    // ResourceSpans (1) -> ScopeSpans (2) -> Span (2) -> trace_id (1).
    walk(buf, 0, buf.length, 0x0a, (rs, re) =>
      walk(buf, rs, re, 0x12, (ss, se) =>
        walk(buf, ss, se, 0x12, (s, e) => {
          spans++;
          walk(buf, s, e, 0x0a, (is) => {
            const key = buf.toString('latin1', is, is + 16);
            if (!seen.has(key)) seen.set(key, now - buf.readDoubleBE(is));
          });
        }),
      ),
    );
    res.writeHead(200, { 'content-type': 'application/x-protobuf' });
    res.end();
  });
});
function walk(buf, start, end, want, fn) {
  let p = start;
  while (p < end) {
    const tag = readVarint(buf, p, end);
    const next = skipField(buf, NEXT, end, tag);
    if (tag === want) fn(NEXT, next);
    p = next;
  }
}
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send({ url: `http://127.0.0.1:${server.address().port}` }));
process.on('message', (m) => {
  if (m.cmd === 'reset') {
    spans = 0;
    seen = new Map();
    process.send({ ok: true });
  } else if (m.cmd === 'stats') {
    const late = [...seen.values()].map((d) => d - m.waitMs).sort((a, b) => a - b);
    const q = (f) => (late.length ? late[Math.min(late.length - 1, Math.floor(f * late.length))] : NaN);
    process.send({ spans, traces: seen.size, lateMs: [q(0.5), q(0.99), late.at(-1) ?? NaN] });
  } else if (m.cmd === 'close') server.close(() => process.exit(0));
});
