/**
 * WAL directories that the worker layout of this start will not read. Worker K reads `<directory>/worker-K`
 * and a single process reads `<directory>/<name>` (per-worker-config.ts), so after service.workers changed
 * (a pod's CPU limit under `auto`, 1 -> N, N -> M) a WAL written by the earlier layout is opened by nobody:
 * what it holds is acknowledged and never sent. The gateway cannot merge two WALs, so it says which ones,
 * and which service.workers reads them.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { ValidatedConfig } from '../../config/validate.js';
import { SEGMENT_SUFFIX } from '../../wal/format.js';

const WORKER_DIR = /^worker-(\d+)$/;

/** Every non-empty `directory` value in the components' configs (the keys per-worker-config gives a worker-K). */
function walBases(config: ValidatedConfig): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object') return;
    for (const [key, child] of Object.entries(v)) {
      if (key === 'directory' && typeof child === 'string' && child !== '') out.add(child);
      else walk(child);
    }
  };
  for (const map of [config.receivers, config.processors, config.exporters, config.connectors]) for (const c of map.values()) walk(c.config);
  return out;
}

/** Whether `dir` holds a WAL segment with bytes in it (at most `depth` levels down). */
function holdsSegments(dir: string, depth = 3): boolean {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isFile() && e.name.endsWith(SEGMENT_SUFFIX) && statSync(path, { throwIfNoEntry: false })?.size) return true;
    if (e.isDirectory() && depth > 0 && holdsSegments(path, depth - 1)) return true;
  }
  return false;
}

/** The WAL directories with data that `count` workers (1: a single process) will not open, and the service.workers that would. */
export function strandedWals(config: ValidatedConfig, count: number): Array<{ dir: string; workers: number }> {
  const out: Array<{ dir: string; workers: number }> = [];
  const bases = [...walBases(config)].map((b) => resolve(b));
  for (const base of bases) {
    let entries;
    try {
      entries = readdirSync(base, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      // Another component's directory inside this one (a queue in /data, the somatic WAL in /data/somatic) is its own.
      if (!e.isDirectory() || bases.some((b) => b === join(base, e.name) || b.startsWith(join(base, e.name) + sep))) continue;
      const m = WORKER_DIR.exec(e.name);
      // worker-J is read by service.workers above J; any other directory by a single process.
      const readBy = m ? Number(m[1]) + 1 : 1;
      const read = m ? count > 1 && Number(m[1]) < count : count === 1;
      if (!read && holdsSegments(join(base, e.name))) out.push({ dir: join(base, e.name), workers: Math.max(readBy, m ? 2 : 1) });
    }
  }
  return out.sort((a, b) => a.dir.localeCompare(b.dir));
}

/** The operator's line for strandedWals' findings; undefined when there are none. */
export function strandedMessage(stranded: ReadonlyArray<{ dir: string; workers: number }>, count: number): string | undefined {
  if (stranded.length === 0) return undefined;
  const layouts = [...new Set(stranded.map((s) => (s.workers === 1 ? 'service.workers: 1' : `service.workers: ${s.workers} or more`)))];
  return (
    `WAL directories written with another service.workers hold requests this gateway (service.workers: ${count}) will not read, so they are not sent: ` +
    `${stranded.map((s) => s.dir).join(', ')}. Start it with ${layouts.join(' or ')} until they are delivered, then remove them`
  );
}
