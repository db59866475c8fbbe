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
  it('src/ imports no component folder, except the registries src/components.ts and src/component-index.ts', () => {
    const offenders: string[] = [];
    for (const file of sources(join(ROOT, 'src'))) {
      const rel = relative(ROOT, file);
      if (rel === join('src', 'components.ts') || rel === join('src', 'component-index.ts')) continue;
      const text = readFileSync(file, 'utf8');
      // Static imports, re-exports and dynamic import() of a path that climbs out of src/ into a component folder.
      for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)['"]((?:\.\.\/)+)([^'"]+)['"]/g)) {
        const target = relative(ROOT, join(file, '..', m[1]!, m[2]!));
        if (COMPONENT_FOLDERS.includes(target.split(/[\\/]/)[0]!)) offenders.push(`${rel} -> ${target}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('every component folder holds its config, factory, metadata, README, an implementation and tests', () => {
    const gaps: string[] = [];
    for (const kinds of COMPONENT_FOLDERS) {
      for (const c of readdirSync(join(ROOT, kinds), { withFileTypes: true }).filter((e) => e.isDirectory())) {
        const files = readdirSync(join(ROOT, kinds, c.name));
        for (const f of ['config.ts', 'factory.ts', 'metadata.ts', 'README.md']) if (!files.includes(f)) gaps.push(`${kinds}/${c.name}: no ${f}`);
        const others = files.filter((f) => f.endsWith('.ts') && !['config.ts', 'factory.ts', 'metadata.ts'].includes(f));
        if (!others.some((f) => !f.endsWith('.test.ts'))) gaps.push(`${kinds}/${c.name}: no implementation file`);
        if (!others.some((f) => f.endsWith('.test.ts'))) gaps.push(`${kinds}/${c.name}: no tests beside it`);
      }
    }
    expect(gaps).toEqual([]);
  });

  it('the build (tsconfig.json) leaves out the test helpers beside components, and what it compiles imports no test code', () => {
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { exclude: string[] };
    expect(tsconfig.exclude).toEqual(expect.arrayContaining(['**/*.test.ts', '**/test-support.ts', 'test/**']));
    const offenders: string[] = [];
    for (const dir of ['src', ...COMPONENT_FOLDERS]) {
      for (const file of sources(join(ROOT, dir))) {
        if (file.endsWith('test-support.ts')) continue;
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g)) {
          const target = m[1]!.startsWith('.') ? relative(ROOT, join(file, '..', m[1]!)) : m[1]!;
          if (target === 'vitest' || target.startsWith('test/') || target.startsWith(`test${'\\'}`)) offenders.push(`${relative(ROOT, file)} -> ${m[1]}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('no hand-written source file is over 600 lines (generated proto code aside)', () => {
    const long: string[] = [];
    for (const dir of ['src', ...COMPONENT_FOLDERS]) {
      for (const file of sources(join(ROOT, dir))) {
        const lines = readFileSync(file, 'utf8').split('\n').length - 1;
        if (lines > 600) long.push(`${relative(ROOT, file)}: ${lines} lines`);
      }
    }
    expect(long).toEqual([]);
  });
});

function markdown(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return ['node_modules', 'dist', '.git'].includes(e.name) ? [] : markdown(p);
    return e.name.endsWith('.md') ? [p] : [];
  });
}

describe('the acknowledgement contract is written once (docs/durability.md)', () => {
  const CONTRACT = join('docs', 'durability.md');
  const ANCHOR = 'durability.md#the-acknowledgement-contract';
  // What restating it looks like: its defining sentence, or its table of sending_queue modes.
  const RESTATEMENTS = [/every exporter (of|on) every (pipeline|path)/, /^\| `?(sending_queue|mode)`? \| .*(answer|accept|resolve)/m];

  it('only docs/durability.md defines it; the others link to its section', () => {
    const contract = readFileSync(join(ROOT, CONTRACT), 'utf8');
    expect(contract).toMatch(/^## The acknowledgement contract$/m);
    for (const re of RESTATEMENTS) expect(contract).toMatch(re);
    const restated: string[] = [];
    let links = 0;
    for (const file of markdown(ROOT)) {
      const rel = relative(ROOT, file);
      if (rel === CONTRACT || rel === join('bench', 'RESULTS.md')) continue;
      const text = readFileSync(file, 'utf8');
      for (const re of RESTATEMENTS) if (re.test(text)) restated.push(`${rel}: ${re}`);
      links += text.split(ANCHOR).length - 1;
    }
    expect(restated).toEqual([]);
    expect(links).toBeGreaterThan(5);
  });
});
