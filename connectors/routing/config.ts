/**
 * The routing connector's config, as the collector's: a `table` of routes, each an OTTL `condition` (or
 * a `statement` `route() where <condition>`) in a `context` (`resource`, the default, or `request` for
 * request metadata such as a tenant header) and the `pipelines` it sends to; `default_pipelines` for data
 * no route matched; `error_mode`; `match_once` (true by default, as the collector since v0.116). Conditions
 * are checked at config load.
 */
import { Schema, s, type ConfigIssue, type ConfigOf, type SchemaDoc } from '../../src/core/schema.js';
import { compileCondition, OttlError, parseConditionText as parseConditionAst, parseStatementText, type OttlSignal } from '../../src/ottl/compile.js';
import type { BoolExpr } from '../../src/ottl/grammar.js';

export interface RouteConfig {
  context: 'resource' | 'request';
  /** The condition's text as written (for errors), and its parsed form. */
  text: string;
  condition: BoolExpr;
  pipelines: string[];
}

const CONTEXTS = ['resource', 'request'];
/** The editors contrib's routing statements may run on a match besides route() (its Supported OTTL functions). */
const EDITORS_NOT_YET = ['delete_key', 'delete_matching_keys'];
const ALWAYS: BoolExpr = { k: 'value', e: { k: 'bool', v: true, col: 1 } };
const NOT_YET = ['span', 'spanevent', 'metric', 'datapoint', 'log'];

/** The condition of a route: `condition`, or the where clause of `statement: route() where ...`. */
function conditionOf(o: Record<string, unknown>, at: string[], issues: ConfigIssue[]): { text: string; ast: BoolExpr } | undefined {
  const hasStatement = typeof o.statement === 'string';
  const hasCondition = typeof o.condition === 'string';
  if (hasStatement === hasCondition) {
    issues.push({ path: at, message: 'give either condition or statement (route() where <condition>), not both and not neither' });
    return undefined;
  }
  const text = (hasStatement ? o.statement : o.condition) as string;
  const key = hasStatement ? 'statement' : 'condition';
  try {
    if (hasStatement) {
      const ast = parseStatementText(text);
      if (EDITORS_NOT_YET.includes(ast.editor.name)) {
        issues.push({
          path: [...at, key],
          message: `in "${text}": a route statement that edits (${ast.editor.name}) is not supported yet by GopherShip; write the where clause as condition and edit in a processor of the routed pipelines`,
        });
        return undefined;
      }
      if (ast.editor.name !== 'route' || ast.editor.args.length > 0) {
        issues.push({ path: [...at, key], message: `in "${text}": a routing statement is route() where <condition>` });
        return undefined;
      }
      // As an OTTL statement without a where clause, route() alone matches everything.
      return { text, ast: ast.where ?? ALWAYS };
    }
    // Parsed through the statement grammar's condition rule.
    return { text, ast: parseConditionAst(text) };
  } catch (err) {
    issues.push({ path: [...at, key], message: err instanceof OttlError ? `in "${text}", column ${err.column}: ${err.detail}` : (err as Error).message });
    return undefined;
  }
}

class RouteSchema extends Schema<RouteConfig> {
  protected check(v: unknown, path: string[], issues: ConfigIssue[]): RouteConfig {
    const bad: RouteConfig = { context: 'resource', text: '', condition: { k: 'value', e: { k: 'bool', v: false, col: 1 } }, pipelines: [] };
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      issues.push({ path, message: 'expected a map with condition (or statement) and pipelines' });
      return bad;
    }
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!['condition', 'statement', 'context', 'pipelines'].includes(k))
        issues.push({ path: [...path, k], message: 'unknown key; valid keys here: condition, statement, context, pipelines' });
    }
    const context = o.context ?? 'resource';
    if (typeof context !== 'string' || !CONTEXTS.includes(context)) {
      const notYet = typeof context === 'string' && NOT_YET.includes(context);
      issues.push({
        path: [...path, 'context'],
        message: notYet ? `context ${context} is not supported yet; use resource or request` : `must be resource or request; got ${JSON.stringify(context)}`,
      });
      return bad;
    }
    const pipelines = o.pipelines;
    if (!Array.isArray(pipelines) || pipelines.length === 0 || !pipelines.every((p) => typeof p === 'string')) {
      issues.push({ path: [...path, 'pipelines'], message: 'is required: a list of pipeline IDs, e.g. [logs/tenant-a]' });
      return bad;
    }
    const cond = conditionOf(o, path, issues);
    if (!cond) return bad;
    // Compiled here for its errors (unknown paths and functions); the connector compiles it per signal.
    for (const signal of ['logs', 'traces', 'metrics'] as OttlSignal[]) {
      try {
        compileCondition(cond.text, 'resource', signal, cond.ast);
      } catch (err) {
        const key = typeof o.statement === 'string' ? 'statement' : 'condition';
        issues.push({
          path: [...path, key],
          message: err instanceof OttlError ? `in "${cond.text}", column ${err.column}: ${err.detail}` : (err as Error).message,
        });
        break;
      }
    }
    return { context: context as RouteConfig['context'], text: cond.text, condition: cond.ast, pipelines: pipelines as string[] };
  }

  doc(): SchemaDoc {
    return {
      type: 'map',
      fields: {
        condition: { type: 'string', description: 'OTTL condition, e.g. resource.attributes["tenant"] == "acme" or request["x-tenant"] == "acme"' },
        statement: { type: 'string', description: 'or: route() where <condition>' },
        context: {
          type: 'enum',
          values: CONTEXTS,
          default: 'resource',
          description: "resource: per resource; request: request metadata (the receiver's include_metadata), whole requests",
        },
        pipelines: { type: 'list of string', description: 'pipelines the matching data goes to' },
      },
    };
  }
}

export const routingConnectorConfig = s.refine(
  s.object({
    table: s.array(new RouteSchema()).default([]).describe('Routes, tried in order'),
    default_pipelines: s.array(s.string()).default([]).describe('Pipelines for data no route matched (none: such data is dropped)'),
    error_mode: s
      .enum('ignore', 'silent', 'propagate')
      .default('propagate')
      .describe('A condition that fails: propagate (the request is refused as permanent), ignore (logged; the data goes to default_pipelines), silent'),
    // The collector routes to the first matching route since v0.116 (match_once then defaulted to true, and
    // is gone since v0.120); false, every matching route, is the older collectors' behaviour.
    match_once: s
      .bool()
      .default(true)
      .describe("true (the collector's behaviour): data goes to the first matching route only; false (collectors before v0.116): to every matching route"),
  }),
  (c, path, issues) => {
    if (c.table.length === 0) issues.push({ path: [...path, 'table'], message: 'is required: at least one route' });
  },
);

export type RoutingConnectorConfig = ConfigOf<typeof routingConnectorConfig>;
