#!/usr/bin/env node
// WAL crash soak: the SIGKILL crash test of src/wal/wal.crash.test.ts with many more kills than CI runs
// (CI: 3-5). Each kill lands at a random moment while 64 writers append; after each, every append the
// child saw resolve must be present and intact.
// Usage: node bench/wal-soak.mjs [kills=25]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const kills = Number(process.argv[2] ?? 25);
const started = Date.now();
const r = spawnSync(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'src/wal/wal.crash.test.ts'], {
  cwd: root,
  env: { ...process.env, WAL_CRASH_KILLS: String(kills) },
  stdio: 'inherit',
});
const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(
  `\n| command | kills | result | seconds |\n| --- | ---: | --- | ---: |\n| \`node bench/wal-soak.mjs ${kills}\` | ${kills} | ${r.status === 0 ? 'every resolved append present and intact after each kill' : 'FAILED'} | ${seconds} |`,
);
process.exit(r.status ?? 1);
