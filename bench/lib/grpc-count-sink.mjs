// Child entry: a minimal OTLP/gRPC sink for exporter benchmarks. Listens on 127.0.0.1, 127.0.0.2 and
// 127.0.0.3 at one ephemeral port (three "backends" for a loadbalancing exporter), answers every Export
// with OK and counts request bytes. First message out: {port}. {cmd:'stats'} -> {requests, bytes}.
import http2 from 'node:http2';

let requests = 0;
let bytes = 0;
const onStream = (stream) => {
  stream.on('data', (c) => (bytes += c.length));
  stream.on('error', () => {});
  stream.on('end', () => {
    requests++;
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
};
const listen = (host, port) =>
  new Promise((resolve, reject) => {
    const s = http2.createServer({ settings: { initialWindowSize: 16 * 1024 * 1024 } });
    s.on('stream', onStream);
    s.on('session', (sess) => sess.setLocalWindowSize(16 * 1024 * 1024));
    s.once('error', reject);
    s.listen(port, host, () => resolve(s.address().port));
  });
const port = await listen('127.0.0.1', 0);
await listen('127.0.0.2', port);
await listen('127.0.0.3', port);
process.send({ port });
process.on('message', (m) => {
  if (m.cmd === 'stats') process.send({ requests, bytes });
});
process.on('disconnect', () => process.exit(0));
