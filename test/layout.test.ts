import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const COMPONENT_FOLDERS = ['receivers', 'processors', 'exporters', 'extensions', 'connectors'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('layout (BRIEF: src/ by role)', () => {
  it('src/ imports no component folder, except the registry src/components.ts', () => {
    const offenders: string[] = [];
    for (const file of sources(join(ROOT, 'src'))) {
      const rel = relative(ROOT, file);
      if (rel === join('src', 'components.ts')) continue;
      const text = readFileSync(file, 'utf8');
      // Static imports, re-exports and dynamic import() of a path that climbs out of src/ into a component folder.
      for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)['"]((?:\.\.\/)+)([^'"]+)['"]/g)) {
        const target = relative(ROOT, join(file, '..', m[1]!, m[2]!));
        if (COMPONENT_FOLDERS.includes(target.split(/[\\/]/)[0]!)) offenders.push(`${rel} -> ${target}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
