/**
 * The built-in component factories, all loaded: `gophership components` prints this list, and the docs and
 * tests read it. The list itself is src/component-index.ts; the gateway loads only the factories its
 * configuration names from there.
 */
import type { AnyFactory } from './core/component.js';
import type { FactoryRegistry } from './config/validate.js';
import { COMPONENT_INDEX, registryOf } from './component-index.js';

/** Every factory of the index, loaded (top-level await: importers get the full list, in the index's order). */
export const builtinFactories: readonly AnyFactory[] = await Promise.all(COMPONENT_INDEX.map((c) => c.load()));

export function createRegistry(factories: readonly AnyFactory[] = builtinFactories): FactoryRegistry {
  return registryOf(factories);
}
