#!/usr/bin/env node
// Regenerates the protobuf-es TypeScript for proto/*.proto with the locally installed buf and
// protoc-gen-es (no network). Usage: node proto/generate.mjs [outDir]   (default: proto/gen)
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const protoDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(protoDir);
const outDir = path.resolve(process.argv[2] ?? path.join(protoDir, 'gen'));
const bin = (name) => path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);

for (const tool of ['buf', 'protoc-gen-es']) {
  if (!existsSync(bin(tool))) {
    console.error(`generate: ${bin(tool)} is missing; run npm install first`);
    process.exit(1);
  }
}

// Start from an empty directory so files of removed .proto files do not linger.
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

const template = {
  version: 'v2',
  plugins: [{ local: bin('protoc-gen-es'), out: outDir, opt: ['target=ts', 'import_extension=js'] }],
};
const res = spawnSync(bin('buf'), ['generate', protoDir, '--template', JSON.stringify(template)], {
  cwd: root,
  stdio: 'inherit',
  // buf caches module data under $XDG_CACHE_HOME or ~/.cache; nothing here needs the network.
  env: { ...process.env, BUF_TOKEN: '' },
});
if (res.error) {
  console.error(`generate: could not run buf: ${res.error.message}`);
  process.exit(1);
}
if (res.status !== 0) process.exit(res.status ?? 1);
console.log(`generate: wrote ${path.relative(process.cwd(), outDir) || '.'}`);
