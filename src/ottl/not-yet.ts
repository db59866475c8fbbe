/**
 * What the collector's OTTL offers that GopherShip does not implement yet: function names (ottlfuncs
 * README, "Available Editors" / "Available Converters") and paths (pkg/ottl/contexts/*). A statement
 * using one is refused with "not supported yet" naming it, not as a typo.
 */
import { NOT_SUPPORTED_YET } from '../core/schema.js';
import type { ContextName } from './paths.js';

export const COLLECTOR_EDITORS: ReadonlySet<string> = new Set([
  'stringify_all',
  // The transform processor's own for traces (its README; its metrics-only ones are in metric-editors.ts).
  'set_semconv_span_name',
]);

export const COLLECTOR_CONVERTERS: ReadonlySet<string> = new Set(
  (
    'All Any ConvertAttributesToElementsXML ConvertTextToElementsXML ExtractGrokPatterns Filter Find ' +
    'GetXML InsertXML MapEach MapKeys Reduce RemoveXML When'
  ).split(' '),
);

/** Paths (after the context name) the collector's contexts offer and GopherShip does not yet. */
const COLLECTOR_PATHS: Readonly<Record<ContextName, readonly string[]>> = {
  resource: [],
  scope: [],
  span: ['status', 'events', 'links'],
  spanevent: ['event_index'],
  metric: ['data_points', 'metadata'],
  datapoint: ['exemplars', 'positive', 'negative', 'quantile_values'],
  log: ['severity_number.string'],
};

/** The refusal for a path the collector has and GopherShip does not, or undefined. */
export function pathNotYet(context: ContextName, field: string, keyed: boolean, text: string, exists: boolean): string | undefined {
  // A whole context value (`resource`, `instrumentation_scope`) rather than one of its fields.
  if (field === '' && (context === 'resource' || context === 'scope')) return `${text}: the whole ${context} as a value is ${NOT_SUPPORTED_YET}`;
  const known = COLLECTOR_PATHS[context];
  // `positive.offset` and the like: a field below one not implemented yet.
  const below = !exists && known.some((k) => field.startsWith(`${k}.`));
  if (below || known.includes(field) || (keyed && known.includes(`${field}[]`))) return `${text}: ${NOT_SUPPORTED_YET}`;
  return undefined;
}

export const notYetFunction = (kind: 'editor' | 'converter', name: string): string => `${kind} ${name} is ${NOT_SUPPORTED_YET}`;
