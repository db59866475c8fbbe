#!/usr/bin/env node
// Writes docs/reference.md and docs/compatibility.md from the built components (run `npm run docs`, which builds first).
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { renderReference } = await import(join(root, 'dist/src/cli/reference.js'));
const out = join(root, 'docs/reference.md');
await mkdir(dirname(out), { recursive: true });
await writeFile(out, renderReference());
console.log(`wrote ${out}`);
const { renderCompatibility } = await import(join(root, 'dist/src/cli/compatibility.js'));
const compat = join(root, 'docs/compatibility.md');
await writeFile(compat, renderCompatibility());
console.log(`wrote ${compat}`);
