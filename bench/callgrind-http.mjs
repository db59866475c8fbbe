// Instruction counts per request of the OTLP/HTTP rows of the light mode (forwarder-http, passthrough-http,
// zone-yellow) under valgrind's callgrind, for one gateway build or several: a figure a loaded machine does
// not move, where CPU seconds per million records swing by 20 % between rounds. Each process gets the light
// mode's request (1000 records, ~434 KB, encoded once) from 8 keep-alive connections, one request in flight
// on each; instrumentation is off through start-up and `--warm` requests (JIT warm-up), on for the next
// `--requests`, so the count is per request of a warm process (main thread, worker threads, V8's GC threads;
// user space only: the kernel's share, writev above all, is the same for the forwarder and the gateway).
// The batch processor joins what arrives in one event-loop turn, and under callgrind's slowdown that is
// more than at full speed: read the rows against each other, not as absolute costs.
//
//   npx tsc -p . && node bench/callgrind-http.mjs [--rows forwarder-http,passthrough-http,zone-yellow] [--requests 300] [--warm 60] [--node-args "..."] [--keep DIR] DIR [DIR ...]
//
// --keep DIR: the callgrind output files are kept there (ROW-I.callgrind.out, I the build's place among the DIRs) for callgrind_annotate.
// DIR: a gateway build (bin/ + dist/ + node_modules), e.g. this checkout (.) and main in a worktree; the
// forwarder row runs once (bench/forwarder.mjs of this checkout). Every process runs at once (valgrind is
// single-threaded per process): ~10 min for 300 requests on a loaded 2-core VM.
import http from 'node:http';
import { copyFile, mkdir, mkdtemp, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { TemplateParts, RequestTemplate } from '../dist/src/tools/loadgen/templates.js';
import { BENCH_DIR, startSinkProc } from './lib/procs.mjs';
import { gatewayConfig } from './lib/throughput.mjs';
import { LIGHT_ROWS } from './scenarios/light.mjs';
import { closedLoop, selfCosts, shares, underCallgrind } from './lib/callgrind.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rows: { type: 'string', default: 'forwarder-http,passthrough-http,zone-yellow' },
    requests: { type: 'string', default: '300' },
    warm: { type: 'string', default: '60' },
    'node-args': { type: 'string', default: '' },
    keep: { type: 'string' },
  },
});
const N = Number(values.requests);
const WARM = Number(values.warm);
const nodeArgs = values['node-args'].split(' ').filter(Boolean);
const rows = values.rows.split(',').map((name) => {
  const r = LIGHT_ROWS.find((x) => x.name === name && x.protocol === 'http' && !x.red);
  if (!r) throw new Error(`no HTTP row ${name} (rows: forwarder-http, passthrough-http, zone-yellow)`);
  return r;
});
const roots = positionals.map((d) => resolve(d));
if (roots.length === 0 && rows.some((r) => r.processors)) {
  process.stderr.write('usage: node bench/callgrind-http.mjs [--rows a,b] [--requests N] [--warm N] [--node-args "..."] DIR [DIR ...]\n');
  process.exit(2);
}
if (values.keep) await mkdir(values.keep, { recursive: true });
const body = Buffer.from(
  new RequestTemplate(new TemplateParts({ signal: 'logs', encoding: 'proto', runId: 'bench-callgrind', bodySize: 246, attributes: 4 }), 0, 1000).buf,
);

/** Sends `count` requests from 8 keep-alive connections, one in flight on each; returns how many were answered 200. */
async function send(agent, url, count) {
  const u = new URL(url);
  const headers = { 'content-type': 'application/x-protobuf', 'content-length': String(body.length) };
  return closedLoop(
    count,
    () =>
      new Promise((done) => {
        const req = http.request({ hostname: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers }, (res) => {
          res.resume();
          res.on('end', () => done(res.statusCode === 200));
        });
        req.on('error', () => done(false));
        req.end(body);
      }),
  );
}

async function measure(row, root) {
  const dir = await mkdtemp(join(os.tmpdir(), 'gs-callgrind-'));
  const sink = await startSinkProc({ track: false });
  const out = join(dir, 'callgrind.out');
  let proc;
  let url;
  try {
    if (row.processors) {
      const g = await gatewayConfig({ protocol: 'http', sink, processors: row.processors });
      g.config.service.telemetry = { logs: { level: 'info' }, metrics: { level: 'none' } };
      await writeFile(join(dir, 'gateway.yaml'), stringify(g.config));
      proc = await underCallgrind(out, [...nodeArgs, join(root, 'bin', 'gophership.js'), '--config', join(dir, 'gateway.yaml')], {
        cwd: dir,
        ready: /"gateway started"/,
      });
      url = `${g.endpoint}/v1/logs`;
    } else {
      const args = [join(BENCH_DIR, 'forwarder.mjs'), '--protocol', 'http', '--listen', '127.0.0.1:0', '--target', sink.httpUrl];
      proc = await underCallgrind(out, [...nodeArgs, ...args], { cwd: dir, ready: /listening (\S+)/ });
      url = `http://${proc.match[1]}/v1/logs`;
    }
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    await send(agent, url, WARM);
    proc.on();
    const ok = await send(agent, url, N);
    proc.off();
    agent.destroy();
    const total = await proc.stop();
    proc = undefined;
    const delivered = (await sink.stats()).totals.records;
    if (values.keep) await copyFile(out, join(values.keep, `${row.name}-${row.processors ? roots.indexOf(root) : 0}.callgrind.out`));
    return { row: row.name, root: row.processors ? root : 'bench/forwarder.mjs', ok, delivered, perRequest: total / N, ...shares(selfCosts(out), N) };
  } finally {
    await proc?.stop().catch(() => {});
    await sink.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const jobs = rows.flatMap((row) => (row.processors ? roots.map((root) => measure(row, root)) : [measure(row, undefined)]));
const results = await Promise.all(jobs);
const M = (x) => (x / 1e6).toFixed(2);
const forwarder = results.find((r) => r.row === 'forwarder-http');
console.log(
  `Command: \`node bench/callgrind-http.mjs --rows ${values.rows} --requests ${N} --warm ${WARM}${nodeArgs.length ? ` --node-args "${nodeArgs.join(' ')}"` : ''} ${positionals.join(' ')}\`\n`,
);
console.log(
  '| row | build | answered OK | records at the sink | Ir per request (M) | memcpy | GC (V8 heap) | JIT code | vs first build of the row | vs forwarder |',
);
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  const first = results.find((x) => x.row === r.row);
  console.log(
    `| \`${r.row}\` | ${r.root} | ${r.ok}/${N} | ${r.delivered} | ${M(r.perRequest)} | ${M(r.memcpy)} | ${M(r.gc)} | ${M(r.jit)} | ${(r.perRequest / first.perRequest).toFixed(3)} | ${forwarder ? (r.perRequest / forwarder.perRequest).toFixed(2) : 'n/a'} |`,
  );
}
