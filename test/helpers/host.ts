import type { Extension, Host } from '../../src/core/component.js';

/**
 * A Host for a component started outside a Service: fatal errors go to `onFatal` (by default they are
 * thrown, so a test sees them), and `extensions` answers getExtension by ID.
 */
export function testHost(opts: { onFatal?: (err: Error) => void; extensions?: Record<string, Extension> } = {}): Host {
  return {
    reportFatalError:
      opts.onFatal ??
      ((err) => {
        throw err;
      }),
    getExtension: (id) => opts.extensions?.[id],
    describe: () => ({ pipelines: [], extensions: Object.keys(opts.extensions ?? {}), startedAt: 0, health: 'serving' }),
  };
}
