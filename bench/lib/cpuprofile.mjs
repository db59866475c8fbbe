// Summarises a V8 .cpuprofile (from node --cpu-prof): self time per function and per source file/package.
import { readFile } from 'node:fs/promises';

function where(cf) {
  const url = cf.url || '';
  if (!url) return cf.functionName ? '(native/v8)' : '(vm)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    return `node_modules/${rest[0].startsWith('@') ? rest[0] + '/' + rest[1] : rest[0]}`;
  }
  if (url.startsWith('node:')) return url;
  const i = url.indexOf('/dist/');
  return i >= 0 ? url.slice(i + 1).replace(/\.js$/, '') : url.replace(/^file:\/\//, '');
}

export async function summariseProfile(file, top = 20) {
  const p = JSON.parse(await readFile(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
    total += dt;
  }
  const fn = new Map();
  const file_ = new Map();
  let idle = 0;
  for (const [id, t] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    if (cf.functionName === '(idle)') {
      idle += t;
      continue;
    }
    const key = `${cf.functionName || '(anonymous)'} ${where(cf)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
    fn.set(key, (fn.get(key) ?? 0) + t);
    const w = cf.functionName === '(garbage collector)' ? '(garbage collector)' : cf.functionName === '(program)' ? '(program)' : where(cf);
    file_.set(w, (file_.get(w) ?? 0) + t);
  }
  const busy = total - idle;
  const sort = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, t]) => ({ name: k, ms: t / 1000, pctBusy: (100 * t) / busy }));
  return { totalMs: total / 1000, idleMs: idle / 1000, busyMs: busy / 1000, functions: sort(fn), files: sort(file_) };
}

export function profileMarkdown(s, label) {
  const lines = [
    `CPU profile of the gateway (${label}): ${(s.busyMs / 1000).toFixed(1)} s busy of ${(s.totalMs / 1000).toFixed(1)} s on its main thread (${((100 * s.busyMs) / s.totalMs).toFixed(0)}%; the rest idle).`,
    '',
    '| self % of busy | self ms | function (file:line) |',
    '| ---: | ---: | --- |',
    ...s.functions.map((f) => `| ${f.pctBusy.toFixed(1)} | ${f.ms.toFixed(0)} | \`${f.name}\` |`),
    '',
    '| self % of busy | self ms | where |',
    '| ---: | ---: | --- |',
    ...s.files.slice(0, 12).map((f) => `| ${f.pctBusy.toFixed(1)} | ${f.ms.toFixed(0)} | ${f.name} |`),
  ];
  return lines.join('\n');
}
