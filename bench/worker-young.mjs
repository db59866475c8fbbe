#!/usr/bin/env node
// What the wire-edit workers' young-generation cap (WORKER_YOUNG_GENERATION_MIB, src/processorhelper/
// offload.ts) costs: one worker thread editing the flood's ~1 MiB requests (2400 records) with the
// attributes processor's insert, 8 edits in flight, at the cap and at V8's default young generation,
// alternated round by round in one process. The figure that survives a shared machine is this process's
// CPU per edit (the worker's and the event loop's copy; the copy is the same in both rows).
//
//   npx tsc -p . && node bench/worker-young.mjs [--rounds 4] [--edits 400] [--no-results]
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './lib/procs.mjs';
import { loadavg } from './lib/measure.mjs';
import { appendResults, commandLine, fmt, machineBlock, stamp, table } from './lib/report.mjs';

const { WireOffloadPool, WORKER_YOUNG_GENERATION_MIB } = await import(join(ROOT, 'dist/src/processorhelper/offload.js'));
const { attributesProcessorFactory } = await import(join(ROOT, 'dist/processors/attributes/factory.js'));
const { floodBody } = await import(join(ROOT, 'dist/src/tools/loadgen/index.js'));

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '4' },
    edits: { type: 'string', default: '400' },
    'no-results': { type: 'boolean', default: false },
  },
});
const EDITS = Number(values.edits);
const IN_FLIGHT = 8;
const RECORDS = 2400;
const body = floodBody(RECORDS);
const issues = [];
const config = attributesProcessorFactory.config.parse({ actions: [{ key: 'gophership.flood', value: 'yes', action: 'insert' }] }, [], issues);
if (issues.length) throw new Error(JSON.stringify(issues));
const editor = { module: pathToFileURL(join(ROOT, 'dist/processors/attributes/attributes-processor.js')).href, exportName: 'attributesEditor' };

async function runOne(young) {
  const pool = new WireOffloadPool(1, undefined, young);
  const handle = pool.register(editor, 'attributes', config, 'logs');
  await handle.edit(body, undefined); // the worker is up and its editor built
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  let changed = 0;
  const lane = async () => {
    while (next++ < EDITS) if ((await handle.edit(body, undefined)).changed) changed++;
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  const cpu = process.cpuUsage(cpu0);
  const secs = (performance.now() - t0) / 1000;
  await pool.close();
  if (changed !== EDITS) throw new Error(`${changed} of ${EDITS} edits changed the request; the insert should change every one`);
  return { young: young === 0 ? "V8's default" : `${young} MiB`, cpuMsPerEdit: (cpu.user + cpu.system) / 1000 / EDITS, editsPerS: EDITS / secs };
}

const loadBefore = loadavg();
const rows = [];
for (let round = 1; round <= Number(values.rounds); round++) {
  for (const young of round % 2 ? [WORKER_YOUNG_GENERATION_MIB, 0] : [0, WORKER_YOUNG_GENERATION_MIB]) {
    const row = { round, ...(await runOne(young)) };
    console.error(`[worker-young] round ${round} ${row.young}: ${row.cpuMsPerEdit.toFixed(2)} ms CPU per edit`);
    rows.push(row);
  }
}
const mean = (young) => {
  const r = rows.filter((x) => x.young === young);
  return r.reduce((a, x) => a + x.cpuMsPerEdit, 0) / r.length;
};
const capped = mean(`${WORKER_YOUNG_GENERATION_MIB} MiB`);
const dflt = mean("V8's default");
const md = [
  `## ${stamp()} — worker-young: the wire-edit workers' young-generation cap`,
  '',
  `Command: \`${commandLine()}\``,
  '',
  machineBlock(loadBefore, loadavg()),
  '',
  `One worker thread, ${EDITS} edits of a ${RECORDS}-record (~1 MiB) request by the attributes processor (insert), ${IN_FLIGHT} in flight; CPU of the whole process per edit.`,
  '',
  table(
    [
      ['round', 'round'],
      ['young generation', 'young', 'l'],
      ['CPU ms per edit', (x) => fmt.ms(x.cpuMsPerEdit)],
      ['edits/s', (x) => fmt.ms(x.editsPerS)],
    ],
    rows,
  ),
  '',
  `Mean CPU per edit: ${capped.toFixed(2)} ms capped vs ${dflt.toFixed(2)} ms at V8's default (${fmt.ratio(capped / dflt)}x).`,
  '',
].join('\n');
console.log(md);
if (!values['no-results']) await appendResults(md);
