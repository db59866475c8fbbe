// Markdown output: tables, the machine block, and the dated section appended to bench/RESULTS.md.
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BENCH_DIR } from './procs.mjs';
import { machine } from './measure.mjs';

export const RESULTS_FILE = join(BENCH_DIR, 'RESULTS.md');

export const fmt = {
  int: (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a'),
  rate: (n) => (Number.isFinite(n) ? (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0)) : 'n/a'),
  mb: (bytes) => (Number.isFinite(bytes) ? (bytes / 1e6).toFixed(1) : 'n/a'),
  mib: (bytes) => (Number.isFinite(bytes) && bytes > 0 ? `${(bytes / 2 ** 20).toFixed(0)} MiB` : 'n/a'),
  ms: (n) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a'),
  ratio: (n) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a'),
  cores: (n) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a'),
};

/** rows: array of objects; columns: [[header, key or fn]]. */
export function table(columns, rows) {
  const head = `| ${columns.map(([h]) => h).join(' | ')} |`;
  const sep = `|${columns.map(([, , align]) => (align === 'l' ? ' --- ' : ' ---: ')).join('|')}|`;
  const body = rows.map((r) => `| ${columns.map(([, k]) => (typeof k === 'function' ? k(r) : (r[k] ?? ''))).join(' | ')} |`);
  return [head, sep, ...body].join('\n');
}

export function machineBlock(loadBefore, loadAfter) {
  const m = machine();
  return [
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB.toFixed(1)} GiB RAM, Node ${m.node}, ${m.os}.`,
    `Load average (1/5/15 min) before: ${loadBefore}; after: ${loadAfter}. The machine is shared with other jobs.`,
  ].join('\n');
}

export function commandLine() {
  const args = process.argv.slice(2).join(' ');
  return process.env.npm_lifecycle_event === 'bench' && !args
    ? 'npm run bench'
    : `node ${process.argv[1].replace(/^.*\/bench\//, 'bench/')}${args ? ' ' + args : ''}`;
}

export function stamp(d = new Date()) {
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
}

const HEADER = `# GopherShip benchmark results

Appended by \`npm run bench\` (or one scenario's command); newest at the bottom. See bench/README.md for
what each scenario measures. Numbers from a shared 2-core VM: the client, the gateway and the sink are
separate processes competing for the same two cores, so compare rows of one section (same run, same
client), not absolute figures across sections.
`;

export async function appendResults(markdown) {
  let existing = '';
  try {
    existing = await readFile(RESULTS_FILE, 'utf8');
  } catch {
    /* first run */
  }
  if (!existing.trim()) await writeFile(RESULTS_FILE, HEADER);
  await appendFile(RESULTS_FILE, `\n${markdown.trimEnd()}\n`);
}
