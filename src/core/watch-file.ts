/**
 * Calls back when a file changes on disk: a credentials file rotated by an operator or by Kubernetes
 * (which swaps a symlink, so the directory is watched, not the inode). Changes are coalesced over a short
 * delay, so a writer's several events cause one re-read.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export function watchFile(path: string, onChange: () => void, settleMs = 50): () => void {
  let timer: NodeJS.Timeout | undefined;
  const name = basename(path);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      // Kubernetes secret volumes rename `..data`; any other file's event is someone else's.
      if (file !== null && file !== name && !String(file).startsWith('..')) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, settleMs);
      timer.unref();
    });
    watcher.on('error', () => {});
  } catch {
    // A directory that cannot be watched: the file is read once, at start.
  }
  return () => {
    clearTimeout(timer);
    watcher?.close();
  };
}
