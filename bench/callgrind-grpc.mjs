// Instruction counts of the gRPC passthrough (otlp receiver grpc -> batch -> otlp exporter -> sink), one
// gateway build or several, under valgrind's callgrind: a figure that a loaded machine does not move,
// where CPU seconds per million records swing by 20 % between rounds. Each build handles the light
// mode's request (1000 records, ~434 KB, encoded once) from 8 streams in flight on one h2c connection;
// instrumentation is off through start-up and `--warm` requests (JIT warm-up), on for the next
// `--requests`, so the count is per request of a warm gateway (main thread and V8's GC threads).
//
//   npx tsc -p . && node bench/callgrind-grpc.mjs [--requests 400] [--warm 60] [--node-args "..."] DIR [DIR ...]
//
// DIR: a build (bin/ + dist/ + node_modules), e.g. this checkout (.) and main in a worktree. Builds run
// at once (valgrind is single-threaded per process); ~10 min for 400 requests on a loaded 2-core VM.
// Prints Ir per request and the share of the largest items (memcpy, GC, the validator's JIT code).
import { execFileSync, spawn } from 'node:child_process';
import http2 from 'node:http2';
import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { TemplateParts, RequestTemplate } from '../dist/src/tools/loadgen/templates.js';
import { startSinkProc } from './lib/procs.mjs';
import { gatewayConfig } from './lib/throughput.mjs';
import { closedLoop, selfCosts, shares } from './lib/callgrind.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { requests: { type: 'string', default: '400' }, warm: { type: 'string', default: '60' }, 'node-args': { type: 'string', default: '' } },
});
if (positionals.length === 0) {
  process.stderr.write('usage: node bench/callgrind-grpc.mjs [--requests N] [--warm N] [--node-args "..."] DIR [DIR ...]\n');
  process.exit(2);
}
const N = Number(values.requests);
const WARM = Number(values.warm);
const nodeArgs = values['node-args'].split(' ').filter(Boolean);
const METHOD = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

const parts = new TemplateParts({ signal: 'logs', encoding: 'proto', runId: 'bench-callgrind', bodySize: 246, attributes: 4 });
const raw = new RequestTemplate(parts, 0, 1000).buf;
const framed = Buffer.alloc(5 + raw.length);
framed.writeUInt32BE(raw.length, 1);
raw.copy(framed, 5);

/** Sends `count` requests from 8 streams in flight; returns how many were answered grpc-status 0. */
async function send(session, count) {
  return closedLoop(
    count,
    () =>
      new Promise((done) => {
        let status;
        const req = session.request({ ':method': 'POST', ':path': METHOD, 'content-type': 'application/grpc', te: 'trailers' });
        req.on('response', (h) => (status = h['grpc-status'] ?? status));
        req.on('trailers', (t) => (status = t['grpc-status'] ?? status));
        req.on('data', () => {});
        req.on('end', () => done(status === '0'));
        req.on('error', () => done(false));
        req.end(framed);
      }),
  );
}

async function measure(root) {
  const dir = await mkdtemp(join(os.tmpdir(), 'gs-callgrind-'));
  const sink = await startSinkProc({ track: false });
  const g = await gatewayConfig({ protocol: 'grpc', sink, processors: { batch: {} } });
  g.config.service.telemetry = { logs: { level: 'info' }, metrics: { level: 'none' } };
  await writeFile(join(dir, 'gateway.yaml'), stringify(g.config));
  const out = join(dir, 'callgrind.out');
  const args = ['--tool=callgrind', '--smc-check=all-non-file', '--instr-atstart=no', `--callgrind-out-file=${out}`, process.execPath, ...nodeArgs];
  const child = spawn('valgrind', [...args, join(root, 'bin', 'gophership.js'), '--config', join(dir, 'gateway.yaml')], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  await new Promise((ready, fail) => {
    child.stderr.on('data', (d) => {
      err = (err + d).slice(-20_000);
      if (err.includes('"gateway started"')) ready();
    });
    child.once('exit', (code) => fail(new Error(`gateway in ${root} exited (${code}) before it started:\n${err.slice(-2000)}`)));
  });
  const session = http2.connect(`http://${g.endpoint}`);
  session.on('error', () => {});
  await send(session, WARM);
  execFileSync('callgrind_control', ['-i', 'on', String(child.pid)], { stdio: 'ignore' });
  const ok = await send(session, N);
  execFileSync('callgrind_control', ['-i', 'off', String(child.pid)], { stdio: 'ignore' });
  session.close();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  const delivered = (await sink.stats()).totals.records;
  await sink.stop();
  const total = Number(/^totals:\s*(\d+)/m.exec(await readFile(out, 'utf8'))?.[1]);
  const result = { root, ok, delivered, perRequest: total / N, ...shares(selfCosts(out), N) };
  await rm(dir, { recursive: true, force: true });
  return result;
}

const results = await Promise.all(positionals.map((d) => measure(resolve(d))));
const M = (x) => (x / 1e6).toFixed(2);
console.log(
  `Command: \`node bench/callgrind-grpc.mjs --requests ${N} --warm ${WARM}${nodeArgs.length ? ` --node-args "${nodeArgs.join(' ')}"` : ''} ${positionals.join(' ')}\`\n`,
);
console.log('| build | answered OK | records at the sink | Ir per request (M) | memcpy | GC (V8 heap) | JIT code (validator walk mostly) | vs first |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  console.log(
    `| ${r.root} | ${r.ok}/${N} | ${r.delivered} | ${M(r.perRequest)} | ${M(r.memcpy)} | ${M(r.gc)} | ${M(r.jit)} | ${(r.perRequest / results[0].perRequest).toFixed(3)} |`,
  );
}
