// Isolated A/B of the otlp exporter's gRPC client: the hand-written transport on node:http2
// (src/grpc/client-transport.ts) against @grpc/grpc-js with its flow-control window raised to the
// same 16 MiB ('grpc-node.flow_control_window'). Same server (a node:http2 gRPC endpoint in a child
// process that answers every Export with an empty response), same requests, same concurrency (10 calls in
// flight, the sending queue's default num_consumers), no compression (what is measured is the transport,
// not gzip). Each request is a batch held as pieces, as the batch processor hands it on: the transport
// writes the pieces; grpc-js takes one Buffer, so its side joins them per call (the copy it would need).
// Sides alternate in rounds; each row is the median round. Client CPU per request is the figure the
// shared machine disturbs least.
// Run: npx tsc -p . && node bench/grpc-transport-ab.mjs [--seconds 3] [--rounds 3] [--no-results]
import { fork } from 'node:child_process';
import http2 from 'node:http2';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { GrpcTransport } from '../dist/src/grpc/client-transport.js';
import { randomBytes } from 'node:crypto';
import { appendResults, commandLine, fmt, machineBlock, stamp, table } from './lib/report.mjs';
import { loadavg } from './lib/measure.mjs';

const WINDOW = 16 * 2 ** 20;
const CONCURRENCY = 10;
const PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

if (process.argv[2] === '--server') {
  // The gRPC endpoint both clients call: reads the message, answers OK with an empty ExportLogsServiceResponse.
  const server = http2.createServer({ settings: { initialWindowSize: WINDOW } });
  server.on('session', (s) => s.on('connect', () => s.setLocalWindowSize(WINDOW)));
  server.on('session', (s) => s.setLocalWindowSize(WINDOW));
  const empty = Buffer.from([0, 0, 0, 0, 0]);
  server.on('stream', (stream) => {
    stream.on('data', () => {});
    stream.on('error', () => {});
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(empty);
    });
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
} else {
  await main();
}

async function main() {
  const { values } = parseArgs({
    options: { seconds: { type: 'string', default: '3' }, rounds: { type: 'string', default: '3' }, 'no-results': { type: 'boolean', default: false } },
  });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const child = fork(fileURLToPath(import.meta.url), ['--server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise((resolve) => child.once('message', (m) => resolve(m.port)));
  const endpoint = `127.0.0.1:${port}`;
  const loadBefore = loadavg();

  // Two request shapes (the transports never look inside the bytes, so random bytes of a request's size
  // do): a batch of 8 requests of 100 548-byte records (8 pieces of 54.8 KB, 438 KB), and single small
  // requests of 10 records (one 5.5 KB piece, where the per-call overhead shows).
  const shapes = [
    { name: 'batch: 8 pieces of 54.8 KB', pieces: Array.from({ length: 8 }, () => randomBytes(54_800)) },
    { name: 'one request of 5.5 KB', pieces: [randomBytes(5_480)] },
  ];

  const sides = {
    'hand-written (node:http2)': () => {
      const t = new GrpcTransport({
        authority: `http://${endpoint}`,
        metadata: {},
        gzip: false,
        windowBytes: WINDOW,
        maxMessageBytes: 64 * 2 ** 20,
        keepaliveMs: 0,
        keepaliveTimeoutMs: 20_000,
      });
      return {
        call: async (pieces) => {
          const r = await t.call(PATH, pieces, 10_000);
          if (r.code !== 0) throw new Error(`call failed: ${r.code} ${r.message}`);
        },
        close: () => t.close(),
      };
    },
    '@grpc/grpc-js, window 16 MiB': () => {
      const client = new grpc.Client(endpoint, grpc.credentials.createInsecure(), {
        'grpc-node.flow_control_window': WINDOW,
        'grpc.max_send_message_length': 64 * 2 ** 20,
        'grpc.max_receive_message_length': 64 * 2 ** 20,
      });
      const id = (b) => b;
      return {
        call: (pieces) =>
          new Promise((resolve, reject) => {
            const body = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
            client.makeUnaryRequest(PATH, id, id, body, { deadline: Date.now() + 10_000 }, (err) => (err ? reject(err) : resolve()));
          }),
        close: () => client.close(),
      };
    },
  };

  const results = [];
  for (const shape of shapes) {
    const bytes = shape.pieces.reduce((a, p) => a + p.length, 0);
    const perSide = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
    for (let round = 0; round < rounds; round++) {
      for (const [name, make] of Object.entries(sides)) {
        const side = make();
        // Warm-up: connect, JIT.
        for (let i = 0; i < 20; i++) await side.call(shape.pieces);
        perSide[name].push(await drive(side, shape.pieces, seconds));
        side.close();
      }
    }
    for (const [name, runs] of Object.entries(perSide)) {
      const sorted = [...runs].sort((a, b) => a.rps - b.rps);
      const median = sorted[Math.floor(sorted.length / 2)];
      const cpu = runs.map((r) => r.cpuUsPerCall).sort((a, b) => a - b);
      results.push({
        shape: shape.name,
        bytes,
        side: name,
        ...median,
        cpuMedian: cpu[Math.floor(cpu.length / 2)],
        range: `${fmt.rate(sorted[0].rps)}–${fmt.rate(sorted.at(-1).rps)}`,
      });
    }
  }
  child.kill();
  const loadAfter = loadavg();

  const md = [
    `## ${stamp()} — grpc-transport-ab (otlp exporter client: hand-written transport vs @grpc/grpc-js)`,
    '',
    `Command: \`${commandLine()}\``,
    '',
    machineBlock(loadBefore, loadAfter),
    '',
    `Workload: unary Export calls, ${CONCURRENCY} in flight, to a node:http2 gRPC server in another process on 127.0.0.1; no compression; ` +
      `${rounds} rounds of ${seconds} s per side, sides alternating; each row is the median round by calls/s (range over rounds), ` +
      "client CPU per call the median over rounds (the client process's user+system time over the calls it completed).",
    '',
    table(
      [
        ['request', 'shape', 'l'],
        ['client', 'side', 'l'],
        ['bytes/call', (r) => fmt.int(r.bytes)],
        ['calls/s', (r) => fmt.rate(r.rps)],
        ['range', 'range'],
        ['MB/s', (r) => fmt.mb(r.rps * r.bytes)],
        ['client CPU µs/call', (r) => fmt.int(r.cpuMedian)],
        ['client CPU cores', (r) => fmt.cores(r.cores)],
        ['p99 ms', (r) => fmt.ms(r.p99)],
      ],
      results,
    ),
  ].join('\n');
  console.log(md);
  if (!values['no-results']) await appendResults(md);
}

/** Keeps CONCURRENCY calls in flight for `seconds`; returns calls/s, p99 latency and client CPU. */
async function drive(side, pieces, seconds) {
  const latencies = [];
  let calls = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const s = performance.now();
      await side.call(pieces);
      latencies.push(performance.now() - s);
      calls++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  const cpuUs = c.user + c.system;
  latencies.sort((a, b) => a - b);
  return { rps: calls / wall, p99: latencies[Math.floor(latencies.length * 0.99)], cpuUsPerCall: cpuUs / calls, cores: cpuUs / 1e6 / wall };
}
