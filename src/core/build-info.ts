/**
 * What the running gateway is: its package root (package.json and config/, found from this file whether
 * it runs from src or dist) and its version, for `--version`, the zpages' build information and the like.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'gophership') return (root = dir);
    } catch {
      // keep climbing
    }
    dir = dirname(dir);
  }
  throw new Error('cannot find the gophership package root');
}

let version: string | undefined;

export function gatewayVersion(): string {
  return (version ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version);
}
