#!/usr/bin/env node
// The forwarding floor: the least a Node process can do to pass OTLP requests on. It collects each request
// body and sends the same bytes to the target, answering its client only when the target answered (the
// gateway's acknowledgement semantics), with the target's status and body. No parsing, no batching.
//
//   node bench/forwarder.mjs --protocol http --listen 127.0.0.1:0 --target http://127.0.0.1:4318
//   node bench/forwarder.mjs --protocol grpc --listen 127.0.0.1:0 --target 127.0.0.1:4317
//   node bench/forwarder.mjs --protocol http --listen 127.0.0.1:0 --durable /tmp/dir
//
// Prints "listening HOST:PORT" on stdout when ready; SIGTERM/SIGINT stops it.
// `--processes N` (http only) forks N forwarders sharing the port through node:cluster, as the gateway's
// `service.workers` does: bench/workers.mjs runs it beside the gateway to show what a second process
// can buy on this machine with nothing but forwarding to do.
//  - http: node:http server -> node:http client with a keep-alive agent. With `--cert F --key F` it serves
//    HTTPS (node:https), and an https:// target is reached over TLS (the CA from NODE_EXTRA_CA_CERTS):
//    bench/tls-paced.mjs floors the gateway's HTTPS cost with it.
//  - grpc: node:http2 (h2c) server -> one node:http2 session to the target; gRPC frames, headers and
//    trailers are passed through untouched (so it floors a gRPC gateway without any protobuf work).
//  - http with --durable DIR (no target): the floor of the somatic Red zone. Each body is appended to a file
//    in DIR with the WAL's durability (bench/lib/group-commit.mjs: O_DIRECT, acknowledged only after
//    fdatasync, at most one per 10 ms window or sooner once 1 MiB was written) and answered 200 with an
//    empty ExportLogsServiceResponse once synced. The minimal forwarder with Red's durability.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import cluster from 'node:cluster';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GroupCommitFile } from './lib/group-commit.mjs';

const { values } = parseArgs({
  options: {
    protocol: { type: 'string', default: 'http' },
    listen: { type: 'string', default: '127.0.0.1:0' },
    target: { type: 'string' },
    'max-sockets': { type: 'string', default: '64' },
    processes: { type: 'string', default: '1' },
    durable: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
  },
});
const processes = Number(values.processes);
if (!(processes >= 1) || (processes > 1 && values.protocol !== 'http')) {
  process.stderr.write(`forwarder: --processes ${values.processes}: expected a count >= 1 (more than 1 only with --protocol http)\n`);
  process.exit(2);
}
if (processes > 1 && cluster.isPrimary) {
  // The primary only hands out connections (round robin); each worker reports its port, the first one is printed.
  let printed = false;
  for (let i = 0; i < processes; i++)
    cluster.fork().on('message', (m) => {
      if (!printed && typeof m === 'string') {
        printed = true;
        process.stdout.write(m);
      }
    });
  const stopAll = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stopAll);
  process.on('SIGINT', stopAll);
  cluster.on('exit', () => Object.keys(cluster.workers ?? {}).length === 0 && process.exit(0));
}
if (!values.target && !(values.durable && values.protocol === 'http')) {
  process.stderr.write('forwarder: --target is required (http: base URL, grpc: host:port), or --durable DIR with --protocol http\n');
  process.exit(2);
}
const [lhost, lport] = [values.listen.slice(0, values.listen.lastIndexOf(':')), Number(values.listen.slice(values.listen.lastIndexOf(':') + 1))];

