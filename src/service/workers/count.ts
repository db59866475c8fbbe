import { availableParallelism } from 'node:os';

/** `service.workers` as a number: `auto` is the cores this process may use. */
export function resolveWorkerCount(text: string): number {
  return text === 'auto' ? Math.max(1, availableParallelism()) : Math.max(1, Number(text));
}
