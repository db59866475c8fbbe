// A/B of the receive-path validator (src/pdata/validate.ts) between two builds, by CPU time, so other load
// on the machine does not decide it: each build runs in its own process (two module instances of one file
// in one process do not JIT alike), alternating, on the light bench's request (1000 records, ~434 B each).
// Two shapes of the same request: one buffer (validateRequest: the gRPC receiver's message) and 64 KiB
// pieces (validateRequestParts: an HTTP body as the parser delivers it).
//
//   cp -r dist /tmp/dist-before   # build A, then change the code and `npx tsc -p .` for build B
//   node bench/validate-ab.mjs /tmp/dist-before dist [--rounds 3]
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SHAPES = ['one buffer', '64 KiB pieces'];
const args = process.argv.slice(2);
if (args[0] === '--child') {
  const { validateRequest, validateRequestParts } = await import(resolve(args[1], 'src/pdata/validate.js'));
  const { TemplateParts, RequestTemplate } = await import(resolve(args[1], 'src/tools/loadgen/templates.js'));
  const body = new RequestTemplate(new TemplateParts({ signal: 'logs', encoding: 'proto', runId: 'ab', bodySize: 246, attributes: 4 }), 0, 1000).buf;
  const pieces = [];
  for (let at = 0; at < body.length; at += 65536) pieces.push(body.subarray(at, Math.min(body.length, at + 65536)));
  const runs = [() => validateRequest('logs', body), () => validateRequestParts('logs', pieces, body.length)];
  const out = [];
  for (const run of runs) {
    const samples = [];
    for (let round = 0; round < 6; round++) {
      const c0 = process.cpuUsage();
      let n = 0;
      for (let k = 0; k < 400; k++) n += run();
      const c = process.cpuUsage(c0);
      if (round > 0) samples.push((c.user + c.system) / 1e6 / (n / 1e6)); // round 0 warms the JIT
    }
    samples.sort((a, b) => a - b);
    out.push(samples[samples.length >> 1]);
  }
  process.stdout.write(JSON.stringify(out));
} else {
  const [a, b] = args.filter((x) => !x.startsWith('--') && !/^\d+$/.test(x));
  const rounds = Number(args[args.indexOf('--rounds') + 1]) || 3;
  const self = fileURLToPath(import.meta.url);
  const run = (d) => JSON.parse(execFileSync(process.execPath, [self, '--child', resolve(d)], { encoding: 'utf8' }));
  const res = { [a]: [], [b]: [] };
  for (let r = 0; r < rounds; r++) for (const d of [a, b]) res[d].push(run(d));
  const med = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  console.log(`node bench/validate-ab.mjs ${a} ${b} --rounds ${rounds}\n`);
  console.log('| build | request as | validate CPU s per M records (median of rounds) | rounds |');
  console.log('| --- | --- | ---: | --- |');
  for (const d of [a, b])
    SHAPES.forEach((shape, i) =>
      console.log(`| ${d} | ${shape} | ${med(res[d].map((x) => x[i])).toFixed(4)} | ${res[d].map((x) => x[i].toFixed(4)).join(', ')} |`),
    );
  console.log('');
  SHAPES.forEach((shape, i) => console.log(`${shape}: ${b} / ${a}: ${(med(res[b].map((x) => x[i])) / med(res[a].map((x) => x[i]))).toFixed(2)}`));
}
