#!/usr/bin/env node
// Writes docs/reference.md, docs/compatibility.md and docs/errors.md from the built components (run `npm run docs`, which builds first).
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
const { renderErrors } = await import(join(root, 'dist/src/cli/errors-doc.js'));
const errors = join(root, 'docs/errors.md');
await writeFile(errors, renderErrors());
console.log(`wrote ${errors}`);
