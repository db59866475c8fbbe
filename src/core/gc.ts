/**
 * A full garbage collection on demand, for the one case where waiting for V8 cannot work: a process that
 * refuses all work allocates nothing, and V8 collects only when something allocates. Node exposes `gc`
 * only under --expose-gc; setting that flag at run time makes it visible in new vm contexts, so the
 * function is taken from one, once. Returns false when the runtime does not allow it.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let collect: (() => void) | null | undefined;

export function collectGarbage(): boolean {
  if (collect === undefined) {
    const existing = (globalThis as { gc?: () => void }).gc;
    if (typeof existing === 'function') collect = existing;
    else {
      try {
        v8.setFlagsFromString('--expose-gc');
        const fn: unknown = vm.runInNewContext('gc');
        collect = typeof fn === 'function' ? (fn as () => void) : null;
      } catch {
        collect = null;
      }
    }
  }
  if (!collect) return false;
  collect();
  return true;
}