function collect(stream, cb) {
  const chunks = [];
  let size = 0;
  stream.on('data', (c) => {
    chunks.push(c);
    size += c.length;
  });
  stream.on('end', () => cb(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
}

let server;
if (processes > 1 && cluster.isPrimary) {
  // the primary serves nothing itself (above)
} else if (values.durable && values.protocol === 'http') {
  const file = await GroupCommitFile.open(join(values.durable, 'forwarder-durable.bin'));
  server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () =>
      file.append(chunks).then(
        () => {
          res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 });
          res.end();
        },
        (e) => {
          res.writeHead(503, { 'content-type': 'text/plain' });
          res.end(`forwarder: ${e.message}\n`);
        },
      ),
    );
  });
  server.keepAliveTimeout = 120_000;
} else if (values.protocol === 'http') {
  const target = new URL(values.target);
  const client = target.protocol === 'https:' ? https : http;
  const agent = new client.Agent({ keepAlive: true, maxSockets: Number(values['max-sockets']), maxFreeSockets: Number(values['max-sockets']) });
  const onRequest = (req, res) => {
    collect(req, (body) => {
      const headers = { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf', 'content-length': body.length };
      if (req.headers['content-encoding']) headers['content-encoding'] = req.headers['content-encoding'];
      const out = client.request({ host: target.hostname, port: target.port, path: req.url, method: 'POST', agent, headers }, (up) => {
        collect(up, (reply) => {
          const h = { 'content-length': reply.length };
          if (up.headers['content-type']) h['content-type'] = up.headers['content-type'];
          if (up.headers['retry-after']) h['retry-after'] = up.headers['retry-after'];
          res.writeHead(up.statusCode ?? 502, h);
          res.end(reply);
        });
      });
      out.on('error', (e) => {
        if (res.headersSent) return res.destroy();
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end(`forwarder: ${e.message}\n`);
      });
      out.end(body);
    });
  };
  server = values.cert ? https.createServer({ cert: readFileSync(values.cert), key: readFileSync(values.key ?? '') }, onRequest) : http.createServer(onRequest);
  server.keepAliveTimeout = 120_000;
} else if (values.protocol === 'grpc') {
  const WINDOW = 64 * 1024 * 1024;
  const settings = { initialWindowSize: 16 * 1024 * 1024, maxFrameSize: 1024 * 1024, maxConcurrentStreams: 1000 };
  let upstream;
  const session = () => {
    if (upstream && !upstream.closed && !upstream.destroyed) return upstream;
    upstream = http2.connect(`http://${values.target}`, { settings, maxSessionMemory: 512 });
    upstream.on('error', () => {});
    upstream.once('localSettings', () => upstream.setLocalWindowSize(WINDOW));
    return upstream;
  };
  server = http2.createServer({ settings, maxSessionMemory: 512 });
  server.on('session', (s) => {
    s.on('error', () => {});
    s.once('localSettings', () => s.setLocalWindowSize(WINDOW));
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    collect(stream, (body) => {
      const h = { ':method': 'POST', ':path': headers[':path'], 'content-type': headers['content-type'], te: 'trailers' };
      if (headers['grpc-encoding']) h['grpc-encoding'] = headers['grpc-encoding'];
      const up = session().request(h);
      up.on('error', () => {
        if (!stream.headersSent && !stream.destroyed)
          stream.respond(
            { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'forwarder: upstream error' },
            { endStream: true },
          );
      });
      let resHeaders;
      up.on('response', (rh) => {
        resHeaders = rh;
        // Trailers-only answer (an error status in the headers): pass it on as it is.
        if (rh['grpc-status'] !== undefined && !stream.destroyed && !stream.headersSent) {
          const h2 = {};
          for (const [k, v] of Object.entries(rh)) if (k === ':status' || !k.startsWith(':')) h2[k] = v;
          stream.respond(h2, { endStream: true });
        }
      });
      // Trailers arrive after the data; answer the client with headers, data and trailers at once.
      const chunks = [];
      up.on('data', (c) => chunks.push(c));
      up.on('trailers', (trailers) => {
        if (stream.destroyed || stream.headersSent) return;
        const rh = { ':status': resHeaders?.[':status'] ?? 200, 'content-type': resHeaders?.['content-type'] ?? 'application/grpc' };
        const t = {};
        for (const [k, v] of Object.entries(trailers)) if (!k.startsWith(':')) t[k] = v;
        if (chunks.length === 0) {
          stream.respond({ ...rh, ...t }, { endStream: true });
          return;
        }
        stream.respond(rh, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers(t));
        stream.end(Buffer.concat(chunks));
      });
      up.end(body);
    });
  });
} else {
  process.stderr.write(`forwarder: --protocol must be http or grpc, got ${values.protocol}\n`);
  process.exit(2);
}

if (server) {
  server.listen(lport, lhost, () => {
    const a = server.address();
    const line = `listening ${a.address}:${a.port}\n`;
    if (cluster.isWorker) process.send(line);
    else process.stdout.write(line);
  });
  const stop = () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 1000).unref();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
